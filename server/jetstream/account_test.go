package jetstream_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/server/opts"
)

func TestAccountInfo(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "F", Subjects: []string{"f"}, MaxBytes: 1 << 20})
	mustStream(t, js, jetstream.StreamConfig{Name: "M", Subjects: []string{"m"}, Storage: jetstream.MemoryStorage})
	for i := 0; i < 10; i++ {
		js.Publish(c, "f", []byte("0123456789"))
		js.Publish(c, "m", []byte("0123456789"))
	}
	info, err := js.AccountInfo(c)
	if err != nil {
		t.Fatal(err)
	}
	if info.Streams != 2 || info.Store == 0 || info.Memory == 0 || info.ReservedStore != 1<<20 {
		t.Fatalf("usage %+v", info.Tier)
	}
	if info.Limits.MaxMemory != -1 || info.Limits.MaxStore != -1 || info.Limits.MaxStreams != -1 {
		t.Fatalf("limits %+v", info.Limits)
	}
	if info.API.Total == 0 {
		t.Fatalf("api counters %+v", info.API)
	}
	before := info.API.Errors
	js.Stream(c, "NOPE")
	if info, _ = js.AccountInfo(c); info.API.Errors != before+1 {
		t.Fatalf("api errors %d, want %d", info.API.Errors, before+1)
	}
}

func TestInfoAdvertisesJetStream(t *testing.T) {
	n := startNode(t, "", func(o *opts.Options) { o.JetStreamOpts.Domain = "hub" })
	nc, _ := connect(t, n)
	if on, _ := nc.ConnectedServerJetStream(); !on {
		t.Fatal("INFO without jetstream")
	}
	js, err := jetstream.NewWithDomain(nc, "hub")
	if err != nil {
		t.Fatal(err)
	}
	ai, err := js.AccountInfo(ctx(t))
	if err != nil || ai.Domain != "hub" {
		t.Fatalf("account info through the domain: %v %+v", err, ai)
	}
	s := mustStream(t, js, jetstream.StreamConfig{Name: "D", Subjects: []string{"d"}, AllowDirect: true})
	ack, err := js.Publish(ctx(t), "d", nil)
	if err != nil || ack.Domain != "hub" {
		t.Fatalf("ack through the domain: %v %+v", err, ack)
	}
	if _, err := s.GetLastMsgForSubject(ctx(t), "d"); err != nil {
		t.Fatalf("direct get through the domain: %v", err)
	}
}

func TestJetStreamOffByDefault(t *testing.T) {
	n := startNode(t, "", func(o *opts.Options) { o.JetStream = false })
	nc, err := nats.Connect(n.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if on, _ := nc.ConnectedServerJetStream(); on {
		t.Fatal("INFO advertises jetstream")
	}
	if _, err := nc.Request("$JS.API.INFO", nil, time.Second); err != nats.ErrNoResponders {
		t.Fatalf("$JS.API.INFO without JetStream: %v", err)
	}
}

func TestAccountLimits(t *testing.T) {
	n := startNode(t, "", func(o *opts.Options) {
		o.Accounts = append(o.Accounts, &opts.Account{Name: "$G", JetStream: &opts.AccountJetStream{
			Enabled: true, MaxMemory: 1 << 20, MaxStore: 4096, MaxStreams: 2, MaxConsumers: 5, MaxAckPending: -1,
		}})
	})
	nc, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "A", Subjects: []string{"a"}})
	if _, err := js.CreateStream(c, jetstream.StreamConfig{Name: "B", Subjects: []string{"b"}, MaxBytes: 1 << 20}); apiErrCode(err) != 10047 {
		t.Fatalf("reservation above max_file: %v", err)
	}
	if _, err := js.CreateStream(c, jetstream.StreamConfig{Name: "B", Subjects: []string{"b"}, MaxConsumers: 10}); apiErrCode(err) != 10026 {
		t.Fatalf("max_consumers above the account's: %v", err)
	}
	mustStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b"}})
	if _, err := js.CreateStream(c, jetstream.StreamConfig{Name: "C", Subjects: []string{"c"}}); apiErrCode(err) != 10027 {
		t.Fatalf("third stream: %v", err)
	}
	m := request(t, nc, "$JS.API.INFO", nil)
	lim := m["limits"].(map[string]any)
	if lim["max_storage"].(float64) != 4096 || lim["max_streams"].(float64) != 2 {
		t.Fatalf("limits %v", lim)
	}
	// Usage at publish: the account's max_file is 4 KiB.
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = js.Publish(c, "a", []byte(strings.Repeat("x", 200)))
	}
	if apiErrCode(err) != 10002 {
		t.Fatalf("publish over the account limit: %v", err)
	}
}

func TestAdvisories(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	sub, err := nc.SubscribeSync("$JS.EVENT.ADVISORY.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	cfg := jetstream.StreamConfig{Name: "ADV", Subjects: []string{"adv"}}
	mustStream(t, js, cfg)
	cfg.MaxMsgs = 10
	if _, err := js.UpdateStream(ctx(t), cfg); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx(t), "ADV"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	deadline := time.Now().Add(5 * time.Second)
	for len(seen) < 4 && time.Now().Before(deadline) {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		var ev struct {
			Type, Action, Stream, Subject string
		}
		json.Unmarshal(m.Data, &ev)
		switch {
		case strings.HasPrefix(m.Subject, "$JS.EVENT.ADVISORY.STREAM."):
			if ev.Type != "io.nats.jetstream.advisory.v1.stream_action" || ev.Stream != "ADV" {
				t.Fatalf("stream advisory %s: %s", m.Subject, m.Data)
			}
			seen[m.Subject] = ev.Action
		case m.Subject == "$JS.EVENT.ADVISORY.API":
			if ev.Type != "io.nats.jetstream.advisory.v1.api_audit" || ev.Subject == "" {
				t.Fatalf("audit: %s", m.Data)
			}
			seen["audit"] = "ok"
		}
	}
	for subj, action := range map[string]string{
		"$JS.EVENT.ADVISORY.STREAM.CREATED.ADV": "create",
		"$JS.EVENT.ADVISORY.STREAM.UPDATED.ADV": "modify",
		"$JS.EVENT.ADVISORY.STREAM.DELETED.ADV": "delete",
		"audit":                                 "ok",
	} {
		if seen[subj] != action {
			t.Errorf("%s: got %q, want %q (all: %v)", subj, seen[subj], action, seen)
		}
	}
}
