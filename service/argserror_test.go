package service_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/service"
)

// TestArgsError checks the one "invalid arguments: " prefix, the match
// with ErrInvalidArgs and the unwrapping of the three argument error
// helpers.
func TestArgsError(t *testing.T) {
	inner := errors.New("tx_id: must be at most 0x7FF, got 0x800")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "InvalidArgs", err: service.InvalidArgs(inner), want: "invalid arguments: tx_id: must be at most 0x7FF, got 0x800"},
		{name: "prefix once", err: service.InvalidArgs(errors.New("invalid arguments: p2_ms")), want: "invalid arguments: p2_ms"},
		{name: "BadArgs", err: service.BadArgs("tx_id and rx_id are both %v", 7), want: "invalid arguments: tx_id and rx_id are both 7"},
		{name: "wrapped", err: fmt.Errorf("kind: %w", service.BadArgs("bus: %v", "bad")), want: "kind: invalid arguments: bus: bad"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if !errors.Is(tc.err, service.ErrInvalidArgs) {
				t.Errorf("%v does not match ErrInvalidArgs", tc.err)
			}
			var ae service.ArgsError
			if !errors.As(tc.err, &ae) || ae.Err == nil || strings.HasPrefix(ae.Err.Error(), "kind") {
				t.Errorf("errors.As ArgsError: %#v", ae)
			}
		})
	}
	if !errors.Is(service.InvalidArgs(inner), inner) {
		t.Error("InvalidArgs(err) does not unwrap to err")
	}
	if service.InvalidArgs(nil) != nil {
		t.Error("InvalidArgs(nil) != nil")
	}
	if errors.Is(inner, service.ErrInvalidArgs) {
		t.Error("a plain error matches ErrInvalidArgs")
	}
}
