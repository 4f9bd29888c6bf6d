package spawn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/bus"
)

// Pool is an opt-in warm pool: children of this binary already exec'd and
// initialised (runtime, package init, spawn.Main), each blocked reading
// its bootstrap. Run with [WithPool] takes one, so spawn → serving skips
// exec and init: the child gets its name, arguments and its own scoped
// credentials in the bootstrap, as any child does, and the pool starts a
// replacement in the background.
//
// While idle, each child has also connected to the pool's bus once and
// hung up (with the pool's own grant, never used to serve), so that its
// first real dial does not pay for cold code: that first dial is most of
// what is left of a start once exec and init are gone.
//
// A pooled child never outlives the parent: when the parent exits, the
// bootstrap pipe reaches EOF and the child exits without serving. A spawn
// with [WithEnv] does not use the pool (a pooled child's environment is
// fixed when it starts). Close the pool to stop its idle children.
type Pool struct {
	size  int
	b     *bus.Bus
	grant string          // the name of the pool's grant on b
	warm  bus.Credentials // the grant, for the warm-up dial

	mu      sync.Mutex
	idle    []*childProc
	closed  bool
	filling int // starts in progress
	wg      sync.WaitGroup
}

// poolSeq numbers pools, for their grant names.
var poolSeq atomic.Int64

// NewPool starts size idle children now and keeps that many waiting, warmed
// up against b. Call it after spawn.Main.
func NewPool(b *bus.Bus, size int) (*Pool, error) {
	if !mainCalled.Load() {
		return nil, fmt.Errorf("spawn: new pool: %w", ErrNoMain)
	}
	if size < 1 {
		return nil, fmt.Errorf("spawn: new pool: size %d (at least 1)", size)
	}
	p := &Pool{size: size, b: b, grant: fmt.Sprintf("BGKIT_POOL_%d_%d", os.Getpid(), poolSeq.Add(1))}
	var err error
	if p.warm, err = b.Grant(p.grant); err != nil {
		return nil, fmt.Errorf("spawn: new pool: %w", err)
	}
	for range size {
		c, err := p.execIdle()
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("spawn: new pool: %w", err)
		}
		p.idle = append(p.idle, c)
	}
	return p, nil
}

// WithPool makes Run and RunKind take a child from p when it has one (and
// start one as usual when it has none).
func WithPool(p *Pool) Option { return func(o *options) { o.pool = p } }

// Idle is the number of children waiting.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Close kills the idle children and waits for them and for replacements
// being started. Children already taken are not affected. It is
// idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.discard()
	}
	p.wg.Wait()
	if p.grant != "" {
		p.b.Revoke(p.grant)
	}
	return nil
}

// execIdle starts an idle child and sends it the warm-up line.
func (p *Pool) execIdle() (*childProc, error) {
	c, err := execChild("pool", nil, nil)
	if err != nil {
		return nil, err
	}
	line, _ := json.Marshal(warmUpLine{Warm: &p.warm})
	if _, err := c.boot.Write(append(line, '\n')); err != nil {
		c.discard()
		return nil, fmt.Errorf("warm up: %w", err)
	}
	// The child answers on its status pipe once warm. Read byte by byte:
	// the rest of the pipe belongs to the process that takes the child.
	var got []byte
	one := make([]byte, 1)
	for len(got) == 0 || got[len(got)-1] != '\n' {
		if _, err := c.status.Read(one); err != nil {
			c.discard()
			return nil, fmt.Errorf("warm up: child exited: %w", err)
		}
		got = append(got, one[0])
	}
	if string(got) != warmedLine {
		c.discard()
		return nil, fmt.Errorf("warm up: child said %q", got)
	}
	return c, nil
}

// take returns an idle child that is still alive, or nil. The pool is
// refilled by refill, once the spawn that took it is done: an exec and a
// child's init running meanwhile would compete with that spawn for CPU.
func (p *Pool) take() *childProc {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		c := p.idle[0]
		p.idle = p.idle[1:]
		if c.alive() {
			return c
		}
		p.wg.Add(1)
		go func() { defer p.wg.Done(); c.discard() }()
	}
	return nil
}

// refill starts the idle children missing.
func (p *Pool) refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle)+p.filling < p.size && !p.closed {
		p.refillLocked()
	}
}

func (p *Pool) refillLocked() {
	if p.closed || len(p.idle)+p.filling >= p.size {
		return
	}
	p.filling++
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		c, err := p.execIdle()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.filling--
		if err != nil {
			return
		}
		if p.closed {
			go c.discard()
			return
		}
		p.idle = append(p.idle, c)
	}()
}

// childProc is a started child process and the parent's ends of its pipes.
type childProc struct {
	cmd    *exec.Cmd
	boot   *os.File // write end of fd 3: bootstrap, then the lifeline
	status *os.File // read end of fd 4
	stdout *os.File // read end
	stderr *os.File // read end
	// conn is the parent's copy of the child's bus connection (fd connFD),
	// nil if the child dials itself. Held until the child's logs are in:
	// the child's exit then does not close the socket, so what it wrote
	// reaches the server without the child waiting for it.
	conn *os.File
	// hello, if not nil, is the CONNECT and PING the parent sent on conn
	// (predialFor).
	hello []byte
	tree  string // the token of envTree in its environment
}

// startChild is where a child process is launched: one taken from pool
// (pooled) when there is one and env is empty, else a fresh exec of this binary
// with the child marker and env, and the bus connection predial makes.
func startChild(pool *Pool, name string, env []string, predial func() (*os.File, []byte)) (c *childProc, pooled bool, err error) {
	if pool != nil && len(env) == 0 {
		if c := pool.take(); c != nil {
			return c, true, nil
		}
	}
	conn, hello := predial()
	c, err = execChild(name, env, conn)
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, false, err
	}
	c.hello = hello
	return c, false, nil
}

// execChild starts this binary as a child that waits for its bootstrap;
// conn, if not nil, is its connection to the bus, as fd 5 (connFD).
func execChild(name string, env []string, conn *os.File) (*childProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find executable: %w", err)
	}
	var files []*os.File
	pipe := func() (r, w *os.File, err error) {
		if r, w, err = os.Pipe(); err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	bootR, bootW, err := pipe()
	if err != nil {
		return nil, err
	}
	statusR, statusW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	tree := rand.Text()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{os.Args[0], "bgkit-child", name},
		Env:         childEnv(tree, env),
		Stdout:      outW,
		Stderr:      errW,
		ExtraFiles:  []*os.File{bootR, statusW},
		SysProcAttr: sysProcAttr(),
	}
	if conn != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, conn)
	}
	err = cmd.Start()
	bootR.Close()
	statusW.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		bootW.Close()
		statusR.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("exec %s: %w", exe, err)
	}
	return &childProc{cmd: cmd, boot: bootW, status: statusR, stdout: outR, stderr: errR, conn: conn, tree: tree}, nil
}

// alive reports whether the process has not exited (it is not reaped).
func (c *childProc) alive() bool { return processAlive(c.cmd.Process.Pid) }

// discard kills an unused child, reaps it and closes its pipes.
func (c *childProc) discard() {
	killGroup(c.cmd.Process.Pid)
	_ = c.cmd.Wait()
	c.boot.Close()
	c.status.Close()
	c.stdout.Close()
	c.stderr.Close()
	if c.conn != nil {
		c.conn.Close()
	}
}

// warmUpLine is what a pool sends an idle child before its bootstrap.
type warmUpLine struct {
	Warm *bus.Credentials `json:"warm"`
}

// warmedLine is what an idle child writes on its status pipe once warm.
const warmedLine = `{"warm":true}` + "\n"

// readBootstrap is where the child reads its bootstrap line: a warm-up
// line from a pool before it makes the child dial the bus once, hang up
// and say so on status, then it reads on.
func readBootstrap(br *bufio.Reader, status io.Writer) ([]byte, error) {
	for {
		line, err := br.ReadBytes('\n')
		if err != nil || !bytes.HasPrefix(line, []byte(`{"warm":`)) {
			return line, err
		}
		var w warmUpLine
		if json.Unmarshal(line, &w) != nil || w.Warm == nil {
			return line, nil
		}
		// The bootstrap's decoder, cold in a fresh process (~0.1 ms).
		_ = json.Unmarshal([]byte(`{"key":"","bus":{"url":""},"args":{}}`), new(bootstrap))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if b, err := bus.Dial(ctx, *w.Warm, bus.WithClientName("bgkit pool warm-up"),
			bus.WithLogger(slog.New(slog.DiscardHandler))); err == nil {
			b.Close()
		}
		cancel()
		predialed.start(w.Warm.URL)
		if _, err := io.WriteString(status, warmedLine); err != nil {
			return nil, err
		}
	}
}
