package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/keelhq/keel/server/opts"
)

func TestClientsAndClosedClients(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.Debug = true })
	log := &memLogger{}
	s.SetLogger(log)
	nc := connect(t, s, nats.Name("watcher"))
	nc.QueueSubscribeSync("a.b", "q")
	nc.SubscribeSync("c")
	nc.Publish("c", []byte("x"))
	nc.Flush()

	cl := s.Clients()
	if len(cl) != 1 {
		t.Fatalf("clients: %d", len(cl))
	}
	ci := cl[0]
	if ci.Name != "watcher" || ci.Lang != "go" || ci.NumSubs != 2 || ci.Account != GlobalAccountName ||
		strings.Join(ci.Subs, ",") != "a.b q,c" || ci.InMsgs != 1 || ci.Reason != "" {
		t.Fatalf("client info %+v", ci)
	}
	if got := s.GlobalAccount().Interest("a.b"); len(got) != 1 || got[0] != "a.b q" {
		t.Fatalf("interest in a.b: %v", got)
	}
	if st := s.GlobalAccount().SublistStats(); st.NumSubs != 2+systemSubscriptions {
		t.Fatalf("sublist stats %+v", st)
	}
	if d := ci.SubsDetail; len(d) != 2 || d[0].Subject == "" || d[0].Sid == "" {
		t.Fatalf("subscription detail %+v", d)
	}
	nc.Close()
	waitFor(t, 2*time.Second, "closed client recorded", func() bool { return len(s.ClosedClients()) == 1 })
	cc := s.ClosedClients()[0]
	if cc.CID != ci.CID || cc.Reason != "Client Closed" || cc.Stop.IsZero() || cc.NumSubs != 2 {
		t.Fatalf("closed info %+v", cc)
	}
	if s.NumClients() != 0 || s.GlobalAccount().NumSubscriptions() != systemSubscriptions {
		t.Fatalf("client state left: %d clients, %d subs", s.NumClients(), s.GlobalAccount().NumSubscriptions())
	}
	for _, want := range []string{"Client connection created", `"v` + nats.Version + `:go:watcher" - Client connection closed: Client Closed`} {
		if !log.Contains(want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestTraceLogging(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.Trace = true; o.MaxTracedMsgLen = 3 })
	log := &memLogger{}
	s.SetLogger(log)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false,\"pass\":\"hunter2\",\"user\":\"u\"}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPUB foo 5\r\nhello\r\n")
	rc.expect("MSG foo 1 2\r\nhi\r\nMSG foo 1 5\r\nhello\r\n")
	for _, want := range []string{"<<- [SUB foo 1]", "<<- [PUB foo 2]", `<<- MSG_PAYLOAD: ["hi"]`, `<<- MSG_PAYLOAD: ["hel..."]`, "->> [MSG foo 1 2]", "[REDACTED]"} {
		if !log.Contains(want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if log.Contains("hunter2") {
		t.Error("password traced")
	}
}

// TestFirstPingMeasuresRTT: the first PING comes early (ping_interval
// capped at 2s) and its PONG gives the client's round-trip time.
func TestFirstPingMeasuresRTT(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.PingInterval = 50 * time.Millisecond })
	connect(t, s)
	waitFor(t, 2*time.Second, "rtt measured", func() bool {
		cl := s.Clients()
		return len(cl) == 1 && cl[0].RTT > 0
	})
}

// TestClosedRing: the history keeps the last max_closed_clients entries,
// oldest first; a negative size keeps none.
func TestClosedRing(t *testing.T) {
	cases := []struct {
		size, adds int
		want       []uint64
	}{
		{size: 3, adds: 2, want: []uint64{1, 2}},
		{size: 3, adds: 3, want: []uint64{1, 2, 3}},
		{size: 3, adds: 7, want: []uint64{5, 6, 7}},
		{size: 1, adds: 4, want: []uint64{4}},
		{size: -1, adds: 4, want: nil},
		{size: 0, adds: 2, want: []uint64{1, 2}},
	}
	for _, c := range cases {
		var r closedRing
		for i := 1; i <= c.adds; i++ {
			r.add(ClientInfo{CID: uint64(i)}, c.size)
		}
		var got []uint64
		for _, ci := range r.list() {
			got = append(got, ci.CID)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("size %d after %d: %v, want %v", c.size, c.adds, got, c.want)
		}
	}
}

// TestClientSummaries: the summaries count subscriptions without listing
// them.
func TestClientSummaries(t *testing.T) {
	s := runServer(t, nil)
	nc := connect(t, s, nats.Name("summary"))
	nc.SubscribeSync("a")
	nc.QueueSubscribeSync("b", "q")
	nc.Flush()
	sum := s.ClientSummaries()
	if len(sum) != 1 || sum[0].Name != "summary" || sum[0].NumSubs != 2 || sum[0].Subs != nil || sum[0].SubsDetail != nil {
		t.Fatalf("summaries %+v", sum)
	}
}
