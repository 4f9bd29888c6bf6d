package ecuwatchdog

// Normalize applies the defaults to the zero fields of Args: the one
// place they are set, which New calls. bgkit kinds shows what it makes of
// a zero Args as the defaults.
func (a *Args) Normalize() { a.normalize() }

// EndpointDocs gives each method its one-line doc, shown by bgkit
// describe, bgkit kinds and $SRV.INFO.
func (s *ECUWatchdogService) EndpointDocs() map[string]string {
	return map[string]string{
		"Status":   "State (waiting, ok or crashed), probe counters, crashes, resets and the last incident.",
		"BlackBox": "The last frames seen on the CAN bus, oldest first (none with DoIP).",
	}
}
