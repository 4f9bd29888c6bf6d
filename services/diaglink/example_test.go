package diaglink_test

import (
	"errors"
	"fmt"

	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/diaglink"
)

// A service checks its link fields once, after its normalize step.
func ExampleConfig_Check() {
	on := true
	c := diaglink.Config{Bus: "virtual:bus0", TxID: 0x7E0, RxID: 0x800, Padding: &on}
	err := c.Check()
	fmt.Println(err)
	fmt.Println(errors.Is(err, service.ErrInvalidArgs))

	c = diaglink.Config{DoIPAddress: "127.0.0.1:13400", SourceAddress: diaglink.DefaultSourceAddress}
	fmt.Println(c.Check())
	// Output:
	// invalid arguments: rx_id 0x800 exceeds 11 bits
	// true
	// <nil>
}
