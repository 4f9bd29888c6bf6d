package doip_test

import (
	"net"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/uds/doip"
)

// TestListenErrorText: a port in use is said once, without repeated
// prefixes ("doip: listen: listen tcp").
func TestListenErrorText(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = doip.Listen(doip.ServerConfig{Addr: l.Addr().String(), UDPAddr: "127.0.0.1:0"})
	if err == nil {
		t.Fatal("listen on a used port succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "doip: listen tcp "+l.Addr().String()+": ") || strings.Count(msg, "listen") != 1 {
		t.Errorf("err = %q, want doip: listen tcp ADDR: ... with listen once", msg)
	}
}
