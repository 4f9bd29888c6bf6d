package embeddednats

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrUserExists is returned by AddUser for a name that already has a user.
var ErrUserExists = errors.New("embeddednats: user exists")

// Options configure Start. The zero value is valid.
type Options struct {
	// Logger receives the server's own log lines. Nil keeps the server silent.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the listener. Zero means 5 s.
	ReadyTimeout time.Duration
	// MaxPayload is the largest message the server accepts. Zero means the
	// nats-server default (1 MiB).
	MaxPayload int32
}

// Permissions scope a user to allowed subjects. Publish and Subscribe are
// allow-lists of subjects (wildcards permitted).
type Permissions struct {
	Publish   []string
	Subscribe []string
	// Responses lets the user publish one reply to the reply subject of
	// each message it received, whatever Publish says (the server's
	// allow_responses). Leave it off for users that must not speak for
	// others: whoever can send such a user a message chooses where its
	// reply goes, so a user that can message itself or another user with
	// Responses could publish anywhere. Give the reply namespace (_INBOX.>)
	// in Publish instead.
	Responses bool
}

// Server is an embedded nats-server.
type Server struct {
	ns    *server.Server
	auth  *authenticator
	admin string // admin password
	once  sync.Once
}

// ServerName is the embedded server's name (in its INFO): a client tells
// by it that it joined a bgkit process's bus.
const ServerName = "bgkit"

// AdminUser is the user name of the administrator, whose password is
// returned by [Server.AdminPassword].
const AdminUser = "bgkit-admin"

// Start runs a server on 127.0.0.1 with a random port and waits until it
// accepts connections.
func Start(opts Options) (*Server, error) {
	pass, err := Secret()
	if err != nil {
		return nil, fmt.Errorf("embeddednats: %w", err)
	}
	auth := &authenticator{users: map[string]*user{
		AdminUser: {password: pass},
	}}
	sopts := &server.Options{
		ServerName:                 ServerName,
		Host:                       "127.0.0.1",
		Port:                       server.RANDOM_PORT,
		NoSigs:                     true,
		NoLog:                      opts.Logger == nil,
		NoSystemAccount:            true,
		MaxPayload:                 opts.MaxPayload,
		CustomClientAuthentication: auth,
		// No HTTP monitoring, no cluster, no leafnodes, no JetStream.
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("embeddednats: %w", err)
	}
	if opts.Logger != nil {
		ns.SetLoggerV2(&slogAdapter{l: opts.Logger}, false, false, false)
	}
	go ns.Start()
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	if !ns.ReadyForConnections(timeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("embeddednats: server not ready after %v", timeout)
	}
	// A mapping always in place: nats-server looks at an account's
	// mappings once per read from a connection's socket, and only maps the
	// messages of that read if the account had one then. Without this,
	// all that a connection's read held when Divert came (hundreds of
	// requests) was routed undiverted after it returned
	// (TestDivertIsAheadOfWhatFollows). With it, each message is mapped
	// as it is routed: 5-6 % of a call's CPU here (the account's lock is
	// read-locked for each message).
	if err := ns.GlobalAccount().AddMapping(alwaysMapped, Diverted(alwaysMapped)); err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("embeddednats: %w", err)
	}
	return &Server{ns: ns, auth: auth, admin: pass}, nil
}

// alwaysMapped is the subject of the mapping Start keeps in place; nobody
// publishes on it.
const alwaysMapped = "$BGKIT.ALWAYS_MAPPED"

// ClientURL is the nats:// URL of the loopback listener (no credentials).
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// AdminPassword is the password of [AdminUser].
func (s *Server) AdminPassword() string { return s.admin }

// NATSServer is the underlying server, for in-process connections
// (nats.InProcessServer).
func (s *Server) NATSServer() *server.Server { return s.ns }

// AddUser creates a user named name with a fresh random password, scoped to
// perms, and returns the password.
func (s *Server) AddUser(name string, perms Permissions) (string, error) {
	pass, err := Secret()
	if err != nil {
		return "", fmt.Errorf("embeddednats: add user %s: %w", name, err)
	}
	p := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: perms.Publish},
		Subscribe: &server.SubjectPermission{Allow: perms.Subscribe},
	}
	if perms.Responses {
		p.Response = &server.ResponsePermission{MaxMsgs: 1, Expires: time.Hour}
	}
	if len(perms.Publish) == 0 {
		p.Publish.Deny = []string{">"}
	}
	if len(perms.Subscribe) == 0 {
		p.Subscribe.Deny = []string{">"}
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if _, ok := s.auth.users[name]; ok {
		return "", fmt.Errorf("%w: %s", ErrUserExists, name)
	}
	s.auth.users[name] = &user{password: pass, perms: p}
	return pass, nil
}

// RemoveUser revokes a user: new connections with its credentials are
// refused. Existing connections are closed.
func (s *Server) RemoveUser(name string) {
	s.auth.mu.Lock()
	delete(s.auth.users, name)
	s.auth.mu.Unlock()
	if conns, err := s.ns.Connz(&server.ConnzOptions{User: name}); err == nil {
		for _, c := range conns.Conns {
			s.ns.DisconnectClientByID(c.Cid)
		}
	}
}

// Divert has the server route what is published on subject (a subject or
// a wildcard) to Diverted(subject) instead from now on, where no user but
// the administrator may subscribe: a request finds no responder (a
// requester that accepts headers is answered 503 at once) unless the
// administrator answers there. Of what is published on subject, what
// comes to a subscriber after a message published once Divert returned is
// at most the one message each publishing connection was routing
// meanwhile (TestDivertIsAheadOfWhatFollows): the rest of what the
// server routed before is ahead of it. Undivert routes it again.
func (s *Server) Divert(subject string) error {
	if err := s.ns.GlobalAccount().AddMapping(subject, Diverted(subject)); err != nil {
		return fmt.Errorf("embeddednats: divert %s: %w", subject, err)
	}
	return nil
}

// Undivert ends Divert(subject); it reports whether subject was diverted.
func (s *Server) Undivert(subject string) bool {
	return s.ns.GlobalAccount().RemoveMapping(subject)
}

// Diverted is where Divert sends what is published on subject:
// $BGKIT.DIVERTED.<subject>.
func Diverted(subject string) string { return "$BGKIT.DIVERTED." + subject }

// Shutdown stops the server and waits for it. It is idempotent.
func (s *Server) Shutdown() {
	s.once.Do(func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	})
}

// Secret returns 32 random bytes, URL-safe base64 encoded.
func Secret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

type user struct {
	password string
	perms    *server.Permissions // nil: everything
}

type authenticator struct {
	mu    sync.Mutex
	users map[string]*user
}

// Check implements server.Authentication.
func (a *authenticator) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	a.mu.Lock()
	u, ok := a.users[o.Username]
	a.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(u.password), []byte(o.Password)) != 1 {
		return false
	}
	c.RegisterUser(&server.User{Username: o.Username, Permissions: u.perms})
	return true
}

// slogAdapter turns the server's printf-style logger into slog records.
type slogAdapter struct{ l *slog.Logger }

func (a *slogAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
