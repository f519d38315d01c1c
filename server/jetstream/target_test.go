package jetstream_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/opts"
)

// -jsref runs the tests written with startTarget against the reference
// nats-server instead of Keel: a test whose expectations hold there is
// known to describe the reference's behaviour. Tests that look inside
// Keel skip themselves in that mode.
//
//	go test ./server/jetstream -run 'TestKV|TestDirectGetBatch' -jsref
var jsRef = flag.Bool("jsref", false, "run target tests against the reference nats-server (NATS_SERVER or ~/.cache/nats-peers/bin/nats-server)")

// target is a server under test, Keel in-process or the reference in its
// own process, started from a configuration file.
type target struct {
	url  string
	dir  string // store directory
	conf string // configuration file
	ref  *os.Process
	log  *bytes.Buffer
	node *launch.Node
}

// startTarget starts a server with JetStream on a free loopback port and
// store dir (a fresh one when empty); extra is appended to its
// configuration file (nats-server syntax), e.g. "jetstream { domain: hub }"
// is merged by writing the whole block through jsBlock.
func startTarget(t *testing.T, dir, extra string) *target {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	port := freePort(t)
	tg := &target{dir: dir, url: "nats://127.0.0.1:" + strconv.Itoa(port)}
	conf := "listen: 127.0.0.1:" + strconv.Itoa(port) + "\n" + extra + "\n"
	if !strings.Contains(extra, "jetstream") {
		conf += "jetstream { store_dir: " + strconv.Quote(dir) + " }\n"
	}
	tg.conf = filepath.Join(t.TempDir(), "server.conf")
	if err := os.WriteFile(tg.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if *jsRef {
		tg.startRef(t)
		return tg
	}
	o, _, err := opts.LoadFile(tg.conf)
	if err != nil {
		t.Fatalf("config %q: %v", conf, err)
	}
	n, err := launch.Start(o, nil)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	tg.node = n
	t.Cleanup(func() { n.Shutdown() })
	return tg
}

func referenceServer(t *testing.T) string {
	t.Helper()
	p := os.Getenv("NATS_SERVER")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".cache", "nats-peers", "bin", "nats-server")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference nats-server not found at %s", p)
	}
	return p
}

func (tg *target) startRef(t *testing.T) {
	t.Helper()
	cmd := exec.Command(referenceServer(t), "-c", tg.conf)
	tg.log = new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = tg.log, tg.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tg.ref = cmd.Process
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := nats.Connect(tg.url)
		if err == nil {
			nc.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reference did not start: %v\n%s", err, tg.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keelOnly skips a test that inspects Keel's internals when it runs
// against the reference.
func keelOnly(t *testing.T) {
	t.Helper()
	if *jsRef {
		t.Skip("inspects Keel itself")
	}
}

// connectTarget opens a nats.go connection and its JetStream context.
func (tg *target) connect(t *testing.T, jsOpts ...jetstream.JetStreamOpt) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(tg.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jsOpts...)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}
