// Package cli is the bgkit command line. The bgkit binary (cmd/bgkit) is
// three lines — [Main] after services.RegisterAll — and a team's own binary,
// with its own service kinds runnable from rig files, adds one line per kind
// in between.
//
// # Your own bgkit
//
// [Main] runs the command line with every kind registered in the process
// (spawn.RegisterKind). It calls spawn.Main first, so the same binary is
// re-executed as the child of every service it spawns:
//
//	package main
//
//	import (
//		"github.com/bgkit/bgkit/cli"
//		"github.com/bgkit/bgkit/services"
//		"github.com/bgkit/bgkit/spawn"
//
//		"example.com/rig/mypkg"
//	)
//
//	func main() {
//		services.RegisterAll()
//		spawn.RegisterKind("my-kind", mypkg.NewMyService)
//		cli.Main() // calls spawn.Main first; never returns
//	}
//
// A rig file then names the kind like a built-in one:
//
//	services:
//	  - kind: my-kind
//	    args: {greeting: hello}
//
// # Commands
//
// bgkit starts a rig of services on an embedded (or external) NATS bus,
// calls their methods, lists them and follows their logs and events:
//
//	bgkit up examples/demo.yaml        # prints NATS_URL=..., relays logs until Ctrl-C
//	bgkit call TESTER_PRESENT_SERVICE set_interval 500
//	bgkit ls
//	bgkit logs ECU_SIM_SERVICE         # its last records, then what follows
//	bgkit events ECU_SIM_SERVICE       # evt.ECU_SIM_SERVICE.> and life.ECU_SIM_SERVICE
//
// `up` and `run` keep the last records of every service on their bus (a
// ring per service, bounded in records and bytes) and answer `logs` with
// them, so that `logs` shows what a quiet service said before it started.
//
// Run `bgkit help` or `bgkit <command> --help` for the details.
//
// # Exit status
//
// 0 on success (and for `up` and `run` stopped by SIGINT or SIGTERM, once
// every service has stopped), 2 for a usage error (the reason and a hint on
// stderr), 1 for anything else, such as a service error of `call`. [Run] is
// the same command line in-process, for tests.
package cli
