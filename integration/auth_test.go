package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// The tests in this file run the Counter flow on a standalone nats-server
// for each way of authenticating to an external deployment: the parent
// connects with a bus option, the child inherits the parent's credentials
// through bus.Grant, and a controller calls it. Each test also shows that
// the server refuses a client without the right credentials, so a server
// that accepted anyone could not make it pass.

// startAuthServer writes conf (server configuration lines) to a file in dir
// and starts nats-server with it on 127.0.0.1 and a random port.
func startAuthServer(t *testing.T, dir, conf string) string {
	t.Helper()
	cfg := filepath.Join(dir, "server.conf")
	writeFile(t, cfg, "listen: 127.0.0.1:-1\n"+conf+"\n", 0o600)
	return startNatsServer(t, "-c", cfg)
}

func writeFile(t *testing.T, name, content string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
}

// authQuiet is the logger of buses in these tests: connection errors are
// expected here.
var authQuiet = bus.WithLogger(slog.New(slog.DiscardHandler))

// connectAuth connects to url with opts and closes the bus at cleanup.
func connectAuth(t *testing.T, url string, opts ...bus.Option) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, url, append([]bus.Option{authQuiet}, opts...)...)
	if err != nil {
		t.Fatalf("connect with the right credentials: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// refused checks that connecting to url with opts fails. When want is not
// nil the error must match it.
func refused(t *testing.T, what, url string, want error, opts ...bus.Option) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, url, append([]bus.Option{authQuiet}, opts...)...)
	if err == nil {
		b.Close()
		t.Fatalf("%s: connected, want refused", what)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s: %v, want a prompt refusal", what, err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
	t.Logf("%s: refused: %v", what, err)
}

// isAuthError reports whether err is the server refusing the credentials.
func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired)
}

// checkGrant checks that a child of b would get b's credentials, so that
// a failure of the Counter flow below points at the child's dial.
func checkGrant(t *testing.T, b *bus.Bus) {
	t.Helper()
	c, err := b.Grant("AUTH_PROBE")
	if err != nil {
		t.Fatal(err)
	}
	b.Revoke("AUTH_PROBE")
	want := b.Credentials()
	want.InboxPrefix = c.InboxPrefix
	if !strings.HasPrefix(c.LogInbox, c.InboxPrefix+".") {
		t.Fatalf("grant's log inbox %q is not under its inbox prefix %q", c.LogInbox, c.InboxPrefix)
	}
	want.LogInbox = c.LogInbox
	if c != want {
		t.Fatalf("grant on an external bus differs from the parent's credentials in %v", credsDiff(c, want))
	}
	if c.InboxPrefix == "" {
		t.Fatal("grant has no inbox prefix")
	}
}

// credsDiff names the fields in which a and b differ (not their values:
// they may be secrets).
func credsDiff(a, b bus.Credentials) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var diff []string
	for i := range va.NumField() {
		if va.Field(i).Interface() != vb.Field(i).Interface() {
			diff = append(diff, va.Type().Field(i).Name)
		}
	}
	return diff
}

// counterFlow spawns a CounterService child on b, calls it and terminates it.
func counterFlow(t *testing.T, b *bus.Bus) {
	t.Helper()
	checkGrant(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec := newRecorder()
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Start: 1, Step: 2},
		spawn.WithLogger(slog.New(rec)), spawn.WithStartTimeout(10*time.Second), spawn.WithGrace(2*time.Second))
	if err != nil {
		t.Fatalf("spawn with the parent's %s: %v", b.Credentials(), err)
	}
	t.Cleanup(func() { h.Terminate(context.Background()) })
	c, err := controller.Connect(ctx, b, "COUNTER_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	cc := CounterController{c}
	if v, err := cc.Add(ctx, 5); err != nil || v != 11 {
		t.Fatalf("add = %d, %v; want 11", v, err)
	}
	// The child's records reach the parent over its own connection.
	rec.wait(t, 5*time.Second, msgIs("counter ready"))
	if err := h.Terminate(ctx); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	rec.wait(t, time.Second, msgIs("shutdown started"))
	if err := c.Call(ctx, "value", nil, nil); !errors.Is(err, controller.ErrNoService) {
		t.Fatalf("call after terminate = %v, want ErrNoService", err)
	}
}

func TestAuthToken(t *testing.T) {
	const token = "t0ken-9f2c7d1e"
	url := startAuthServer(t, t.TempDir(), fmt.Sprintf("authorization { token: %q }", token))

	refused(t, "no token", url, nats.ErrAuthorization)
	refused(t, "wrong token", url, nats.ErrAuthorization, bus.WithToken("t0ken-wrong"))

	b := connectAuth(t, url, bus.WithToken(token))
	if b.Embedded() {
		t.Fatal("external bus reports embedded")
	}
	if s := b.Credentials().String(); strings.Contains(s, token) {
		t.Fatalf("credentials string %q shows the token", s)
	}
	// The token folded into the URL, as NATS_URL carries it, works too.
	connectAuth(t, b.Credentials().ShareURL())
	counterFlow(t, b)
}

// writeNKeySeed creates an nkey user, writes its seed to a 0600 file and
// returns the file and the public key.
func writeNKeySeed(t *testing.T, dir, name string) (file, pub string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	if pub, err = kp.PublicKey(); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(dir, name)
	writeFile(t, file, string(seed)+"\n", 0o600)
	return file, pub
}

func TestAuthNKey(t *testing.T) {
	dir := t.TempDir()
	seedFile, pub := writeNKeySeed(t, dir, "user.nk")
	otherFile, _ := writeNKeySeed(t, dir, "other.nk")
	url := startAuthServer(t, dir, fmt.Sprintf("authorization { users = [ {nkey: %q} ] }", pub))

	refused(t, "no nkey", url, nats.ErrAuthorization)
	refused(t, "unknown nkey", url, nats.ErrAuthorization, bus.WithNKeyFile(otherFile))
	refused(t, "missing seed file", url, os.ErrNotExist, bus.WithNKeyFile(filepath.Join(dir, "absent.nk")))
	garbage := filepath.Join(dir, "garbage.nk")
	writeFile(t, garbage, "not a seed\n", 0o600)
	refused(t, "garbage seed file", url, nil, bus.WithNKeyFile(garbage))

	b := connectAuth(t, url, bus.WithNKeyFile(seedFile))
	counterFlow(t, b)
}

// jwtAccount is an account of the decentralized auth test.
type jwtAccount struct {
	kp  nkeys.KeyPair
	pub string
	jwt string // signed by the operator
}

func newJWTAccount(t *testing.T, operator nkeys.KeyPair, name string) jwtAccount {
	t.Helper()
	kp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	ac := jwt.NewAccountClaims(pub)
	ac.Name = name
	token, err := ac.Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	return jwtAccount{kp: kp, pub: pub, jwt: token}
}

// writeCreds creates a user signed by account and writes its creds file.
// A non-zero expires sets the JWT's expiry.
func writeCreds(t *testing.T, file string, account nkeys.KeyPair, expires time.Time) {
	t.Helper()
	ukp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	upub, err := ukp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	uc := jwt.NewUserClaims(upub)
	uc.Name = "rig"
	if !expires.IsZero() {
		uc.Expires = expires.Unix()
	}
	ujwt, err := uc.Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := ukp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, string(creds), 0o600)
}

func TestAuthCreds(t *testing.T) {
	dir := t.TempDir()
	okp, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	opub, err := okp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	sys := newJWTAccount(t, okp, "SYS")
	acc := newJWTAccount(t, okp, "RIG")
	oc := jwt.NewOperatorClaims(opub)
	oc.Name = "bgkit-test"
	oc.SystemAccount = sys.pub
	ojwt, err := oc.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	opFile := filepath.Join(dir, "operator.jwt")
	writeFile(t, opFile, ojwt, 0o600)

	// An account the operator signed but the server does not know, and one
	// signed by another operator.
	stranger := newJWTAccount(t, okp, "STRANGER")
	otherOp, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	forged := newJWTAccount(t, otherOp, "RIG")

	url := startAuthServer(t, dir, fmt.Sprintf(`operator: %q
system_account: %s
resolver: MEMORY
resolver_preload: {
  %s: %s
  %s: %s
}`, opFile, sys.pub, sys.pub, sys.jwt, acc.pub, acc.jwt))

	credsFile := filepath.Join(dir, "rig.creds")
	writeCreds(t, credsFile, acc.kp, time.Time{})
	expired := filepath.Join(dir, "expired.creds")
	writeCreds(t, expired, acc.kp, time.Now().Add(-time.Hour))
	unknown := filepath.Join(dir, "unknown.creds")
	writeCreds(t, unknown, stranger.kp, time.Time{})
	forgedFile := filepath.Join(dir, "forged.creds")
	writeCreds(t, forgedFile, forged.kp, time.Time{})

	refused(t, "no creds", url, nil)
	for _, tc := range []struct{ name, file string }{
		{"expired user", expired},
		{"account unknown to the server", unknown},
		{"account of another operator", forgedFile},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		b, err := bus.Connect(ctx, url, authQuiet, bus.WithCredsFile(tc.file))
		cancel()
		if err == nil {
			b.Close()
			t.Fatalf("%s: connected, want refused", tc.name)
		}
		if !isAuthError(err) {
			t.Fatalf("%s: %v, want an authorization error", tc.name, err)
		}
	}

	b := connectAuth(t, url, bus.WithCredsFile(credsFile))
	counterFlow(t, b)
}

// testPKI is a CA with certificates made from it, as PEM files.
type testPKI struct {
	dir     string
	ca      *x509.Certificate
	caKey   *ecdsa.PrivateKey
	caFile  string
	serial  int64
	notTill time.Time
}

func newTestPKI(t *testing.T, dir, name string) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: dir, caKey: key, notTill: time.Now().Add(time.Hour), serial: 1}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(p.serial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              p.notTill,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caFile = filepath.Join(dir, name+"-ca.pem")
	writeFile(t, p.caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	return p
}

// issue writes a certificate and key signed by the CA, for a server on
// 127.0.0.1 or for a client.
func (p *testPKI) issue(t *testing.T, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     p.notTill,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(p.dir, name+".pem")
	keyFile = filepath.Join(p.dir, name+"-key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), 0o600)
	return certFile, keyFile
}

// tlsServer starts a nats-server that requires client certificates from
// pki's CA, with extra configuration lines. It returns the tls:// URL.
func tlsServer(t *testing.T, pki *testPKI, extra string) string {
	t.Helper()
	cert, key := pki.issue(t, "server", true)
	url := startAuthServer(t, pki.dir, fmt.Sprintf(`tls {
  cert_file: %q
  key_file: %q
  ca_file: %q
  verify: true
  timeout: 5
}
%s`, cert, key, pki.caFile, extra))
	return "tls://" + strings.TrimPrefix(url, "nats://")
}

func TestAuthTLSClientCert(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "rig")
	url := tlsServer(t, pki, "")
	cert, key := pki.issue(t, "client", false)
	// An impostor CA with the same name as the rig's, so that the client
	// offers its certificate and the server must check the signature.
	impostorDir := filepath.Join(dir, "impostor")
	if err := os.Mkdir(impostorDir, 0o700); err != nil {
		t.Fatal(err)
	}
	other := newTestPKI(t, impostorDir, "rig")
	otherCert, otherKey := other.issue(t, "client", false)

	refused(t, "system roots only", url, nil)
	refused(t, "no client certificate", url, nil, bus.WithTLS("", "", pki.caFile))
	refused(t, "client certificate of an impostor CA", url, nil, bus.WithTLS(otherCert, otherKey, pki.caFile))
	// The client checks the server too: a CA that did not sign the
	// server's certificate is refused on the client side.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := bus.Connect(ctx, url, authQuiet, bus.WithTLS(cert, key, other.caFile))
	cancel()
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("server certificate checked against the wrong CA: %v, want x509.UnknownAuthorityError", err)
	}

	// nats:// with TLS options upgrades too.
	connectAuth(t, "nats://"+strings.TrimPrefix(url, "tls://"), bus.WithTLS(cert, key, pki.caFile))
	b := connectAuth(t, url, bus.WithTLS(cert, key, pki.caFile))
	if s := b.Credentials().String(); !strings.HasSuffix(s, "+tls)") {
		t.Fatalf("credentials string %q does not mention tls", s)
	}
	counterFlow(t, b)
}

func TestAuthTLSUserPassword(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "rig")
	url := tlsServer(t, pki, `authorization { user: rig, password: "s3cret-tls-pass" }`)
	cert, key := pki.issue(t, "client", false)

	refused(t, "certificate without password", url, nats.ErrAuthorization, bus.WithTLS(cert, key, pki.caFile))
	refused(t, "certificate with a wrong password", url, nats.ErrAuthorization,
		bus.WithTLS(cert, key, pki.caFile), bus.WithUserInfo("rig", "wrong"))
	refused(t, "password without certificate", url, nil,
		bus.WithTLS("", "", pki.caFile), bus.WithUserInfo("rig", "s3cret-tls-pass"))

	b := connectAuth(t, url, bus.WithTLS(cert, key, pki.caFile), bus.WithUserInfo("rig", "s3cret-tls-pass"))
	counterFlow(t, b)
}
