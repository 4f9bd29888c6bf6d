package bgkittest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bus"
)

// A spawn.Handle that a test never terminates often leaves no process
// behind for Main to find: its child exits by itself once the bus it
// serves on closes (it loses its connection). So Bus looks, just before it
// closes the bus, for children of this process that still serve on it, and
// reports each as a failure of the test and, after the run, in Main's
// report.

// unterminatedReports are the reports Main repeats after the run.
var unterminatedReports struct {
	sync.Mutex
	lines []string
}

// pingWait bounds how long the check waits for the services on a bus to
// answer a ping, and pingQuiet how long it waits after the last answer.
const (
	pingWait  = 2 * time.Second
	pingQuiet = 200 * time.Millisecond
)

// stillServing lists, as "NAME (pid N)", the child processes of this
// process started by spawn (not by Spawn, whose own cleanup terminates
// them) that answer a ping on b. It costs nothing when there are no such
// children, the usual case.
func stillServing(b *bus.Bus) []string {
	self := os.Getpid()
	candidates := liveChildren(self)
	spawned.Lock()
	for pid := range spawned.groups {
		if spawned.live[pid] {
			delete(candidates, pid)
		}
	}
	spawned.Unlock()
	if len(candidates) == 0 {
		return nil
	}
	nc := b.Conn()
	inbox := bus.NewInbox(nc)
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil
	}
	defer sub.Unsubscribe()
	if nc.PublishRequest(bus.ControlSubject(micro.PingVerb, "", ""), inbox, nil) != nil {
		return nil
	}
	var found []string
	wait := pingWait
	for len(candidates) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		m, err := sub.NextMsgWithContext(ctx)
		cancel()
		if err != nil || m.Header.Get("Status") == "503" {
			break
		}
		wait = pingQuiet
		var p micro.Ping
		if json.Unmarshal(m.Data, &p) != nil {
			continue
		}
		pid, err := strconv.Atoi(p.Metadata["pid"])
		if err != nil || !candidates[pid] {
			continue
		}
		delete(candidates, pid)
		found = append(found, fmt.Sprintf("%s (pid %d)", p.Name, pid))
	}
	sort.Strings(found)
	return found
}

// reportUnterminated fails t for each child still serving on b, and keeps
// the report for Main.
func reportUnterminated(t testing.TB, b *bus.Bus) {
	t.Helper()
	for _, s := range stillServing(b) {
		line := fmt.Sprintf("bgkittest: %s was still running when its bus closed: terminate every spawn.Handle (or use bgkittest.Spawn)", s)
		t.Errorf("%s", line)
		unterminatedReports.Lock()
		unterminatedReports.lines = append(unterminatedReports.lines, line)
		unterminatedReports.Unlock()
	}
}
