package services_test

import (
	"fmt"

	"github.com/bgkit/bgkit/services"
	"github.com/bgkit/bgkit/spawn"
)

func ExampleRegisterAll() {
	services.RegisterAll()
	for _, kind := range spawn.Kinds() {
		name, _ := spawn.KindServiceName(kind)
		fmt.Println(kind, name)
	}
	// Output:
	// can-monitor CAN_MONITOR_SERVICE
	// can-recorder CAN_RECORDER_SERVICE
	// can-traffic CAN_TRAFFIC_SERVICE
	// diag-traffic DIAG_TRAFFIC_SERVICE
	// ecu-sim ECU_SIM_SERVICE
	// ecu-watchdog ECU_WATCHDOG_SERVICE
	// tester-present TESTER_PRESENT_SERVICE
}
