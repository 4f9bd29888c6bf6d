package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bus"
)

const lsExamples = `  bgkit ls
  bgkit ls --json | jq '.[].name'
`

// serviceRow is one line of `bgkit ls`.
type serviceRow struct {
	Name     string    `json:"name"`
	ID       string    `json:"id"`
	PID      int       `json:"pid"` // 0 when the service did not say (served in-process)
	Host     string    `json:"host"`
	Started  time.Time `json:"started"`
	Requests int       `json:"requests"`
	Errors   int       `json:"errors"`
}

func runLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ls", "[flags]", lsExamples, stdout)
	wait := fs.Duration("wait", 300*time.Millisecond, "how long to wait for answers after the last one")
	asJSON := fs.Bool("json", false, "print JSON")
	var bf busFlags
	bf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := bf.connect(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer b.Close()
	rows, err := gatherStats(ctx, b.Conn(), *wait)
	if err != nil {
		return err
	}
	rows, fakes := verifyRows(ctx, b.Conn(), rows)
	if rows == nil {
		rows = []serviceRow{} // --json: [], not null
	}
	for _, r := range fakes {
		fmt.Fprintf(stderr, "bgkit ls: %s (id %s) answered $SRV.STATS but not $SRV.PING.%s.%s: not listed (another process answering in its name?)\n",
			r.Name, r.ID, r.Name, r.ID)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tPID\tHOST\tUPTIME\tREQUESTS\tERRORS")
	for _, r := range rows {
		pid := "-"
		if r.PID != 0 {
			pid = strconv.Itoa(r.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", r.Name, r.ID, pid, r.Host, since(r.Started), r.Requests, r.Errors)
	}
	return tw.Flush()
}

// verifyRows keeps the rows whose instance answers a ping on its own
// subject, $SRV.PING.<NAME>.<ID>, with its name and id. Anyone may answer
// the generic $SRV.STATS with any name; on a scoped bus only the instance
// serving NAME may subscribe to that subject.
func verifyRows(ctx context.Context, nc *nats.Conn, rows []serviceRow) (ok, fakes []serviceRow) {
	good := make([]bool, len(rows))
	var wg sync.WaitGroup
	for i, r := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			m, err := bus.Request(pctx, nc, &nats.Msg{Subject: bus.ControlSubject(micro.PingVerb, r.Name, r.ID)}, 0)
			if err != nil {
				return
			}
			var p micro.Ping
			good[i] = json.Unmarshal(m.Data, &p) == nil && p.Name == r.Name && p.ID == r.ID
		}()
	}
	wg.Wait()
	for i, r := range rows {
		if good[i] {
			ok = append(ok, r)
		} else {
			fakes = append(fakes, r)
		}
	}
	return ok, fakes
}

// gatherStats asks every service for its stats and collects the answers
// until none has come for quiet.
func gatherStats(ctx context.Context, nc *nats.Conn, quiet time.Duration) ([]serviceRow, error) {
	inbox := bus.NewInbox(nc)
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("ls: %w", err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(bus.ControlSubject(micro.StatsVerb, "", ""), inbox, nil); err != nil {
		return nil, fmt.Errorf("ls: %w", err)
	}
	var rows []serviceRow
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		wctx, cancel := context.WithTimeout(ctx, quiet)
		m, err := sub.NextMsgWithContext(wctx)
		cancel()
		if err != nil {
			break
		}
		var st micro.Stats
		if json.Unmarshal(m.Data, &st) != nil || st.Type != micro.StatsResponseType {
			continue
		}
		pid, _ := strconv.Atoi(st.Metadata["pid"])
		r := serviceRow{Name: st.Name, ID: st.ID, PID: pid, Host: st.Metadata["host"], Started: st.Started}
		for _, e := range st.Endpoints {
			r.Requests += e.NumRequests
			r.Errors += e.NumErrors
		}
		rows = append(rows, r)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Name != rows[j].Name {
			return rows[i].Name < rows[j].Name
		}
		return rows[i].ID < rows[j].ID
	})
	return rows, nil
}
