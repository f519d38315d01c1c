package jetstream_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestStreamAPIErrorCodes replays requests whose err_code values were
// checked against nats-server v2.15.3 (testdata/oracle/*.txt).
func TestStreamAPIErrorCodes(t *testing.T) {
	n := startNode(t, "", nil)
	nc, _ := connect(t, n)
	setup := []struct{ subj, body string }{
		{"$JS.API.STREAM.CREATE.A", `{"name":"A"}`},
		{"$JS.API.STREAM.CREATE.L", `{"name":"L","subjects":["l"],"deny_delete":true,"deny_purge":true}`},
		{"$JS.API.STREAM.CREATE.K", `{"name":"K","subjects":["k"],"allow_msg_ttl":true}`},
		{"$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s"]}`},
		{"$JS.API.STREAM.UPDATE.S", `{"name":"S","subjects":["s"],"sealed":true}`},
	}
	for _, s := range setup {
		if m := request(t, nc, s.subj, s.body); errCode(m) != 0 {
			t.Fatalf("setup %s: %v", s.subj, m)
		}
	}
	cases := []struct {
		name, subj, body string
		code             int
	}{
		{"create same config is idempotent", "$JS.API.STREAM.CREATE.A", `{"name":"A"}`, 0},
		{"create different config", "$JS.API.STREAM.CREATE.A", `{"name":"A","subjects":["x"]}`, 10058},
		{"create overlapping subjects", "$JS.API.STREAM.CREATE.B", `{"name":"B","subjects":["A"]}`, 10065},
		{"create name mismatch", "$JS.API.STREAM.CREATE.C", `{"name":"X"}`, 10056},
		{"create sealed", "$JS.API.STREAM.CREATE.F", `{"name":"F","sealed":true}`, 10052},
		{"create replicas", "$JS.API.STREAM.CREATE.G", `{"name":"G","num_replicas":3}`, 10074},
		{"create short max_age", "$JS.API.STREAM.CREATE.H", `{"name":"H","max_age":1000}`, 10052},
		{"create unknown field", "$JS.API.STREAM.CREATE.Q", `{"name":"Q","bogus":1}`, 10025},
		{"create bad json", "$JS.API.STREAM.CREATE.Q", `{"name":`, 10025},
		{"create api subjects", "$JS.API.STREAM.CREATE.T", `{"name":"T","subjects":["$JS.API.>"]}`, 10052},
		{"create external mirror unsupported", "$JS.API.STREAM.CREATE.MI", `{"name":"MI","mirror":{"name":"A","external":{"api":"$JS.hub.API"}}}`, 10052},
		{"create external source unsupported", "$JS.API.STREAM.CREATE.SC", `{"name":"SC","sources":[{"name":"A","external":{"api":"$JS.hub.API"}}]}`, 10052},
		{"create durable source unsupported", "$JS.API.STREAM.CREATE.SD", `{"name":"SD","sources":[{"name":"A","consumer":{"name":"c","deliver_subject":"d.c"}}]}`, 10052},
		{"update storage", "$JS.API.STREAM.UPDATE.A", `{"name":"A","storage":"memory"}`, 10052},
		{"update deny_delete off", "$JS.API.STREAM.UPDATE.L", `{"name":"L","subjects":["l"],"deny_delete":false}`, 10052},
		{"update missing", "$JS.API.STREAM.UPDATE.ZZ", `{"name":"ZZ"}`, 10059},
		{"update name mismatch", "$JS.API.STREAM.UPDATE.A", `{"name":"B"}`, 10056},
		{"update ttl off", "$JS.API.STREAM.UPDATE.K", `{"name":"K","subjects":["k"],"allow_msg_ttl":false}`, 10052},
		{"info missing", "$JS.API.STREAM.INFO.NOPE", ``, 10059},
		{"info unknown field", "$JS.API.STREAM.INFO.A", `{"bogus":true}`, 10025},
		{"delete not empty", "$JS.API.STREAM.DELETE.A", `{"x":1}`, 10038},
		{"delete missing", "$JS.API.STREAM.DELETE.NOPE", ``, 10059},
		{"purge seq and keep", "$JS.API.STREAM.PURGE.A", `{"seq":5,"keep":1}`, 10003},
		{"purge denied", "$JS.API.STREAM.PURGE.L", ``, 10110},
		{"purge sealed", "$JS.API.STREAM.PURGE.S", ``, 10109},
		{"msg get empty", "$JS.API.STREAM.MSG.GET.A", `{}`, 10003},
		{"msg get batch", "$JS.API.STREAM.MSG.GET.A", `{"seq":1,"batch":2}`, 10003},
		{"msg get missing msg", "$JS.API.STREAM.MSG.GET.A", `{"seq":9}`, 10037},
		{"msg get missing stream", "$JS.API.STREAM.MSG.GET.NOPE", `{"seq":1}`, 10059},
		{"msg delete empty", "$JS.API.STREAM.MSG.DELETE.A", ``, 10003},
		{"msg delete past end", "$JS.API.STREAM.MSG.DELETE.A", `{"seq":99}`, 10057},
		{"msg delete denied", "$JS.API.STREAM.MSG.DELETE.L", `{"seq":1}`, 10057},
		{"msg delete sealed", "$JS.API.STREAM.MSG.DELETE.S", `{"seq":1}`, 10109},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := request(t, nc, tc.subj, tc.body)
			if got := errCode(m); got != tc.code {
				t.Fatalf("err_code %d, want %d: %v", got, tc.code, m)
			}
		})
	}
}

func TestRequiredAPILevel(t *testing.T) {
	n := startNode(t, "", nil)
	nc, _ := connect(t, n)
	msg := nats.NewMsg("$JS.API.STREAM.CREATE.A")
	msg.Data = []byte(`{"name":"A"}`)
	msg.Header.Set("Nats-Required-Api-Level", "99")
	resp, err := nc.RequestMsg(msg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"err_code":10185`; !bytes.Contains(resp.Data, []byte(want)) {
		t.Fatalf("reply %s, want %s", resp.Data, want)
	}
}

func TestStreamLifecycleNatsGo(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)

	cfg := jetstream.StreamConfig{
		Name: "ORDERS", Subjects: []string{"orders.*"}, Description: "orders",
		MaxMsgs: 100, MaxBytes: 1 << 20, MaxAge: time.Hour, MaxMsgsPerSubject: 10, MaxMsgSize: 4096,
		Discard: jetstream.DiscardOld, Storage: jetstream.FileStorage, Duplicates: time.Minute,
		AllowDirect: true, AllowRollup: true, Metadata: map[string]string{"team": "a"},
		Compression: jetstream.S2Compression, FirstSeq: 10,
	}
	s, err := js.CreateStream(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	info := s.CachedInfo()
	if info.Config.Description != "orders" || info.Config.MaxMsgsPerSubject != 10 || info.Config.Metadata["team"] != "a" {
		t.Fatalf("config not kept: %+v", info.Config)
	}
	if info.Config.Metadata["_nats.req.level"] != "0" || info.Config.Metadata["_nats.ver"] == "" {
		t.Fatalf("versioning metadata missing: %v", info.Config.Metadata)
	}
	if info.State.FirstSeq != 10 || info.State.LastSeq != 9 {
		t.Fatalf("first_seq not applied: %+v", info.State)
	}
	ack, err := js.Publish(c, "orders.a", []byte("x"))
	if err != nil || ack.Sequence != 10 {
		t.Fatalf("publish: %v %+v", err, ack)
	}

	// Update what may change.
	cfg.Subjects = append(cfg.Subjects, "more.*")
	cfg.MaxMsgs = 5
	if s, err = js.UpdateStream(c, cfg); err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config; got.MaxMsgs != 5 || len(got.Subjects) != 2 {
		t.Fatalf("update not applied: %+v", got)
	}
	if _, err := js.Publish(c, "more.x", nil); err != nil {
		t.Fatalf("publish on the added subject: %v", err)
	}
	// And refuse what may not.
	bad := cfg
	bad.Storage = jetstream.MemoryStorage
	if _, err := js.UpdateStream(c, bad); apiErrCode(err) != 10052 {
		t.Fatalf("storage change: %v", err)
	}

	names := js.StreamNames(c)
	var got []string
	for nm := range names.Name() {
		got = append(got, nm)
	}
	if len(got) != 1 || got[0] != "ORDERS" {
		t.Fatalf("names %v", got)
	}
	if err := js.DeleteStream(c, "ORDERS"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(c, "ORDERS"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := js.Publish(c, "orders.a", nil); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("publish after delete: %v", err)
	}
}

func TestStreamNamesAndListPaging(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	for i := 0; i < 30; i++ {
		mustStream(t, js, jetstream.StreamConfig{Name: fmt.Sprintf("S%02d", i), Subjects: []string{fmt.Sprintf("s.%d.*", i)}, Storage: jetstream.MemoryStorage})
	}
	m := request(t, nc, "$JS.API.STREAM.NAMES", `{"offset":25}`)
	if m["total"].(float64) != 30 || m["offset"].(float64) != 25 || len(m["streams"].([]any)) != 5 {
		t.Fatalf("names page: %v", m)
	}
	m = request(t, nc, "$JS.API.STREAM.NAMES", `{"subject":"s.7.x"}`)
	if st := m["streams"].([]any); len(st) != 1 || st[0] != "S07" {
		t.Fatalf("names by subject: %v", m)
	}
	m = request(t, nc, "$JS.API.STREAM.LIST", `{"subject":"s.*.y"}`)
	if m["total"].(float64) != 30 {
		t.Fatalf("list by wildcard subject: %v", m["total"])
	}
	count := 0
	for info := range js.ListStreams(c, jetstream.WithStreamListSubject("s.3.*")).Info() {
		if info.Config.Name != "S03" {
			t.Fatalf("list: %s", info.Config.Name)
		}
		count++
	}
	if count != 1 {
		t.Fatalf("list count %d", count)
	}
}

func TestStreamInfoDetails(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "D", Subjects: []string{"d.*"}})
	for i := 0; i < 10; i++ {
		if _, err := js.Publish(c, fmt.Sprintf("d.%d", i%3), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range []uint64{2, 4, 6} {
		if err := s.DeleteMsg(c, seq); err != nil {
			t.Fatal(err)
		}
	}
	info, err := s.Info(c, jetstream.WithDeletedDetails(true), jetstream.WithSubjectFilter("d.*"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.State.Deleted, []uint64{2, 4, 6}) || info.State.NumDeleted != 3 {
		t.Fatalf("deleted %v (%d)", info.State.Deleted, info.State.NumDeleted)
	}
	if info.State.Subjects["d.0"] != 3 || info.State.Subjects["d.1"] != 2 || len(info.State.Subjects) != 3 {
		t.Fatalf("subjects %v", info.State.Subjects)
	}
	if info.State.Msgs != 7 || info.State.NumSubjects != 3 {
		t.Fatalf("state %+v", info.State)
	}
}

func TestPurgeVariants(t *testing.T) {
	cases := []struct {
		name      string
		opts      []jetstream.StreamPurgeOpt
		wantMsgs  uint64
		wantFirst uint64
	}{
		{"all", nil, 0, 11},
		{"subject", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject("p.a")}, 5, 2},
		{"subject keep", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject("p.a"), jetstream.WithPurgeKeep(2)}, 7, 2},
		{"keep", []jetstream.StreamPurgeOpt{jetstream.WithPurgeKeep(3)}, 3, 8},
		{"sequence", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSequence(6)}, 5, 6},
		{"subject sequence", []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject("p.a"), jetstream.WithPurgeSequence(6)}, 7, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t, "", nil)
			_, js := connect(t, n)
			c := ctx(t)
			s := mustStream(t, js, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.*"}})
			for i := 1; i <= 10; i++ {
				subj := "p.b"
				if i%2 == 1 {
					subj = "p.a"
				}
				if _, err := js.Publish(c, subj, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Purge(c, tc.opts...); err != nil {
				t.Fatal(err)
			}
			info, err := s.Info(c)
			if err != nil {
				t.Fatal(err)
			}
			if info.State.Msgs != tc.wantMsgs || info.State.FirstSeq != tc.wantFirst {
				t.Fatalf("after purge: msgs %d first %d, want %d %d", info.State.Msgs, info.State.FirstSeq, tc.wantMsgs, tc.wantFirst)
			}
		})
	}
}

func TestMsgGetAndDelete(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "M", Subjects: []string{"m.*"}})
	msg := nats.NewMsg("m.a")
	msg.Header.Set("X-Key", "v")
	msg.Data = []byte("one")
	if _, err := js.PublishMsg(c, msg); err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"m.b", "m.a", "m.b"} {
		if _, err := js.Publish(c, subj, []byte(subj)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetMsg(c, 1)
	if err != nil || string(got.Data) != "one" || got.Header.Get("X-Key") != "v" {
		t.Fatalf("get 1: %v %+v", err, got)
	}
	last, err := s.GetLastMsgForSubject(c, "m.b")
	if err != nil || last.Sequence != 4 {
		t.Fatalf("last m.b: %v %+v", err, last)
	}
	next, err := s.GetMsg(c, 2, jetstream.WithGetMsgSubject("m.a"))
	if err != nil || next.Sequence != 3 {
		t.Fatalf("next m.a from 2: %v %+v", err, next)
	}
	if err := s.SecureDeleteMsg(c, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(c, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetMsg(c, 3); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.DeleteMsg(c, 3); err == nil || !strings.Contains(err.Error(), "err_code=10043") {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestTranscriptInfoPaging pages through more subjects than one INFO
// reply holds (100 000), deleted details, and NAMES/LIST past their page
// sizes (1024 and 256), with subject filters, against the reference's
// replies.
func TestTranscriptInfoPaging(t *testing.T) {
	goldenTranscript(t, "info-paging", func(t *testing.T, tg *target, w *strings.Builder) {
		nc, js := tg.connect(t, jetstream.WithPublishAsyncMaxPending(4096))
		if _, err := js.CreateStream(ctx(t), jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}, Storage: jetstream.MemoryStorage}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100100; i++ {
			if _, err := js.PublishAsync("p."+strconv.Itoa(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			t.Fatal("acks")
		}
		for i := 1; i < 40; i += 3 {
			request(t, nc, "$JS.API.STREAM.MSG.DELETE.P", fmt.Sprintf(`{"seq":%d,"no_erase":true}`, i))
		}
		for _, b := range []string{`{"subjects_filter":">"}`, `{"subjects_filter":">","offset":100000}`,
			`{"subjects_filter":">","offset":99999}`, `{"subjects_filter":">","offset":200000}`,
			`{"subjects_filter":">","offset":-3}`, `{"subjects_filter":"p.1*"}`, `{"subjects_filter":"p.1"}`,
			`{"subjects_filter":"p.1000*"}`, `{"subjects_filter":"q.>"}`,
			`{"deleted_details":true}`, `{"deleted_details":true,"offset":5}`,
			`{"subjects_filter":"p.12345","deleted_details":true}`, `{"offset":3}`} {
			m := request(t, nc, "$JS.API.STREAM.INFO.P", b)
			st := m["state"].(map[string]any)
			subs, _ := st["subjects"].(map[string]any)
			keys := make([]string, 0, len(subs))
			for k := range subs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if len(keys) > 3 {
				keys = append(keys[:2], "...", keys[len(keys)-1])
			}
			fmt.Fprintf(w, "INFO %s: total=%v offset=%v limit=%v num_subjects=%v subjects=%d %v deleted=%v num_deleted=%v error=%v\n",
				b, m["total"], m["offset"], m["limit"], st["num_subjects"], len(subs), keys, st["deleted"], st["num_deleted"], m["error"])
		}
		for i := 0; i < 300; i++ {
			request(t, nc, fmt.Sprintf("$JS.API.STREAM.CREATE.S%03d", i), fmt.Sprintf(`{"name":"S%03d","subjects":["s.%d"],"storage":"memory"}`, i, i))
		}
		for _, c := range [][2]string{{"$JS.API.STREAM.NAMES", ``}, {"$JS.API.STREAM.NAMES", `{"offset":1000}`},
			{"$JS.API.STREAM.LIST", ``}, {"$JS.API.STREAM.LIST", `{"offset":256}`}, {"$JS.API.STREAM.LIST", `{"offset":300}`},
			{"$JS.API.STREAM.LIST", `{"offset":301}`}, {"$JS.API.STREAM.LIST", `{"offset":-5}`},
			{"$JS.API.STREAM.NAMES", `{"subject":"s.*"}`}, {"$JS.API.STREAM.NAMES", `{"subject":"s.>","offset":290}`},
			{"$JS.API.STREAM.LIST", `{"subject":"p.x"}`}, {"$JS.API.STREAM.LIST", `{"subject":"s.1","offset":1}`},
			{"$JS.API.STREAM.NAMES", `{"subject":"zz"}`}, {"$JS.API.STREAM.NAMES", `{"subject":"bad..subject"}`}} {
			m := request(t, nc, c[0], c[1])
			ss, _ := m["streams"].([]any)
			var names []string
			for _, s := range ss {
				if info, ok := s.(map[string]any); ok {
					names = append(names, info["config"].(map[string]any)["name"].(string))
				} else {
					names = append(names, s.(string))
				}
			}
			if len(names) > 3 {
				names = append(names[:2], "...", names[len(names)-1])
			}
			fmt.Fprintf(w, "%s %s: total=%v offset=%v limit=%v n=%d %v error=%v missing=%v\n",
				c[0], c[1], m["total"], m["offset"], m["limit"], len(ss), names, m["error"], m["missing"])
		}
	})
}
