package canmonitor

// Watches is the number of open watches.
func (s *CANMonitorService) Watches() int {
	s.mon.mu.Lock()
	defer s.mon.mu.Unlock()
	return len(s.mon.watches)
}
