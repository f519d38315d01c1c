package fuzz

import (
	"flag"
	"os"
	"os/exec"
	"testing"
	"time"
)

var (
	crashIterations = flag.Int("crash.iterations", 0, "kills in the crash run (0: a short run, both plain and encrypted)")
	crashSeed       = flag.Uint64("crash.seed", 0, "seed of the crash run (0: from the clock; printed for replay)")
	crashEncrypt    = flag.Bool("crash.encrypt", false, "encrypt the store in the crash run")
	crashKeep       = flag.Bool("crash.keep", false, "keep the crash run's folder and the store as each failing kill left it")
	crashVerbose    = flag.Bool("crash.v", false, "log every round of the crash run")
	crashNoInject   = flag.Bool("crash.noinject", false, "kills only: no torn writes, no damage")
	crashDelay      = flag.Duration("crash.delay", 0, "longest a child runs before its kill (0: 250ms, 120ms with -short)")
)

// TestMain turns the test binary into a crash child when the harness
// starts it so (see RunChild).
func TestMain(m *testing.M) {
	RunChild()
	os.Exit(m.Run())
}

// TestCrash runs the crash harness: a short run in go test ./... (both a
// plain and an encrypted store), a long one with -crash.iterations:
//
//	go test ./fuzz -run Crash -crash.iterations=1000 -timeout 0 -v
func TestCrash(t *testing.T) {
	iters := *crashIterations
	type mode struct {
		name    string
		encrypt bool
	}
	modes := []mode{{"plain", false}, {"encrypted", true}}
	switch {
	case iters > 0 || *crashEncrypt:
		modes = []mode{{"run", *crashEncrypt}}
	case testing.Short():
		iters = 4
	default:
		iters = 8
	}
	if iters == 0 {
		iters = 8
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	delay := *crashDelay
	if delay == 0 && testing.Short() {
		delay = 120 * time.Millisecond
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			if *crashKeep {
				var err error
				if dir, err = os.MkdirTemp("", "keel-crash-"); err != nil {
					t.Fatal(err)
				}
				t.Logf("crash: keeping %s", dir)
			}
			t.Logf("crash: seed %d (replay with -crash.seed=%d), %d kills, encrypted %v", seed, seed, iters, m.encrypt)
			sum, err := Run(Config{
				Dir: dir, Seed: seed, Iterations: iters, Encrypt: m.encrypt, Keep: *crashKeep,
				Verbose: *crashVerbose, NoInject: *crashNoInject, MaxDelay: delay, Logf: t.Logf,
				Command: func() *exec.Cmd { return exec.Command(os.Args[0], "-test.run=^$") },
			})
			t.Log(sum.String())
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if !sum.OK() {
				t.Errorf("seed %d: %s", seed, sum)
			}
		})
	}
}
