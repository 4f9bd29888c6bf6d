package testerpresent

// Normalize applies the defaults to the zero fields of Args: the one
// place they are set, which New calls. bgkit kinds shows what it makes of
// a zero Args as the defaults.
func (a *Args) Normalize() { a.normalize() }

// EndpointDocs gives each method its one-line doc, shown by bgkit
// describe, bgkit kinds and $SRV.INFO.
func (s *TesterPresentService) EndpointDocs() map[string]string {
	return map[string]string{
		"Start":       "Starts sending: the first request at once, then one every interval; does nothing when running.",
		"Stop":        "Stops sending; returns once no request is in flight.",
		"IsRunning":   "Whether requests are being sent.",
		"SetInterval": "Sets the period of the requests, in ms (1 to 3600000); the next one is due that long after the last deadline.",
		"Stats":       "Requests sent, errors, skipped periods, lateness in µs and the current interval.",
	}
}
