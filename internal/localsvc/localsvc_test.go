package localsvc

import (
	"testing"

	"github.com/nats-io/nats.go"
)

func TestServing(t *testing.T) {
	a, b := new(nats.Conn), new(nats.Conn)
	if Serving(a, "X") {
		t.Fatal("serving before any Add")
	}
	r1 := Add(a, "X")
	r2 := Add(a, "X")
	if !Serving(a, "X") || Serving(b, "X") || Serving(a, "Y") {
		t.Fatal("Serving is per connection and name")
	}
	r1()
	r1() // once only
	if !Serving(a, "X") {
		t.Fatal("one instance left after the other's remove")
	}
	r2()
	if Serving(a, "X") {
		t.Fatal("serving after every remove")
	}
	if len(serving) != 0 {
		t.Fatalf("left behind: %v", serving)
	}
}
