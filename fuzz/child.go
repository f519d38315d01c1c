package fuzz

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/seal"
)

// ChildEnv is the environment variable that turns the test binary into a
// crash child; it holds the child's instructions (JSON).
const ChildEnv = "KEEL_CRASH_CHILD"

// reportFD is the descriptor of the pipe to the parent (the child's first
// extra file).
const reportFD = 3

// childSpec is what the parent tells a child: where the store is, how to
// open it and what to run.
type childSpec struct {
	Dir      string
	Seed     uint64
	Round    int
	Key      []byte
	Cipher   seal.Cipher
	Streams  []streamSpec
	Knobs    knobs
	Window   int           // unacknowledged commands per stream before it waits
	Lifetime time.Duration // the child exits by itself after this
}

// knobs are the engine options a round varies, so kills land in
// checkpoints, index writes, segment rotations and cache evictions.
type knobs struct {
	CheckpointInterval time.Duration
	IndexInterval      time.Duration
	WALSegmentSize     int
	CacheBytes         int64
	LargeMessage       int
	SyncInterval       time.Duration
}

func (s *childSpec) options(log blockstore.Logger) blockstore.Options {
	k := s.Knobs
	return blockstore.Options{
		SyncInterval: k.SyncInterval, Key: s.Key, Cipher: s.Cipher, CacheBytes: k.CacheBytes, Logger: log,
		CheckpointInterval: k.CheckpointInterval, IndexInterval: k.IndexInterval,
		LargeMessage: k.LargeMessage, WALSegmentSize: k.WALSegmentSize,
	}
}

// RunChild runs a crash child when the environment asks for one (see
// ChildEnv), and then exits the process; otherwise it returns at once.
func RunChild() {
	raw := os.Getenv(ChildEnv)
	if raw == "" {
		return
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "crash child: bad instructions: %v\n", err)
		os.Exit(2)
	}
	c := &child{spec: &spec, rep: &reporter{w: os.NewFile(reportFD, "report")}}
	c.run()
}

// child is the workload process.
type child struct {
	spec *childSpec
	rep  *reporter
	e    *blockstore.Engine
	acks *acker
}

func (c *child) die(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	c.rep.send(true, "E %s", msg)
	fmt.Fprintln(os.Stderr, "crash child:", msg)
	os.Exit(3)
}

func (c *child) run() {
	// A parent that died cannot kill us: leave on our own in time.
	go func() {
		time.Sleep(c.spec.Lifetime)
		os.Exit(0)
	}()
	e, err := blockstore.Open(c.spec.Dir, c.spec.options(stderrLogger{}))
	if err != nil {
		c.die("open: %v", err)
	}
	c.e = e
	streams := make([]blockstore.Stream, len(c.spec.Streams))
	for i, sp := range c.spec.Streams {
		s, ok := e.Stream(sp.Cfg.Name)
		if !ok {
			before := streamDirs(c.spec.Dir)
			if s, err = e.CreateStream(sp.Cfg); err != nil {
				c.die("create %s: %v", sp.Cfg.Name, err)
			}
			c.rep.send(true, "C %s %s", sp.Cfg.Name, newDir(before, streamDirs(c.spec.Dir)))
		}
		st := s.State()
		c.rep.send(false, "O %s %d %d %d %d", sp.Cfg.Name, s.LastApplied(), st.Msgs, st.FirstSeq, st.LastSeq)
		streams[i] = s
	}
	c.acks = newAcker(e, c.rep, len(streams))
	c.rep.send(true, "R %d", e.Durable())
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stream(i, s)
		}()
	}
	wg.Wait()
}

// expectedRefusal reports whether err is a refusal the workload provokes
// on purpose (limits, a sequence already gone).
func expectedRefusal(err error) bool {
	for _, x := range []error{blockstore.ErrMaxMsgs, blockstore.ErrMaxBytes, blockstore.ErrMaxMsgsPerSubj,
		blockstore.ErrNotFound, blockstore.ErrDeleted} {
		if errors.Is(err, x) {
			return true
		}
	}
	return false
}

// stream applies stream i's workload until the process is killed.
func (c *child) stream(i int, s blockstore.Stream) {
	sp := c.spec.Streams[i]
	name := sp.Cfg.Name
	w := newWorkload(c.spec.Seed, c.spec.Round, sp)
	var line []byte
	for {
		c.acks.wait(i, c.spec.Window)
		idx := s.LastApplied() + 1
		cs := w.next(s, idx)
		line = append(append(append(line[:0], "I "...), name...), ' ')
		line = appendSpec(line, &cs)
		c.rep.sendLine(true, line)
		cmd := cs.command(s.Config())
		res, err := s.Apply(cmd)
		w.refused(err)
		if err != nil {
			if !expectedRefusal(err) {
				c.die("%s: apply %d (op %d): %v", name, idx, cs.Op, err)
			}
			c.rep.send(false, "F %s %d %s", name, idx, strconv.Quote(err.Error()))
			continue
		}
		if got := s.LastApplied(); got != idx {
			c.die("%s: applied command %d, LastApplied says %d", name, idx, got)
		}
		c.rep.send(false, "T %s %d %d %d", name, idx, res.Ticket, res.Seq)
		var ack string
		switch {
		case cs.Op == blockstore.OpStore:
			ack = fmt.Sprintf("A %s %d %d %x", name, idx, res.Seq, msgHash(cmd.Header, cmd.Data))
		case cs.removes():
			ack = fmt.Sprintf("X %s %d %d", name, idx, cs.Seq)
		default:
			ack = fmt.Sprintf("K %s %d", name, idx)
		}
		c.acks.add(i, uint64(res.Ticket), ack)
	}
}

// reporter writes report lines to the pipe; a line is complete in one
// write, and a flush writes everything buffered.
type reporter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (r *reporter) send(flush bool, format string, a ...any) {
	r.mu.Lock()
	r.buf = fmt.Appendf(r.buf, format, a...)
	r.buf = append(r.buf, '\n')
	r.flushLocked(flush)
	r.mu.Unlock()
}

func (r *reporter) sendLine(flush bool, line []byte) {
	r.mu.Lock()
	r.buf = append(append(r.buf, line...), '\n')
	r.flushLocked(flush)
	r.mu.Unlock()
}

func (r *reporter) flushLocked(flush bool) {
	if !flush && len(r.buf) < 32<<10 {
		return
	}
	if _, err := r.w.Write(r.buf); err != nil {
		os.Exit(2) // the parent is gone
	}
	r.buf = r.buf[:0]
}

// acker writes durable acknowledgements once the engine's watermark has
// passed their tickets, and holds a stream back while too many of its
// commands wait for one.
type acker struct {
	e       *blockstore.Engine
	rep     *reporter
	mu      sync.Mutex
	cond    *sync.Cond
	pending []pendingAck
	waiting []int // per stream
	wake    chan struct{}
}

type pendingAck struct {
	ticket uint64
	stream int
	line   string
}

func newAcker(e *blockstore.Engine, rep *reporter, streams int) *acker {
	a := &acker{e: e, rep: rep, waiting: make([]int, streams), wake: make(chan struct{}, 1)}
	a.cond = sync.NewCond(&a.mu)
	e.Notify(func(blockstore.Ticket) { a.signal() })
	go a.loop()
	return a
}

func (a *acker) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *acker) add(stream int, ticket uint64, line string) {
	a.mu.Lock()
	a.pending = append(a.pending, pendingAck{ticket: ticket, stream: stream, line: line})
	a.waiting[stream]++
	a.mu.Unlock()
	if uint64(a.e.Durable()) >= ticket {
		a.signal() // the watermark may have passed it before it was added
	}
}

// wait blocks while stream has window or more commands unacknowledged.
func (a *acker) wait(stream, window int) {
	a.mu.Lock()
	for a.waiting[stream] >= window {
		a.cond.Wait()
	}
	a.mu.Unlock()
}

func (a *acker) loop() {
	tick := time.NewTicker(20 * time.Millisecond) // a safety net, not the trigger
	defer tick.Stop()
	var out []byte
	for {
		select {
		case <-a.wake:
		case <-tick.C:
		}
		w := uint64(a.e.Durable())
		out = out[:0]
		a.mu.Lock()
		// Tickets of different streams arrive out of order: sort the ones
		// now durable so the lines go out in commit order.
		slices.SortFunc(a.pending, func(x, y pendingAck) int { return compareU64(x.ticket, y.ticket) })
		n := 0
		for n < len(a.pending) && a.pending[n].ticket <= w {
			p := a.pending[n]
			out = append(append(out, p.line...), '\n')
			a.waiting[p.stream]--
			n++
		}
		a.pending = append(a.pending[:0], a.pending[n:]...)
		a.mu.Unlock()
		if n == 0 {
			continue
		}
		out = fmt.Appendf(out, "W %d\n", w)
		a.rep.sendLine(true, out[:len(out)-1])
		a.cond.Broadcast()
	}
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// streamDirs lists the stream folders of the store at dir (the layout of
// ARCHITECTURE.md: <dir>/keel/streams/<id>).
func streamDirs(dir string) []string {
	ents, _ := os.ReadDir(filepath.Join(dir, "keel", "streams"))
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

func newDir(before, after []string) string {
	for _, d := range after {
		if !slices.Contains(before, d) {
			return d
		}
	}
	return "-"
}

// stderrLogger sends the engine's log to stderr, which the parent keeps
// for failure reports.
type stderrLogger struct{}

func (stderrLogger) Noticef(f string, a ...any) { fmt.Fprintf(os.Stderr, "[INF] "+f+"\n", a...) }
func (stderrLogger) Warnf(f string, a ...any)   { fmt.Fprintf(os.Stderr, "[WRN] "+f+"\n", a...) }
func (stderrLogger) Errorf(f string, a ...any)  { fmt.Fprintf(os.Stderr, "[ERR] "+f+"\n", a...) }
func (stderrLogger) Debugf(string, ...any)      {}
