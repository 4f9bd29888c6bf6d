package doip

import "testing"

func TestWithPort(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"host and port", "127.0.0.1:1234", "127.0.0.1:1234"},
		{"host", "127.0.0.1", "127.0.0.1:13400"},
		{"name", "ecu.local", "ecu.local:13400"},
		{"IPv6", "::1", "[::1]:13400"},
		{"bracketed IPv6", "[::1]", "[::1]:13400"},
		{"IPv6 and port", "[::1]:7", "[::1]:7"},
		{"empty", "", ":13400"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := withPort(tc.in); got != tc.want {
				t.Fatalf("withPort(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRoutingCodeClosesSocket(t *testing.T) {
	tests := []struct {
		name string
		code RoutingActivationCode
		want bool
	}{
		{"unknown source address", RoutingUnknownSourceAddress, true},
		{"rejected confirmation", RoutingRejectedConfirmation, true},
		{"missing authentication", RoutingMissingAuthentication, false},
		{"confirmation required", RoutingConfirmationRequired, false},
		{"success", RoutingSuccess, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.code.closesSocket(); got != tc.want {
				t.Fatalf("closesSocket() = %v, want %v", got, tc.want)
			}
		})
	}
}
