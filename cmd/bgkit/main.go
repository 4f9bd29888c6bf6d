// Command bgkit runs and talks to bgkit services; see package cli.
package main

import (
	"github.com/bgkit/bgkit/cli"
	"github.com/bgkit/bgkit/services"
)

func main() {
	services.RegisterAll()
	cli.Main()
}
