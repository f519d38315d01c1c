package monitor_test

import (
	"bufio"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keelhq/keel/server/monitor"
	"github.com/keelhq/keel/server/opts"
)

// TestVarzCounters: /varz counts connections, subscriptions and traffic as
// clients produce them.
func TestVarzCounters(t *testing.T) {
	n := startNode(t, false, nil)
	var v0 monitor.Varz
	getJSON(t, n, "/varz", &v0)
	// The server's own subscriptions (system requests) are there from the
	// start, as in nats-server; clients' are counted on top.
	if v0.Connections != 0 || v0.TotalConnections != 0 || v0.InMsgs != 0 || v0.Subscriptions == 0 {
		t.Fatalf("fresh server: %+v", v0)
	}

	sub := connect(t, n)
	s1, _ := sub.SubscribeSync("data.*")
	sub.SubscribeSync("other")
	sub.Flush()
	pub := connect(t, n)
	for range 5 {
		pub.Publish("data.x", []byte("12345678")) // 8 bytes each
	}
	pub.Publish("nobody", []byte("1234"))
	pub.Flush()
	for range 5 {
		if _, err := s1.NextMsg(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	closed := connect(t, n)
	closed.Close()

	var v monitor.Varz
	waitFor(t, "counters", func() bool {
		getJSON(t, n, "/varz", &v)
		return v.InMsgs == 6 && v.OutMsgs == 5 && v.Connections == 2
	})
	checks := []struct {
		name      string
		got, want int64
	}{
		{"in_msgs", v.InMsgs, 6},
		{"in_bytes", v.InBytes, 5*8 + 4},
		{"out_msgs", v.OutMsgs, 5},
		{"out_bytes", v.OutBytes, 5 * 8},
		{"in_client_msgs", v.InClientMsgs, 6},
		{"out_client_bytes", v.OutClientBytes, 5 * 8},
		{"connections", int64(v.Connections), 2},
		{"total_connections", int64(v.TotalConnections), 3},
		{"subscriptions", int64(v.Subscriptions), int64(v0.Subscriptions) + 2},
		{"slow_consumers", v.SlowConsumers, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if v.ID != n.Server().ID() || v.Version == "" || v.Proto != 1 || v.MaxPayload != 1<<20 || v.Port == 0 || v.HTTPPort == 0 {
		t.Errorf("identity and limits: %+v", v)
	}
	if v.Start.IsZero() || v.Now.Before(v.Start) || v.Uptime == "" || v.Mem <= 0 || v.Cores < 1 || v.MaxProcs < 1 {
		t.Errorf("process figures: start %v now %v uptime %q mem %d cores %d", v.Start, v.Now, v.Uptime, v.Mem, v.Cores)
	}
	if v.ConfigLoadTime.IsZero() || v.SlowConsumersStats == nil || v.DiskIOWaitStats == nil {
		t.Errorf("config time and stats sections: %+v", v)
	}
	if v.JetStream != (monitor.JetStreamVarz{}) {
		t.Errorf("jetstream section without JetStream: %+v", v.JetStream)
	}
	// This request and the ones above are counted.
	if got := v.HTTPReqStats["/varz"]; got < 2 {
		t.Errorf("http_req_stats /varz = %d", got)
	}
}

// TestVarzSlowConsumer: a connection cut off as a slow consumer is counted
// and its close reason kept.
func TestVarzSlowConsumer(t *testing.T) {
	n := startNode(t, false, func(o *opts.Options) {
		o.MaxPending = 256 << 10
		o.MaxPayload = 8 << 10
	})
	// A subscriber that never reads, with a tiny receive buffer so the
	// kernel absorbs little on its behalf.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}
	slow, err := d.Dial("tcp", n.Server().Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("CONNECT {\"verbose\":false}\r\nSUB data 1\r\nPING\r\n"))
	// The PONG says the subscription is in place.
	br := bufio.NewReader(slow)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "PONG") {
			break
		}
	}
	pub := connect(t, n)
	payload := make([]byte, 8<<10)
	for i := 0; n.Server().NumSlowConsumers() == 0; i++ {
		if i == 20000 {
			t.Fatal("no slow consumer after 160 MB")
		}
		pub.Publish("data", payload)
		if i%50 == 0 {
			pub.Flush()
		}
	}
	var v monitor.Varz
	getJSON(t, n, "/varz", &v)
	if v.SlowConsumers != 1 || v.SlowConsumersStats.Clients != 1 {
		t.Fatalf("slow consumers %d (%+v)", v.SlowConsumers, v.SlowConsumersStats)
	}
	checkClosedReasons(t, n, "Slow Consumer (Pending Bytes)")
}

// TestVarzStaleConnection: a connection closed for unanswered PINGs is
// counted and its close reason kept.
func TestVarzStaleConnection(t *testing.T) {
	n := startNode(t, false, func(o *opts.Options) {
		o.PingInterval = 20 * time.Millisecond
		o.MaxPingsOut = 1
	})
	stale, err := net.Dial("tcp", n.Server().Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	stale.Write([]byte("CONNECT {\"verbose\":false}\r\n"))
	var v monitor.Varz
	waitFor(t, "stale connection counted", func() bool {
		getJSON(t, n, "/varz", &v)
		return v.StaleConnections == 1
	})
	if v.StaleConnectionStats.Clients != 1 {
		t.Fatalf("stale stats %+v", v.StaleConnectionStats)
	}
	checkClosedReasons(t, n, "Stale Connection")
}

func checkClosedReasons(t *testing.T, n *node, want ...string) {
	t.Helper()
	var c monitor.Connz
	getJSON(t, n, "/connz?state=closed&sort=reason", &c)
	var reasons []string
	for _, ci := range c.Conns {
		reasons = append(reasons, ci.Reason)
	}
	if got := strings.Join(reasons, ","); got != strings.Join(want, ",") {
		t.Fatalf("closed reasons %q, want %q", got, want)
	}
}

// TestVarzJetStream: with JetStream, /varz carries its configuration,
// limits and usage.
func TestVarzJetStream(t *testing.T) {
	n := startNode(t, true, func(o *opts.Options) {
		o.JetStreamOpts.MaxMemory = 64 << 20
		o.JetStreamOpts.MaxStore = 1 << 30
		o.JetStreamOpts.Limits.Duplicates = time.Minute
	})
	var v monitor.Varz
	getJSON(t, n, "/varz", &v)
	js := v.JetStream
	if js.Config == nil || js.Stats == nil || js.Limits == nil {
		t.Fatalf("jetstream section %+v", js)
	}
	if js.Config.MaxMemory != 64<<20 || js.Config.MaxStore != 1<<30 || !strings.HasSuffix(js.Config.StoreDir, "jetstream") {
		t.Errorf("config %+v", js.Config)
	}
	if js.Limits.Duplicates != time.Minute || js.Stats.Accounts != 1 {
		t.Errorf("limits %+v stats %+v", js.Limits, js.Stats)
	}
}
