package jetstream_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestDirectGetNatsGo(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "KV", Subjects: []string{"kv.>"}, AllowDirect: true})
	msg := nats.NewMsg("kv.a")
	msg.Header.Set("X-Own", "1")
	msg.Data = []byte("v1")
	if _, err := js.PublishMsg(c, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(c, "kv.b", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(c, "kv.a", []byte("v3")); err != nil {
		t.Fatal(err)
	}
	// nats.go uses direct gets for these when the stream allows them.
	m, err := s.GetLastMsgForSubject(c, "kv.a")
	if err != nil || string(m.Data) != "v3" || m.Sequence != 3 {
		t.Fatalf("last kv.a: %v %+v", err, m)
	}
	m, err = s.GetMsg(c, 1, jetstream.WithGetMsgSubject(""))
	if err != nil || m.Header.Get("X-Own") != "1" || m.Subject != "kv.a" {
		t.Fatalf("get 1: %v %+v", err, m)
	}
	if _, err := s.GetLastMsgForSubject(c, "kv.none"); err != jetstream.ErrMsgNotFound {
		t.Fatalf("missing subject: %v", err)
	}
}

func TestDirectGetRaw(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "D", Subjects: []string{"d.>"}, AllowDirect: true})
	for i, subj := range []string{"d.a", "d.b", "d.a", "d.c", "d.b"} {
		if _, err := js.Publish(ctx(t), subj, []byte(strconv.Itoa(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	get := func(subj, body string) *nats.Msg {
		m, err := nc.Request(subj, []byte(body), 5*time.Second)
		if err != nil {
			t.Fatalf("%s %s: %v", subj, body, err)
		}
		return m
	}
	m := get("$JS.API.DIRECT.GET.D", `{"seq":2}`)
	for k, want := range map[string]string{"Nats-Stream": "D", "Nats-Subject": "d.b", "Nats-Sequence": "2"} {
		if m.Header.Get(k) != want {
			t.Fatalf("%s = %q, want %q", k, m.Header.Get(k), want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp")); err != nil {
		t.Fatalf("timestamp %q", m.Header.Get("Nats-Time-Stamp"))
	}
	if m = get("$JS.API.DIRECT.GET.D.d.b", ""); string(m.Data) != "5" {
		t.Fatalf("last by subject: %q", m.Data)
	}
	statuses := []struct{ subj, body, status, desc string }{
		{"$JS.API.DIRECT.GET.D", `{"seq":99}`, "404", "Message Not Found"},
		{"$JS.API.DIRECT.GET.D", ``, "408", "Empty Request"},
		{"$JS.API.DIRECT.GET.D", `{bad`, "408", "Malformed Request"},
		{"$JS.API.DIRECT.GET.D", `{"seq":1,"last_by_subj":"d.a"}`, "408", "Bad Request"},
		{"$JS.API.DIRECT.GET.D", `{"multi_last":["x.>"]}`, "404", "No Results"},
	}
	for _, st := range statuses {
		m := get(st.subj, st.body)
		if got := m.Header.Get("Status"); got != st.status || m.Header.Get("Description") != st.desc {
			t.Fatalf("%s %s: status %q %q, want %s %s", st.subj, st.body, got, m.Header.Get("Description"), st.status, st.desc)
		}
	}

	// A batch: messages with pending counts, then 204 EOB.
	inbox := nats.NewInbox()
	sub, _ := nc.SubscribeSync(inbox)
	if err := nc.PublishRequest("$JS.API.DIRECT.GET.D", inbox, []byte(`{"seq":2,"batch":3}`)); err != nil {
		t.Fatal(err)
	}
	var seqs []string
	for {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get("Status") == "204" {
			if m.Header.Get("Nats-Num-Pending") != "1" || m.Header.Get("Nats-Last-Sequence") != "4" {
				t.Fatalf("EOB %v", m.Header)
			}
			break
		}
		seqs = append(seqs, m.Header.Get("Nats-Sequence")+"/"+m.Header.Get("Nats-Num-Pending")+"/"+m.Header.Get("Nats-Last-Sequence"))
	}
	if fmt.Sprint(seqs) != "[2/3/0 3/2/2 4/1/3]" {
		t.Fatalf("batch %v", seqs)
	}

	// multi_last up to a sequence.
	inbox2 := nats.NewInbox()
	sub2, _ := nc.SubscribeSync(inbox2)
	if err := nc.PublishRequest("$JS.API.DIRECT.GET.D", inbox2, []byte(`{"multi_last":["d.*"],"up_to_seq":4}`)); err != nil {
		t.Fatal(err)
	}
	seqs = nil
	for {
		m, err := sub2.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get("Status") == "204" {
			if m.Header.Get("Nats-UpTo-Sequence") != "4" {
				t.Fatalf("EOB %v", m.Header)
			}
			break
		}
		seqs = append(seqs, m.Header.Get("Nats-Sequence"))
	}
	if fmt.Sprint(seqs) != "[2 3 4]" {
		t.Fatalf("multi_last %v", seqs)
	}
}

func TestDirectGetNeedsAllowDirect(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	cfg := jetstream.StreamConfig{Name: "ND", Subjects: []string{"nd"}}
	mustStream(t, js, cfg)
	if _, err := nc.Request("$JS.API.DIRECT.GET.ND", []byte(`{"seq":1}`), time.Second); err != nats.ErrNoResponders {
		t.Fatalf("without allow_direct: %v", err)
	}
	cfg.AllowDirect = true
	if _, err := js.UpdateStream(ctx(t), cfg); err != nil {
		t.Fatal(err)
	}
	m, err := nc.Request("$JS.API.DIRECT.GET.ND", []byte(`{"seq":1}`), time.Second)
	if err != nil || m.Header.Get("Status") != "404" {
		t.Fatalf("after enabling: %v %v", err, m)
	}
}

// TestTranscriptDirectGet writes down every reply of direct gets, both
// forms, batches and multi_last, for messages stored with and without
// headers, and compares with the reference's (transcript_test.go).
func TestTranscriptDirectGet(t *testing.T) {
	goldenTranscript(t, "direct-get", func(t *testing.T, tg *target, w *strings.Builder) {
		nc, _ := tg.connect(t)
		if _, err := nc.Request("$JS.API.STREAM.CREATE.D", []byte(`{"name":"D","subjects":["d.>"],"allow_direct":true}`), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		pub := func(subj, data string, kv ...string) {
			m := nats.NewMsg(subj)
			m.Data = []byte(data)
			for i := 0; i+1 < len(kv); i += 2 {
				m.Header.Add(kv[i], kv[i+1])
			}
			if _, err := nc.RequestMsg(m, 5*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		pub("d.a", "1")
		pub("d.b", "2", "X-H", "v", "X-Two", "2", "X-Two", "two")
		pub("d.a", "3", "Nats-Msg-Id", "id3")
		pub("d.c.x", "4")
		pub("d.b", "5", "X-H", "w")
		pub("d.e", "")
		if _, err := nc.Request("$JS.API.STREAM.MSG.DELETE.D", []byte(`{"seq":4}`), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ subj, body string }{
			{"$JS.API.DIRECT.GET.D", `{"seq":1}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":2}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":2,"no_hdr":true}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":4}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":6}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":0}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":99}`},
			{"$JS.API.DIRECT.GET.D", `{"last_by_subj":"d.b"}`},
			{"$JS.API.DIRECT.GET.D", `{"last_by_subj":"d.*"}`},
			{"$JS.API.DIRECT.GET.D", `{"next_by_subj":"d.b","seq":3}`},
			{"$JS.API.DIRECT.GET.D", `{"next_by_subj":"d.*","seq":2}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"batch":3}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"batch":10}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":3,"batch":10,"next_by_subj":"d.b"}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"batch":10,"max_bytes":20}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"batch":10,"max_bytes":1}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":99,"batch":3}`},
			{"$JS.API.DIRECT.GET.D", `{"next_by_subj":"d.zz","batch":3}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"batch":-1}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"batch":2,"no_hdr":true}`},
			{"$JS.API.DIRECT.GET.D", `{"batch":2}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.*"]}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.>"]}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.>"],"batch":2}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.>"],"up_to_seq":3}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.a","d.b"],"up_to_seq":2}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.>"],"up_to_time":"2000-01-01T00:00:00Z"}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["zz"]}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.>"],"seq":2}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.a"],"batch":1}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.>"],"max_bytes":5}`},
			{"$JS.API.DIRECT.GET.D", `{"multi_last":["d.>"],"no_hdr":true}`},
			{"$JS.API.DIRECT.GET.D", `{"start_time":"2000-01-01T00:00:00Z"}`},
			{"$JS.API.DIRECT.GET.D", `{"start_time":"2000-01-01T00:00:00Z","batch":2}`},
			{"$JS.API.DIRECT.GET.D", `{"start_time":"2099-01-01T00:00:00Z"}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"start_time":"2000-01-01T00:00:00Z"}`},
			{"$JS.API.DIRECT.GET.D", ``},
			{"$JS.API.DIRECT.GET.D", `{}`},
			{"$JS.API.DIRECT.GET.D", `{bad`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"last_by_subj":"d.a"}`},
			{"$JS.API.DIRECT.GET.D", `{"seq":1,"bogus":true}`},
			{"$JS.API.DIRECT.GET.D.d.b", ``},
			{"$JS.API.DIRECT.GET.D.d.c.x", ``},
			{"$JS.API.DIRECT.GET.D.d.e", ``},
			{"$JS.API.DIRECT.GET.D.d.zz", ``},
			{"$JS.API.DIRECT.GET.D.d.*", ``},
			{"$JS.API.DIRECT.GET.D.d.>", ``},
			{"$JS.API.DIRECT.GET.D.d.b", `{"no_hdr":true}`},
			{"$JS.API.DIRECT.GET.D.d.b", `{"seq":1}`},
			{"$JS.API.DIRECT.GET.NOPE", `{"seq":1}`},
		} {
			requestAll(t, nc, w, c.subj, nil, c.body)
		}
		for _, lvl := range []string{"1", "99", "x"} {
			fmt.Fprintf(w, "Nats-Required-Api-Level: %s\n", lvl)
			requestAll(t, nc, w, "$JS.API.DIRECT.GET.D", nats.Header{"Nats-Required-Api-Level": {lvl}}, `{"seq":1}`)
			requestAll(t, nc, w, "$JS.API.DIRECT.GET.D.d.b", nats.Header{"Nats-Required-Api-Level": {lvl}}, ``)
		}
	})
}
