package can

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// vcanInterface is the virtual CAN interface the kernel tests use; create
// it with: ip link add dev vcan0 type vcan && ip link set up vcan0
const vcanInterface = "vcan0"

// requireVCAN skips the test unless the kernel has AF_CAN and vcan0 exists.
func requireVCAN(t *testing.T) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_CAN, unix.SOCK_RAW, unix.CAN_RAW)
	if err != nil {
		t.Skipf("kernel has no SocketCAN (socket(AF_CAN): %v)", err)
	}
	unix.Close(fd)
	if _, err := net.InterfaceByName(vcanInterface); err != nil {
		t.Skipf("no %s interface (%v); create it with: ip link add dev %[1]s type vcan && ip link set up %[1]s", vcanInterface, err)
	}
}

func TestSocketCANKernel(t *testing.T) {
	requireVCAN(t)
	ctx := context.Background()
	a, err := DialSocketCAN(ctx, vcanInterface)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, "socketcan:"+vcanInterface, WithFilters(Filter{ID: 0x7E8, Mask: 0x7FF}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	send(t, a, frame(0x7E0, 1)) // filtered out at b
	send(t, a, frame(0x7E8, 2, 0x7E, 0))
	if r := recv(t, b); r.Frame != frame(0x7E8, 2, 0x7E, 0) {
		t.Errorf("b received %v", r.Frame)
	}
	send(t, b, extended(frame(0x18DAF110, 1)))
	if r := recv(t, a); r.Frame != extended(frame(0x18DAF110, 1)) {
		t.Errorf("a received %v", r.Frame)
	}
}
