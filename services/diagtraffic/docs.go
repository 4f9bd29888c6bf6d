package diagtraffic

// Normalize applies the defaults to the zero fields of Args: the one
// place they are set, which New calls. bgkit kinds shows what it makes of
// a zero Args as the defaults.
func (a *Args) Normalize() { a.normalize() }

// EndpointDocs gives each method its one-line doc, shown by bgkit
// describe, bgkit kinds and $SRV.INFO.
func (s *DiagTrafficService) EndpointDocs() map[string]string {
	return map[string]string{
		"Start":     "Starts a run: every request goes out at once, then every period; does nothing when running.",
		"Stop":      "Ends the run (reason stopped); returns once no request is in flight.",
		"Stats":     "Counters and reply latencies in µs, in all and per request.",
		"IsRunning": "Whether a run is going on.",
	}
}
