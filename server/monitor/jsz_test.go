package monitor_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/server/jetstream/jsapi"
	"github.com/keelhq/keel/server/monitor"
)

func accountNames(info *monitor.JSInfo) string {
	var out []string
	for _, a := range info.AccountDetails {
		s := a.Name
		for _, st := range a.Streams {
			s += ":" + st.Name
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// TestJszRealJetStream: /jsz of a node with two streams.
func TestJszRealJetStream(t *testing.T) {
	n := startNode(t, true, nil)
	js, err := jetstream.New(connect(t, n))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, cfg := range []jetstream.StreamConfig{
		{Name: "ORDERS", Subjects: []string{"orders.>"}},
		{Name: "EVENTS", Subjects: []string{"events"}, Storage: jetstream.MemoryStorage},
	} {
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	for _, subj := range []string{"orders.1", "orders.2", "orders.2", "events"} {
		if _, err := js.Publish(ctx, subj, []byte("payload")); err != nil {
			t.Fatal(err)
		}
	}

	var info monitor.JSInfo
	getJSON(t, n, "/jsz", &info)
	if info.Disabled || info.Streams != 2 || info.Messages != 4 || info.Bytes == 0 || info.Consumers != 0 ||
		info.Total != 1 || info.ID != n.Server().ID() || info.Limits == nil || info.Config.StoreDir == "" || info.AccountDetails != nil {
		t.Fatalf("overview %+v", info)
	}
	if info.Accounts != 1 || info.API.Total < 2 || info.Store == 0 || info.Memory == 0 {
		t.Fatalf("usage %+v", info.JSStats)
	}

	cases := []struct{ query, want string }{
		{"accounts=true", "$G"},
		{"streams=true", "$G:EVENTS:ORDERS"},
		{"consumers=true", "$G:EVENTS:ORDERS"},
		{"acc=$G", "$G"},
		{"acc=$G&streams=1", "$G:EVENTS:ORDERS"},
		{"acc=NOPE", ""},
		{"acc=NOPE&accounts=1", "$G"},
		{"accounts=true&offset=1", ""},
		{"accounts=true&limit=1", "$G"},
		{"leader-only=true&accounts=1", "$G"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			var info monitor.JSInfo
			getJSON(t, n, "/jsz?"+c.query, &info)
			if got := accountNames(&info); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}

	var detail monitor.JSInfo
	getJSON(t, n, "/jsz?streams=true", &detail)
	orders := detail.AccountDetails[0].Streams[1]
	if orders.Config != nil || orders.State.Msgs != 3 || orders.State.LastSeq != 3 || orders.Created.IsZero() ||
		orders.Cluster == nil || orders.Cluster.Leader != n.Server().Name() {
		t.Fatalf("stream detail %+v", orders)
	}
	var withCfg monitor.JSInfo
	getJSON(t, n, "/jsz?streams=true&config=true", &withCfg)
	if cfg := withCfg.AccountDetails[0].Streams[0].Config; cfg == nil || cfg.Name != "EVENTS" || cfg.Storage != jsapi.MemoryStorage {
		t.Fatalf("stream config %+v", cfg)
	}
	var raft monitor.JSInfo
	getJSON(t, n, "/jsz?raft=true", &raft)
	if raft.StreamsLeader != 2 {
		t.Fatalf("streams led: %+v", raft)
	}
}

// TestJszDetails: consumers (with their configuration only on request),
// accounts in name order and paged.
func TestJszDetails(t *testing.T) {
	consumer := &jsapi.ConsumerInfo{Stream: "S", Name: "C1", Config: &jsapi.ConsumerConfig{Durable: "C1"}, NumPending: 7}
	fake := &fakeJS{
		ov: monitor.JSOverview{Config: monitor.JSConfig{MaxMemory: 1, MaxStore: 2}, Stats: monitor.JSStats{Accounts: 3}},
		accounts: []monitor.JSAccount{
			{Name: "B", Streams: []monitor.JSStream{{Name: "S", Config: jsapi.StreamConfig{Name: "S"},
				State: jsapi.StreamState{Msgs: 5, Bytes: 50, Consumers: 1}, Consumers: []*jsapi.ConsumerInfo{consumer}}}},
			{Name: "A", Memory: 10, API: jsapi.APIStats{Level: 3, Total: 9, Errors: 1}},
			{Name: "C", Streams: []monitor.JSStream{{Name: "T", State: jsapi.StreamState{Msgs: 1, Bytes: 10}}}},
		},
	}
	m := startWithSource(t, true, fake)
	fetch := func(q string) *monitor.JSInfo {
		t.Helper()
		code, _, b := get(t, m.URL(), "/jsz?"+q)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", q, code, b)
		}
		var info monitor.JSInfo
		decode(t, b, &info)
		return &info
	}
	info := fetch("")
	if info.Streams != 2 || info.Messages != 6 || info.Bytes != 60 || info.Consumers != 1 || info.Total != 3 || info.Config.MaxStore != 2 {
		t.Fatalf("totals %+v", info)
	}
	cases := []struct{ query, want string }{
		{"accounts=1", "A B C"},
		{"accounts=1&offset=1&limit=1", "B"},
		{"accounts=1&offset=-5&limit=2", "A B"},
		{"streams=1", "A B:S C:T"},
		{"acc=C&streams=1", "C:T"},
		{"acc=C&accounts=1", "C"},
	}
	for _, c := range cases {
		if got := accountNames(fetch(c.query)); got != c.want {
			t.Errorf("%s: got %q, want %q", c.query, got, c.want)
		}
	}
	a := fetch("acc=A").AccountDetails[0]
	if a.Memory != 10 || a.API.Total != 9 || a.API.Errors != 1 || a.API.Level != 0 || a.Streams != nil {
		t.Fatalf("account detail %+v", a)
	}
	st := fetch("acc=B&consumers=1").AccountDetails[0].Streams[0]
	if len(st.Consumers) != 1 || st.Consumers[0].Name != "C1" || st.Consumers[0].NumPending != 7 || st.Consumers[0].Config != nil || st.Config != nil {
		t.Fatalf("consumer without config %+v", st)
	}
	st = fetch("acc=B&consumers=1&config=1").AccountDetails[0].Streams[0]
	if st.Config == nil || st.Consumers[0].Config == nil || st.Consumers[0].Config.Durable != "C1" {
		t.Fatalf("consumer with config %+v", st)
	}
	if consumer.Config == nil {
		t.Fatal("the source's consumer was modified")
	}
}

// TestJszDisabled: without JetStream /jsz says so, and a leader-only
// request is refused as the reference refuses it.
func TestJszDisabled(t *testing.T) {
	n := startNode(t, false, nil)
	var info monitor.JSInfo
	getJSON(t, n, "/jsz?accounts=true&streams=true", &info)
	if !info.Disabled || info.Streams != 0 || info.AccountDetails != nil {
		t.Fatalf("disabled %+v", info)
	}
	code, _, b := get(t, n.mon.URL(), "/jsz?leader-only=true")
	if code != http.StatusBadRequest || string(b) != "filtered response: not leader" {
		t.Fatalf("leader-only: %d %s", code, b)
	}
}
