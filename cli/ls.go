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
		fmt.Fprintf(stderr, "bgkit ls: %s (id %s) answered $SRV.STATS but not $SRV.STATS.%s.%s: not listed (another process answering in its name?)\n",
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

// verifyRows asks each instance the generic answers named (once per name
// and id) for its stats on its own subject, $SRV.STATS.<NAME>.<ID>, and
// lists what that answer says; those that do not answer there with their
// name and id are fakes. Anyone may answer the generic $SRV.STATS, with any
// name and any figures (a real instance's id included: the generic
// $SRV.PING tells it); on a scoped bus only the instance serving NAME may
// subscribe to its own subject.
func verifyRows(ctx context.Context, nc *nats.Conn, rows []serviceRow) (ok, fakes []serviceRow) {
	type key struct{ name, id string }
	seen := map[key]bool{}
	var named []serviceRow
	for _, r := range rows {
		if k := (key{r.Name, r.ID}); !seen[k] {
			seen[k] = true
			named = append(named, r)
		}
	}
	checked := make([]*serviceRow, len(named))
	var wg sync.WaitGroup
	limit := make(chan struct{}, 64)
	for i, r := range named {
		wg.Add(1)
		limit <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-limit }()
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			m, err := bus.Request(pctx, nc, &nats.Msg{Subject: bus.ControlSubject(micro.StatsVerb, r.Name, r.ID)}, 0)
			if err != nil {
				return
			}
			if own, good := rowOf(m.Data); good && own.Name == r.Name && own.ID == r.ID {
				checked[i] = &own
			}
		}()
	}
	wg.Wait()
	for i, r := range named {
		if checked[i] != nil {
			ok = append(ok, *checked[i])
		} else {
			fakes = append(fakes, r)
		}
	}
	return ok, fakes
}

// rowOf is the row of a $SRV.STATS answer; good is false if it is none.
func rowOf(data []byte) (r serviceRow, good bool) {
	var st micro.Stats
	if json.Unmarshal(data, &st) != nil || st.Type != micro.StatsResponseType {
		return r, false
	}
	pid, _ := strconv.Atoi(st.Metadata["pid"])
	r = serviceRow{Name: st.Name, ID: st.ID, PID: pid, Host: st.Metadata["host"], Started: st.Started}
	for _, e := range st.Endpoints {
		r.Requests += e.NumRequests
		r.Errors += e.NumErrors
	}
	return r, true
}

// maxRows bounds what ls collects from the generic $SRV.STATS (a hostile
// process could answer it without end).
const maxRows = 10_000

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
	for time.Now().Before(deadline) && len(rows) < maxRows {
		wctx, cancel := context.WithTimeout(ctx, quiet)
		m, err := sub.NextMsgWithContext(wctx)
		cancel()
		if err != nil {
			break
		}
		if r, good := rowOf(m.Data); good {
			rows = append(rows, r)
		}
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
