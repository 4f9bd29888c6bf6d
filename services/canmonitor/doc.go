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
//	watch        {"signals": ["VehicleSpeed"], "message": "ABS_Status", "every": false}
//	             → a stream of changes {"message", "signal", "value", "previous",
//	             "label", "unit", "time", "initial"}: first the values already
//	             known (initial), then each new value (every: each decoded value)
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
// watch is a stream (see package service): [Controller.Watch] in Go. The
// bus cannot wait for a reader, so neither does the monitor, like
// can-recorder's tail: a watch holds the changes its reader has not taken
// yet (memory grows with that backlog only, 128 bytes a change) and ends
// with [ErrWatchBehind] once it exceeds [MaxWatchBacklog] changes (65,536,
// 8 MiB), after every change it held. A watch never loses changes
// silently, and a slow reader slows neither the decoding of the bus nor
// the other watches, signal, wait_signal or stats.
//
// From a shell:
//
//	bgkit call CAN_MONITOR_SERVICE wait_signal '{"signal":"VehicleSpeed","op":">=","value":50,"timeout_ms":2000}'
//	bgkit call --stream CAN_MONITOR_SERVICE watch '{"signals":["VehicleSpeed"]}'
package canmonitor
