package service

import "testing"

func TestDeriveName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"TesterPresentService", "TESTER_PRESENT_SERVICE"},
		{"SokFreshnessServerService", "SOK_FRESHNESS_SERVER_SERVICE"},
		{"HTTPServerService", "HTTP_SERVER_SERVICE"},
		{"CounterService", "COUNTER_SERVICE"},
		{"ECUSimService", "ECU_SIM_SERVICE"},
		{"CANTrafficService", "CAN_TRAFFIC_SERVICE"},
		{"CAN2Recorder", "CAN2_RECORDER"},
		{"Uds2Service", "UDS2_SERVICE"},
		{"Base64Decoder", "BASE64_DECODER"},
		{"DoIPGateway", "DO_IP_GATEWAY"},
		{"ID", "ID"},
		{"x", "X"},
		{"*pkg.CounterService", "COUNTER_SERVICE"},
		{"github.com/x/y.HTTPServerService", "HTTP_SERVER_SERVICE"},
		{"Box[int]", "BOX"},
		{"already_snake", "ALREADY_SNAKE"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := DeriveName(tc.in); got != tc.want {
				t.Errorf("DeriveName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMethodName(t *testing.T) {
	for in, want := range map[string]string{
		"Add": "add", "SetInterval": "set_interval", "IsRunning": "is_running",
		"ReadDID": "read_did", "GetHTTPStatus": "get_http_status", "Stats": "stats",
	} {
		if got := MethodName(in); got != want {
			t.Errorf("MethodName(%q) = %q, want %q", in, got, want)
		}
	}
}
