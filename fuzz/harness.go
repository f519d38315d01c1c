package fuzz

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/seal"
)

// Config is one crash run.
type Config struct {
	Dir        string // work folder: the store, copies for verification, kept failures
	Seed       uint64
	Iterations int // kills
	Encrypt    bool
	Keep       bool // keep the store as each failing kill left it (in Dir)
	Verbose    bool // log every round
	NoInject   bool // kills only: no tears, no damage
	// MaxDelay bounds how long a child runs before it is killed.
	MaxDelay time.Duration
	// Command returns the command that starts a child: the test binary
	// running TestCrashChild (the harness adds the environment and pipe).
	Command func() *exec.Cmd
	Logf    func(format string, a ...any)
}

// Summary counts what a run found.
type Summary struct {
	Kills   int
	Lost    int // acknowledged messages missing
	Corrupt int // acknowledged messages with other bytes, and broken invariants
	Damaged int // records hit by damage injected into synced bytes
	Resets  int // times the store started afresh (after damage or a failure)
}

func (s Summary) String() string {
	return fmt.Sprintf("crash: %d kills, %d lost, %d corrupt, %d damaged", s.Kills, s.Lost, s.Corrupt, s.Damaged)
}

// OK reports whether the run found nothing wrong.
func (s Summary) OK() bool { return s.Lost == 0 && s.Corrupt == 0 }

// plan is what the seed decides for one round.
type plan struct {
	round  int
	knobs  knobs
	window int
	early  bool          // kill during start-up, without waiting for the child to be ready
	delay  time.Duration // from start-up (early) or from ready
	inject injectKind
	copy   bool // verify a copy; the next child recovers the original itself
}

type harness struct {
	cfg     Config
	r       *rand.Rand
	store   string // the store folder
	work    string
	key     []byte
	cipher  seal.Cipher
	led     *ledger
	specs   []streamSpec
	sum     Summary
	lastCp  bool                   // the previous round verified a copy
	expOpen map[string]openedState // what the next child must find when it opens
}

// Run runs a crash test: cfg.Iterations kills, each followed by an optional
// injection and the checks; see the package doc.
func Run(cfg Config) (Summary, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 250 * time.Millisecond
	}
	h := &harness{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x6b65656c)), work: cfg.Dir,
		store: filepath.Join(cfg.Dir, "store")}
	if cfg.Encrypt {
		sum := sha256.Sum256(fmt.Appendf(nil, "keel crash %d", cfg.Seed))
		h.key = sum[:]
		h.cipher = []seal.Cipher{seal.AES, seal.ChaCha}[h.r.IntN(2)]
	}
	h.fresh()
	for round := 0; round < cfg.Iterations; round++ {
		if err := h.round(h.plan(round)); err != nil {
			return h.sum, fmt.Errorf("crash: seed %d round %d: %w", cfg.Seed, round, err)
		}
	}
	return h.sum, nil
}

// fresh starts a new store: a new history with new streams.
func (h *harness) fresh() {
	os.RemoveAll(h.store)
	h.specs = newStreams(h.r)
	h.led = newLedger(h.specs)
	h.lastCp = false
	h.expOpen = nil
}

func (h *harness) plan(round int) *plan {
	r := h.r
	p := &plan{round: round, window: []int{1, 8, 64, 512}[r.IntN(4)]}
	p.knobs = knobs{
		CheckpointInterval: []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 200 * time.Millisecond, time.Second}[r.IntN(4)],
		IndexInterval:      []time.Duration{20 * time.Millisecond, 300 * time.Millisecond, time.Hour}[r.IntN(3)],
		WALSegmentSize:     []int{64 << 10, 512 << 10, 4 << 20}[r.IntN(3)],
		CacheBytes:         []int64{128 << 10, 2 << 20, 0}[r.IntN(3)],
		LargeMessage:       []int{0, 2 << 10, 32 << 10}[r.IntN(3)],
	}
	if r.IntN(6) == 0 {
		p.knobs.SyncInterval = 20 * time.Millisecond // acknowledged once written: no tearing
	}
	if r.IntN(8) == 0 {
		p.early, p.delay = true, time.Duration(r.Int64N(int64(40*time.Millisecond)))
	} else {
		p.delay = time.Duration(r.Int64N(int64(h.cfg.MaxDelay)))
	}
	switch n := r.IntN(100); {
	case round%4 == 1 || n < 25:
		p.inject = injectTear
	case round%6 == 3 || n < 37:
		p.inject = injectDamage
	}
	if h.cfg.NoInject || (p.knobs.SyncInterval > 0 && p.inject == injectTear) {
		p.inject = injectNone
	}
	p.copy = r.IntN(3) == 0
	return p
}

func (h *harness) options(log blockstore.Logger) blockstore.Options {
	return blockstore.Options{Key: h.key, Cipher: h.cipher, Logger: log,
		CheckpointInterval: time.Hour, IndexInterval: time.Hour}
}

// round runs one child, kills it, injects and verifies.
func (h *harness) round(p *plan) error {
	h.led.startRound()
	out, err := h.runChild(p)
	if err != nil {
		return err
	}
	h.sum.Kills++
	v := &verdict{}
	if out.problem != "" {
		v.fail(&v.corrupt, "%s", out.problem)
	}
	h.checkOpened(v)

	in := &injection{kind: p.inject, torn: map[string]map[uint64]bool{}}
	if in.kind == injectTear && h.lastCp && !h.led.tearable {
		// The child died before its open synced what the previous one
		// left: that would tear commands the last check counted.
		in.kind = injectNone
	}
	r := rand.New(rand.NewPCG(h.cfg.Seed, uint64(p.round)+1<<40))
	switch in.kind {
	case injectTear:
		err = h.tear(r, in)
	case injectDamage:
		err = h.damage(r, in)
	}
	if err != nil {
		return fmt.Errorf("inject: %w", err)
	}
	if err := os.MkdirAll(h.store, 0o750); err != nil {
		return err
	}
	if h.cfg.Keep {
		if err := copyTree(h.store, filepath.Join(h.work, fmt.Sprintf("killed-%04d", p.round))); err != nil {
			return err
		}
	}
	h.verifySafely(p, in, v)
	h.sum.Lost += v.lost
	h.sum.Corrupt += v.corrupt
	h.sum.Damaged += len(in.hits) + len(in.walHits)
	failed := v.lost+v.corrupt > 0
	if failed || h.cfg.Verbose {
		h.report(p, in, out, v, failed)
	}
	if h.cfg.Keep && !failed {
		os.RemoveAll(filepath.Join(h.work, fmt.Sprintf("killed-%04d", p.round)))
	}
	if failed || v.reset || in.kind == injectDamage {
		h.sum.Resets++
		h.fresh()
	}
	return nil
}

// verifySafely runs the checks, turning a panic of the engine into a
// finding: the run goes on with a fresh store (the panicked engine's files
// stay open, but in a folder that is gone).
func (h *harness) verifySafely(p *plan, in *injection, v *verdict) {
	defer func() {
		if r := recover(); r != nil {
			v.fail(&v.corrupt, "the engine panicked during the check: %v\n%s", r, debug.Stack())
		}
	}()
	h.verify(p, in, v)
}

// report logs a round: what was done and, for a failure, everything
// needed to replay and understand it.
func (h *harness) report(p *plan, in *injection, out *childRun, v *verdict, failed bool) {
	var b strings.Builder
	status := "ok"
	if failed {
		status = "FAILED"
	}
	fmt.Fprintf(&b, "crash: seed %d round %d %s: %s after %v (early %v, copy %v, window %d, %+v), %d report lines",
		h.cfg.Seed, p.round, status, in.kind, p.delay, p.early, p.copy, p.window, p.knobs, out.lines)
	h.led.mu.Lock()
	for name, o := range h.led.opened {
		fmt.Fprintf(&b, "\n  opened %s: %+v", name, o)
	}
	h.led.mu.Unlock()
	for _, n := range in.notes {
		fmt.Fprintf(&b, "\n  inject: %s", n)
	}
	for _, sl := range h.led.streams {
		fmt.Fprintf(&b, "\n  %s", sl.lastAcked())
	}
	for _, n := range v.info {
		fmt.Fprintf(&b, "\n  %s", n)
	}
	for i, pr := range v.problems {
		if i == 30 {
			fmt.Fprintf(&b, "\n  ... %d more", len(v.problems)-i)
			break
		}
		fmt.Fprintf(&b, "\n  PROBLEM: %s", pr)
	}
	if failed {
		for _, l := range v.log {
			fmt.Fprintf(&b, "\n  engine log: %s", l)
		}
		if s := strings.TrimSpace(out.stderr); s != "" {
			fmt.Fprintf(&b, "\n  child stderr (tail):\n%s", s)
		}
		if h.cfg.Keep {
			fmt.Fprintf(&b, "\n  the store as the kill left it: %s", filepath.Join(h.work, fmt.Sprintf("killed-%04d", p.round)))
		}
	}
	h.cfg.Logf("%s", b.String())
}

// checkOpened compares what this round's child found when it opened the
// store with the previous round's check of a copy of the same bytes.
func (h *harness) checkOpened(v *verdict) {
	exp := h.expOpen
	h.expOpen = nil
	for name, want := range exp {
		got, ok := h.led.opened[name]
		if !ok {
			continue // killed before it opened the stream
		}
		if got != want {
			v.fail(&v.corrupt, "%s: the child recovered %+v, a copy of the same store %+v", name, got, want)
		}
	}
}

// childRun is what came of one child.
type childRun struct {
	lines   int
	stderr  string
	problem string // the child failed on its own
}

// runChild starts a child on the store, kills it as planned and collects
// its report.
func (h *harness) runChild(p *plan) (*childRun, error) {
	spec := childSpec{Dir: h.store, Seed: h.cfg.Seed, Round: p.round, Key: h.key, Cipher: h.cipher,
		Streams: h.specs, Knobs: p.knobs, Window: p.window, Lifetime: time.Minute}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := h.cfg.Command()
	cmd.Env = append(os.Environ(), ChildEnv+"="+string(raw))
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	cmd.ExtraFiles = []*os.File{pw}
	stderr := &tailBuffer{max: 32 << 10}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("start child: %w", err)
	}
	pw.Close()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		br := bufio.NewReaderSize(pr, 256<<10)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return // a line the kill cut short is dropped
			}
			h.led.handle(strings.TrimSuffix(line, "\n"))
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	run := &childRun{}
	var timer <-chan time.Time
	if p.early {
		timer = time.After(p.delay)
	} else {
		select {
		case <-h.led.ready:
			timer = time.After(p.delay)
		case err := <-exited:
			exited <- err
		case <-time.After(time.Minute):
			run.problem = "the child did not become ready within a minute"
			timer = time.After(0)
		}
	}
	var werr error
	select {
	case <-timer:
		cmd.Process.Kill() // SIGKILL
		werr = <-exited
	case werr = <-exited:
	}
	if werr == nil || !killed(werr) {
		run.problem = fmt.Sprintf("the child exited by itself (%v)", werr)
	}
	<-readDone
	h.led.mu.Lock()
	run.lines = h.led.lines
	if len(h.led.childErr) > 0 {
		run.problem = "the child failed: " + strings.Join(h.led.childErr, "; ")
	}
	if len(h.led.bad) > 0 && run.problem == "" {
		run.problem = "bad report lines: " + strings.Join(h.led.bad, "; ")
	}
	h.led.mu.Unlock()
	run.stderr = stderr.String()
	return run, nil
}

func killed(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && !ee.Exited()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// copyTree copies the folder from to the folder to (replaced).
func copyTree(from, to string) error {
	os.RemoveAll(to)
	return filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o750)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
