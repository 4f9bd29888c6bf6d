package ecusim

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// TestHugeS3: an s3_ms of about 317 years (someone's "never") must
// not overflow time.Duration into a negative timeout that drops the
// extended session at once; New may refuse it instead.
func TestHugeS3(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := newService(Args{S3Ms: 10_000_000_000_000}, slog.New(slog.DiscardHandler))
		if err != nil {
			return // refused: fine
		}
		e := s.ecu
		t.Cleanup(e.close)
		exchange(t, e, "10 03")
		time.Sleep(time.Second)
		synctest.Wait()
		if got := e.sessionInfo(); got.Session != 3 {
			t.Fatalf("s3_ms 1e13: after 1 s the session is %d (S3 expiries %d), want 3", got.Session, got.S3Expiries)
		}
	})
}

// TestHugeSecurityDelay: a lockout delay that overflows
// time.Duration must not turn the lockout off.
func TestHugeSecurityDelay(t *testing.T) {
	s, err := newService(Args{SecurityDelayMs: 10_000_000_000_000, SecurityAttempts: 1, Seed: "11223344"}, slog.New(slog.DiscardHandler))
	if err != nil {
		return // refused: fine
	}
	e := s.ecu
	t.Cleanup(e.close)
	exchange(t, e, "10 03")
	exchange(t, e, "27 01")
	if got := exchange(t, e, "27 02 00 00 00 00"); got != "7F 27 36" {
		t.Fatalf("wrong key: %s, want 7F 27 36", got)
	}
	if got := exchange(t, e, "27 01"); got != "7F 27 37" {
		t.Fatalf("seed right after the lockout: %s, want 7F 27 37 (requiredTimeDelayNotExpired)", got)
	}
}
