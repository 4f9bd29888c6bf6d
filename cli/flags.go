package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/bgkit/bgkit/bus"
)

// newFlagSet returns a flag set whose --help prints usage and examples on
// out (stdout: help asked for is the output, as for bgkit help; a usage
// error's hint goes to stderr).
func newFlagSet(name, usage, examples string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: bgkit %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
		if examples != "" {
			fmt.Fprintf(out, "\nExamples:\n%s", examples)
		}
	}
	return fs
}

// parse parses args; --help prints the usage and is errHelp, a bad flag
// is a usage error whose message is the reason alone (the flag list is
// for --help, not in front of the reason).
func parse(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage()
		return errHelp
	case err != nil:
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// busFlags are the flags that say how to reach an external bus.
type busFlags struct {
	server, user, password, token, creds, nkey string
	tlsCert, tlsKey, tlsCA                     string
}

// register adds the flags of a command that joins a bus: --server, or
// $NATS_URL when it is not given.
func (f *busFlags) register(fs *flag.FlagSet) {
	f.registerServer(fs, "NATS server URL(s), comma-separated (default $NATS_URL)")
}

// registerUp adds the flags of up, which starts an embedded bus unless
// --server names one: $NATS_URL is not used, so that a NATS_URL exported
// from an earlier up does not make a new up join a stale bus.
func (f *busFlags) registerUp(fs *flag.FlagSet) {
	f.registerServer(fs, "join this NATS server (URLs comma-separated) instead of starting an embedded one; $NATS_URL is not used")
}

func (f *busFlags) registerServer(fs *flag.FlagSet, serverUsage string) {
	fs.StringVar(&f.server, "server", "", serverUsage)
	fs.StringVar(&f.user, "user", "", "user name")
	fs.StringVar(&f.password, "password", "", "password (prefer $NATS_PASSWORD)")
	fs.StringVar(&f.token, "token", "", "authentication token (prefer $NATS_TOKEN)")
	fs.StringVar(&f.creds, "creds", "", "creds file (user JWT and nkey seed)")
	fs.StringVar(&f.nkey, "nkey", "", "nkey seed file")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate (PEM)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "client key (PEM)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA bundle to verify the server")
}

func (f *busFlags) url() string {
	if f.server != "" {
		return f.server
	}
	return os.Getenv("NATS_URL")
}

func (f *busFlags) options(logger *slog.Logger) []bus.Option {
	opts := []bus.Option{bus.WithLogger(logger), bus.WithClientName("bgkit cli")}
	pass := f.password
	if pass == "" {
		pass = os.Getenv("NATS_PASSWORD")
	}
	if f.user != "" {
		opts = append(opts, bus.WithUserInfo(f.user, pass))
	}
	token := f.token
	if token == "" {
		token = os.Getenv("NATS_TOKEN")
	}
	if token != "" {
		opts = append(opts, bus.WithToken(token))
	}
	if f.creds != "" {
		opts = append(opts, bus.WithCredsFile(f.creds))
	}
	if f.nkey != "" {
		opts = append(opts, bus.WithNKeyFile(f.nkey))
	}
	if f.tlsCert != "" || f.tlsKey != "" || f.tlsCA != "" {
		opts = append(opts, bus.WithTLS(f.tlsCert, f.tlsKey, f.tlsCA))
	}
	return opts
}

// connect joins the external bus named by the flags or $NATS_URL.
func (f *busFlags) connect(ctx context.Context, logger *slog.Logger) (*bus.Bus, error) {
	u := f.url()
	if u == "" {
		return nil, usagef("no bus: pass --server URL or set NATS_URL (bgkit up prints it)")
	}
	return bus.Connect(ctx, u, f.options(logger)...)
}

// logFlags choose the log level and format.
type logFlags struct {
	level   string
	noColor bool
}

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.level, "log-level", "info", "lowest level shown: debug, info, warn, error")
	fs.BoolVar(&f.noColor, "no-color", false, "plain logs even on a terminal (also $NO_COLOR)")
}

func (f *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(f.level))); err != nil {
		return nil, usagef("bad --log-level %q: want debug, info, warn or error", f.level)
	}
	return newLogger(w, level, !f.noColor && os.Getenv("NO_COLOR") == ""), nil
}
