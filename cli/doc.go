// Package cli is the bgkit command line: cmd/bgkit is [Main] after
// services.RegisterAll, and a team's own binary adds its kinds in between.
//
// bgkit runs and talks to bgkit services: it starts a rig of
// built-in services on an embedded (or external) NATS bus, calls their
// methods, lists them and follows their logs.
//
//	bgkit up examples/demo.yaml
//	bgkit call TESTER_PRESENT_SERVICE set_interval 500
//	bgkit ls
//	bgkit logs ECU_SIM_SERVICE
//
// Run `bgkit help` or `bgkit <command> --help` for the details.
package cli
