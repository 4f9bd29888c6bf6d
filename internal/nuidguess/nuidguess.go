// Package nuidguess is what a hostile child can work out from one NUID it
// saw: the NUIDs the same generator drew shortly before and after it.
// Tests use it to show that a subject a child must not reach is not one of
// them.
//
// A NUID (github.com/nats-io/nuid, which nats.go's NewInbox uses) is 12
// characters of prefix, random, and 10 of a base-62 sequence that grows by
// one increment, chosen once between 33 and 332, until it wraps; the
// generator is shared by the whole process. From one NUID the next and the
// previous are among 300 candidates each, those k steps away among 300
// more.
package nuidguess

import "strings"

const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Neighbours are the NUIDs a generator that drew n can have drawn within
// steps draws of it, before or after, for every increment nuid may have
// chosen; n itself is not among them. It returns nil if n is not a NUID.
func Neighbours(n string, steps int) []string {
	if len(n) != 22 {
		return nil
	}
	pre, seqText := n[:12], n[12:]
	var seq int64
	for i := range len(seqText) {
		d := strings.IndexByte(digits, seqText[i])
		if d < 0 {
			return nil
		}
		seq = seq*62 + int64(d)
	}
	const maxSeq = 839299365868340224 // 62^10
	var out []string
	for inc := int64(33); inc < 333; inc++ {
		for k := int64(1); k <= int64(steps); k++ {
			for _, s := range []int64{seq + k*inc, seq - k*inc} {
				if s < 0 || s >= maxSeq {
					continue
				}
				var b [10]byte
				for i := 9; i >= 0; i-- {
					b[i] = digits[s%62]
					s /= 62
				}
				out = append(out, pre+string(b[:]))
			}
		}
	}
	return out
}

// InSubject returns the NUID that follows prefix+"." in subject (as in a
// reply subject _INBOX.<nuid>.<token>), or "".
func InSubject(subject, prefix string) string {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i]
	}
	if len(rest) != 22 {
		return ""
	}
	return rest
}
