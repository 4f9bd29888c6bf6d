// Package services bundles bgkit's built-in services so a binary can
// register them all at once:
//
//	func main() {
//		services.RegisterAll()
//		spawn.Main()
//		...
//	}
//
// # Kinds
//
//	tester-present  TESTER_PRESENT_SERVICE  UDS Tester Present over ISO-TP or DoIP (testerpresent)
//	can-traffic     CAN_TRAFFIC_SERVICE     cangen-style traffic, cyclic sets, candump replay (cantraffic)
//	can-recorder    CAN_RECORDER_SERVICE    records a bus to a candump log (canrecorder)
//	ecu-sim         ECU_SIM_SERVICE         a simulated ECU answering UDS over ISO-TP and DoIP (ecusim)
package services

import (
	"sync"

	"github.com/bgkit/bgkit/services/canrecorder"
	"github.com/bgkit/bgkit/services/cantraffic"
	"github.com/bgkit/bgkit/services/ecusim"
	"github.com/bgkit/bgkit/services/testerpresent"
)

var once sync.Once

// RegisterAll registers every built-in service kind with spawn. It may be
// called more than once.
func RegisterAll() {
	once.Do(func() {
		testerpresent.Register()
		cantraffic.Register()
		canrecorder.Register()
		ecusim.Register()
	})
}
