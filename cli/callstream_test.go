package cli

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
)

// CallStreamService streams for `call --stream` tests: CALL_STREAM_SERVICE.
type CallStreamService struct {
	ended chan struct{} // closed when Forever's ctx ends
}

type callStreamItem struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

func (*CallStreamService) Initialize(context.Context) error { return nil }
func (*CallStreamService) Shutdown(context.Context) error   { return nil }

// Count streams n items.
func (*CallStreamService) Count(ctx context.Context, n int) (iter.Seq2[callStreamItem, error], error) {
	if n < 0 {
		return nil, errors.New("n must not be negative")
	}
	return func(yield func(callStreamItem, error) bool) {
		for i := range n {
			if !yield(callStreamItem{N: i, Text: fmt.Sprintf("item\n%d", i)}, nil) {
				return
			}
		}
	}, nil
}

// Fail streams two items, then fails.
func (*CallStreamService) Fail(ctx context.Context) (iter.Seq2[int, error], error) {
	return func(yield func(int, error) bool) {
		if yield(1, nil) && yield(2, nil) {
			yield(0, errors.New("sensor unplugged"))
		}
	}, nil
}

// Forever streams until its ctx ends.
func (s *CallStreamService) Forever(ctx context.Context) (iter.Seq2[int, error], error) {
	return func(yield func(int, error) bool) {
		defer close(s.ended)
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
			if !yield(i, nil) {
				return
			}
		}
	}, nil
}

func callStreamServe(t *testing.T) (*CallStreamService, string) {
	t.Helper()
	b := bgkittest.Bus(t)
	svc := &CallStreamService{ended: make(chan struct{})}
	bgkittest.Serve(t, b, svc)
	return svc, b.Credentials().ShareURL()
}

func TestCallStream(t *testing.T) {
	_, url := callStreamServe(t)
	ctx := t.Context()
	var want strings.Builder
	for i := range 2500 { // more than one pull's credit
		fmt.Fprintf(&want, "{\"n\":%d,\"text\":\"item\\n%d\"}\n", i, i)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"items one per line", []string{"--stream", "CALL_STREAM_SERVICE", "count", "2500"}, 0, want.String(), ""},
		{"flag after", []string{"CALL_STREAM_SERVICE", "count", "1", "--stream"}, 0, "{\"n\":0,\"text\":\"item\\n0\"}\n", ""},
		{"empty stream", []string{"--stream", "CALL_STREAM_SERVICE", "count", "0"}, 0, "", ""},
		{"open fails", []string{"--stream", "CALL_STREAM_SERVICE", "count", "-1"}, 1, "", "CALL_STREAM_SERVICE.count: error 500: n must not be negative"},
		{"fails midway", []string{"--stream", "CALL_STREAM_SERVICE", "fail"}, 1, "1\n2\n", "CALL_STREAM_SERVICE.fail: error 500: sensor unplugged"},
		{"'' is no input, as for nats req", []string{"--stream", "CALL_STREAM_SERVICE", "fail", ""}, 1, "1\n2\n", "sensor unplugged"},
		{"not a stream", []string{"--stream", "CALL_STREAM_SERVICE", "nope"}, 1, "", "nope"},
		{"stream without --stream", []string{"CALL_STREAM_SERVICE", "count", "1"}, 1, "", "error 400"},
		{"ends before its --timeout", []string{"--stream", "--timeout", "10s", "CALL_STREAM_SERVICE", "count", "1"}, 0, "{\"n\":0,\"text\":\"item\\n0\"}\n", ""},
		{"--timeout ends it, loudly", []string{"--stream", "--timeout", "300ms", "CALL_STREAM_SERVICE", "forever"}, 1, "", "--timeout 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, ctx, append([]string{"call", "--server", url}, tc.args...)...)
			if strings.HasPrefix(tc.name, "--timeout") {
				out = "" // as many items as came within the timeout
			}
			if code != tc.code || out != tc.stdout || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %.300q\nwant:   %.300q\nstderr: %s\nwant %q", code, tc.code, out, tc.stdout, errOut, tc.stderr)
			}
		})
	}
}

// Ctrl-C (ctx ending) exits 0 and stops the stream, so the method's ctx ends.
func TestCallStreamInterrupt(t *testing.T) {
	svc, url := callStreamServe(t)
	ctx, cancel := context.WithCancel(t.Context())
	w := &lineWriter{lines: make(chan string, 1000)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"call", "--stream", "--server", url, "CALL_STREAM_SERVICE", "forever"}, w, &strings.Builder{})
	}()
	for i := range 3 {
		select {
		case l := <-w.lines:
			if l != fmt.Sprint(i) {
				t.Fatalf("line %d = %q", i, l)
			}
		case err := <-done:
			t.Fatalf("call ended before Ctrl-C: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no items")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("interrupted call --stream returned %v, want nil (exit 0)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call --stream did not return after Ctrl-C")
	}
	// The stop reaches the service at once; 5 s is a margin for a loaded machine.
	select {
	case <-svc.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the method's ctx did not end after Ctrl-C")
	}
}
