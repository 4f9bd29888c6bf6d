package ecusim

// Normalize applies the defaults to the zero fields of Args: the one
// place they are set, which New calls. bgkit kinds shows what it makes of
// a zero Args as the defaults.
func (a *Args) Normalize() { a.normalize() }

// EndpointDocs gives each method its one-line doc, shown by bgkit
// describe, bgkit kinds and $SRV.INFO.
func (s *ECUSimService) EndpointDocs() map[string]string {
	return map[string]string{
		"GetDID":      `Reads a DID; the input is the DID itself, not an object: get_did '"F190"' (or 61840, "0xF190") → {did, data}.`,
		"SetDID":      `Sets (or adds) a DID's value: {"did": "F190", "data": "0102 03"}, data in hex.`,
		"Session":     "Active diagnostic session, S3 expiries and whether security access is unlocked.",
		"Stats":       "Requests, positive and negative responses, counts by SID and NRC, session changes, resets and transport errors.",
		"DoIPAddress": "TCP address (host:port) the DoIP entity listens on, with the port chosen for :0; empty without DoIP.",
	}
}
