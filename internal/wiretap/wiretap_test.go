package wiretap

import (
	"io"
	"net"
	"testing"
)

func TestDialerKeepsWhatIsWritten(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	d := &Dialer{}
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"CONNECT {}\r\n", "PING\r\n"} {
		if _, err := c.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if s := <-got; s != "CONNECT {}\r\nPING\r\n" {
		t.Errorf("the server read %q", s)
	}
	if w := d.Written(); w != "CONNECT {}\r\nPING\r\n" {
		t.Errorf("Written = %q", w)
	}
	if l := d.Lines(); len(l) != 3 || l[0] != "CONNECT {}" || l[1] != "PING" || l[2] != "" {
		t.Errorf("Lines = %q", l)
	}
}
