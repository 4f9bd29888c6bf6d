package canmonitor

// EndpointDocs gives each method its one-line doc, shown by bgkit
// describe, bgkit kinds and $SRV.INFO.
func (s *CANMonitorService) EndpointDocs() map[string]string {
	return map[string]string{
		"Signal":     "Last value of a signal and when it was received (seen is false until a frame carried it).",
		"WaitSignal": "Waits until a signal meets the condition and returns the sample that did; fails (500) at timeout_ms or the caller's deadline, with the last value.",
		"Signals":    "Last value of every signal seen, by message and signal.",
		"Stats":      "Frames received and decoded.",
		"Watch":      "Streams the changes of the selected signals (every value with every), starting with the values already known.",
	}
}
