package cantraffic

// Normalize applies the defaults of Args (the bus, and the generator when
// no mode is set) and checks what concerns more than one mode; it is the
// step New starts with. bgkit kinds shows what it makes of a zero Args as
// the defaults.
func (a *Args) Normalize() error { return a.normalize() }

// EndpointDocs gives each method its one-line doc, shown by bgkit
// describe, bgkit kinds and $SRV.INFO.
func (s *CANTrafficService) EndpointDocs() map[string]string {
	return map[string]string{
		"Start":      "Starts sending; a run that ended or was stopped starts anew (count, increments and a seeded generator from the beginning).",
		"Stop":       "Stops sending; returns once no more frames go out.",
		"Stats":      "Frames sent, errors, rate and the state of the mode.",
		"SetGap":     "Sets the generator's gap between bursts, in ms (> 0, decimals allowed), at once; generator mode only.",
		"SetPayload": "Changes the payload of a cyclic message from its next frame on; cyclic mode only.",
		"SetSignal":  "Sets a rest-bus signal, by value or by value-table label, from its message's next frame on; restbus mode only.",
		"Signals":    "Current physical value of every rest-bus signal, by message and signal; restbus mode only.",
	}
}
