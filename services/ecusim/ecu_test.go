package ecusim

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"github.com/bgkit/bgkit/hexid"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// newTestECU returns the ecu of New(args), logging into rec (nil: discard).
func newTestECU(t testing.TB, args Args, rec *logRecorder) *ecu {
	t.Helper()
	var h slog.Handler = slog.DiscardHandler
	if rec != nil {
		h = rec
	}
	s, err := newService(args, slog.New(h))
	if err != nil {
		t.Fatalf("newService: %v", err)
	}
	t.Cleanup(s.ecu.close)
	return s.ecu
}

// unhex decodes hex with spaces; "" is nil.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// exchange sends req (hex) physically and returns the response in hex
// ("-" for none).
func exchange(t testing.TB, e *ecu, req string) string {
	t.Helper()
	return exchangeAddr(t, e, req, false)
}

func exchangeAddr(t testing.TB, e *ecu, req string, functional bool) string {
	t.Helper()
	resp, ok := e.handle(context.Background(), unhex(t, req), functional)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("% X", resp)
}

const vinHex = "42 47 4B 45 43 55 53 4D 30 30 30 30 30 30 30 30 31" // DefaultVIN

// step is one request and the response expected ("-": none).
type step struct{ req, want string }

func TestECUExchanges(t *testing.T) {
	seed := "11223344"
	key := "BB 99 FF 99" // 11223344 XOR AABBCCDD
	tests := []struct {
		name        string
		args        Args
		steps       []step
		wantSession uint8
	}{
		{name: "extended session", steps: []step{{"10 03", "50 03 00 32 01 F4"}}, wantSession: 3},
		{name: "programming then default", steps: []step{
			{"10 02", "50 02 00 32 01 F4"}, {"10 01", "50 01 00 32 01 F4"},
		}, wantSession: 1},
		{name: "session timing from args", args: Args{P2Ms: 25, P2StarMs: 2000},
			steps: []step{{"10 03", "50 03 00 19 00 C8"}}, wantSession: 3},
		{name: "session suppressed response", steps: []step{{"10 83", "-"}}, wantSession: 3},
		{name: "session refusals", steps: []step{
			{"10 04", "7F 10 12"}, {"10 7E", "7F 10 12"}, {"10", "7F 10 13"}, {"10 03 00", "7F 10 13"},
		}, wantSession: 1},
		{name: "unknown services", steps: []step{
			{"31 01 FF 00", "7F 31 11"}, {"85 02", "7F 85 11"}, {"BA", "7F BA 11"}, {"", "7F 00 13"},
		}, wantSession: 1},
		{name: "tester present", steps: []step{
			{"3E 00", "7E 00"}, {"3E 80", "-"}, {"3E 01", "7F 3E 12"}, {"3E 00 00", "7F 3E 13"}, {"3E", "7F 3E 13"},
		}, wantSession: 1},
		{name: "read VIN", steps: []step{{"22 F1 90", "62 F1 90 " + vinHex}}, wantSession: 1},
		{name: "active session", steps: []step{
			{"22 F1 86", "62 F1 86 01"}, {"10 03", "50 03 00 32 01 F4"}, {"22 F1 86", "62 F1 86 03"},
			{"11 01", "51 01"}, {"22 F1 86", "62 F1 86 01"}, {"2E F1 86 03", "7F 2E 7F"},
		}, wantSession: 1},
		{name: "VIN DID from dids", args: Args{DIDs: map[hexid.ID]string{0xF190: "0102"}}, steps: []step{{"22 F1 90", "62 F1 90 01 02"}}, wantSession: 1},
		{name: "read several", args: Args{DIDs: map[hexid.ID]string{0x0102: "AA BB", 0xF18C: "0x010203"}}, steps: []step{
			{"22 01 02 F1 8C", "62 01 02 AA BB F1 8C 01 02 03"},
			{"22 F1 8C 12 34 01 02", "62 F1 8C 01 02 03 01 02 AA BB"},
			{"22 12 34", "7F 22 31"},
			{"22 12 34 56 78", "7F 22 31"},
			{"22 F1", "7F 22 13"},
			{"22", "7F 22 13"},
			{"22 01 02 F1", "7F 22 13"},
		}, wantSession: 1},
		{name: "read too long", args: Args{DIDs: map[hexid.ID]string{0x0001: strings.Repeat("00", 2100), 0x0002: strings.Repeat("00", 2100)}}, steps: []step{
			{"22 00 01 00 02", "7F 22 14"},
		}, wantSession: 1},
		{name: "write in default session", args: Args{DIDs: map[hexid.ID]string{0x0102: "AABB"}}, steps: []step{
			{"2E 01 02 11 22", "7F 2E 7F"}, {"2E 12 34 11 22", "7F 2E 7F"}, {"2E", "7F 2E 7F"},
		}, wantSession: 1},
		{name: "write in programming session", args: Args{DIDs: map[hexid.ID]string{0x0102: "AABB"}}, steps: []step{
			{"10 02", "50 02 00 32 01 F4"}, {"2E 01 02 11 22", "7F 2E 7F"},
		}, wantSession: 2},
		{name: "write in extended session", args: Args{DIDs: map[hexid.ID]string{0x0102: "AABB"}}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"2E 01 02 11 22", "6E 01 02"},
			{"22 01 02", "62 01 02 11 22"},
			{"2E 12 34 11 22", "7F 2E 31"},
			{"2E 01 02 11", "7F 2E 13"},
			{"2E 01 02 11 22 33", "7F 2E 13"},
			{"2E 01 02", "7F 2E 13"},
			{"2E 01", "7F 2E 13"},
			{"22 01 02", "62 01 02 11 22"},
		}, wantSession: 3},
		{name: "write with security", args: Args{WriteSecurity: true, Seed: seed, DIDs: map[hexid.ID]string{0x0102: "AABB"}}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"2E 01 02 11 22", "7F 2E 33"},
			{"2E 99 99 11 22", "7F 2E 31"},
			{"27 01", "67 01 11 22 33 44"},
			{"27 02 " + key, "67 02"},
			{"2E 01 02 11 22", "6E 01 02"},
			{"2E 01 02 11", "7F 2E 13"},
		}, wantSession: 3},
		{name: "ecu reset", steps: []step{
			{"10 03", "50 03 00 32 01 F4"}, {"11 01", "51 01"}, {"27 01", "7F 27 7F"},
			{"10 03", "50 03 00 32 01 F4"}, {"11 82", "-"}, {"2E F1 90 00", "7F 2E 7F"},
			{"10 02", "50 02 00 32 01 F4"}, {"11 03", "51 03"},
			{"11 04", "7F 11 12"}, {"11 05", "7F 11 12"}, {"11 01 00", "7F 11 13"}, {"11", "7F 11 13"},
		}, wantSession: 1},
		{name: "security happy path", args: Args{Seed: seed}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"27 01", "67 01 11 22 33 44"},
			{"27 02 " + key, "67 02"},
			{"27 01", "67 01 00 00 00 00"},
			{"27 02 " + key, "7F 27 24"},
		}, wantSession: 3},
		{name: "security in default session", args: Args{Seed: seed}, steps: []step{
			{"27 01", "7F 27 7F"}, {"27 02 " + key, "7F 27 7F"}, {"27 03", "7F 27 7F"},
			// ISO 14229-1 Figure 5: the service in the active session is
			// checked before Figure 6's minimum length of a request with
			// a sub-function.
			{"27", "7F 27 7F"}, {"A7", "7F A7 11"},
		}, wantSession: 1},
		{name: "security refusals", args: Args{Seed: seed}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"27 02 " + key, "7F 27 24"},
			{"27 03", "7F 27 12"}, {"27 04 00", "7F 27 12"}, {"27 7F", "7F 27 12"}, {"27 00", "7F 27 12"},
			{"27", "7F 27 13"},
			{"27 01", "67 01 11 22 33 44"},
			{"27 02 BB 99 FF", "7F 27 13"},
			{"27 02 " + key, "67 02"},
		}, wantSession: 3},
		{name: "security invalid key", args: Args{Seed: seed}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"27 01", "67 01 11 22 33 44"},
			{"27 02 00 00 00 00", "7F 27 35"},
			{"27 02 " + key, "7F 27 24"}, // each seed answers one key
			{"27 01", "67 01 11 22 33 44"},
			{"27 02 " + key, "67 02"},
		}, wantSession: 3},
		{name: "security attempts exceeded", args: Args{Seed: seed, SecurityDelayMs: 3_600_000}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"27 01", "67 01 11 22 33 44"}, {"27 02 00 00 00 01", "7F 27 35"},
			{"27 01", "67 01 11 22 33 44"}, {"27 02 00 00 00 02", "7F 27 35"},
			{"27 01", "67 01 11 22 33 44"}, {"27 02 00 00 00 03", "7F 27 36"},
			{"27 01", "7F 27 37"}, {"27 02 " + key, "7F 27 37"},
			{"10 03", "50 03 00 32 01 F4"}, {"27 01", "7F 27 37"}, // the delay outlives a session change
		}, wantSession: 3},
		{name: "security attempts from args", args: Args{Seed: seed, SecurityAttempts: 1, SecurityDelayMs: 3_600_000}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"27 01", "67 01 11 22 33 44"}, {"27 02 00 00 00 01", "7F 27 36"}, {"27 01", "7F 27 37"},
		}, wantSession: 3},
		{name: "security level and mask from args", args: Args{SecurityLevel: 0x11, Seed: "0102", KeyXOR: "FFFF"}, steps: []step{
			{"10 02", "50 02 00 32 01 F4"},
			{"27 01", "7F 27 12"},
			{"27 11", "67 11 01 02"},
			{"27 12 FE FD", "67 12"},
		}, wantSession: 2},
		{name: "session change locks security", args: Args{Seed: seed}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"27 01", "67 01 11 22 33 44"}, {"27 02 " + key, "67 02"},
			{"10 03", "50 03 00 32 01 F4"},
			{"27 01", "67 01 11 22 33 44"},
		}, wantSession: 3},
		{name: "seed forgotten on session change", args: Args{Seed: seed}, steps: []step{
			{"10 03", "50 03 00 32 01 F4"},
			{"27 01", "67 01 11 22 33 44"},
			{"10 02", "50 02 00 32 01 F4"},
			{"27 02 " + key, "7F 27 24"},
		}, wantSession: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestECU(t, tt.args, nil)
			for i, s := range tt.steps {
				if got := exchange(t, e, s.req); got != s.want {
					t.Fatalf("step %d: %s → %s, want %s", i, s.req, got, s.want)
				}
			}
			if got := e.sessionInfo().Session; got != tt.wantSession {
				t.Errorf("session %d, want %d", got, tt.wantSession)
			}
		})
	}
}

func TestECUFunctional(t *testing.T) {
	e := newTestECU(t, Args{}, nil)
	tests := []struct{ req, want string }{
		{"3E 80", "-"},
		{"3E 00", "7E 00"},
		{"10 03", "50 03 00 32 01 F4"},
		{"BA", "-"},       // serviceNotSupported is not sent
		{"3E 05", "-"},    // subFunctionNotSupported neither
		{"22 12 34", "-"}, // nor requestOutOfRange
		{"10 01", "50 01 00 32 01 F4"},
		{"27 01", "-"},        // nor serviceNotSupportedInActiveSession
		{"22 12", "7F 22 13"}, // other NRCs are
	}
	for _, tt := range tests {
		if got := exchangeAddr(t, e, tt.req, true); got != tt.want {
			t.Errorf("functional %s → %s, want %s", tt.req, got, tt.want)
		}
	}
	st := e.stats()
	if st.Requests != uint64(len(tests)) || st.Positive != 3 || st.Negative != 1 || st.NoResponse != 5 {
		t.Errorf("stats %+v", st)
	}
	if st.ByNRC["11"] != 1 || st.ByNRC["12"] != 1 || st.ByNRC["31"] != 1 || st.ByNRC["7F"] != 1 || st.ByNRC["13"] != 1 {
		t.Errorf("by_nrc %v", st.ByNRC)
	}
}

func TestECUStats(t *testing.T) {
	e := newTestECU(t, Args{}, nil)
	for _, req := range []string{"10 03", "3E 80", "3E 00", "22 F1 90", "22 00 00", "11 01", "BA"} {
		exchange(t, e, req)
	}
	st := e.stats()
	want := Stats{
		Requests: 7, Positive: 4, Negative: 2, NoResponse: 1,
		BySID:          map[string]uint64{"10": 1, "3E": 2, "22": 2, "11": 1, "BA": 1},
		ByNRC:          map[string]uint64{"31": 1, "11": 1},
		SessionChanges: 1, Resets: 1, Session: 1, DIDs: 1,
	}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("stats\n got %+v\nwant %+v", st, want)
	}
}

func TestECURandomSeed(t *testing.T) {
	e := newTestECU(t, Args{KeyXOR: "0102030405060708"}, nil)
	exchange(t, e, "10 03")
	seeds := map[string]bool{}
	for range 3 {
		resp := unhex(t, exchange(t, e, "27 01"))
		if len(resp) != 10 || resp[0] != 0x67 || resp[1] != 0x01 {
			t.Fatalf("requestSeed → % X", resp)
		}
		seed := resp[2:]
		if allZero(seed) {
			t.Fatalf("zero seed while locked")
		}
		seeds[string(seed)] = true
	}
	if len(seeds) != 3 {
		t.Errorf("random seeds repeat: %d different of 3", len(seeds))
	}
	resp := unhex(t, exchange(t, e, "27 01"))
	key := xor(resp[2:], unhex(t, "0102030405060708"))
	if got := exchange(t, e, fmt.Sprintf("27 02 % X", key)); got != "67 02" {
		t.Fatalf("sendKey → %s", got)
	}
	if !e.sessionInfo().SecurityUnlocked {
		t.Error("not unlocked")
	}
}

func TestECUS3(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newLogRecorder()
		e := newTestECU(t, Args{S3Ms: 100, Seed: "11223344"}, rec)
		const s3 = 100 * time.Millisecond

		// The default session has no S3 timer.
		time.Sleep(10 * s3)
		synctest.Wait()
		if got := e.sessionInfo(); got.Session != 1 || got.S3Expiries != 0 {
			t.Fatalf("idle default session: %+v", got)
		}

		exchange(t, e, "10 03")
		exchange(t, e, "27 01")
		exchange(t, e, "27 02 BB 99 FF 99")
		// Requests restart the timer: tester present suppressed, not
		// suppressed, functional, and requests that fail.
		for _, req := range []string{"3E 80", "3E 00", "BA", "22 00 00"} {
			time.Sleep(s3 - time.Millisecond)
			synctest.Wait()
			if got := e.sessionInfo(); got.Session != 3 || !got.SecurityUnlocked {
				t.Fatalf("before %s: %+v", req, got)
			}
			exchangeAddr(t, e, req, req == "BA")
		}
		time.Sleep(s3 - time.Millisecond)
		synctest.Wait()
		if got := e.sessionInfo(); got.Session != 3 || got.S3Expiries != 0 {
			t.Fatalf("1 ms before S3: %+v", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := e.sessionInfo(); got.Session != 1 || got.S3Expiries != 1 || got.SecurityUnlocked {
			t.Fatalf("after S3: %+v", got)
		}
		recs := rec.matching(LogS3Expiry)
		if len(recs) != 1 || recs[0].Level != slog.LevelInfo {
			t.Fatalf("S3 records: %v", recs)
		}
		if a := attrsOf(recs[0]); a["from"] != "extendedDiagnosticSession" || a["s3_expiries"] != "1" {
			t.Errorf("S3 record attributes %v", a)
		}

		// The programming session expires too, and counts again; the
		// default session entered explicitly stops the timer.
		exchange(t, e, "10 02")
		time.Sleep(2 * s3)
		synctest.Wait()
		exchange(t, e, "10 03")
		exchange(t, e, "10 01")
		time.Sleep(10 * s3)
		synctest.Wait()
		if got := e.sessionInfo(); got.Session != 1 || got.S3Expiries != 2 {
			t.Fatalf("after the second expiry: %+v", got)
		}
		if st := e.stats(); st.S3Expiries != 2 {
			t.Errorf("stats s3_expiries %d", st.S3Expiries)
		}
		// An ECU reset stops it as well.
		exchange(t, e, "10 03")
		exchange(t, e, "11 01")
		time.Sleep(10 * s3)
		synctest.Wait()
		if got := e.sessionInfo(); got.S3Expiries != 2 {
			t.Fatalf("expiry after reset: %+v", got)
		}
	})
}

func TestECUCloseStopsS3(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestECU(t, Args{S3Ms: 100}, nil)
		exchange(t, e, "10 03")
		e.close()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := e.sessionInfo(); got.S3Expiries != 0 || got.Session != 3 {
			t.Fatalf("closed ECU expired: %+v", got)
		}
		// A closed ECU still answers but arms no timer.
		exchange(t, e, "3E 00")
		if e.s3 != nil {
			t.Error("timer armed after close")
		}
	})
}

func TestECUSecurityDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newLogRecorder()
		e := newTestECU(t, Args{Seed: "11223344", SecurityDelayMs: 500, S3Ms: 60_000}, rec)
		exchange(t, e, "10 03")
		for _, k := range []string{"01", "02", "03"} {
			exchange(t, e, "27 01")
			exchange(t, e, "27 02 00 00 00 "+k)
		}
		if len(rec.matching(LogLockout)) != 1 {
			t.Fatalf("no lockout record")
		}
		time.Sleep(499 * time.Millisecond)
		if got := exchange(t, e, "27 01"); got != "7F 27 37" {
			t.Fatalf("1 ms before the delay's end: %s", got)
		}
		time.Sleep(time.Millisecond)
		if got := exchange(t, e, "27 01"); got != "67 01 11 22 33 44" {
			t.Fatalf("after the delay: %s", got)
		}
		// The attempts count from zero again.
		if got := exchange(t, e, "27 02 00 00 00 00"); got != "7F 27 35" {
			t.Fatalf("first wrong key after the delay: %s", got)
		}
		exchange(t, e, "27 01")
		if got := exchange(t, e, "27 02 BB 99 FF 99"); got != "67 02" {
			t.Fatalf("right key: %s", got)
		}
		if len(rec.matching(LogUnlocked)) != 1 {
			t.Errorf("no unlock record")
		}
	})
}

func TestECUResetLogs(t *testing.T) {
	rec := newLogRecorder()
	e := newTestECU(t, Args{}, rec)
	exchange(t, e, "10 03")
	exchange(t, e, "11 02")
	if got := rec.matching(LogSessionChange); len(got) != 1 {
		t.Errorf("session change records: %v", got)
	}
	recs := rec.matching(LogReset)
	if len(recs) != 1 {
		t.Fatalf("reset records: %v", recs)
	}
	if a := attrsOf(recs[0]); a["type"] != "keyOffOnReset" || a["from"] != "extendedDiagnosticSession" || a["resets"] != "1" {
		t.Errorf("reset attributes %v", a)
	}
}

func TestECUSetGetDID(t *testing.T) {
	e := newTestECU(t, Args{}, nil)
	e.setDID(0x0100, []byte{1, 2})
	if got := exchange(t, e, "22 01 00"); got != "62 01 00 01 02" {
		t.Fatalf("read after setDID: %s", got)
	}
	v, ok := e.getDID(0x0100)
	v[0] = 9 // a copy
	if w, _ := e.getDID(0x0100); !ok || !bytes.Equal(w, []byte{1, 2}) {
		t.Fatalf("getDID %X %v", w, ok)
	}
	if _, ok := e.getDID(0x0200); ok {
		t.Error("unknown DID found")
	}
}

func TestECUConcurrent(t *testing.T) {
	e := newTestECU(t, Args{S3Ms: 1, Seed: "11223344", DIDs: map[hexid.ID]string{0x0001: "00"}}, nil)
	reqs := []string{"10 03", "3E 80", "22 00 01", "2E 00 01 05", "27 01", "27 02 BB 99 FF 99", "11 01", "10 02", "BA"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				exchangeAddr(t, e, reqs[(g+i)%len(reqs)], i%5 == 0)
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			e.stats()
			e.sessionInfo()
		}
	})
	wg.Wait()
	if st := e.stats(); st.Requests != 800 || st.Positive+st.Negative+st.NoResponse != 800 {
		t.Errorf("stats %+v", st)
	}
}

// logRecorder keeps records for assertions.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
	notify  chan struct{} // closed and replaced on each record
}

func newLogRecorder() *logRecorder { return &logRecorder{notify: make(chan struct{})} }

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	close(r.notify)
	r.notify = make(chan struct{})
	return nil
}

// matching returns the records with message msg.
func (r *logRecorder) matching(msg string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.records {
		if rec.Message == msg {
			out = append(out, rec)
		}
	}
	return out
}

// wait waits for a record with message msg.
func (r *logRecorder) wait(t testing.TB, msg string, timeout time.Duration) slog.Record {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		notify := r.notify
		for _, rec := range r.records {
			if rec.Message == msg {
				r.mu.Unlock()
				return rec
			}
		}
		r.mu.Unlock()
		select {
		case <-notify:
		case <-deadline.C:
			t.Fatalf("no record %q within %v", msg, timeout)
		}
	}
}

func attrsOf(rec slog.Record) map[string]string {
	m := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	return m
}
