package blockstore

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var (
	randomSteps = flag.Int("blockstore.steps", 1500, "commands per randomized differential run")
	checkEvery  = flag.Bool("blockstore.checkevery", false, "compare the stores after every command")
	eventOdds   = flag.Int("blockstore.events", 60, "one command in this many is followed by a checkpoint, restart or kill")
	randomSeeds = flag.Int("blockstore.seeds", 3, "randomized differential runs (seeds seed..n)")
	firstSeed   = flag.Int("blockstore.seed", 1, "first seed of the randomized differential runs")
)

// quietOpts keeps background work out of tests that need a stable folder:
// checkpoints happen when the test asks.
func quietOpts() Options {
	return Options{CheckpointInterval: time.Hour, CheckpointBytes: 1 << 40, IndexInterval: time.Hour,
		LargeMessage: 2048}
}

// randomCommand returns a command for a stream in state st, with payloads
// from r (some beyond the large-message threshold).
func randomCommand(r *rand.Rand, st State, now *int64) Command {
	*now += int64(time.Millisecond) * int64(1+r.Intn(50))
	subj := fmt.Sprintf("s.%d.%d", r.Intn(4), r.Intn(6))
	pick := func() uint64 {
		if st.LastSeq < st.FirstSeq {
			return st.FirstSeq
		}
		return st.FirstSeq + uint64(r.Int63n(int64(st.LastSeq-st.FirstSeq+1)))
	}
	switch n := r.Intn(1000); {
	case n < 700:
		size := r.Intn(300)
		if r.Intn(20) == 0 {
			size = 2048 + r.Intn(6000)
		}
		data := make([]byte, size)
		r.Read(data)
		var hdr []byte
		if r.Intn(4) == 0 {
			hdr = []byte("NATS/1.0\r\nK: v\r\n\r\n")
		}
		var ttl int64
		if r.Intn(10) == 0 {
			ttl = int64(time.Millisecond) * int64(1+r.Intn(2000))
		}
		return Command{Op: OpStore, Subject: subj, Header: hdr, Data: data, Time: *now, TTL: ttl}
	case n < 820:
		return Command{Op: OpRemove, Seq: pick()}
	case n < 850:
		return Command{Op: OpErase, Seq: pick()}
	case n < 870:
		return Command{Op: OpPurge, Subject: []string{"", "s.1.*", "s.2.3", "s.>"}[r.Intn(4)], Keep: uint64(r.Intn(3)) * uint64(r.Intn(5))}
	case n < 880:
		return Command{Op: OpPurge, Seq: pick()}
	case n < 895:
		return Command{Op: OpCompact, Seq: pick()}
	case n < 905:
		return Command{Op: OpTruncate, Seq: pick() - uint64(r.Intn(2))}
	case n < 925:
		return Command{Op: OpSkip}
	case n < 950:
		return Command{Op: OpExpire, Time: *now}
	case n < 965:
		// No MaxBytes: memory and file storage count bytes differently (as
		// the reference does), so the same limit removes different messages.
		cfg := Config{Name: "S", MaxMsgs: int64(r.Intn(200)), MaxMsgsPerSubject: int64(r.Intn(6)),
			MaxAge: time.Duration(r.Intn(3)) * time.Second, AllowMsgTTL: r.Intn(2) == 0}
		if r.Intn(3) == 0 {
			cfg.Discard = DiscardNew
		}
		return Command{Op: OpConfig, Config: &cfg}
	default:
		return Command{Op: OpSetAux, Key: fmt.Sprintf("c%d", r.Intn(5)), Data: []byte(fmt.Sprint(r.Intn(3)))}
	}
}

// TestFileRandomDifferential applies the same random commands to a memory
// and a file stream and requires them to stay identical (but for byte
// accounting) through checkpoints, clean restarts, index rebuilds and
// kill-style restarts from a copy of the folder.
func TestFileRandomDifferential(t *testing.T) {
	for seed := int64(*firstSeed); seed <= int64(*randomSeeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomDifferential(t, seed, *randomSteps) })
	}
}

func randomDifferential(t *testing.T, seed int64, steps int) {
	defer func(v int64) { compactMinGarbage = v }(compactMinGarbage)
	compactMinGarbage = 1024
	r := rand.New(rand.NewSource(seed))
	cfg := Config{Name: "S", BlockSize: 16 << 10, AllowMsgTTL: true}
	mem, _ := NewMemoryStream(cfg)
	dir := t.TempDir()
	o := quietOpts()
	o.Logger = testLogger{t}
	e := openTestEngine(t, dir, o)
	defer func() { e.Close() }()
	fs, err := e.CreateStream(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := baseTime
	check := func(step int, what string) {
		t.Helper()
		if a, b := stripBytes(dump(t, fs)), stripBytes(dump(t, mem)); a != b {
			t.Fatalf("step %d (%s): file and memory differ: %s", step, what, firstDiff(a, b))
		}
	}
	for i := 0; i < steps; i++ {
		cmd := randomCommand(r, mem.State(), &now)
		mc := cmd
		mr, merr := mem.Apply(&mc)
		fr, ferr := fs.Apply(&cmd)
		if (merr == nil) != (ferr == nil) || mr.Seq != fr.Seq || mr.Removed != fr.Removed {
			t.Fatalf("step %d %v: memory %+v %v, file %+v %v", i, cmd.Op, mr, merr, fr, ferr)
		}
		if i%97 == 0 || *checkEvery {
			check(i, fmt.Sprintf("live after %v", cmd.Op))
		}
		ev := r.Intn(*eventOdds)
		if *checkEvery && ev < 4 {
			t.Logf("step %d: event %d", i, ev)
		}
		if *checkEvery {
			t.Logf("step %d: %v seq %d subj %q len %d -> %+v", i, cmd.Op, cmd.Seq, cmd.Subject, len(cmd.Data), fr)
		}
		switch ev {
		case 0:
			if err := e.checkpoint(r.Intn(2) == 0); err != nil {
				t.Fatal(err)
			}
		case 1: // clean restart
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if r.Intn(2) == 0 {
				os.Remove(filepath.Join(e.streamDir(1), indexFileName))
			}
			e = openTestEngine(t, dir, o)
			fs, _ = e.Stream("S")
			check(i, "restart")
		case 3:
			e.compactSome()
		case 2: // kill: open a copy of the folder taken after a sync
			if err := e.Sync(); err != nil {
				t.Fatal(err)
			}
			cp := t.TempDir()
			copyQuiet(t, e, dir, cp)
			e2 := openTestEngine(t, cp, o)
			s2, _ := e2.Stream("S")
			if a, b := stripBytes(dump(t, s2)), stripBytes(dump(t, mem)); a != b {
				t.Fatalf("step %d: kill copy differs: %s", i, firstDiff(a, b))
			}
			e2.Close()
		}
	}
	check(steps, "end")
}

// copyQuiet copies the engine's folder while no checkpoint or compaction
// moves files: a power cut stops everything at once, a copy takes time.
func copyQuiet(t testing.TB, e *Engine, from, to string) {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	copyDir(t, from, to)
}

// copyDir copies a folder tree as a power cut would leave it after a sync
// (the files as they are now).
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o750)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// grepDir reports the files under dir that contain needle.
func grepDir(t testing.TB, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}
