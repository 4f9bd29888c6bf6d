package isotp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
)

func TestTimeouts(t *testing.T) {
	t.Run("N_Bs", func(t *testing.T) {
		ctx := testCtx(t)
		h := can.NewHub()
		cfg := tester
		cfg.TimeoutBs = 50 * time.Millisecond
		a := newConn(t, h, cfg)
		raw := attach(t, h) // receives the FF, never answers
		start := time.Now()
		err := a.Send(ctx, payload(20))
		wantErr(t, "Send", err, ErrTimeoutBs)
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("gave up after %v, before N_Bs", d)
		}
		recvFrame(t, ctx, raw)
	})
	t.Run("N_Bs restarts after WAIT", func(t *testing.T) {
		ctx := testCtx(t)
		h := can.NewHub()
		cfg := tester
		cfg.TimeoutBs = 50 * time.Millisecond
		a := newConn(t, h, cfg)
		raw := attach(t, h)
		errc := make(chan error, 1)
		go func() { errc <- a.Send(ctx, payload(20)) }()
		recvFrame(t, ctx, raw)
		sendFrame(t, ctx, raw, "7E8#310000")
		err := <-errc
		wantErr(t, "Send", err, ErrTimeoutBs)
	})
	t.Run("N_Cr", func(t *testing.T) {
		ctx := testCtx(t)
		h := can.NewHub()
		cfg := peer(tester)
		cfg.TimeoutCr = 50 * time.Millisecond
		c := newConn(t, h, cfg)
		raw := attach(t, h)
		sendFrame(t, ctx, raw, "7E0#1010000102030405")
		start := time.Now()
		_, err := c.Recv(ctx)
		wantErr(t, "Recv", err, ErrTimeoutCr)
		if d := time.Since(start); d < 45*time.Millisecond {
			t.Errorf("gave up after %v, before N_Cr", d)
		}
		// A CF after the timeout is ignored; the next message arrives.
		sendFrame(t, ctx, raw, "7E0#21060708090A0B0C")
		sendFrame(t, ctx, raw, "7E0#021122")
		msg, err := c.Recv(ctx)
		if err != nil || string(msg) != "\x11\x22" {
			t.Fatalf("Recv = %x, %v", msg, err)
		}
	})
	t.Run("N_Cr restarts with each CF", func(t *testing.T) {
		ctx := testCtx(t)
		h := can.NewHub()
		cfg := peer(tester)
		cfg.TimeoutCr = 60 * time.Millisecond
		c := newConn(t, h, cfg)
		raw := attach(t, h)
		frames, _ := wrapping(40) // FF + 5 CFs
		for _, f := range frames {
			sendFrame(t, ctx, raw, f)
			time.Sleep(25 * time.Millisecond) // spacing is what is tested
		}
		if msg, err := c.Recv(ctx); err != nil || len(msg) != 40 {
			t.Fatalf("Recv = %d bytes, %v", len(msg), err)
		}
	})
	t.Run("N_As", func(t *testing.T) {
		ctx := testCtx(t)
		cfg := tester
		cfg.TimeoutAs = 20 * time.Millisecond
		c, err := New(stuckBus{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Send(ctx, []byte{0x3E, 0x80})
		wantErr(t, "Send", err, ErrTimeoutAs)
	})
}

// stuckBus is a bus whose Send never completes.
type stuckBus struct{}

func (stuckBus) Send(ctx context.Context, _ can.Frame) error { <-ctx.Done(); return ctx.Err() }
func (stuckBus) Recv(ctx context.Context) (can.Received, error) {
	<-ctx.Done()
	return can.Received{}, ctx.Err()
}
func (stuckBus) Close() error { return nil }

func TestContextCancel(t *testing.T) {
	h := can.NewHub()
	a := newConn(t, h, tester)
	attach(t, h) // a silent receiver
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := a.Send(ctx, payload(100))
	wantErr(t, "Send", err, context.DeadlineExceeded)
	_, err = a.Recv(ctx)
	wantErr(t, "Recv", err, context.DeadlineExceeded)
}

func TestFunctional(t *testing.T) {
	tests := []struct {
		name    string
		tester  Config
		ecu     Config
		frame   string // the functional frame on the bus
		maxLen  int
		wantErr error
	}{
		{
			name:   "normal 11-bit",
			tester: Config{TxID: 0x7E0, RxID: 0x7E8, FunctionalID: 0x7DF},
			ecu:    Config{TxID: 0x7E8, RxID: 0x7E0, FunctionalID: 0x7DF, AcceptFunctional: true},
			frame:  "7DF#023E80CCCCCCCCCC",
			maxLen: 7,
		},
		{
			name:   "normal fixed",
			tester: Config{Addressing: NormalFixedAddressing, SourceAddress: 0xF1, TargetAddress: 0x10, FunctionalAddress: 0x33},
			ecu:    Config{Addressing: NormalFixedAddressing, SourceAddress: 0x10, TargetAddress: 0xF1, FunctionalAddress: 0x33, AcceptFunctional: true},
			frame:  "18DB33F1#023E80CCCCCCCCCC",
			maxLen: 7,
		},
		{
			name:   "extended",
			tester: Config{Addressing: ExtendedAddressing, TxID: 0x6F1, RxID: 0x610, FunctionalID: 0x6FF, SourceAddress: 0xF1, TargetAddress: 0x10, FunctionalAddress: 0x33},
			ecu:    Config{Addressing: ExtendedAddressing, TxID: 0x610, RxID: 0x6F1, FunctionalID: 0x6FF, SourceAddress: 0x10, TargetAddress: 0xF1, FunctionalAddress: 0x33, AcceptFunctional: true},
			frame:  "6FF#33023E80CCCCCCCC",
			maxLen: 6,
		},
		{
			name:   "mixed 29-bit",
			tester: Config{Addressing: MixedAddressing, Extended: true, SourceAddress: 0xF1, TargetAddress: 0x10, FunctionalAddress: 0x33, AddressExtension: 0x42},
			ecu:    Config{Addressing: MixedAddressing, Extended: true, SourceAddress: 0x10, TargetAddress: 0xF1, FunctionalAddress: 0x33, AddressExtension: 0x42, AcceptFunctional: true},
			frame:  "18CD33F1#42023E80CCCCCCCC",
			maxLen: 6,
		},
		{
			name:   "fd",
			tester: Config{TxID: 0x7E0, RxID: 0x7E8, FunctionalID: 0x7DF, FD: true},
			ecu:    Config{TxID: 0x7E8, RxID: 0x7E0, FunctionalID: 0x7DF, AcceptFunctional: true, FD: true},
			frame:  "7DF##0023E80CCCCCCCCCC",
			maxLen: 62,
		},
		{
			name:    "not configured",
			tester:  tester,
			ecu:     peer(tester),
			wantErr: ErrInvalidConfig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			h := can.NewHub()
			a := newConn(t, h, tt.tester)
			e := newConn(t, h, tt.ecu)
			other := tt.ecu
			other.AcceptFunctional = false
			o := newConn(t, h, other) // an ECU that does not take functional requests
			sniff := attach(t, h)
			err := a.SendFunctional(ctx, []byte{0x3E, 0x80})
			wantErr(t, "SendFunctional", err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			if got := recvFrame(t, ctx, sniff).String(); got != tt.frame {
				t.Errorf("frame %s, want %s", got, tt.frame)
			}
			if m, err := e.RecvMessage(ctx); err != nil || string(m.Data) != "\x3E\x80" || !m.Functional {
				t.Errorf("ECU RecvMessage = %x functional %v, %v", m.Data, m.Functional, err)
			}
			// A physical request is not functional.
			if err := a.Send(ctx, []byte{0x3E, 0x00}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*Conn{e, o} { // both have the physical identifiers
				if m, err := c.RecvMessage(ctx); err != nil || string(m.Data) != "\x3E\x00" || m.Functional {
					t.Errorf("ECU RecvMessage = %x functional %v, %v", m.Data, m.Functional, err)
				}
			}
			err = a.SendFunctional(ctx, payload(tt.maxLen))
			wantErr(t, "SendFunctional max", err, nil)
			if msg, err := e.Recv(ctx); err != nil || len(msg) != tt.maxLen {
				t.Errorf("ECU Recv = %d bytes, %v", len(msg), err)
			}
			err = a.SendFunctional(ctx, payload(tt.maxLen+1))
			wantErr(t, "SendFunctional too long", err, ErrMessageTooLong)
			// Physical traffic still works, and the other ECU saw nothing.
			exchange(t, ctx, a, o, []byte{0x22, 0xF1, 0x90})
		})
	}
}

// TestMinimalFrames checks frame lengths with and without padding.
func TestMinimalFrames(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		size int
		want []string // frames sent by the tester, in order
	}{
		{"classic padded", tester, 9, []string{"7E0#1009000102030405", "7E0#21060708CCCCCCCC"}},
		{"classic minimal", withPadding(tester, NoPadding), 9, []string{"7E0#1009000102030405", "7E0#21060708"}},
		{"classic minimal SF", withPadding(tester, NoPadding), 2, []string{"7E0#020001"}},
		{"fd minimal SF", withPadding(Config{TxID: 0x7E0, RxID: 0x7E8, FD: true}, NoPadding), 2, []string{"7E0##0020001"}},
		{"fd padded SF", Config{TxID: 0x7E0, RxID: 0x7E8, FD: true}, 2, []string{"7E0##0020001CCCCCCCCCC"}},
		{"fd minimal escape SF rounds up to 12", withPadding(Config{TxID: 0x7E0, RxID: 0x7E8, FD: true}, NoPadding), 9,
			[]string{"7E0##00009000102030405060708CC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			h := can.NewHub()
			a := newConn(t, h, tt.cfg)
			b := newConn(t, h, peer(tt.cfg))
			sniff := attach(t, h, can.Filter{ID: 0x7E0, Mask: can.EFFFlag | can.MaxID})
			msg := make([]byte, tt.size)
			for i := range msg {
				msg[i] = byte(i)
			}
			exchange(t, ctx, a, b, msg)
			for i, want := range tt.want {
				if got := recvFrame(t, ctx, sniff).String(); got != want {
					t.Errorf("frame %d: %s, want %s", i, got, want)
				}
			}
		})
	}
}

func TestClose(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	n := attach(t, h)
	cfg := tester
	cfg.FunctionalID = 0x7DF
	c, err := New(n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Recv(ctx)
		errc <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "blocked Recv", <-errc, ErrClosed)
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = c.Recv(ctx)
	wantErr(t, "Recv", err, ErrClosed)
	wantErr(t, "Send", c.Send(ctx, []byte{1}), ErrClosed)
	wantErr(t, "SendFunctional", c.SendFunctional(ctx, []byte{1}), ErrClosed)
}

func TestBusClosed(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	n := h.Attach()
	c, err := New(n, tester)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n.Close()
	_, err = c.Recv(ctx)
	wantErr(t, "Recv", err, can.ErrClosed)
	wantErr(t, "Send", c.Send(ctx, payload(3)), can.ErrClosed)
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero", Config{}},
		{"same ids", Config{TxID: 0x7E0, RxID: 0x7E0}},
		{"11-bit id too large", Config{TxID: 0x800, RxID: 0x7E8}},
		{"29-bit id too large", Config{TxID: 0x20000000, RxID: 0x7E8, Extended: true}},
		{"functional id too large", Config{TxID: 0x7E0, RxID: 0x7E8, FunctionalID: 0x800}},
		{"fixed same addresses", Config{Addressing: NormalFixedAddressing, SourceAddress: 1, TargetAddress: 1}},
		{"unknown addressing", Config{TxID: 0x7E0, RxID: 0x7E8, Addressing: 9}},
		{"classic TxDL 12", Config{TxID: 0x7E0, RxID: 0x7E8, TxDL: 12}},
		{"fd TxDL 13", Config{TxID: 0x7E0, RxID: 0x7E8, FD: true, TxDL: 13}},
		{"fd TxDL 7", Config{TxID: 0x7E0, RxID: 0x7E8, FD: true, TxDL: 7}},
		{"fd TxDL 65", Config{TxID: 0x7E0, RxID: 0x7E8, FD: true, TxDL: 65}},
		{"BRS without FD", Config{TxID: 0x7E0, RxID: 0x7E8, BRS: true}},
		{"negative timeout", Config{TxID: 0x7E0, RxID: 0x7E8, TimeoutCr: -1}},
		{"negative max size", Config{TxID: 0x7E0, RxID: 0x7E8, MaxMessageSize: -1}},
		{"STmin too long", Config{TxID: 0x7E0, RxID: 0x7E8, STmin: 128 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(stuckBus{}, tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("New: %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	a := newConn(t, h, tester)
	wantErr(t, "empty", a.Send(ctx, nil), ErrMessageTooLong)
}

// TestSTminPacing checks that consecutive frames keep the receiver's STmin.
func TestSTminPacing(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub()
	const st = 3 * time.Millisecond
	a := newConn(t, h, tester)
	b := newConn(t, h, withBlock(peer(tester), 0, st))
	sniff := attach(t, h, can.Filter{ID: 0x7E0, Mask: can.EFFFlag | can.MaxID})
	exchange(t, ctx, a, b, payload(6+7*5)) // FF + 5 CFs
	recvFrame(t, ctx, sniff)               // FF
	var last time.Time
	for i := range 5 {
		r, err := sniff.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if gap := r.Time.Sub(last); gap < st {
				t.Errorf("CF %d came %v after the previous one, STmin %v", i+1, gap, st)
			}
		}
		last = r.Time
	}
}

// TestPacedHub round-trips over a hub that paces frames like a 1 Mbit/s
// bus, so that sender and receiver run at bus speed, with blocks and STmin.
func TestPacedHub(t *testing.T) {
	ctx := testCtx(t)
	h := can.NewHub(can.WithBitrate(1_000_000))
	cfg := withBlock(tester, 8, 0)
	a := newConn(t, h, cfg)
	b := newConn(t, h, withBlock(peer(cfg), 16, 200*time.Microsecond))
	start := time.Now()
	exchange(t, ctx, a, b, payload(4095))
	// 586 frames of about 111 bits each cannot pass in less than 65 ms.
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("4095 bytes took %v on a paced 1 Mbit/s hub", d)
	}
	exchange(t, ctx, b, a, payload(4095))
}
