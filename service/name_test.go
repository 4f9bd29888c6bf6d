package service

import "testing"

func TestDeriveName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"TesterPresentService", "TESTER_PRESENT_SERVICE"},
		{"SokFreshnessServerService", "SOK_FRESHNESS_SERVER_SERVICE"},
		{"HTTPServerService", "HTTP_SERVER_SERVICE"},
		{"CounterService", "COUNTER_SERVICE"},
		{"ECUSimService", "ECU_SIM_SERVICE"},
		{"ECUsSimService", "ECUS_SIM_SERVICE"},
		{"CANTrafficService", "CAN_TRAFFIC_SERVICE"},
		{"CANRecorderService", "CAN_RECORDER_SERVICE"},
		{"CAN2Recorder", "CAN2_RECORDER"},
		{"Uds2Service", "UDS2_SERVICE"},
		{"Base64Decoder", "BASE64_DECODER"},
		{"DoIPGateway", "DO_IP_GATEWAY"},
		{"ID", "ID"},
		{"IDs", "IDS"},
		{"x", "X"},
		{"*pkg.CounterService", "COUNTER_SERVICE"},
		{"github.com/x/y.HTTPServerService", "HTTP_SERVER_SERVICE"},
		{"Box[int]", "BOX"},
		{"already_snake", "ALREADY_SNAKE"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := DeriveName(tc.in); got != tc.want {
				t.Errorf("DeriveName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMethodName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Add", "add"},
		{"Stats", "stats"},
		{"SetInterval", "set_interval"},
		{"IsRunning", "is_running"},
		{"ReadDID", "read_did"},
		{"ReadDTCs", "read_dtcs"},
		{"GetDIDs", "get_dids"},
		{"SetIDs", "set_ids"},
		{"IDs", "ids"},
		{"HTTPStatus", "http_status"},
		{"GetHTTPStatus", "get_http_status"},
		{"DoIPAddress", "do_ip_address"}, // no override: Do + IP + Address
		{"CANFD", "canfd"},
		{"SetCANFD", "set_canfd"},
		{"CANFDFrames", "canfd_frames"},
		{"ISOTPConfig", "isotp_config"},
		{"SetISOTPConfig", "set_isotp_config"},
		{"ECUsReset", "ecus_reset"},
		{"ClearDTCsNow", "clear_dtcs_now"},
		{"CAN2Frames", "can2_frames"},
		{"Read2", "read2"},
		{"Base64Decode", "base64_decode"},
		{"ISO15765Config", "iso15765_config"},
		{"X", "x"},
		{"A", "a"},
		{"GetA", "get_a"},
		{"AB", "ab"},
		{"ABc", "a_bc"},
		{"As", "as"},        // a one-letter word, not a plural acronym
		{"GetXs", "get_xs"}, // one capital: the word Xs
		{"IDsByBus", "ids_by_bus"},
		{"UseIDset", "use_i_dset"}, // lower-case after the s: not a plural
		{"already_snake", "already_snake"},
		{"Mixed_Case", "mixed_case"},
		{"", ""},
	} {
		if got := MethodName(tc.in); got != tc.want {
			t.Errorf("MethodName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
