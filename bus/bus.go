package bus

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/embeddednats"
)

// ErrClosed is returned by methods of a closed Bus.
var ErrClosed = errors.New("bus: closed")

// Bus is a connection to the fabric, and for [Start] the embedded server
// behind it. It is safe for concurrent use.
type Bus struct {
	nc    *nats.Conn
	srv   *embeddednats.Server // nil for an external bus
	creds Credentials          // how this process connected
	log   *slog.Logger

	mu      sync.Mutex
	granted map[string]bool // names granted by this process; true: by the bus's owner (remote)
	closed  bool

	grantSubs []*nats.Subscription // an embedded bus: serveGrants

	// The second connection, for the log relays (LogConn): made at the
	// first use, closed by Close.
	logMu     sync.Mutex
	logNC     *nats.Conn
	logClosed bool
	// refuser answers the calls StopCalls diverts (refuseDiverted), on
	// the log connection: every child may publish where it subscribes, so
	// a flood there must not reach nc. Made with the log connection.
	refuser *nats.Subscription
	name    string  // the client name of nc
	opts    options // an external bus's: LogConn dials with them
}

// Option configures Start, Connect and Dial.
type Option func(*options)

type options struct {
	logger     *slog.Logger
	name       string
	creds      Credentials
	maxPayload int32
	reconnect  time.Duration
	dialer     nats.CustomDialer
}

// WithLogger sets the logger for the bus's own messages (connection events,
// the embedded server's notices). Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithDialer makes the connection's sockets with d (nats.SetCustomDialer).
func WithDialer(d nats.CustomDialer) Option { return func(o *options) { o.dialer = d } }

// WithClientName sets the NATS client name shown by `nats server report connections`.
func WithClientName(name string) Option { return func(o *options) { o.name = name } }

// WithUserInfo authenticates with a user and password.
func WithUserInfo(user, password string) Option {
	return func(o *options) { o.creds.User, o.creds.Password = user, password }
}

// WithToken authenticates with a token.
func WithToken(token string) Option { return func(o *options) { o.creds.Token = token } }

// WithNKeyFile authenticates with the nkey seed in file.
func WithNKeyFile(file string) Option { return func(o *options) { o.creds.NKeyFile = file } }

// WithCredsFile authenticates with a creds file (user JWT and seed).
func WithCredsFile(file string) Option { return func(o *options) { o.creds.CredsFile = file } }

// WithTLS sets a client certificate and key (both may be empty) and a CA
// bundle used to verify the server (may be empty for the system roots).
func WithTLS(certFile, keyFile, caFile string) Option {
	return func(o *options) { o.creds.TLSCert, o.creds.TLSKey, o.creds.TLSCA = certFile, keyFile, caFile }
}

// WithMaxPayload sets the embedded server's largest message (default 1 MiB).
func WithMaxPayload(n int32) Option { return func(o *options) { o.maxPayload = n } }

// WithReconnectWindow bounds how long an external connection keeps trying to
// reconnect after it drops (default 2 minutes; negative: forever).
func WithReconnectWindow(d time.Duration) Option { return func(o *options) { o.reconnect = d } }

func buildOptions(opts []Option) options {
	o := options{logger: slog.Default(), name: "bgkit", reconnect: 2 * time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Start runs an embedded NATS server on 127.0.0.1 (random port, fresh
// credentials) and connects to it in-process.
func Start(ctx context.Context, opts ...Option) (*Bus, error) {
	o := buildOptions(opts)
	srv, err := embeddednats.Start(embeddednats.Options{
		Logger:     o.logger.With("component", "nats-server"),
		MaxPayload: o.maxPayload,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: start: %w", err)
	}
	creds := Credentials{
		URL:      srv.ClientURL(),
		User:     embeddednats.AdminUser,
		Password: srv.AdminPassword(),
		Embedded: true,
	}
	nc, err := nats.Connect(creds.URL,
		nats.InProcessServer(inProcess{srv.NATSServer()}),
		nats.UserInfo(creds.User, creds.Password),
		nats.Name(o.name),
		// The server is in this process: it closes this connection only as
		// a slow consumer's — a child flooding a subject this process
		// subscribes to (the reply slot of a call made to it, its events)
		// faster than the in-process pipe carries them. Come back at once
		// (nats.go subscribes again): calls in flight then may time out,
		// the bus does not die. It never reconnected, so one flood ended
		// every controller, exit watcher and grant of the process.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(10*time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.ErrorHandler(asyncErrorLogger(o.logger)),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: Close
				o.logger.Warn("bus: connection dropped by the server; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { o.logger.Info("bus: reconnected") }),
	)
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("bus: start: connect: %w", err)
	}
	b := &Bus{nc: nc, srv: srv, creds: creds, log: o.logger, granted: map[string]bool{}, name: o.name}
	if err := b.serveGrants(); err != nil {
		nc.Close()
		srv.Shutdown()
		return nil, fmt.Errorf("bus: start: %w", err)
	}
	return b, nil
}

// Connect joins an external NATS deployment at url (a comma-separated list
// of servers is accepted). A url with user:password@ or token@ is honoured.
func Connect(ctx context.Context, url string, opts ...Option) (*Bus, error) {
	o := buildOptions(opts)
	c := o.creds
	c.URL = url
	return dial(ctx, c, o)
}

// Dial connects with credentials handed over by a parent (see [Bus.Grant]).
func Dial(ctx context.Context, c Credentials, opts ...Option) (*Bus, error) {
	return dial(ctx, c, buildOptions(opts))
}

func dial(ctx context.Context, c Credentials, o options) (*Bus, error) {
	nopts, err := natsOptions(c, o)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", redact(c.URL), err)
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(c.URL, nopts...)
		ch <- result{nc, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("bus: connect %s: %w", redact(c.URL), r.err)
		}
		return &Bus{nc: r.nc, creds: c, log: o.logger, granted: map[string]bool{}, name: o.name, opts: o}, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("bus: connect %s: %w", redact(c.URL), ctx.Err())
	}
}

func natsOptions(c Credentials, o options) ([]nats.Option, error) {
	nopts := []nats.Option{
		nats.Name(o.name),
		nats.Timeout(5 * time.Second),
		nats.ErrorHandler(asyncErrorLogger(o.logger)),
	}
	if o.dialer != nil {
		nopts = append(nopts, nats.SetCustomDialer(o.dialer))
	}
	if c.User != "" {
		nopts = append(nopts, nats.UserInfo(c.User, c.Password))
	}
	if c.Token != "" {
		nopts = append(nopts, nats.Token(c.Token))
	}
	if c.NKeyFile != "" {
		opt, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nkey: %w", err)
		}
		nopts = append(nopts, opt)
	}
	if c.CredsFile != "" {
		nopts = append(nopts, nats.UserCredentials(c.CredsFile))
	}
	if c.TLSCert != "" || c.TLSKey != "" {
		nopts = append(nopts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	if c.TLSCA != "" {
		nopts = append(nopts, nats.RootCAs(c.TLSCA))
	}
	if c.InboxPrefix != "" {
		nopts = append(nopts, nats.CustomInboxPrefix(c.InboxPrefix))
	}
	if c.Embedded {
		nopts = append(nopts, nats.NoReconnect())
	} else {
		wait := 250 * time.Millisecond
		max := -1
		if o.reconnect >= 0 {
			max = int(o.reconnect / wait)
		}
		nopts = append(nopts,
			nats.ReconnectWait(wait),
			nats.MaxReconnects(max),
			nats.ReconnectJitter(50*time.Millisecond, 50*time.Millisecond),
			nats.ReconnectBufSize(64<<20),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					o.logger.Warn("bus disconnected", "err", err)
				}
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) {
				o.logger.Info("bus reconnected", "url", redact(nc.ConnectedUrl()))
			}),
		)
	}
	return nopts, nil
}

func asyncErrorLogger(l *slog.Logger) nats.ErrHandler {
	return (&asyncErrors{l: l, kinds: map[string]*errKind{}, now: time.Now}).handle
}

// asyncErrors logs nats.go's asynchronous errors (slow consumers,
// permission violations): the first of a kind at once, then at most one a
// second, with the number left out since the last, so that a flood — a
// responder flooding its callers' reply subjects, say — is not a log
// flood.
type asyncErrors struct {
	l     *slog.Logger
	mu    sync.Mutex
	kinds map[string]*errKind // by error text
	now   func() time.Time
}

type errKind struct {
	last       time.Time
	suppressed int
}

// maxErrKinds bounds the kinds remembered (a permission error names its
// subject); past it they are forgotten.
const maxErrKinds = 256

func (a *asyncErrors) handle(_ *nats.Conn, sub *nats.Subscription, err error) {
	subject := ""
	if sub != nil {
		subject = sub.Subject
	}
	now := a.now()
	a.mu.Lock()
	k := a.kinds[err.Error()]
	if k == nil {
		if len(a.kinds) >= maxErrKinds {
			clear(a.kinds)
		}
		k = &errKind{}
		a.kinds[err.Error()] = k
	} else if now.Sub(k.last) < time.Second {
		k.suppressed++
		a.mu.Unlock()
		return
	}
	left := k.suppressed
	k.last, k.suppressed = now, 0
	a.mu.Unlock()
	if left > 0 {
		a.l.Warn("bus async error", "subject", subject, "err", err, "not_logged_since_last", left)
		return
	}
	a.l.Warn("bus async error", "subject", subject, "err", err)
}

// redact drops user info from a URL list for messages.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = nil
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// Conn is the NATS connection. Do not close it; close the Bus.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// LogConn is the connection for the relays of the children's logs: a
// second connection, made at the first call, so that the children's
// records never share Conn, which this process's calls, controllers, exit
// watchers and grants use. A child that logs as fast as it can would
// otherwise put its records ahead of the replies to this process's calls,
// to every service, in Conn's one stream from the server (calls to a quiet
// child while another logged flat out: p99 30-34 ms on one connection,
// 8-10 ms with the relays on their own; on a standalone nats-server 18-23
// ms against 10-13), and a child flooding its log subject with the
// largest messages the server takes would have the server close Conn as a
// slow consumer's (a standalone nats-server, 0.6-1.6 GB/s from four
// connections: Conn dropped 4-8 times in 3 s, calls to a quiet child timed
// out; TestExternalLogFlood). It is closed with the Bus; do not close it.
//
// On an embedded bus it is a connection to the embedded server over
// loopback TCP: the kernel's socket buffer lets the server write the
// records without waiting for the relay's reads, which the in-process pipe
// does not. On an external bus it dials the bus's servers with the bus's
// credentials and options (TLS, creds file, dialer, reconnect window),
// named after the bus's client name with " logs". If the server closes
// it (a slow consumer's) or its server fails over, it reconnects and the
// relays ask their children for the records they missed (logfwd's
// resend). If it cannot be made (a WARN says so), and in a child of an
// embedded bus, it is Conn.
func (b *Bus) LogConn() *nats.Conn {
	if b.srv == nil && b.creds.Embedded {
		return b.nc // a child of an embedded bus: it relays no logs
	}
	b.logMu.Lock()
	defer b.logMu.Unlock()
	switch {
	case b.logNC != nil:
		return b.logNC
	case b.logClosed: // Close ran, or the second connection failed
		return b.nc
	}
	var nc *nats.Conn
	var err error
	if b.srv != nil {
		nc, err = b.dialEmbeddedLogs()
	} else {
		nc, err = b.dialExternalLogs()
	}
	if err != nil {
		b.log.Warn("bus: no second connection for the log relays: they share the bus's", "err", err)
		b.logClosed = true
		nc = b.nc
	} else {
		b.logNC = nc
	}
	if b.srv != nil { // only the embedded server diverts calls (StopCalls)
		b.subscribeRefuser(nc)
	}
	return nc
}

// dialEmbeddedLogs makes the embedded bus's connection for the log relays.
func (b *Bus) dialEmbeddedLogs() (*nats.Conn, error) {
	return nats.Connect(b.creds.URL,
		nats.UserInfo(b.creds.User, b.creds.Password),
		nats.Name(b.name+" logs"),
		// The server is in this process: it closes this connection only
		// as a slow consumer's (the relays' handlers starved of CPU for
		// long). Come back at once; the relays then ask their publishers
		// for what they missed (logfwd's resend).
		nats.MaxReconnects(-1),
		nats.ReconnectWait(10*time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.ErrorHandler(asyncErrorLogger(b.log)),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: Close
				b.log.Warn("bus: the log relays' connection dropped; reconnecting", "err", err)
			}
		}),
	)
}

// dialExternalLogs makes an external bus's connection for the log relays:
// to the servers of the bus's URL, with the options of the bus's own
// connection (natsOptions), reconnecting as it does, so that after a
// failover the relays are back on another server within the same window.
// The bus's connection was made with these options, so a failure here is
// one of the moment (the server is gone, or refuses more connections of
// the user): nats.Connect's own timeout bounds it.
func (b *Bus) dialExternalLogs() (*nats.Conn, error) {
	o := b.opts
	o.name = b.name + " logs"
	nopts, err := natsOptions(b.creds, o)
	if err != nil {
		return nil, err
	}
	nopts = append(nopts,
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: Close
				b.log.Warn("bus: the log relays' connection disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("bus: the log relays' connection reconnected", "url", redact(nc.ConnectedUrl()))
		}),
	)
	nc, err := nats.Connect(b.creds.URL, nopts...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", redact(b.creds.URL), err)
	}
	return nc, nil
}

// subscribeRefuser subscribes refuseDiverted on nc, and waits until the
// server has the subscription (StopCalls diverts calls there next). b.logMu
// must be held.
func (b *Bus) subscribeRefuser(nc *nats.Conn) {
	if b.refuser != nil {
		return
	}
	sub, err := nc.Subscribe(embeddednats.Diverted(ServicePrefix+">"), refuseDiverted)
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		b.log.Warn("bus: the calls of a stopping service will find no responder", "err", err)
		return
	}
	b.refuser = sub
}

// URL is the server URL, without credentials.
func (b *Bus) URL() string { return redact(b.creds.URL) }

// Credentials are the credentials this process connected with.
func (b *Bus) Credentials() Credentials { return b.creds }

// Embedded reports whether the bus runs an embedded server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// Logger is the bus's logger.
func (b *Bus) Logger() *slog.Logger { return b.log }

// Grant returns credentials for a child that will serve service name. On
// the embedded server they belong to a new user scoped by
// [ChildPermissions]: it may serve only svc.NAME.>, publish only its own
// log.NAME and evt.NAME.>, use virtual CAN buses, call and discover other
// services and follow events and lifecycle; it may also subscribe under
// a short inbox of its own for its log acknowledgements
// (Credentials.LogInbox), and publish under $BGKIT.DIVERTED.svc. (where
// the server maps the calls StopCalls diverts, and checks them: the bus's
// owner answers them 503). On an external bus the child shares this
// process's credentials (scope them with per-service users on the server,
// see ChildPermissions) with its own inbox prefix, which its log
// acknowledgements use too. Revoke the grant when the child has exited.
func (b *Bus) Grant(name string) (Credentials, error) {
	if err := ValidateName(name); err != nil {
		return Credentials{}, fmt.Errorf("bus: grant: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Credentials{}, ErrClosed
	}
	if _, ok := b.granted[name]; ok {
		return Credentials{}, fmt.Errorf("bus: grant %s: %w", name, ErrGranted)
	}
	inbox := ChildInboxPrefix(name)
	c := b.creds
	c.InboxPrefix = inbox
	remote := false
	if b.srv != nil {
		c.LogInbox = logInbox("_INBOX")
		perms := ChildPermissions(name, inbox)
		perms.Subscribe = append(perms.Subscribe, c.LogInbox+".>")
		// The server checks a publish against the subject StopCalls maps
		// a call to: a child calling a stopping service gets its 503.
		perms.Publish = append(perms.Publish, embeddednats.Diverted(ServicePrefix+">"))
		pass, err := b.srv.AddUser(name, perms)
		if err != nil {
			if errors.Is(err, embeddednats.ErrUserExists) {
				err = ErrGranted
			}
			return Credentials{}, fmt.Errorf("bus: grant %s: %w", name, err)
		}
		c.User, c.Password = name, pass
	} else if b.creds.Embedded {
		// A child of an embedded bus: its user may not grant.
		return Credentials{}, fmt.Errorf("bus: grant %s: %w", name, ErrNoGrant)
	} else {
		rc, ok, err := b.remoteGrant(name)
		if err != nil {
			return Credentials{}, fmt.Errorf("bus: grant %s: %w", name, err)
		}
		if ok {
			c, remote = rc, true
		} else {
			// Under the child's inbox prefix, which its user (scoped
			// with ChildPermissions) may subscribe under.
			c.LogInbox = logInbox(inbox)
		}
	}
	b.granted[name] = remote
	return c, nil
}

// StopCalls has the embedded server route no more calls to service name
// (svc.NAME.>, which only the child granted name may serve): from now on
// this process answers them 503 "NAME is shutting down", as the service
// does while it stops. What the server routed to the service before is
// ahead, on the child's connection, of what is published to the child
// after StopCalls returns, but for at most one call per calling connection
// (embeddednats.Server.Divert): the service's drain answers those. Revoke
// ends it:
// a call finds the name's next child, or no responder. It reports false
// on an external bus (its server is the operator's) and for a name not
// granted.
func (b *Bus) StopCalls(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.granted[name]; !ok || b.srv == nil || b.closed {
		return false
	}
	b.LogConn() // and the refuser with it (made at the first relay, usually)
	if err := b.srv.Divert(ServiceWildcard(name)); err != nil {
		b.log.Warn("bus: stop calls", "name", name, "err", err)
		return false
	}
	return true
}

// refuseDiverted answers a call that StopCalls diverted 503, "NAME is
// shutting down", as the service itself does meanwhile; only to a reply
// subject in the inbox namespace, like bgkit's responders.
func refuseDiverted(m *nats.Msg) {
	if m.Reply == "" || !IsInbox(m.Reply) {
		return
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(m.Subject, embeddednats.Diverted(ServicePrefix)), ".")
	_ = m.RespondMsg(ErrorReply(m.Reply, 503, ShuttingDown(name)))
}

// ShuttingDown is the message of the 503 that answers a call to service
// name while it stops.
func ShuttingDown(name string) string { return name + " is shutting down" }

// ChildInboxPrefix is the inbox prefix of the child serving name:
// _INBOX.bgkit_NAME. The '_' keeps it apart from nats.go's own inboxes
// (_INBOX.<nuid>, whose tokens are letters and digits only).
func ChildInboxPrefix(name string) string { return "_INBOX.bgkit_" + name }

// logInbox is a fresh log inbox for a child: prefix, a dot and 8 random
// letters and digits (47 bits). On the embedded bus prefix is _INBOX:
// every record of the child carries the inbox in its reply subject, and
// each byte of a message's protocol line costs the server and the relay's
// client their parsing (_INBOX.bgkit_NAME is 13 bytes and the name;
// BenchmarkLogThroughput's name of 25 characters: 417 k records/s against
// 376 k, 8 rounds); _INBOX.<8> cannot be the prefix of another child's
// (those have a '_') nor of nats.go's own inboxes (22 characters). On
// another bus it is the child's inbox prefix, which a user scoped with
// ChildPermissions may subscribe under.
func logInbox(prefix string) string {
	const letters = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [8]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return prefix + "." + string(b[:])
}

// ErrNoGrant is returned by Grant in a child of an embedded bus: only the
// process owning the server (or its administrator) may create users.
var ErrNoGrant = errors.New("this process may not grant credentials")

// ErrGranted is returned by Grant for a name that is already granted: a
// service of that name is running.
var ErrGranted = errors.New("name in use")

// Revoke ends a grant: the name may be granted again, and on the embedded
// server the user is removed and its connections closed, and calls to
// the name are routed again (StopCalls).
func (b *Bus) Revoke(name string) {
	b.mu.Lock()
	remote, ok := b.granted[name]
	delete(b.granted, name)
	if ok && b.srv != nil {
		b.srv.Undivert(ServiceWildcard(name)) // StopCalls'
	}
	b.mu.Unlock()
	switch {
	case b.srv != nil:
		b.srv.RemoveUser(name)
	case ok && remote:
		data, _ := json.Marshal(grantRequest{Name: name})
		if _, err := Request(context.Background(), b.nc, &nats.Msg{Subject: RevokeSubject, Data: data}, 5*time.Second); err != nil {
			b.log.Warn("revoke child credentials", "name", name, "err", err)
		}
	}
}

// ChildPermissions are the subjects a child serving name may use. They are
// what makes the attribution of subjects to services hold: only the child
// serving NAME can subscribe to svc.NAME.> and $SRV.VERB.NAME(.ID), and
// only it (and the administrator) can publish log.NAME and evt.NAME.>;
// no child can publish life.> (the parent's).
//
// Children get no response permission (allow_responses): with it, a child
// could reply to a reply subject it chose itself — by sending a request to
// its own subjects, to the CAN bus or to a second hostile child — and so
// publish anywhere. Replies go to the reply namespace instead (_INBOX.>),
// which is all a caller's reply subject may be: bgkit's responders answer
// nothing else (see IsInbox). So any child can publish into any inbox it
// can name: the inboxes bgkit waits on are NewInbox's, which no one can
// work out from the others.
//
// An external deployment gets the same guarantee with one user per service
// holding these permissions and no allow_responses.
func ChildPermissions(name, inboxPrefix string) embeddednats.Permissions {
	var sub []string
	for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb, micro.StatsVerb} {
		sub = append(sub, ControlSubjects(verb, name, ">")...)
	}
	sub = append(sub, ServiceWildcard(name), CANPrefix+">", inboxPrefix+".>", EventPrefix+">", LifePrefix+"*")
	return embeddednats.Permissions{
		Publish: []string{LogSubject(name), EventWildcard(name), ServicePrefix + ">", "$SRV.>",
			CANPrefix + ">", "_INBOX.>"},
		Subscribe: sub,
	}
}

// Close drains the connection and, for an embedded bus, stops the server.
// It is idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	for _, sub := range b.grantSubs {
		_ = sub.Unsubscribe()
	}
	b.logMu.Lock()
	b.logClosed = true
	if b.logNC != nil {
		_ = b.logNC.FlushTimeout(2 * time.Second)
		b.logNC.Close()
	}
	b.logMu.Unlock()
	var err error
	if b.nc != nil && !b.nc.IsClosed() {
		err = b.nc.FlushTimeout(2 * time.Second)
		b.nc.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
	}
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("bus: close: %w", err)
	}
	return nil
}
