package launch

import (
	"fmt"
	"github.com/keelhq/keel/server/logger"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/keelhq/keel/server/opts"
)

func options(t *testing.T, js bool) *opts.Options {
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", -1
	o.JetStream, o.StoreDir = js, t.TempDir()
	return o
}

func TestStartWithAndWithoutJetStream(t *testing.T) {
	for _, js := range []bool{false, true} {
		n, err := Start(options(t, js), nil)
		if err != nil {
			t.Fatal(err)
		}
		if (n.JetStream() != nil) != js {
			t.Fatalf("jetstream=%v: layer %v", js, n.JetStream())
		}
		nc, err := nats.Connect(n.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		if on, _ := nc.ConnectedServerJetStream(); on != js {
			t.Fatalf("INFO jetstream %v, want %v", on, js)
		}
		nc.Close()
		if err := n.Shutdown(); err != nil {
			t.Fatal(err)
		}
		n.Shutdown() // twice is harmless
	}
}

// A server shut down on its own (signal, lame duck) takes JetStream along.
func TestServerShutdownStopsNode(t *testing.T) {
	n, err := Start(options(t, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	go n.Server().Shutdown()
	done := make(chan struct{})
	go func() { n.WaitForShutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("node did not stop with its server")
	}
}

func TestStartFailsOnBadStore(t *testing.T) {
	o := options(t, true)
	o.JetStreamOpts.Cipher = "rot13"
	if n, err := Start(o, nil); err == nil {
		n.Shutdown()
		t.Fatal("started with an unknown cipher")
	}
}

// recorder keeps the notices logged.
type recorder struct {
	logger.Discard
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Noticef(f string, a ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, fmt.Sprintf(f, a...))
	r.mu.Unlock()
}

// TestLogOrder checks the JetStream lines of the log against nats-server's
// order: monitoring starts before JetStream, the banner with the strict
// line, and the two shutdown lines.
func TestLogOrder(t *testing.T) {
	o := options(t, true)
	o.HTTPHost, o.HTTPPort = "127.0.0.1", -1
	rec := &recorder{}
	n, err := Start(o, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	log := strings.Join(rec.lines, "\n")
	rec.mu.Unlock()
	want := []string{
		"Starting http monitor on",
		"Starting JetStream",
		"https://docs.nats.io/jetstream",
		"---------------- JETSTREAM ----------------",
		"  Strict:          true",
		"  Max Memory:",
		"  Store Directory:",
		"  API Level:",
		"Took ",
		"Initiating JetStream Shutdown...",
		"JetStream Shutdown",
	}
	at := 0
	for _, w := range want {
		i := strings.Index(log[at:], w)
		if i < 0 {
			t.Fatalf("%q missing (or out of order) in the log:\n%s", w, log)
		}
		at += i + len(w)
	}
}
