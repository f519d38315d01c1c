package monitor_test

import (
	"context"
	"encoding/json"
	"github.com/keelhq/keel/internal/memlog"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/monitor"
	"github.com/keelhq/keel/server/monitor/jsmon"
	"github.com/keelhq/keel/server/opts"
)

// node is a Keel node (started through launch, as the binary starts it)
// with monitoring wired the way launch is told to wire it.
type node struct {
	*launch.Node
	mon *monitor.Server
	log *memLogger
}

// startNode runs a node on random loopback ports with monitoring and,
// when js is true, JetStream in a fresh folder; mod adjusts the options.
func startNode(t testing.TB, js bool, mod func(o *opts.Options)) *node {
	t.Helper()
	o := opts.Default()
	o.Host = "127.0.0.1"
	o.Port = opts.RandomPort
	o.HTTPHost = "127.0.0.1"
	o.HTTPPort = opts.RandomPort
	if js {
		o.JetStream = true
		o.StoreDir = t.TempDir()
	}
	if mod != nil {
		mod(o)
	}
	n, err := launch.Start(o, nil)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	log := &memLogger{}
	mon, err := monitor.Start(o, monitor.Sources{Server: n.Server(), JetStream: jsmon.New(n.JetStream())}, log)
	if err != nil {
		n.Shutdown()
		t.Fatalf("monitor: %v", err)
	}
	t.Cleanup(func() {
		mon.Close()
		n.Shutdown()
	})
	return &node{Node: n, mon: mon, log: log}
}

// connect opens a nats.go connection (closed at the end of the test).
func connect(t testing.TB, n *node, o ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.ClientURL(), append([]nats.Option{nats.MaxReconnects(0)}, o...)...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// get fetches path from the monitoring port and returns status, content
// type and body.
func get(t testing.TB, base, path string) (int, string, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// getJSON fetches path, requires 200, and decodes the body into v.
func getJSON(t testing.TB, n *node, path string, v any) {
	t.Helper()
	code, ct, b := get(t, n.mon.URL(), path)
	if code != http.StatusOK || ct != "application/json" {
		t.Fatalf("GET %s: %d %q: %s", path, code, ct, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: decode: %v\n%s", path, err, b)
	}
}

// waitFor polls cond (monitoring figures are snapshots of counters other
// goroutines update: there is no event to wait on).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// memLogger keeps log lines for assertions.
type memLogger = memlog.Logger

func decode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
}
