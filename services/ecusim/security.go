package ecusim

import (
	"bytes"
	"context"
	"crypto/rand"
	"time"

	"github.com/bgkit/bgkit/uds"
)

// securityAccess handles SecurityAccess 27 <level> [<key>], with the
// checks in the order of ISO 14229-1:
//
//   - any level in the default session: serviceNotSupportedInActiveSession
//     (0x7F);
//   - levels other than the configured pair: subFunctionNotSupported (0x12);
//   - while the delay after too many invalid keys runs:
//     requiredTimeDelayNotExpired (0x37);
//   - requestSeed: a fresh seed, or all zeros when already unlocked;
//   - sendKey without a seed just before it: requestSequenceError (0x24);
//   - a key of the wrong length: incorrectMessageLengthOrInvalidFormat;
//   - a wrong key: invalidKey (0x35), and at the last allowed attempt
//     exceededNumberOfAttempts (0x36), which starts the delay.
//
// Each seed answers one key, right or wrong.
func (e *ecu) securityAccess(_ context.Context, req []byte) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session == uds.DefaultSession {
		return nil, uds.NRCServiceNotSupportedInActiveSession
	}
	level := req[1] &^ 0x80
	if level != e.cfg.level && level != e.cfg.level+1 {
		return nil, uds.NRCSubFunctionNotSupported
	}
	var r uds.SecurityAccessRequest
	if err := r.UnmarshalBinary(req); err != nil {
		return nil, err
	}
	now := time.Now()
	if now.Before(e.delayUntil) {
		return nil, uds.NRCRequiredTimeDelayNotExpired
	}
	if r.IsRequestSeed() {
		seed := make([]byte, len(e.cfg.keyXOR))
		if !e.unlocked {
			seed = e.newSeed()
			e.seed = seed
		}
		return uds.SecurityAccessResponse{Level: level, Seed: seed}.MarshalBinary()
	}

	if e.seed == nil {
		return nil, uds.NRCRequestSequenceError
	}
	if len(r.Data) != len(e.cfg.keyXOR) {
		return nil, uds.NRCIncorrectMessageLengthOrInvalidFormat
	}
	want := xor(e.seed, e.cfg.keyXOR)
	e.seed = nil
	if !bytes.Equal(r.Data, want) {
		e.attempts++
		if e.attempts < e.cfg.maxAttempts {
			return nil, uds.NRCInvalidKey
		}
		e.attempts = 0
		e.delayUntil = now.Add(e.cfg.delay)
		e.log.Info(LogLockout, "level", level-1, "delay", e.cfg.delay)
		return nil, uds.NRCExceededNumberOfAttempts
	}
	e.attempts = 0
	e.unlocked = true
	e.log.Info(LogUnlocked, "level", level-1)
	e.event(TopicSecurityUnlocked, SecurityUnlock{Level: level - 1})
	return uds.SecurityAccessResponse{Level: level}.MarshalBinary()
}

// newSeed returns the configured seed, or a random one that is not all
// zeros (which would mean "already unlocked").
func (e *ecu) newSeed() []byte {
	if e.cfg.seed != nil {
		return append([]byte(nil), e.cfg.seed...)
	}
	seed := make([]byte, len(e.cfg.keyXOR))
	for {
		rand.Read(seed)
		for _, b := range seed {
			if b != 0 {
				return seed
			}
		}
	}
}

// xor returns a XOR b, which have the same length.
func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}
