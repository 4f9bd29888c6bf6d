package isotp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
)

var tester = Config{TxID: 0x7E0, RxID: 0x7E8}

func TestRoundTrip(t *testing.T) {
	fd := Config{TxID: 0x7E0, RxID: 0x7E8, FD: true, BRS: true}
	big := fd
	big.MaxMessageSize = 100_000
	tests := []struct {
		name  string
		cfg   Config
		sizes []int
	}{
		{"classic", tester, []int{1, 6, 7, 8, 13, 14, 62, 63, 111, 112, 113, 4095}},
		{"classic no padding", withPadding(tester, NoPadding), []int{1, 7, 8, 20, 4095}},
		{"classic pad 0xAA", withPadding(tester, PadWith(0xAA)), []int{2, 100}},
		{"classic 32-bit length", withMax(tester, 5000), []int{4096, 5000}},
		{"fd", fd, []int{1, 7, 8, 62, 63, 64, 200, 4095}},
		{"fd 100000", big, []int{100_000}},
		{"fd TxDL 12", Config{TxID: 0x7E0, RxID: 0x7E8, FD: true, TxDL: 12}, []int{10, 11, 300}},
		{"fd no padding", withPadding(fd, NoPadding), []int{5, 9, 30, 500}},
		{"29-bit normal", Config{TxID: 0x18DA10F1, RxID: 0x18DAF110, Extended: true}, []int{3, 300}},
		{"normal fixed", Config{Addressing: NormalFixedAddressing, SourceAddress: 0xF1, TargetAddress: 0x10}, []int{3, 300}},
		{"extended", Config{Addressing: ExtendedAddressing, TxID: 0x6F1, RxID: 0x610, SourceAddress: 0xF1, TargetAddress: 0x10}, []int{6, 7, 300}},
		{"extended fd", Config{Addressing: ExtendedAddressing, TxID: 0x6F1, RxID: 0x610, SourceAddress: 0xF1, TargetAddress: 0x10, FD: true}, []int{6, 7, 61, 62, 300}},
		{"mixed 11-bit", Config{Addressing: MixedAddressing, TxID: 0x7E0, RxID: 0x7E8, AddressExtension: 0x42}, []int{6, 7, 300}},
		{"mixed 29-bit", Config{Addressing: MixedAddressing, Extended: true, SourceAddress: 0xF1, TargetAddress: 0x10, AddressExtension: 0x42}, []int{6, 300}},
		{"block size 3", withBlock(tester, 3, 0), []int{100}},
		{"block size 1 STmin 1ms", withBlock(tester, 1, time.Millisecond), []int{30}},
		{"STmin 300µs", withBlock(tester, 0, 300*time.Microsecond), []int{60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			h := can.NewHub()
			a := newConn(t, h, tt.cfg)
			b := newConn(t, h, peer(tt.cfg))
			for _, n := range tt.sizes {
				exchange(t, ctx, a, b, payload(n))
				exchange(t, ctx, b, a, payload(n))
			}
		})
	}
}

func withPadding(c Config, p Padding) Config { c.Padding = p; return c }
func withMax(c Config, n int) Config         { c.MaxMessageSize = n; return c }
func withBlock(c Config, bs uint8, st time.Duration) Config {
	c.BlockSize, c.STmin = bs, st
	return c
}

// TestFullDuplex sends long messages both ways at once.
func TestFullDuplex(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	cfg := withBlock(tester, 4, 0)
	a := newConn(t, h, cfg)
	b := newConn(t, h, peer(cfg))
	const rounds = 5
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for _, p := range [][2]*Conn{{a, b}, {b, a}} {
		wg.Go(func() {
			for i := range rounds {
				if err := p[0].Send(ctx, payload(1000+i)); err != nil {
					errc <- err
					return
				}
			}
		})
		wg.Go(func() {
			for i := range rounds {
				got, err := p[1].Recv(ctx)
				if err != nil {
					errc <- err
					return
				}
				if !bytes.Equal(got, payload(1000+i)) {
					errc <- fmt.Errorf("message %d: got %d bytes", i, len(got))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// TestConcurrentSenders checks that concurrent Sends do not interleave.
func TestConcurrentSenders(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	a := newConn(t, h, tester)
	b := newConn(t, h, peer(tester))
	const senders = 4
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			if err := a.Send(ctx, bytes.Repeat([]byte{byte(i)}, 200+i)); err != nil {
				t.Error(err)
			}
		})
	}
	seen := map[int]bool{}
	for range senders {
		got, err := b.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := len(got) - 200
		if i < 0 || i >= senders || !bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, 200+i)) || seen[i] {
			t.Fatalf("got a mixed or repeated message of %d bytes", len(got))
		}
		seen[i] = true
	}
	wg.Wait()
}

// fakeReceiver answers a first frame from tester with the flow control
// frames fcs (cansend text, sent on 0x7E8) and returns what it received.
func fakeReceiver(t *testing.T, ctx context.Context, n can.Bus, fcs ...string) []can.Frame {
	t.Helper()
	var got []can.Frame
	f := recvFrame(t, ctx, n)
	got = append(got, f)
	for _, fc := range fcs {
		sendFrame(t, ctx, n, fc)
	}
	return got
}

func TestFlowControlAtSender(t *testing.T) {
	const cts, wait, ovflw = "7E8#300000", "7E8#310000", "7E8#320000"
	tests := []struct {
		name    string
		waitMax int
		fcs     []string
		wantErr error
	}{
		{"cts", 0, []string{cts}, nil},
		{"wait 3 of 3", 3, []string{wait, wait, wait, cts}, nil},
		{"wait 4 of 3", 3, []string{wait, wait, wait, wait, cts}, ErrWaitLimit},
		{"default allows 10", 0, []string{wait, wait, wait, wait, wait, wait, wait, wait, wait, wait, cts}, nil},
		{"default refuses 11", 0, []string{wait, wait, wait, wait, wait, wait, wait, wait, wait, wait, wait, cts}, ErrWaitLimit},
		{"no wait allowed", -1, []string{wait, cts}, ErrWaitLimit},
		{"overflow", 0, []string{ovflw}, ErrOverflow},
		{"wait then overflow", 0, []string{wait, ovflw}, ErrOverflow},
		{"invalid flow status", 0, []string{"7E8#350000"}, ErrInvalidFlowStatus},
		{"short FC ignored", 0, []string{"7E8#30", cts}, nil},
		{"other id ignored", 0, []string{"7E9#320000", cts}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			h := can.NewHub()
			cfg := tester
			cfg.WaitFrameMax = tt.waitMax
			cfg.TimeoutBs = 2 * time.Second
			a := newConn(t, h, cfg)
			raw := attach(t, h)
			errc := make(chan error, 1)
			go func() { errc <- a.Send(ctx, payload(20)) }()
			ff := fakeReceiver(t, ctx, raw, tt.fcs...)[0]
			if got := ff.String(); got != "7E0#101400070E151C23" {
				t.Errorf("first frame %s", got)
			}
			err := <-errc
			wantErr(t, "Send", err, tt.wantErr)
			if tt.wantErr == nil {
				// the two consecutive frames followed
				for i, want := range []string{"7E0#212A31383F464D54", "7E0#225B626970777E85"} {
					if got := recvFrame(t, ctx, raw).String(); got != want {
						t.Errorf("CF %d: %s, want %s", i+1, got, want)
					}
				}
			}
		})
	}
}

// TestBlockSize checks that the receiver sends one FC per block and the
// sender waits for it.
func TestBlockSize(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	cfg := withBlock(tester, 2, 0)
	a := newConn(t, h, cfg)
	b := newConn(t, h, peer(cfg))
	sniff := attach(t, h, can.Filter{ID: 0x7E8, Mask: can.EFFFlag | can.MaxID})
	// 6 + 7*7 = 55 bytes: FF and 7 CFs; FCs after FF, CF2, CF4, CF6.
	exchange(t, ctx, a, b, payload(55))
	var fcs []string
	for range 4 {
		fcs = append(fcs, recvFrame(t, ctx, sniff).String())
	}
	for i, fc := range fcs {
		if fc != "7E8#300200CCCCCCCCCC" {
			t.Errorf("FC %d: %s", i, fc)
		}
	}
	// All frames of the exchange are queued at sniff by now: a marker
	// sent after them must come next.
	sendFrame(t, ctx, attach(t, h), "7E8#FF")
	if got := recvFrame(t, ctx, sniff).String(); got != "7E8#FF" {
		t.Errorf("extra frame %s", got)
	}
}

func TestOverflowAtReceiver(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	cfg := peer(tester)
	cfg.MaxMessageSize = 100
	b := newConn(t, h, cfg)
	a := newConn(t, h, tester)
	t.Run("conn", func(t *testing.T) {
		err := a.Send(ctx, payload(101))
		wantErr(t, "Send", err, ErrOverflow)
		exchange(t, ctx, a, b, payload(100)) // the limit itself passes
	})
	t.Run("raw", func(t *testing.T) {
		raw := attach(t, h, can.Filter{ID: 0x7E8, Mask: can.EFFFlag | can.MaxID})
		sendFrame(t, ctx, raw, "7E0#1065000102030405")
		if got := recvFrame(t, ctx, raw).String(); got != "7E8#320000CCCCCCCCCC" {
			t.Errorf("FC %s, want OVFLW", got)
		}
	})
}

// TestReceptionErrors feeds a Conn that receives on 0x7E0 hand-made
// frames and checks what Recv reports.
func TestReceptionErrors(t *testing.T) {
	const ff = "7E0#1010000102030405" // 16 bytes: FF + 2 CFs
	const msg16 = "000102030405060708090a0b0c0d0e0f"
	wrapFrames, wrapMsg := wrapping(0x70)
	tests := []struct {
		name   string
		frames []string
		want   []error // per Recv; nil for the message msg
		msg    string  // hex
	}{
		{"complete", []string{ff, "7E0#21060708090A0B0C", "7E0#220D0E0F"}, []error{nil}, msg16},
		{"sequence wraps 15 to 0", wrapFrames, []error{nil}, wrapMsg},
		{"wrong sequence", []string{ff, "7E0#2206070809", "7E0#021122"}, []error{ErrWrongSequence, nil}, "1122"},
		{"aborted reception ignores its CFs", []string{ff, "7E0#2306070809", "7E0#220D0E0F", "7E0#021122"}, []error{ErrWrongSequence, nil}, "1122"},
		{"SF during reception", []string{ff, "7E0#21060708090A0B0C", "7E0#023E80"}, []error{ErrUnexpectedPDU, nil}, "3e80"},
		{"FF during reception", []string{ff, ff, "7E0#21060708090A0B0C", "7E0#220D0E0F"}, []error{ErrUnexpectedPDU, nil}, msg16},
		{"CF without reception ignored", []string{"7E0#21060708090A0B0C", "7E0#023E80"}, []error{nil}, "3e80"},
		{"FC ignored by receiver", []string{"7E0#300000", "7E0#023E80"}, []error{nil}, "3e80"},
		{"short CF", []string{ff, "7E0#210607"}, []error{ErrWrongLength}, ""},
		{"empty CF", []string{ff, "7E0#21"}, []error{ErrTruncated}, ""},
		{"invalid SF ignored", []string{"7E0#00", "7E0#09", "7E0#0511", "7E0#0000", "7E0#021122"}, []error{nil}, "1122"},
		{"unknown PCI ignored", []string{"7E0#4011", "7E0#021122"}, []error{nil}, "1122"},
		{"short FF ignored", []string{"7E0#100800", "7E0#021122"}, []error{nil}, "1122"},
		{"FF that fits a SF ignored", []string{"7E0#1007000102030405", "7E0#021122"}, []error{nil}, "1122"},
		{"other ids ignored", []string{"7E1#021122", "7E0#023344"}, []error{nil}, "3344"},
		{"29-bit frame with same id ignored", []string{"000007E0#021122", "7E0#023344"}, []error{nil}, "3344"},
		{"remote frame ignored", []string{"7E0#R", "7E0#023344"}, []error{nil}, "3344"},
		{"empty frame ignored", []string{"7E0#", "7E0#023344"}, []error{nil}, "3344"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			h := can.NewHub()
			c := newConn(t, h, peer(tester))
			raw := attach(t, h)
			for _, s := range tt.frames {
				sendFrame(t, ctx, raw, s)
			}
			for i, want := range tt.want {
				msg, err := c.Recv(ctx)
				wantErr(t, fmt.Sprintf("Recv %d", i), err, want)
				if got := fmt.Sprintf("%x", msg); want == nil && got != tt.msg {
					t.Errorf("Recv %d: %s, want %s", i, got, tt.msg)
				}
			}
		})
	}
}

// wrapping returns the frames of an n-byte message to 0x7E0 (more than 15
// CFs for n > 111) and the message in hex.
func wrapping(n int) ([]string, string) {
	msg := payload(n)
	frames := []string{fmt.Sprintf("7E0#1%03X%X", n, msg[:6])}
	for off, sn := 6, 1; off < n; off, sn = off+7, (sn+1)&15 {
		frames = append(frames, fmt.Sprintf("7E0#2%X%X", sn, msg[off:min(off+7, n)]))
	}
	return frames, fmt.Sprintf("%x", msg)
}

func TestSequenceError(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	c := newConn(t, h, peer(tester))
	raw := attach(t, h)
	sendFrame(t, ctx, raw, "7E0#1010000102030405")
	sendFrame(t, ctx, raw, "7E0#2506070809")
	_, err := c.Recv(ctx)
	var se *SequenceError
	if !errors.As(err, &se) || se.Want != 1 || se.Got != 5 {
		t.Fatalf("Recv: %v, want *SequenceError{Want: 1, Got: 5}", err)
	}
}
