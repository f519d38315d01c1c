package monitor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Comparison with the reference nats-server. The reference's answers to a
// fixed scenario are captured once into testdata/reference (run
//
//	go test ./server/monitor -run TestCaptureReference -update-reference
//
// with nats-server v2.15.3 installed, see referenceBinary), and every test
// run drives Keel through the same scenario and compares: status codes,
// content types, error texts and health answers exactly, JSON documents by
// shape (keys and types, recursively; see shape_test.go).

var updateReference = flag.Bool("update-reference", false, "capture testdata/reference from the reference nats-server")

const goldenDir = "testdata/reference"

// refCase is one request of the comparison.
type refCase struct {
	name, path string
	// exact compares the whole body, not only its shape.
	exact bool
	// noJS asks a fresh server without JetStream instead of the one that
	// went through the scenario.
	noJS bool
}

var refCases = []refCase{
	{name: "root", path: "/"},
	{name: "varz", path: "/varz"},
	{name: "connz", path: "/connz"},
	{name: "connz_subs", path: "/connz?subs=1"},
	{name: "connz_detail_auth", path: "/connz?subs=detail&auth=true"},
	{name: "connz_closed", path: "/connz?state=closed&subs=detail&auth=1"},
	{name: "connz_all_paged", path: "/connz?state=all&sort=msgs_to&limit=2&offset=1"},
	{name: "connz_unknown_acc", path: "/connz?acc=NOPE"},
	{name: "connz_user_none", path: "/connz?user=nobody"},
	{name: "subsz", path: "/subsz"},
	{name: "subsz_subs", path: "/subsz?subs=1"},
	{name: "subsz_test", path: "/subsz?subs=1&test=foo.x"},
	{name: "subscriptionsz", path: "/subscriptionsz"},
	{name: "healthz", path: "/healthz", exact: true},
	{name: "healthz_js_only", path: "/healthz?js-enabled-only=true", exact: true},
	{name: "healthz_details", path: "/healthz?details=true", exact: true},
	{name: "healthz_stream", path: "/healthz?account=$G&stream=ORDERS", exact: true},
	{name: "healthz_no_account", path: "/healthz?stream=ORDERS", exact: true},
	{name: "healthz_no_account_details", path: "/healthz?stream=ORDERS&details=1", exact: true},
	{name: "healthz_no_stream", path: "/healthz?consumer=C1", exact: true},
	{name: "healthz_unknown_stream", path: "/healthz?account=$G&stream=NOPE", exact: true},
	{name: "healthz_unknown_account", path: "/healthz?account=NOPE&details=true", exact: true},
	{name: "jsz", path: "/jsz"},
	{name: "jsz_all", path: "/jsz?accounts=true&streams=true&consumers=true&config=true"},
	{name: "jsz_acc", path: "/jsz?acc=$G&streams=1"},
	{name: "jsz_raft", path: "/jsz?raft=1"},
	{name: "accountz", path: "/accountz"},
	{name: "accountz_global", path: "/accountz?acc=$G"},
	{name: "accstatz", path: "/accstatz"},
	{name: "accstatz_unused", path: "/accstatz?unused=1"},
	{name: "routez", path: "/routez"},
	{name: "gatewayz", path: "/gatewayz"},
	{name: "leafz", path: "/leafz"},
	{name: "raftz", path: "/raftz", exact: true},
	{name: "ipqueuesz", path: "/ipqueuesz", exact: true},
	// Errors: the reference's statuses and texts.
	{name: "err_sort", path: "/connz?sort=foo", exact: true},
	{name: "err_sort_stop_open", path: "/connz?sort=stop", exact: true},
	{name: "err_sort_reason_all", path: "/connz?sort=reason&state=all", exact: true},
	{name: "err_limit", path: "/connz?limit=x", exact: true},
	{name: "err_offset", path: "/connz?offset=1.5", exact: true},
	{name: "err_cid", path: "/connz?cid=-1", exact: true},
	{name: "err_auth", path: "/connz?auth=maybe", exact: true},
	{name: "err_subs", path: "/connz?subs=some", exact: true},
	{name: "err_state", path: "/connz?state=bogus", exact: true},
	{name: "err_subsz_test", path: "/subsz?subs=1&test=foo.*", exact: true},
	{name: "err_subsz_subs", path: "/subsz?subs=x", exact: true},
	{name: "err_jsz", path: "/jsz?accounts=maybe", exact: true},
	{name: "err_healthz", path: "/healthz?details=maybe", exact: true},
	{name: "err_accountz", path: "/accountz?acc=NOPE", exact: true},
	{name: "err_not_found", path: "/nothing-here", exact: true},
	// Without JetStream.
	{name: "nojs_varz", path: "/varz", noJS: true},
	{name: "nojs_jsz", path: "/jsz", noJS: true},
	{name: "nojs_jsz_leader", path: "/jsz?leader-only=true", noJS: true, exact: true},
	{name: "nojs_healthz", path: "/healthz?js-enabled-only=true", noJS: true, exact: true},
	{name: "nojs_connz", path: "/connz", noJS: true},
	{name: "nojs_connz_closed", path: "/connz?state=closed", noJS: true},
	{name: "nojs_subsz_subs", path: "/subsz?subs=1", noJS: true},
}

// golden is one captured answer.
type golden struct {
	Path        string          `json:"path"`
	Status      int             `json:"status"`
	ContentType string          `json:"content_type"`
	Body        json.RawMessage `json:"body,omitempty"`
	Text        string          `json:"text,omitempty"`
}

func capture(t *testing.T, base string, c refCase) golden {
	code, ct, b := get(t, base, c.path)
	g := golden{Path: c.path, Status: code, ContentType: ct}
	switch {
	case ct == "application/json" && json.Valid(b):
		g.Body = json.RawMessage(b)
	case c.exact:
		g.Text = string(b)
	}
	// Other pages (the HTML index) are compared by status and type only:
	// their content is each server's own.
	return g
}

// scenario is what both servers go through before the requests: named
// connections with plain, queue, wildcard and auto-unsubscribing
// subscriptions, traffic, one closed connection, and a stream with
// messages (and, where consumers exist, a consumer).
func scenario(t *testing.T, url string, consumers bool) {
	t.Helper()
	dial := func(name string) *nats.Conn {
		nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(0))
		if err != nil {
			t.Fatalf("connect %s: %v", name, err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	alpha := dial("alpha")
	wild, _ := alpha.SubscribeSync("foo.*")
	alpha.QueueSubscribeSync("bar", "q1")
	limited, _ := alpha.SubscribeSync("limited")
	limited.AutoUnsubscribe(10)
	alpha.Flush()

	beta := dial("beta")
	beta.SubscribeSync("b.>")
	for range 3 {
		beta.Publish("foo.x", []byte("hello"))
	}
	beta.Publish("bar", []byte("q"))
	beta.Flush()
	for range 3 {
		if _, err := wild.NextMsg(5 * time.Second); err != nil {
			t.Fatalf("alpha did not receive: %v", err)
		}
	}

	gamma := dial("gamma")
	gamma.SubscribeSync("g")
	gamma.Flush()
	gamma.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, err := jetstream.New(beta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	for range 2 {
		if _, err := js.Publish(ctx, "orders.new", []byte("o")); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	if consumers {
		if _, err := js.CreateOrUpdateConsumer(ctx, "ORDERS", jetstream.ConsumerConfig{Durable: "C1"}); err != nil {
			t.Fatalf("create consumer: %v", err)
		}
	}
}

// waitClosed waits until the monitoring port lists the closed connection.
func waitClosed(t *testing.T, base string) {
	waitFor(t, "closed connection listed", func() bool {
		_, _, b := get(t, base, "/connz?state=closed")
		var c struct {
			Total int `json:"total"`
		}
		return json.Unmarshal(b, &c) == nil && c.Total > 0
	})
}

// referenceBinary is the reference nats-server: $NATS_SERVER_BIN, or where
// shared/tools/install-peers.sh puts it.
func referenceBinary() string {
	if p := os.Getenv("NATS_SERVER_BIN"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "nats-peers", "bin", "nats-server")
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startReference runs the reference server on free loopback ports and
// returns its client URL and monitoring URL.
func startReference(t *testing.T, js bool) (string, string) {
	bin := referenceBinary()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("reference server: %v", err)
	}
	port, mport := freePort(t), freePort(t)
	args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-m", strconv.Itoa(mport)}
	if js {
		args = append(args, "-js", "-sd", t.TempDir())
	}
	cmd := exec.Command(bin, args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", mport)
	waitFor(t, "reference monitoring port", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return fmt.Sprintf("nats://127.0.0.1:%d", port), base
}

// TestCaptureReference records the reference's answers (only with
// -update-reference).
func TestCaptureReference(t *testing.T) {
	if !*updateReference {
		t.Skip("run with -update-reference to capture testdata/reference from nats-server")
	}
	url, base := startReference(t, true)
	scenario(t, url, true)
	waitClosed(t, base)
	_, plainBase := startReference(t, false)
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range refCases {
		b := base
		if c.noJS {
			b = plainBase
		}
		g := capture(t, b, c)
		out, err := json.MarshalIndent(g, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(goldenDir, c.name+".json"), append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReferenceComparison drives Keel through the scenario and compares
// every answer with the reference's.
func TestReferenceComparison(t *testing.T) {
	n := startNode(t, true, nil)
	scenario(t, n.ClientURL(), false)
	base := n.mon.URL()
	waitClosed(t, base)
	plainBase := startNode(t, false, nil).mon.URL()
	for _, c := range refCases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(goldenDir, c.name+".json"))
			if err != nil {
				t.Fatalf("golden: %v (capture with -update-reference)", err)
			}
			var ref golden
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			b := base
			if c.noJS {
				b = plainBase
			}
			ours := capture(t, b, c)
			if ours.Status != ref.Status || ours.ContentType != ref.ContentType {
				t.Fatalf("status %d %q, reference %d %q\n%s%s", ours.Status, ours.ContentType, ref.Status, ref.ContentType, ours.Body, ours.Text)
			}
			switch {
			case ref.Body == nil:
				if ours.Text != ref.Text {
					t.Fatalf("body %q, reference %q", ours.Text, ref.Text)
				}
			case c.exact:
				if !jsonEqual(t, ref.Body, ours.Body) {
					t.Fatalf("body %s, reference %s", ours.Body, ref.Body)
				}
			default:
				var rv, ov any
				if err := json.Unmarshal(ref.Body, &rv); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(ours.Body, &ov); err != nil {
					t.Fatalf("%v\n%s", err, ours.Body)
				}
				if d := compareShapes(rv, ov, rulesFor(c.name)); len(d) > 0 {
					t.Errorf("differs from the reference:\n  %s", strings.Join(d, "\n  "))
				}
				d, err := compareOrder(ref.Body, ours.Body, rulesFor(c.name))
				if err != nil {
					t.Fatal(err)
				}
				if len(d) > 0 {
					t.Errorf("field order differs from the reference:\n  %s", strings.Join(d, "\n  "))
				}
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}
