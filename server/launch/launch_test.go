package launch

import (
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
