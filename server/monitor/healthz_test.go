package monitor_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
	"github.com/keelhq/keel/server/monitor"
	"github.com/keelhq/keel/server/opts"
)

// fakeJS is a JetStream source with assets made up by the test: the states
// a real layer only reaches through failures (unrecoverable streams,
// write errors) or features not built yet (consumers, accounts).
type fakeJS struct {
	ov       monitor.JSOverview
	accounts []monitor.JSAccount
}

func (f *fakeJS) Overview() monitor.JSOverview { return f.ov }

func (f *fakeJS) Accounts(withConsumers bool) []monitor.JSAccount {
	out := make([]monitor.JSAccount, len(f.accounts))
	for i, a := range f.accounts {
		a.Streams = append([]monitor.JSStream(nil), a.Streams...)
		if !withConsumers {
			for j := range a.Streams {
				a.Streams[j].Consumers = nil
			}
		}
		out[i] = a
	}
	return out
}

// startWithSource runs a core server whose options enable JetStream (start
// false: created but not started) and monitoring fed by js.
func startWithSource(t testing.TB, start bool, js monitor.JetStream) *monitor.Server {
	t.Helper()
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", opts.RandomPort
	o.HTTPHost, o.HTTPPort = "127.0.0.1", opts.RandomPort
	o.JetStream = true
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if start {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.Shutdown)
	m, err := monitor.Start(o, monitor.Sources{Server: s, JetStream: js}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

type healthCase struct {
	name, query string
	code        int
	body        string
}

func runHealthCases(t *testing.T, base string, cases []healthCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, ct, b := get(t, base, "/healthz"+c.query)
			if code != c.code || ct != "application/json" || string(b) != c.body {
				t.Fatalf("got %d %q %s\nwant %d %s", code, ct, b, c.code, c.body)
			}
		})
	}
}

// TestHealthzRealJetStream: the health check of a node with JetStream and
// a stream, through every option.
func TestHealthzRealJetStream(t *testing.T) {
	n := startNode(t, true, nil)
	nc := connect(t, n)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}}); err != nil {
		t.Fatal(err)
	}
	ok := `{"status":"ok"}`
	runHealthCases(t, n.mon.URL(), []healthCase{
		{"plain", "", 200, ok},
		{"js enabled only", "?js-enabled-only=true", 200, ok},
		{"deprecated js enabled", "?js-enabled=1", 200, ok},
		{"server only", "?js-server-only=true", 200, ok},
		{"meta only", "?js-meta-only=true", 200, ok},
		{"stream", "?account=$G&stream=S", 200, ok},
		{"details", "?details=1", 200, ok},
		{"unknown stream", "?account=$G&stream=T", 404, `{"status":"unavailable","error":"JetStream stream \"T\" not found on account \"$G\""}`},
		{"unknown consumer", "?account=$G&stream=S&consumer=C", 404, `{"status":"unavailable","error":"JetStream consumer \"C\" not found for stream \"S\" on account \"$G\""}`},
		{"unknown account details", "?account=X&details=true", 404, `{"status":"error","errors":[{"type":"ACCOUNT","account":"X","error":"JetStream account \"X\" not found"}]}`},
		{"stream without account", "?stream=S", 400, `{"status":"error","error":"\"account\" must not be empty when checking stream health"}`},
		{"consumer without stream", "?account=$G&consumer=C&details=true", 400, `{"status":"error","errors":[{"type":"BAD_REQUEST","error":"\"stream\" must not be empty when checking consumer health"}]}`},
	})
	if !n.log.Contains("Healthcheck: js-enabled deprecated") || !n.log.Contains(`Healthcheck failed: "JetStream stream \"T\" not found on account \"$G\""`) {
		t.Error("health check warnings not logged")
	}
	// Lame duck mode stops accepting clients: the server is not ready.
	go n.Server().LameDuckShutdown()
	waitFor(t, "lame duck", func() bool {
		code, _, _ := get(t, n.mon.URL(), "/healthz")
		return code == http.StatusInternalServerError
	})
	runHealthCases(t, n.mon.URL(), []healthCase{
		{"not ready", "", 500, `{"status":"error","error":"failed to be ready for connections after 1ms: server"}`},
		{"not ready details", "?details=1", 500, `{"status":"error","errors":[{"type":"CONNECTION","error":"failed to be ready for connections after 1ms: server"}]}`},
	})
}

// TestHealthzProblems: streams that were not recovered or cannot write
// make the server unhealthy; consumers are looked up by name.
func TestHealthzProblems(t *testing.T) {
	fake := &fakeJS{accounts: []monitor.JSAccount{{
		Name:        "$G",
		Unrecovered: []string{"LOST"},
		Streams: []monitor.JSStream{
			{Name: "BROKEN", WriteErr: errors.New("disk full")},
			{Name: "FINE", Consumers: []*jsapi.ConsumerInfo{{Stream: "FINE", Name: "C1"}}},
		},
	}}}
	m := startWithSource(t, true, fake)
	runHealthCases(t, m.URL(), []healthCase{
		{"first problem", "", 503, `{"status":"unavailable","error":"JetStream stream '$G \u003e LOST' could not be recovered"}`},
		{"all problems", "?details=true", 503, `{"status":"error","errors":[` +
			`{"type":"STREAM","account":"$G","stream":"LOST","error":"JetStream stream '$G \u003e LOST' could not be recovered"},` +
			`{"type":"STREAM","account":"$G","stream":"BROKEN","error":"JetStream stream '$G \u003e BROKEN' write error: disk full"}]}`},
		{"healthy stream", "?account=$G&stream=FINE", 200, `{"status":"ok"}`},
		{"consumer", "?account=$G&stream=FINE&consumer=C1", 200, `{"status":"ok"}`},
		{"missing consumer", "?account=$G&stream=FINE&consumer=C2", 404, `{"status":"unavailable","error":"JetStream consumer \"C2\" not found for stream \"FINE\" on account \"$G\""}`},
		{"broken stream", "?account=$G&stream=BROKEN", 503, `{"status":"unavailable","error":"JetStream stream '$G \u003e BROKEN' write error: disk full"}`},
		{"js enabled only", "?js-enabled-only=1", 200, `{"status":"ok"}`},
		{"server only", "?js-server-only=1", 200, `{"status":"ok"}`},
	})
}

// TestHealthzJetStreamMissing: JetStream configured but not (or not yet)
// running is unavailable; a server not accepting clients is not ready.
func TestHealthzJetStreamMissing(t *testing.T) {
	m := startWithSource(t, true, nil)
	notEnabled := `{"status":"unavailable","error":"JetStream not enabled (10076)"}`
	runHealthCases(t, m.URL(), []healthCase{
		{"plain", "", 503, notEnabled},
		{"js enabled only", "?js-enabled-only=true", 503, notEnabled},
		{"details", "?details=true", 503, `{"status":"error","errors":[{"type":"JETSTREAM","error":"JetStream not enabled (10076)"}]}`},
		{"server only", "?js-server-only=true", 200, `{"status":"ok"}`},
	})
	// Connected later, it is healthy.
	m.SetJetStream(&fakeJS{})
	runHealthCases(t, m.URL(), []healthCase{{"connected", "", 200, `{"status":"ok"}`}})

	notStarted := startWithSource(t, false, &fakeJS{})
	runHealthCases(t, notStarted.URL(), []healthCase{
		{"not started", "", 500, `{"status":"error","error":"failed to be ready for connections after 1ms: server"}`},
	})
}
