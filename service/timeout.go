package service

import "fmt"

// A call's time budget travels in the TimeoutHeader, or ahead of the
// input in the body: the record separator RS (0x1E), the budget in
// milliseconds as decimal digits, a line feed, then the input as usual
// (so "\x1e250\n5" is the input 5 with 250 ms). A JSON text never starts
// with RS, so the prefix cannot be mistaken for input. It saves the
// header, which costs a call 5–10 µs in NATS itself (nats-server and
// nats.go parse and build it; the same number of body bytes costs
// nothing measurable here); the Go controller sends it to services whose
// $SRV.PING metadata has MetadataTimeoutPrefix "1". With both, the
// shorter budget counts. A malformed prefix is a 400.
const (
	timeoutPrefixStart = 0x1E
	timeoutPrefixEnd   = '\n'
	// maxTimeoutDigits is the most digits a budget has (maxTimeoutMS has 13).
	maxTimeoutDigits = 19
)

// MetadataTimeoutPrefix is the service-level $SRV.INFO/PING metadata key
// that says the service reads the budget prefix ("1").
const MetadataTimeoutPrefix = "timeout_prefix"

// AppendTimeoutPrefix appends the prefix for a budget of ms milliseconds
// (at least 1; a smaller one is sent as 1) to dst; the call's input
// follows it.
func AppendTimeoutPrefix(dst []byte, ms int64) []byte {
	ms = min(max(ms, 1), maxTimeoutMS)
	var digits [maxTimeoutDigits]byte
	i := len(digits)
	for ; ms > 0; ms /= 10 {
		i--
		digits[i] = byte('0' + ms%10)
	}
	dst = append(dst, timeoutPrefixStart)
	dst = append(dst, digits[i:]...)
	return append(dst, timeoutPrefixEnd)
}

// cutTimeoutPrefix splits a body into its budget prefix, if any, and the
// input. ms is 0 when there is none.
func cutTimeoutPrefix(data []byte) (ms int64, input []byte, err error) {
	if len(data) == 0 || data[0] != timeoutPrefixStart {
		return 0, data, nil
	}
	for i := 1; i < len(data) && i <= maxTimeoutDigits+1; i++ {
		c := data[i]
		if c == timeoutPrefixEnd {
			if i == 1 {
				break
			}
			if ms > maxTimeoutMS {
				return 0, nil, fmt.Errorf("timeout prefix: budget of %s ms is past the largest, %d", data[1:i], maxTimeoutMS)
			}
			if ms == 0 {
				return 0, nil, fmt.Errorf("timeout prefix: budget of 0 ms")
			}
			return ms, data[i+1:], nil
		}
		if c < '0' || c > '9' {
			return 0, nil, fmt.Errorf("timeout prefix: %q is not a decimal digit (want RS, milliseconds, LF, then the input)", c)
		}
		if ms <= maxTimeoutMS { // past it, only its digits are checked
			ms = ms*10 + int64(c-'0')
		}
	}
	return 0, nil, fmt.Errorf("timeout prefix: want RS, 1 to %d decimal digits of milliseconds, LF, then the input", maxTimeoutDigits)
}
