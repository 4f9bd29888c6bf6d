package goplugin_test

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/bgkit/bgkit/bench/peers/goplugin"
)

// The parent side: start the child (this binary, whose TestMain serves the
// plugin), dispense "echo" and call it.
func Example() {
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  goplugin.Handshake,
		Plugins:          goplugin.Plugins(nil),
		Cmd:              exec.Command(os.Args[0], "-test.run=^$"),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolNetRPC},
		Logger:           hclog.NewNullLogger(),
	})
	defer c.Kill()
	rc, err := c.Client()
	if err != nil {
		fmt.Println(err)
		return
	}
	raw, _ := rc.Dispense("echo")
	v, err := raw.(goplugin.Echo).Echo(7)
	fmt.Println(v, err)
	// Output: 7 <nil>
}
