package jetstream_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pubStep is one publish of a header table: what to send and what the
// PubAck must say (seq, or err_code when code is set).
type pubStep struct {
	subj    string
	data    string
	hdr     map[string]string
	seq     uint64
	dup     bool
	code    int
	counter string
}

func publishSteps(t *testing.T, js jetstream.JetStream, steps []pubStep) {
	t.Helper()
	for i, st := range steps {
		msg := nats.NewMsg(st.subj)
		msg.Data = []byte(st.data)
		for k, v := range st.hdr {
			msg.Header.Set(k, v)
		}
		ack, err := js.PublishMsg(ctx(t), msg)
		if st.code != 0 {
			if got := apiErrCode(err); got != st.code {
				t.Fatalf("step %d (%s %v): err %v (code %d), want code %d", i, st.subj, st.hdr, err, got, st.code)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d (%s %v): %v", i, st.subj, st.hdr, err)
		}
		if ack.Sequence != st.seq || ack.Duplicate != st.dup {
			t.Fatalf("step %d (%s %v): ack %+v, want seq %d dup %v", i, st.subj, st.hdr, ack, st.seq, st.dup)
		}
		if st.counter != "" && ack.Value != st.counter {
			t.Fatalf("step %d: counter %q, want %q", i, ack.Value, st.counter)
		}
	}
}

func TestPublishHeaders(t *testing.T) {
	h := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name  string
		cfg   jetstream.StreamConfig
		steps []pubStep
	}{
		{"expected stream", jetstream.StreamConfig{Subjects: []string{"p.>"}}, []pubStep{
			{subj: "p.a", hdr: h("Nats-Expected-Stream", "T"), seq: 1},
			{subj: "p.a", hdr: h("Nats-Expected-Stream", "OTHER"), code: 10060},
		}},
		{"expected last sequence", jetstream.StreamConfig{Subjects: []string{"p.>"}}, []pubStep{
			{subj: "p.a", hdr: h("Nats-Expected-Last-Sequence", "0"), seq: 1},
			{subj: "p.a", hdr: h("Nats-Expected-Last-Sequence", "1"), seq: 2},
			{subj: "p.a", hdr: h("Nats-Expected-Last-Sequence", "1"), code: 10071},
			{subj: "p.a", hdr: h("Nats-Expected-Last-Sequence", "nope"), code: 10071},
		}},
		{"expected last subject sequence", jetstream.StreamConfig{Subjects: []string{"p.>"}}, []pubStep{
			{subj: "p.a", seq: 1},
			{subj: "p.b", hdr: h("Nats-Expected-Last-Subject-Sequence", "0"), seq: 2},
			{subj: "p.a", hdr: h("Nats-Expected-Last-Subject-Sequence", "1"), seq: 3},
			{subj: "p.a", hdr: h("Nats-Expected-Last-Subject-Sequence", "1"), code: 10071},
			{subj: "p.c", hdr: h("Nats-Expected-Last-Subject-Sequence", "2", "Nats-Expected-Last-Subject-Sequence-Subject", "p.b"), seq: 4},
			{subj: "p.c", hdr: h("Nats-Expected-Last-Subject-Sequence-Subject", "p.b"), code: 10193},
		}},
		{"msg id", jetstream.StreamConfig{Subjects: []string{"p.>"}}, []pubStep{
			{subj: "p.a", hdr: h("Nats-Msg-Id", "a"), seq: 1},
			{subj: "p.a", hdr: h("Nats-Msg-Id", "a"), seq: 1, dup: true},
			{subj: "p.a", hdr: h("Nats-Msg-Id", "b"), seq: 2},
			{subj: "p.a", hdr: h("Nats-Expected-Last-Msg-Id", "b"), seq: 3},
			{subj: "p.a", hdr: h("Nats-Expected-Last-Msg-Id", "b"), code: 10070},
		}},
		{"rollup", jetstream.StreamConfig{Subjects: []string{"p.>"}, AllowRollup: true}, []pubStep{
			{subj: "p.a", seq: 1}, {subj: "p.a", seq: 2}, {subj: "p.b", seq: 3},
			{subj: "p.a", hdr: h("Nats-Rollup", "sub"), seq: 4},
			{subj: "p.a", hdr: h("Nats-Rollup", "bogus"), code: 10111},
			{subj: "p.c", hdr: h("Nats-Rollup", "all"), seq: 5},
		}},
		{"rollup not allowed", jetstream.StreamConfig{Subjects: []string{"p.>"}}, []pubStep{
			{subj: "p.a", hdr: h("Nats-Rollup", "sub"), code: 10111},
		}},
		{"ttl", jetstream.StreamConfig{Subjects: []string{"p.>"}, AllowMsgTTL: true}, []pubStep{
			{subj: "p.a", hdr: h("Nats-TTL", "5s"), seq: 1},
			{subj: "p.a", hdr: h("Nats-TTL", "never"), seq: 2},
			{subj: "p.a", hdr: h("Nats-TTL", "60"), seq: 3},
			{subj: "p.a", hdr: h("Nats-TTL", "500ms"), code: 10165},
			{subj: "p.a", hdr: h("Nats-TTL", "bogus"), code: 10165},
		}},
		{"ttl disabled", jetstream.StreamConfig{Subjects: []string{"p.>"}}, []pubStep{
			{subj: "p.a", hdr: h("Nats-TTL", "5s"), code: 10166},
		}},
		{"max msg size", jetstream.StreamConfig{Subjects: []string{"p.>"}, MaxMsgSize: 10}, []pubStep{
			{subj: "p.a", data: "0123456789", seq: 1},
			{subj: "p.a", data: "0123456789x", code: 10054},
		}},
		{"discard new max msgs", jetstream.StreamConfig{Subjects: []string{"p.>"}, Discard: jetstream.DiscardNew, MaxMsgs: 2}, []pubStep{
			{subj: "p.a", seq: 1}, {subj: "p.a", seq: 2}, {subj: "p.a", code: 10077},
		}},
		{"discard new max bytes", jetstream.StreamConfig{Subjects: []string{"p"}, Discard: jetstream.DiscardNew, MaxBytes: 100}, []pubStep{
			{subj: "p", data: strings.Repeat("x", 40), seq: 1},
			{subj: "p", data: strings.Repeat("x", 40), code: 10077},
		}},
		{"discard new per subject", jetstream.StreamConfig{Subjects: []string{"p.*"}, Discard: jetstream.DiscardNew, MaxMsgsPerSubject: 1, DiscardNewPerSubject: true}, []pubStep{
			{subj: "p.a", seq: 1}, {subj: "p.a", code: 10077}, {subj: "p.b", seq: 2},
		}},
		{"counter", jetstream.StreamConfig{Subjects: []string{"p.*"}, AllowMsgCounter: true}, []pubStep{
			{subj: "p.a", hdr: h("Nats-Incr", "5"), seq: 1, counter: "5"},
			{subj: "p.a", hdr: h("Nats-Incr", "-7"), seq: 2, counter: "-2"},
			{subj: "p.b", hdr: h("Nats-Incr", "100000000000000000000000"), seq: 3, counter: "100000000000000000000000"},
			{subj: "p.a", hdr: h("Nats-Incr", "x"), code: 10171},
			{subj: "p.a", data: "x", hdr: h("Nats-Incr", "1"), code: 10170},
			{subj: "p.a", code: 10169},
			{subj: "p.a", hdr: h("Nats-Incr", "1", "Nats-Expected-Last-Sequence", "1"), code: 10171},
		}},
		{"counter disabled", jetstream.StreamConfig{Subjects: []string{"p.*"}}, []pubStep{
			{subj: "p.a", hdr: h("Nats-Incr", "1"), code: 10168},
		}},
		{"schedules disabled", jetstream.StreamConfig{Subjects: []string{"p.*"}}, []pubStep{
			{subj: "p.a", hdr: h("Nats-Schedule", "@hourly"), code: 10188},
		}},
		{"source header refused", jetstream.StreamConfig{Subjects: []string{"p.*"}}, []pubStep{
			{subj: "p.a", hdr: h("Nats-Stream-Source", "X"), code: 10227},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t, "", nil)
			_, js := connect(t, n)
			tc.cfg.Name = "T"
			mustStream(t, js, tc.cfg)
			publishSteps(t, js, tc.steps)
		})
	}
}

func TestRollupLeavesOneMessage(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "R", Subjects: []string{"r.*"}, AllowRollup: true})
	for _, subj := range []string{"r.a", "r.a", "r.b", "r.a"} {
		if _, err := js.Publish(c, subj, nil); err != nil {
			t.Fatal(err)
		}
	}
	msg := nats.NewMsg("r.a")
	msg.Header.Set("Nats-Rollup", "sub")
	if _, err := js.PublishMsg(c, msg); err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(c, jetstream.WithSubjectFilter(">"))
	if info.State.Subjects["r.a"] != 1 || info.State.Subjects["r.b"] != 1 {
		t.Fatalf("after sub rollup: %v", info.State.Subjects)
	}
	msg.Header.Set("Nats-Rollup", "all")
	if _, err := js.PublishMsg(c, msg); err != nil {
		t.Fatal(err)
	}
	info, _ = s.Info(c)
	if info.State.Msgs != 1 || info.State.LastSeq != 6 {
		t.Fatalf("after all rollup: %+v", info.State)
	}
}

func TestNoAckSealedAndSubjectTransform(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)

	mustStream(t, js, jetstream.StreamConfig{Name: "NA", Subjects: []string{"na"}, NoAck: true})
	if _, err := nc.Request("na", []byte("x"), 200*time.Millisecond); err == nil {
		t.Fatal("no_ack stream answered a publish")
	}
	if s, _ := js.Stream(c, "NA"); s.CachedInfo().State.Msgs != 1 {
		t.Fatal("no_ack stream did not store")
	}

	s := mustStream(t, js, jetstream.StreamConfig{Name: "TR", Subjects: []string{"in.>"},
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: "in.*.*", Destination: "out.$2.$1"}})
	if _, err := js.Publish(c, "in.a.b", nil); err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(c, 1)
	if err != nil || m.Subject != "out.b.a" {
		t.Fatalf("transformed subject: %v %v", err, m)
	}

	cfg := jetstream.StreamConfig{Name: "SE", Subjects: []string{"se"}}
	mustStream(t, js, cfg)
	cfg.Sealed = true
	if _, err := js.UpdateStream(c, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(c, "se", nil); apiErrCode(err) != 10109 {
		t.Fatalf("publish to sealed: %v", err)
	}
}

func TestRepublish(t *testing.T) {
	for _, headersOnly := range []bool{false, true} {
		t.Run(fmt.Sprint("headers_only=", headersOnly), func(t *testing.T) {
			n := startNode(t, "", nil)
			nc, js := connect(t, n)
			c := ctx(t)
			sub, err := nc.SubscribeSync("rp.>")
			if err != nil {
				t.Fatal(err)
			}
			mustStream(t, js, jetstream.StreamConfig{Name: "RP", Subjects: []string{"src.>"},
				RePublish: &jetstream.RePublish{Source: "src.>", Destination: "rp.>", HeadersOnly: headersOnly}})
			for i := 0; i < 2; i++ {
				msg := nats.NewMsg("src.x")
				msg.Header.Set("X-Own", "kept")
				msg.Data = []byte("payload")
				if _, err := js.PublishMsg(c, msg); err != nil {
					t.Fatal(err)
				}
			}
			for i := 1; i <= 2; i++ {
				m, err := sub.NextMsg(5 * time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if m.Subject != "rp.x" || m.Header.Get("Nats-Stream") != "RP" || m.Header.Get("Nats-Subject") != "src.x" ||
					m.Header.Get("Nats-Sequence") != fmt.Sprint(i) || m.Header.Get("Nats-Last-Sequence") != fmt.Sprint(i-1) ||
					m.Header.Get("X-Own") != "kept" || m.Header.Get("Nats-Time-Stamp") == "" {
					t.Fatalf("republished %d: %s %v", i, m.Subject, m.Header)
				}
				if headersOnly {
					if len(m.Data) != 0 || m.Header.Get("Nats-Msg-Size") != "7" {
						t.Fatalf("headers only: %q %v", m.Data, m.Header)
					}
				} else if string(m.Data) != "payload" {
					t.Fatalf("payload %q", m.Data)
				}
			}
		})
	}
}

func TestAsyncPublishManyAcksInOrder(t *testing.T) {
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		t.Run(storage.String(), func(t *testing.T) {
			n := startNode(t, "", nil)
			_, js := connect(t, n, jetstream.WithPublishAsyncMaxPending(1000))
			mustStream(t, js, jetstream.StreamConfig{Name: "A", Subjects: []string{"a"}, Storage: storage})
			const total = 5000
			futures := make([]jetstream.PubAckFuture, 0, total)
			for i := 0; i < total; i++ {
				f, err := js.PublishAsync("a", []byte("x"))
				if err != nil {
					t.Fatal(err)
				}
				futures = append(futures, f)
			}
			for i, f := range futures {
				select {
				case ack := <-f.Ok():
					if ack.Sequence != uint64(i+1) {
						t.Fatalf("ack %d has seq %d", i, ack.Sequence)
					}
				case err := <-f.Err():
					t.Fatal(err)
				case <-time.After(10 * time.Second):
					t.Fatal("ack timeout")
				}
			}
		})
	}
}

func TestPersistModeAsync(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	m := request(t, nc, "$JS.API.STREAM.CREATE.AP", `{"name":"AP","subjects":["ap"],"persist_mode":"async"}`)
	if errCode(m) != 0 {
		t.Fatal(m)
	}
	cfg := m["config"].(map[string]any)
	if cfg["persist_mode"] != "async" {
		t.Fatalf("persist_mode %v", cfg["persist_mode"])
	}
	ack, err := js.Publish(ctx(t), "ap", nil)
	if err != nil || ack.Sequence != 1 {
		t.Fatalf("%v %+v", err, ack)
	}
}

func TestCounterValueStored(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "C", Subjects: []string{"c"}, AllowMsgCounter: true})
	for _, by := range []string{"3", "4"} {
		msg := nats.NewMsg("c")
		msg.Header.Set("Nats-Incr", by)
		if _, err := js.PublishMsg(ctx(t), msg); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.GetLastMsgForSubject(ctx(t), "c")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Val string }
	if err := json.Unmarshal(m.Data, &v); err != nil || v.Val != "7" {
		t.Fatalf("stored %s (%v)", m.Data, err)
	}
}
