package bus

import (
	"fmt"
	"net/url"
)

// Credentials say how a process reaches the bus. They are what a parent
// hands a child (as JSON over a pipe) and what the CLI takes as flags.
type Credentials struct {
	URL       string `json:"url"`
	User      string `json:"user,omitempty"`
	Password  string `json:"password,omitempty"`
	Token     string `json:"token,omitempty"`
	NKeyFile  string `json:"nkey_file,omitempty"`  // file holding an nkey seed
	CredsFile string `json:"creds_file,omitempty"` // JWT + seed, as nsc writes them
	TLSCert   string `json:"tls_cert,omitempty"`   // client certificate (PEM file)
	TLSKey    string `json:"tls_key,omitempty"`
	TLSCA     string `json:"tls_ca,omitempty"` // CA bundle to verify the server
	// InboxPrefix replaces _INBOX for replies to this process's requests.
	InboxPrefix string `json:"inbox_prefix,omitempty"`
	// LogInbox is an inbox of this process's own for the acknowledgements
	// of its log records, which carry it in their reply subject (see
	// logfwd.NewHandlerInbox); granted with a child's credentials (a short
	// one on the embedded bus, under InboxPrefix on another), so that its
	// parent's relay knows it before the first record (and can ask for
	// what it missed across a reconnect). Empty: under InboxPrefix, chosen
	// by the process.
	LogInbox string `json:"log_inbox,omitempty"`
	// Embedded marks the parent's embedded server: when the connection drops
	// the parent is gone, so the client does not try to reconnect.
	Embedded bool `json:"embedded,omitempty"`
}

// ShareURL is the URL with user and password (if any) folded in, for
// NATS_URL in another shell. It contains a secret: print it only to the
// user who owns the rig.
func (c Credentials) ShareURL() string {
	if c.User == "" && c.Token == "" {
		return c.URL
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return c.URL
	}
	if c.Token != "" {
		u.User = url.User(c.Token)
	} else {
		u.User = url.UserPassword(c.User, c.Password)
	}
	return u.String()
}

// String describes the credentials without secrets.
func (c Credentials) String() string {
	auth := "none"
	switch {
	case c.CredsFile != "":
		auth = "creds " + c.CredsFile
	case c.NKeyFile != "":
		auth = "nkey " + c.NKeyFile
	case c.Token != "":
		auth = "token"
	case c.User != "":
		auth = "user " + c.User
	}
	if c.TLSCert != "" || c.TLSCA != "" {
		auth += "+tls"
	}
	return fmt.Sprintf("%s (%s)", c.URL, auth)
}
