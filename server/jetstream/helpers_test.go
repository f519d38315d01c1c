package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/server/jetstream/jsapi"
	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/opts"
)

// startNode runs a Keel node with JetStream in dir (a fresh temporary one
// when empty) on a random loopback port; mod adjusts the options.
func startNode(t testing.TB, dir string, mod func(o *opts.Options)) *launch.Node {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	o := opts.Default()
	o.Host = "127.0.0.1"
	o.Port = -1
	o.JetStream = true
	o.StoreDir = dir
	if mod != nil {
		mod(o)
	}
	n, err := launch.Start(o, nil)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() { n.Shutdown() })
	return n
}

// connect opens a nats.go connection and its JetStream context.
func connect(t testing.TB, n *launch.Node, jsOpts ...jetstream.JetStreamOpt) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(n.ClientURL(), nats.MaxReconnects(0))
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

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// request sends a raw API request and decodes the JSON reply into a map.
func request(t testing.TB, nc *nats.Conn, subject string, body any) map[string]any {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := nc.Request(subject, data, 5*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	var out map[string]any
	if err := json.Unmarshal(msg.Data, &out); err != nil {
		t.Fatalf("reply to %s is not JSON: %q", subject, msg.Data)
	}
	return out
}

// errCode extracts err_code from an API reply map (0 when none).
func errCode(m map[string]any) int {
	e, ok := m["error"].(map[string]any)
	if !ok {
		return 0
	}
	c, _ := e["err_code"].(float64)
	return int(c)
}

// apiErrCode returns the err_code of an error from nats.go's jetstream
// package (0 when it is not an API error).
func apiErrCode(err error) int {
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		return int(ae.ErrorCode)
	}
	return 0
}

func mustStream(t testing.TB, js jetstream.JetStream, cfg jetstream.StreamConfig) jetstream.Stream {
	t.Helper()
	s, err := js.CreateStream(ctx(t), cfg)
	if err != nil {
		t.Fatalf("create stream %s: %v", cfg.Name, err)
	}
	return s
}

var _ = jsapi.APIAll

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %q", b)
	}
	return m
}
