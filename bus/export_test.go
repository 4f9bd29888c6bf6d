package bus

// KickLogConn makes the embedded server close the relays' connection, as
// it does a slow consumer's.
func KickLogConn(b *Bus) error {
	id, err := b.LogConn().GetClientID()
	if err != nil {
		return err
	}
	return b.srv.NATSServer().DisconnectClientByID(id)
}
