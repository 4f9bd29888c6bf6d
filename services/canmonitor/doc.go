// Package canmonitor is a signal monitor service, CAN_MONITOR_SERVICE
// (kind "can-monitor"): it decodes every frame of a bus with a DBC file
// (package can/dbc) and answers for the last value of any signal, or
// waits until a signal satisfies a condition, so that a test says
// "VehicleSpeed reaches ≥ 50 within 2 s" in one line.
//
// # Arguments
//
//	bus  the CAN bus, "virtual:bus0" (the default) or "socketcan:can0"
//	dbc  the DBC file (required)
//
// # Methods
//
//	signal       {"signal": "VehicleSpeed"} → the last sample:
//	             {"message", "signal", "value", "label", "unit", "time", "seen"}
//	wait_signal  {"signal": "VehicleSpeed", "op": ">=", "value": 50, "timeout_ms": 2000}
//	             → the first sample that satisfies the condition: the last value
//	             received counts, unless "fresh" asks for one received after the call
//	signals      every sample seen, by message and signal
//	stats        frames received and decoded
//
// A signal is named by itself when one message of the DBC has it, else as
// "Message.Signal" or with "message" set. op is one of == != < <= > >=;
// "label" compares with a name of the signal's value table instead of
// "value": {"signal": "IgnitionState", "op": "==", "label": "On"}.
// wait_signal waits until timeout_ms or the caller's deadline, whichever
// comes first, and then fails (500) with the last value seen in the
// message; [Controller.WaitSignal] and bgkittest.WaitSignal set both.
//
// From a shell:
//
//	bgkit call CAN_MONITOR_SERVICE wait_signal '{"signal":"VehicleSpeed","op":">=","value":50,"timeout_ms":2000}'
package canmonitor
