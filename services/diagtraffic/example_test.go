package diagtraffic_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/bgkit/bgkit/services/diagtraffic"
)

// A script as a rig file or `bgkit run diag-traffic --args` gives it: the
// VIN every 100 ms, ten times, over DoIP.
func ExampleNew() {
	var a diagtraffic.Args
	err := json.Unmarshal([]byte(`{
		"doip_address": "127.0.0.1:13400", "target_address": "0x1001",
		"requests": [{"name": "vin", "data": "22 F1 90", "period_ms": 100, "expect": "62 F1 90", "count": 10}]
	}`), &a)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := diagtraffic.New(a); err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.TargetAddress, a.Requests[0].Name, a.Requests[0].Count)
	// Output: 0x1001 vin 10
}
