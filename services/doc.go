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
//	can-traffic     CAN_TRAFFIC_SERVICE     cangen-style traffic, cyclic sets, candump replay, DBC rest-bus (cantraffic)
//	can-recorder    CAN_RECORDER_SERVICE    records a bus to a candump log (canrecorder)
//	ecu-sim         ECU_SIM_SERVICE         a simulated ECU answering UDS over ISO-TP and DoIP (ecusim)
//	can-monitor     CAN_MONITOR_SERVICE     decodes a bus with a DBC; last values, waits for a signal (canmonitor)
package services
