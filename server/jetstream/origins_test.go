package jetstream_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Mirrors and sources copy in the background: the tests wait for the
// stream info to show the copy (nothing else reports it).

func info(t *testing.T, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	s, err := js.Stream(ctx(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return s.CachedInfo()
}

// waitLast waits until stream name's last sequence is last.
func waitLast(t *testing.T, js jetstream.JetStream, name string, last uint64) *jetstream.StreamInfo {
	t.Helper()
	var i *jetstream.StreamInfo
	waitFor(t, 10*time.Second, fmt.Sprintf("%s to reach sequence %d", name, last), func() bool {
		i = info(t, js, name)
		return i.State.LastSeq == last
	})
	return i
}

// waitMsgs waits until stream name holds n messages.
func waitMsgs(t *testing.T, js jetstream.JetStream, name string, n uint64) *jetstream.StreamInfo {
	t.Helper()
	var i *jetstream.StreamInfo
	waitFor(t, 10*time.Second, fmt.Sprintf("%s to hold %d messages", name, n), func() bool {
		i = info(t, js, name)
		return i.State.Msgs == n
	})
	return i
}

func publish(t *testing.T, js jetstream.JetStream, subject, data string, hdr ...string) *jetstream.PubAck {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = []byte(data)
	for i := 0; i+1 < len(hdr); i += 2 {
		m.Header.Set(hdr[i], hdr[i+1])
	}
	ack, err := js.PublishMsg(ctx(t), m)
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	return ack
}

// sourceSeq is the origin sequence in a copy's Nats-Stream-Source.
func sourceSeq(t *testing.T, m *jetstream.RawStreamMsg) (string, uint64) {
	t.Helper()
	f := strings.Split(m.Header.Get("Nats-Stream-Source"), " ")
	if len(f) < 5 {
		t.Fatalf("message %d: Nats-Stream-Source %q", m.Sequence, m.Header.Get("Nats-Stream-Source"))
	}
	n, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f[0], n
}

func TestMirrorCopiesExactly(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	o := mustStream(t, js, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.>"}, AllowDirect: true})
	for i := 1; i <= 10; i++ {
		publish(t, js, fmt.Sprintf("o.%d", i%3), fmt.Sprint("m", i), "X-I", fmt.Sprint(i), "Nats-Msg-Id", fmt.Sprint("id", i))
	}
	if err := o.DeleteMsg(c, 4); err != nil {
		t.Fatal(err)
	}
	mustStream(t, js, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O"}})
	mi := waitLast(t, js, "M", 10)
	if mi.State.Msgs != 9 || mi.State.FirstSeq != 1 || mi.State.NumDeleted != 1 || !mi.Config.MirrorDirect {
		t.Fatalf("mirror %+v, mirror_direct %v", mi.State, mi.Config.MirrorDirect)
	}
	m, _ := js.Stream(c, "M")
	sameMessages(t, o, m, 1, 10)

	// It follows live publishes.
	for i := 11; i <= 15; i++ {
		publish(t, js, "o.live", fmt.Sprint("m", i))
	}
	waitLast(t, js, "M", 15)
	sameMessages(t, o, m, 11, 15)

	// The info, as the reference shows it.
	resp := request(t, nc, "$JS.API.STREAM.INFO.M", nil)
	mir, _ := resp["mirror"].(map[string]any)
	if mir["name"] != "O" || mir["lag"] != float64(0) || mir["active"].(float64) < 0 || mir["error"] != nil || mir["seq"] != nil {
		t.Fatalf("mirror info %v", mir)
	}

	// With its origin gone, the mirror answers the origin's direct gets.
	if err := js.DeleteStream(c, "O"); err != nil {
		t.Fatal(err)
	}
	dm, err := nc.Request("$JS.API.DIRECT.GET.O", []byte(`{"seq":2}`), 2*time.Second)
	if err != nil || string(dm.Data) != "m2" || dm.Header.Get("Nats-Stream") != "M" {
		t.Fatalf("direct get through the mirror: %v %v", err, dm)
	}
	waitFor(t, 5*time.Second, "the mirror's error", func() bool {
		mir, _ := request(t, nc, "$JS.API.STREAM.INFO.M", nil)["mirror"].(map[string]any)
		e, _ := mir["error"].(map[string]any)
		return e["err_code"] == float64(10059) && e["code"] == float64(404) && e["description"] == "stream not found"
	})
}

func TestMirrorFiltersAndStarts(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.>"}})
	var times []time.Time
	for i := 1; i <= 8; i++ {
		subj := "o.a"
		if i%2 == 0 {
			subj = "o.b"
		}
		ack := publish(t, js, subj, fmt.Sprint(i))
		s, _ := js.Stream(ctx(t), "O")
		m, _ := s.GetMsg(ctx(t), ack.Sequence)
		times = append(times, m.Time)
	}
	cases := []struct {
		name            string
		src             jetstream.StreamSource
		first, last     uint64
		msgs            uint64
		subjectOfSecond string // subject of the message at first+1 (or first)
	}{
		{"filter", jetstream.StreamSource{FilterSubject: "o.b"}, 2, 8, 4, "o.b"},
		{"transform", jetstream.StreamSource{SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "o.a", Destination: "x.a"}}}, 1, 7, 4, "x.a"},
		{"start seq", jetstream.StreamSource{OptStartSeq: 5}, 5, 8, 4, "o.b"},
		{"start time", jetstream.StreamSource{OptStartTime: &times[5]}, 6, 8, 3, "o.a"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprint("M", i)
			src := tc.src
			src.Name = "O"
			mustStream(t, js, jetstream.StreamConfig{Name: name, Mirror: &src})
			mi := waitLast(t, js, name, tc.last)
			if mi.State.FirstSeq != tc.first || mi.State.Msgs != tc.msgs {
				t.Fatalf("state %+v", mi.State)
			}
			s, _ := js.Stream(ctx(t), name)
			m, err := s.GetMsg(ctx(t), tc.first+1)
			if err != nil {
				m, err = s.GetMsg(ctx(t), tc.first+2)
			}
			if err != nil || m.Subject != tc.subjectOfSecond {
				t.Fatalf("message after the first: %v %+v", err, m)
			}
		})
	}
}

func TestSourcesAggregate(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "A", Subjects: []string{"a.>"}})
	mustStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}})
	for i := 1; i <= 6; i++ {
		publish(t, js, fmt.Sprint("a.", i%2), fmt.Sprint("a", i), "Nats-Expected-Last-Sequence", fmt.Sprint(i-1), "X-Keep", "yes")
		publish(t, js, fmt.Sprint("b.", i%3), fmt.Sprint("b", i))
	}
	mustStream(t, js, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.own"}, Sources: []*jetstream.StreamSource{
		{Name: "A", FilterSubject: "a.1"},
		{Name: "B", OptStartSeq: 3, SubjectTransforms: []jetstream.SubjectTransformConfig{
			{Source: "b.1", Destination: "s.b1"}, {Source: "b.2", Destination: ""}}},
	}})
	// a.1: A's 1,3,5; b.1 and b.2 from B's third on: 4 (b.1), 5 (b.2).
	si := waitMsgs(t, js, "S", 5)
	s, _ := js.Stream(c, "S")
	seen := map[string][]uint64{}
	for seq := uint64(1); seq <= si.State.LastSeq; seq++ {
		m, err := s.GetMsg(c, seq)
		if err != nil {
			t.Fatal(err)
		}
		origin, oseq := sourceSeq(t, m)
		seen[origin] = append(seen[origin], oseq)
		hdr := m.Header.Get("Nats-Stream-Source")
		switch origin {
		case "A":
			if m.Subject != "a.1" || !strings.HasPrefix(hdr, fmt.Sprintf("A %d a.1 > a.1 ", oseq)) {
				t.Fatalf("copy of A: %s %q", m.Subject, hdr)
			}
			if m.Header.Get("Nats-Expected-Last-Sequence") != "" || m.Header.Get("X-Keep") != "yes" {
				t.Fatalf("copy headers %v", m.Header)
			}
		case "B":
			want := map[uint64]string{4: "s.b1", 5: "b.2"}[oseq]
			if m.Subject != want || !strings.HasPrefix(hdr, fmt.Sprintf("B %d b.1\fb.2 s.b1\f> b.%d ", oseq, oseq%3)) {
				t.Fatalf("copy of B %d: %s %q", oseq, m.Subject, hdr)
			}
		}
	}
	if fmt.Sprint(seen["A"]) != "[1 3 5]" || fmt.Sprint(seen["B"]) != "[4 5]" {
		t.Fatalf("copied %v", seen)
	}

	// Live: both origins, and the stream's own subject.
	publish(t, js, "a.1", "a-live")
	publish(t, js, "b.1", "b-live")
	publish(t, js, "s.own", "own")
	waitMsgs(t, js, "S", 8)

	// The info, as the reference shows it: per source what it reads, its
	// lag, activity and the last origin sequence copied.
	resp := request(t, nc, "$JS.API.STREAM.INFO.S", nil)
	srcs, _ := resp["sources"].([]any)
	if len(srcs) != 2 {
		t.Fatalf("sources info %v", resp["sources"])
	}
	a, b := srcs[0].(map[string]any), srcs[1].(map[string]any)
	if a["name"] != "A" || a["filter_subject"] != "a.1" || a["seq"] != float64(7) || a["lag"] != float64(0) || a["error"] != nil {
		t.Fatalf("source A info %v", a)
	}
	tr, _ := json.Marshal(b["subject_transforms"])
	if b["name"] != "B" || b["seq"] != float64(7) || string(tr) != `[{"dest":"s.b1","src":"b.1"},{"dest":"","src":"b.2"}]` ||
		b["filter_subject"] != nil || b["active"].(float64) < 0 {
		t.Fatalf("source B info %v (%s)", b, tr)
	}
}

// TestSourceDiscardNewRetries: a source whose destination refuses
// messages (discard new) waits, and goes on once there is room.
func TestSourceDiscardNewRetries(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}})
	for i := 1; i <= 10; i++ {
		publish(t, js, "o", fmt.Sprint(i))
	}
	d := mustStream(t, js, jetstream.StreamConfig{Name: "D", MaxMsgs: 4, Discard: jetstream.DiscardNew,
		Sources: []*jetstream.StreamSource{{Name: "O"}}})
	waitMsgs(t, js, "D", 4)
	if err := d.Purge(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitLast(t, js, "D", 8)
	if err := d.Purge(ctx(t)); err != nil {
		t.Fatal(err)
	}
	i := waitLast(t, js, "D", 10)
	m, err := d.GetMsg(ctx(t), 10)
	if _, oseq := sourceSeq(t, m); err != nil || oseq != 10 || i.State.Msgs != 2 {
		t.Fatalf("last copy %v %d, state %+v", err, oseq, i.State)
	}
}

// TestOriginsCatchUpAfterRestart: a mirror and a source resume exactly
// where they were after a restart: no message twice, none missing.
func TestOriginsCatchUpAfterRestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, nil)
	_, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.*"}})
	mustStream(t, js, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O", FilterSubject: "o.a"}})
	mustStream(t, js, jetstream.StreamConfig{Name: "S", Sources: []*jetstream.StreamSource{{Name: "O"}}})
	mustStream(t, js, jetstream.StreamConfig{Name: "MEM", Storage: jetstream.MemoryStorage, Sources: []*jetstream.StreamSource{{Name: "O"}}})
	for i := 1; i <= 100; i++ {
		publish(t, js, []string{"o.a", "o.b"}[i%2], fmt.Sprint(i))
	}
	waitMsgs(t, js, "S", 100)
	waitLast(t, js, "M", 100)
	n.Shutdown()

	n = startNode(t, dir, nil)
	_, js = connect(t, n)
	// A memory stream starts empty again and sources everything anew.
	waitMsgs(t, js, "MEM", 100)
	for i := 101; i <= 150; i++ {
		publish(t, js, []string{"o.a", "o.b"}[i%2], fmt.Sprint(i))
	}
	si := waitMsgs(t, js, "S", 150)
	mi := waitLast(t, js, "M", 150)
	if si.State.LastSeq != 150 || mi.State.Msgs != 75 {
		t.Fatalf("source %+v, mirror %+v", si.State, mi.State)
	}
	s, _ := js.Stream(ctx(t), "S")
	for seq := uint64(1); seq <= 150; seq++ {
		m, err := s.GetMsg(ctx(t), seq)
		if err != nil {
			t.Fatal(err)
		}
		if _, oseq := sourceSeq(t, m); oseq != seq || string(m.Data) != fmt.Sprint(seq) {
			t.Fatalf("copy %d is of origin message %d (%q)", seq, oseq, m.Data)
		}
	}
	o, _ := js.Stream(ctx(t), "O")
	m, _ := js.Stream(ctx(t), "M")
	for seq := uint64(2); seq <= 150; seq += 2 {
		sameMessages(t, o, m, seq, seq)
	}
}

// TestOriginDeletedAndRecreated: meanwhile both report the origin
// missing; then a source starts over from the new origin's beginning
// (another incarnation), and a mirror waits for the new origin to pass
// its last sequence, as the reference does.
func TestOriginDeletedAndRecreated(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}})
	for i := 1; i <= 3; i++ {
		publish(t, js, "o", fmt.Sprint("old", i))
	}
	mustStream(t, js, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O"}})
	mustStream(t, js, jetstream.StreamConfig{Name: "S", Sources: []*jetstream.StreamSource{{Name: "O"}}})
	waitLast(t, js, "M", 3)
	waitLast(t, js, "S", 3)
	if err := js.DeleteStream(c, "O"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the source's error", func() bool {
		srcs, _ := request(t, nc, "$JS.API.STREAM.INFO.S", nil)["sources"].([]any)
		e, _ := srcs[0].(map[string]any)["error"].(map[string]any)
		return e["err_code"] == float64(10059)
	})
	mustStream(t, js, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}})
	for i := 1; i <= 2; i++ {
		publish(t, js, "o", fmt.Sprint("new", i))
	}
	waitLast(t, js, "S", 5)
	s, _ := js.Stream(c, "S")
	if m, err := s.GetMsg(c, 4); err != nil || string(m.Data) != "new1" {
		t.Fatalf("first copy from the new origin: %v %v", err, m)
	}
	// The mirror is at 3: the new origin's 1 and 2 are behind it.
	publish(t, js, "o", "new3")
	publish(t, js, "o", "new4")
	mi := waitLast(t, js, "M", 4)
	mm, _ := js.Stream(c, "M")
	if m, err := mm.GetMsg(c, 4); err != nil || string(m.Data) != "new4" || mi.State.Msgs != 4 || mi.Mirror.Error != nil {
		t.Fatalf("mirror after re-creation: %v %v %+v", err, m, mi.Mirror)
	}
}

// TestSourcesUpdate: sources added by an update start copying; removed
// ones stop; removing a mirror promotes the stream.
func TestSourcesUpdate(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "A", Subjects: []string{"a"}})
	mustStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b"}})
	publish(t, js, "a", "a1")
	publish(t, js, "b", "b1")
	mustStream(t, js, jetstream.StreamConfig{Name: "S", Sources: []*jetstream.StreamSource{{Name: "A"}}})
	waitMsgs(t, js, "S", 1)
	if _, err := js.UpdateStream(c, jetstream.StreamConfig{Name: "S", Sources: []*jetstream.StreamSource{{Name: "A"}, {Name: "B"}}}); err != nil {
		t.Fatal(err)
	}
	waitMsgs(t, js, "S", 2)
	if _, err := js.UpdateStream(c, jetstream.StreamConfig{Name: "S", Sources: []*jetstream.StreamSource{{Name: "B"}}}); err != nil {
		t.Fatal(err)
	}
	publish(t, js, "a", "a2") // no longer sourced
	publish(t, js, "b", "b2")
	si := waitMsgs(t, js, "S", 3)
	s, _ := js.Stream(c, "S")
	if m, err := s.GetMsg(c, si.State.LastSeq); err != nil || string(m.Data) != "b2" || len(si.Sources) != 1 {
		t.Fatalf("after removing A: %v %v %+v", err, m, si.Sources)
	}

	mustStream(t, js, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "A"}})
	waitLast(t, js, "M", 2)
	if _, err := js.UpdateStream(c, jetstream.StreamConfig{Name: "M", Subjects: []string{"m"}}); err != nil {
		t.Fatal(err)
	}
	publish(t, js, "a", "a3")
	if ack := publish(t, js, "m", "own"); ack.Stream != "M" || ack.Sequence != 3 {
		t.Fatalf("promoted mirror: %+v", ack)
	}
}

// TestOriginsKillRestart SIGKILLs a server while a mirror and a source
// follow an origin under load; after the restart both finish the copy
// with every origin message exactly once, in order.
func TestOriginsKillRestart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	dir := t.TempDir()
	p := startProcess(t, dir)
	nc, err := nats.Connect(p.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
	mustStream(t, js, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.*"}})
	mustStream(t, js, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O"}})
	mustStream(t, js, jetstream.StreamConfig{Name: "S", Sources: []*jetstream.StreamSource{{Name: "O", FilterSubject: "o.*"}}})
	var acked atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			f, err := js.PublishAsync(fmt.Sprintf("o.%d", i%5), []byte(fmt.Sprint(i)))
			if err != nil {
				return
			}
			go func() {
				select {
				case <-f.Ok():
					acked.Add(1)
				case <-f.Err():
				}
			}()
		}
	}()
	waitFor(t, 20*time.Second, "acks before the kill", func() bool { return acked.Load() >= 5000 })
	_, js2 := killAndRestart(t, p, nc, done, dir)
	last := info(t, js2, "O").State.LastSeq
	if last < 5000 {
		t.Fatalf("origin after the kill: %d messages", last)
	}
	waitLast(t, js2, "M", last)
	si := waitMsgs(t, js2, "S", last)
	if si.State.LastSeq != last {
		t.Fatalf("source state %+v", si.State)
	}
	s, _ := js2.Stream(ctx(t), "S")
	for seq := uint64(1); seq <= last; seq++ {
		m, err := s.GetMsg(ctx(t), seq)
		if err != nil {
			t.Fatal(err)
		}
		if _, oseq := sourceSeq(t, m); oseq != seq {
			t.Fatalf("copy %d is of origin message %d", seq, oseq)
		}
	}
}

// TestSourcedCountersAddUp: a counter stream sourcing counter streams
// keeps their sum, with the reference's Nats-Counter-Sources bookkeeping.
func TestSourcedCountersAddUp(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "C1", Subjects: []string{"c1.>"}, AllowMsgCounter: true})
	mustStream(t, js, jetstream.StreamConfig{Name: "C2", Subjects: []string{"c2.>"}, AllowMsgCounter: true})
	mustStream(t, js, jetstream.StreamConfig{Name: "AG", AllowMsgCounter: true, Sources: []*jetstream.StreamSource{
		{Name: "C1", SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "c1.x", Destination: "t.x"}}},
		{Name: "C2", SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "c2.x", Destination: "t.x"}}},
	}})
	for i, p := range []struct{ subj, incr string }{{"c1.x", "5"}, {"c2.x", "3"}, {"c1.x", "2"}, {"c2.x", "-10"}} {
		publish(t, js, p.subj, "", "Nats-Incr", p.incr)
		waitMsgs(t, js, "AG", uint64(i+1))
	}
	ag, _ := js.Stream(c, "AG")
	m, err := ag.GetLastMsgForSubject(c, "t.x")
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != `{"val":"0"}` || m.Header.Get("Nats-Incr") != "-10" ||
		m.Header.Get("Nats-Counter-Sources") != `{"C1":{"c1.x":"7"},"C2":{"c2.x":"-7"}}` {
		t.Fatalf("aggregate %s %v", m.Data, m.Header)
	}
}
