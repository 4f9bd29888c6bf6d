package goplugin

import (
	"net/rpc"

	"github.com/hashicorp/go-plugin"
)

// Handshake is the handshake of the echo plugin; its magic cookie in the
// environment makes the test binary a plugin (see TestMain).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "BGKIT_PEER_GOPLUGIN",
	MagicCookieValue: "echo",
}

// Echo is the service: it returns its argument.
type Echo interface {
	Echo(n int) (int, error)
}

// EchoImpl is the child's implementation.
type EchoImpl struct{}

// Echo returns n.
func (EchoImpl) Echo(n int) (int, error) { return n, nil }

// EchoRPC is the parent's side of the plugin.
type EchoRPC struct{ client *rpc.Client }

// Echo calls the child.
func (e *EchoRPC) Echo(n int) (int, error) {
	var r int
	err := e.client.Call("Plugin.Echo", n, &r)
	return r, err
}

// EchoRPCServer is the child's side of the plugin.
type EchoRPCServer struct{ Impl Echo }

// Echo serves one call.
func (s *EchoRPCServer) Echo(n int, r *int) error {
	v, err := s.Impl.Echo(n)
	*r = v
	return err
}

// EchoPlugin is the net/rpc plugin.Plugin of Echo.
type EchoPlugin struct{ Impl Echo }

// Server implements plugin.Plugin.
func (p *EchoPlugin) Server(*plugin.MuxBroker) (any, error) { return &EchoRPCServer{Impl: p.Impl}, nil }

// Client implements plugin.Plugin.
func (*EchoPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (any, error) {
	return &EchoRPC{client: c}, nil
}

// Plugins is the plugin set of parent and child.
func Plugins(impl Echo) map[string]plugin.Plugin {
	return map[string]plugin.Plugin{"echo": &EchoPlugin{Impl: impl}}
}

// Serve makes this process the echo plugin; it returns when the parent
// ends it.
func Serve() {
	plugin.Serve(&plugin.ServeConfig{HandshakeConfig: Handshake, Plugins: Plugins(EchoImpl{})})
}
