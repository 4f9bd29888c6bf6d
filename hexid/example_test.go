package hexid_test

import (
	"encoding/json"
	"fmt"

	"github.com/bgkit/bgkit/hexid"
)

func Example() {
	var args struct {
		RxID hexid.ID `json:"rx_id"`
		TxID hexid.ID `json:"tx_id"`
		DID  hexid.ID `json:"did"`
	}
	_ = json.Unmarshal([]byte(`{"rx_id": 2016, "tx_id": "0x7E8", "did": "F190"}`), &args)
	out, _ := json.Marshal(args)
	fmt.Println(string(out))
	// Output:
	// {"rx_id":"0x7E0","tx_id":"0x7E8","did":"0xF190"}
}

func ExampleID_JSONSchema() {
	s := hexid.ID(0).JSONSchema()
	fmt.Println(s.Title)
	for _, alt := range s.OneOf {
		if alt.Pattern != "" {
			fmt.Println(alt.Type, alt.Pattern)
		} else {
			fmt.Println(alt.Type, alt.Minimum, "to", alt.Maximum)
		}
	}
	// Output:
	// integer or hex string
	// integer 0 to 4294967295
	// string ^(0[xX])?[0-9A-Fa-f]{1,8}$
}
