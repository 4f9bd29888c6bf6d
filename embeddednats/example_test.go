package embeddednats_test

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/embeddednats"
)

func Example() {
	s, err := embeddednats.Start(embeddednats.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Shutdown()
	fmt.Println(strings.HasPrefix(s.ClientURL(), "nats://127.0.0.1:"))

	// Without credentials nobody gets in.
	_, err = nats.Connect(s.ClientURL())
	fmt.Println(err != nil)

	// A scoped user.
	pass, _ := s.AddUser("reader", embeddednats.Permissions{Subscribe: []string{"log.>"}})
	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("reader", pass))
	fmt.Println(err)
	nc.Close()
	// Output:
	// true
	// true
	// <nil>
}
