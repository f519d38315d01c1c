package monitor_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/keelhq/keel/server/monitor"
	"github.com/keelhq/keel/server/opts"
)

func TestStartWithoutPort(t *testing.T) {
	m, err := monitor.Start(opts.Default(), monitor.Sources{}, nil)
	if m != nil || err != nil {
		t.Fatalf("no http_port: %v, %v", m, err)
	}
	m.SetConfigDigest("sha256:x")
	m.SetJetStream(nil)
	if err := m.Close(); err != nil || m.Addr() != nil || m.URL() != "" || m.Handler() != nil {
		t.Fatal("a nil monitor must be inert")
	}
}

func TestStartErrors(t *testing.T) {
	n := startNode(t, false, nil)
	if !n.log.Contains("Starting http monitor on 127.0.0.1:") {
		t.Error("start not logged")
	}
	o := opts.Default()
	o.HTTPHost, o.HTTPPort = "127.0.0.1", opts.RandomPort
	if _, err := monitor.Start(o, monitor.Sources{}, nil); err == nil {
		t.Fatal("started without a server")
	}
	// The port is taken.
	_, port, _ := net.SplitHostPort(n.mon.Addr().String())
	fmt.Sscan(port, &o.HTTPPort)
	_, err := monitor.Start(o, monitor.Sources{Server: n.Server()}, nil)
	if err == nil || !strings.Contains(err.Error(), "can't listen to the monitor port") {
		t.Fatalf("port in use: %v", err)
	}
}

func TestClose(t *testing.T) {
	n := startNode(t, false, nil)
	addr := n.mon.Addr().String()
	if err := n.mon.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("still listening after Close")
	}
	if err := n.mon.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestRouting: paths under http_base_path, the index, unknown paths, any
// method, and the headers every answer carries.
func TestRouting(t *testing.T) {
	n := startNode(t, false, func(o *opts.Options) { o.HTTPBasePath = "/mon/" })
	if !strings.HasSuffix(n.mon.URL(), "/mon") {
		t.Fatalf("url %s", n.mon.URL())
	}
	root := strings.TrimSuffix(n.mon.URL(), "/mon")
	cases := []struct {
		path string
		code int
		ct   string
	}{
		{"/mon", 200, "text/html; charset=utf-8"},
		{"/mon/varz", 200, "application/json"},
		{"/mon/connz", 200, "application/json"},
		{"/mon/healthz", 200, "application/json"},
		{"/mon/stacksz", 200, "application/json"},
		{"/mon/debug/vars", 200, "application/json; charset=utf-8"},
		{"/mon/", 404, "text/plain; charset=utf-8"},
		{"/mon/nothing", 404, "text/plain; charset=utf-8"},
		{"/varz", 404, "text/plain; charset=utf-8"},
		{"/", 404, "text/plain; charset=utf-8"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			code, ct, b := get(t, root, c.path)
			if code != c.code || ct != c.ct {
				t.Fatalf("%d %q, want %d %q: %.200s", code, ct, c.code, c.ct, b)
			}
		})
	}
	resp, err := http.Post(n.mon.URL()+"/varz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("POST /varz: %d %v", resp.StatusCode, resp.Header)
	}
	code, _, index := get(t, root, "/mon")
	for _, p := range []string{"/varz", "/connz", "/subsz", "/jsz", "/healthz", "/accountz", "/routez"} {
		if code != 200 || !strings.Contains(string(index), `href=".`+p+`"`) {
			t.Errorf("index does not link %s", p)
		}
	}
	_, _, stacks := get(t, root, "/mon/stacksz")
	if !strings.Contains(string(stacks), "goroutine ") {
		t.Errorf("stacksz: %.200s", stacks)
	}
	// Requests are counted by endpoint, without the base path; the index
	// and unknown paths answered 404 are not.
	var v monitor.Varz
	getJSON(t, n, "/varz", &v)
	if v.HTTPReqStats["/"] != 2 || v.HTTPReqStats["/varz"] != 3 || v.HTTPReqStats["/connz"] != 1 || len(v.HTTPReqStats) != 4 {
		t.Fatalf("http_req_stats %v", v.HTTPReqStats)
	}
	if v.HTTPBasePath != "/mon/" { // as configured
		t.Fatalf("http_base_path %q", v.HTTPBasePath)
	}
}

// TestQueryErrors: parameters that do not parse are answered 400 with the
// reference's text, on every endpoint that takes them.
func TestQueryErrors(t *testing.T) {
	n := startNode(t, true, nil)
	cases := []struct{ path, want string }{
		{"/connz?auth=2x", `Error decoding boolean for 'auth': strconv.ParseBool: parsing "2x": invalid syntax`},
		{"/connz?limit=ten", `Error decoding int for 'limit': strconv.Atoi: parsing "ten": invalid syntax`},
		{"/connz?cid=abc", `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "abc": invalid syntax`},
		{"/connz?state=gone", "Error decoding state for gone"},
		{"/connz?sort=name", "invalid sorting option: name"},
		{"/connz?sort=stop&state=all", "sort by stop only valid on closed connections"},
		{"/connz?sort=reason", "sort by reason only valid on closed connections"},
		// The first bad parameter, in the reference's reading order, is named.
		{"/connz?limit=x&auth=y", `Error decoding boolean for 'auth': strconv.ParseBool: parsing "y": invalid syntax`},
		{"/subsz?offset=z", `Error decoding int for 'offset': strconv.Atoi: parsing "z": invalid syntax`},
		{"/subsz?subs=1&test=a.>", "invalid test subject, must be valid publish subject: a.>"},
		{"/jsz?config=yes", `Error decoding boolean for 'config': strconv.ParseBool: parsing "yes": invalid syntax`},
		{"/jsz?limit=1e3", `Error decoding int for 'limit': strconv.Atoi: parsing "1e3": invalid syntax`},
		{"/jsz?direct-consumers=x", `Error decoding boolean for 'direct-consumers': strconv.ParseBool: parsing "x": invalid syntax`},
		{"/healthz?js-enabled-only=x", `Error decoding boolean for 'js-enabled-only': strconv.ParseBool: parsing "x": invalid syntax`},
		{"/accstatz?unused=x", `Error decoding boolean for 'unused': strconv.ParseBool: parsing "x": invalid syntax`},
		{"/routez?subs=x", `Error decoding boolean for 'subs': strconv.ParseBool: parsing "x": invalid syntax`},
		{"/gatewayz?accs=x", `Error decoding boolean for 'accs': strconv.ParseBool: parsing "x": invalid syntax`},
		{"/leafz?subs=detail", `Error decoding boolean for 'subs': strconv.ParseBool: parsing "detail": invalid syntax`},
		{"/accountz?acc=X", "Account X does not exist"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			code, _, b := get(t, n.mon.URL(), c.path)
			if code != http.StatusBadRequest || string(b) != c.want {
				t.Fatalf("%d %q, want 400 %q", code, b, c.want)
			}
		})
	}
}

// TestAccountsAndEmptyEndpoints: /accountz and /accstatz describe the
// global account; routes, gateways and leafnodes answer empty.
func TestAccountsAndEmptyEndpoints(t *testing.T) {
	n := startNode(t, true, nil)
	nc := connect(t, n)
	nc.SubscribeSync("x")
	nc.Publish("x", []byte("hi"))
	nc.Flush()

	var az monitor.Accountz
	getJSON(t, n, "/accountz", &az)
	if strings.Join(az.Accounts, ",") != "$G" || az.Account != nil {
		t.Fatalf("accountz %+v", az)
	}
	getJSON(t, n, "/accountz?acc=$G", &az)
	if a := az.Account; a == nil || a.AccountName != "$G" || a.LastUpdate.IsZero() || !a.JetStream || a.ClientCnt != 1 || a.SubCnt == 0 || !a.Complete || a.Sublist == nil {
		t.Fatalf("account detail %+v", az.Account)
	}
	var st monitor.AccountStatz
	waitFor(t, "account traffic", func() bool {
		getJSON(t, n, "/accstatz", &st)
		return len(st.Accounts) == 1 && st.Accounts[0].Received.Msgs >= 1 && st.Accounts[0].Sent.Msgs >= 1
	})
	if a := st.Accounts[0]; a.Account != "$G" || a.Conns != 1 || a.Sent.Routes == nil {
		t.Fatalf("accstatz %+v", a)
	}
	nc.Close()
	waitFor(t, "no connection", func() bool { return n.Server().NumClients() == 0 })
	getJSON(t, n, "/accstatz", &st)
	if len(st.Accounts) != 0 {
		t.Fatalf("unused accounts listed: %+v", st.Accounts)
	}
	getJSON(t, n, "/accstatz?unused=true", &st)
	if len(st.Accounts) != 1 {
		t.Fatalf("unused=true: %+v", st.Accounts)
	}

	var rz monitor.Routez
	getJSON(t, n, "/routez?subs=detail", &rz)
	if rz.NumRoutes != 0 || rz.Routes == nil || rz.Name != n.Server().Name() {
		t.Fatalf("routez %+v", rz)
	}
	var gz monitor.Gatewayz
	getJSON(t, n, "/gatewayz", &gz)
	if gz.OutboundGateways == nil || gz.InboundGateways == nil {
		t.Fatalf("gatewayz %+v", gz)
	}
	var lz monitor.Leafz
	getJSON(t, n, "/leafz?subs=1", &lz)
	if lz.NumLeafs != 0 || lz.Leafs == nil {
		t.Fatalf("leafz %+v", lz)
	}
}

// TestVarzReportsOptions: configured values show in /varz.
func TestVarzReportsOptions(t *testing.T) {
	n := startNode(t, false, func(o *opts.Options) {
		o.Username, o.Password = "u", "p"
		o.MaxSubs = 7
		o.WriteTimeout = "close"
		o.Tags = []string{"region:eu"}
		o.Metadata = map[string]string{"team": "keel"}
		o.ClientAdvertise = "nats.example.com:4222"
	})
	connect(t, n, nats.UserInfo("u", "p"))
	var v monitor.Varz
	getJSON(t, n, "/varz", &v)
	if !v.AuthRequired || v.MaxSubs != 7 || v.WriteTimeout != "close" || v.Tags[0] != "region:eu" ||
		v.Metadata["team"] != "keel" || v.ClientConnectURLs[0] != "nats.example.com:4222" || v.Connections != 1 {
		t.Fatalf("varz %+v", v)
	}
}
