package ecuwatchdog_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/bgkit/bgkit/services/ecuwatchdog"
)

// The arguments of a watchdog that reads the active session of the ECU at
// 0x7E0 every 200 ms, as a rig file or `bgkit run ecu-watchdog --args`
// gives them.
func ExampleNew() {
	var a ecuwatchdog.Args
	if err := json.Unmarshal([]byte(`{"tx_id": "0x7E0", "rx_id": "7E8", "probe": "session", "period_ms": 200}`), &a); err != nil {
		log.Fatal(err)
	}
	if _, err := ecuwatchdog.New(a); err != nil {
		log.Fatal(err)
	}
	_, err := ecuwatchdog.New(ecuwatchdog.Args{Probe: "ping"})
	fmt.Println(a.TxID, a.Probe)
	fmt.Println(err != nil)
	// Output:
	// 0x7E0 session
	// true
}
