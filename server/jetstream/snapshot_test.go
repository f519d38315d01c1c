package jetstream_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/blockstore"
	keeljs "github.com/keelhq/keel/server/jetstream"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// backup is what a client keeps of a snapshot: the response's
// configuration and state (the CLI's backup.json) and the bytes.
type backup struct {
	Config json.RawMessage `json:"config"`
	State  json.RawMessage `json:"state"`
	data   []byte
	chunks int
}

// takeSnapshot runs the snapshot protocol as a client: it subscribes to
// its deliver subject, asks, answers every chunk that has a reply, and
// stops at the empty message that ends the transfer, returning its status.
func takeSnapshot(t *testing.T, nc *nats.Conn, stream string, req map[string]any) (*backup, string) {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if req == nil {
		req = map[string]any{}
	}
	req["deliver_subject"] = inbox
	resp := request(t, nc, "$JS.API.STREAM.SNAPSHOT."+stream, req)
	if errCode(resp) != 0 {
		t.Fatalf("snapshot %s: %v", stream, resp)
	}
	b := &backup{}
	raw, _ := json.Marshal(resp["config"])
	b.Config = raw
	raw, _ = json.Marshal(resp["state"])
	b.State = raw
	for {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("snapshot chunk: %v", err)
		}
		if len(m.Data) == 0 {
			return b, m.Header.Get("Status")
		}
		b.data = append(b.data, m.Data...)
		b.chunks++
		if m.Reply != "" {
			m.Respond(nil)
		}
	}
}

// restoreBackup runs the restore protocol: ask with the backup's
// configuration and state, send the bytes as chunks (each a request), end
// with an empty one. It returns the final reply, or the error reply a
// chunk got.
func restoreBackup(t *testing.T, nc *nats.Conn, stream string, b *backup, chunk int) map[string]any {
	t.Helper()
	req := fmt.Sprintf(`{"config":%s,"state":%s}`, b.Config, b.State)
	resp := request(t, nc, "$JS.API.STREAM.RESTORE."+stream, req)
	if errCode(resp) != 0 {
		return resp
	}
	deliver, _ := resp["deliver_subject"].(string)
	if !strings.HasPrefix(deliver, "$JS.SNAPSHOT.RESTORE."+stream+".") {
		t.Fatalf("deliver subject %q", deliver)
	}
	for off := 0; off < len(b.data); off += chunk {
		end := min(off+chunk, len(b.data))
		m, err := nc.Request(deliver, b.data[off:end], 5*time.Second)
		if err != nil {
			t.Fatalf("restore chunk at %d: %v", off, err)
		}
		if len(m.Data) > 0 {
			return decodeJSON(t, m.Data)
		}
	}
	m, err := nc.Request(deliver, nil, 10*time.Second)
	if err != nil {
		t.Fatalf("restore end: %v", err)
	}
	return decodeJSON(t, m.Data)
}

// sameMessages compares two streams message by message over a's range.
func sameMessages(t *testing.T, a, b jetstream.Stream, first, last uint64) {
	t.Helper()
	c := ctx(t)
	for seq := first; seq <= last; seq++ {
		ma, ea := a.GetMsg(c, seq)
		mb, eb := b.GetMsg(c, seq)
		if (ea != nil) != (eb != nil) {
			t.Fatalf("seq %d: %v / %v", seq, ea, eb)
		}
		if ea != nil {
			continue
		}
		if ma.Subject != mb.Subject || !bytes.Equal(ma.Data, mb.Data) || !ma.Time.Equal(mb.Time) ||
			fmt.Sprint(storedHeader(ma.Header)) != fmt.Sprint(storedHeader(mb.Header)) {
			t.Fatalf("seq %d differs:\n%+v\n%+v", seq, ma, mb)
		}
	}
}

// storedHeader drops what a direct get adds to a stored message's header
// (a stream with allow_direct answers GetMsg that way).
func storedHeader(h nats.Header) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		switch k {
		case "Nats-Stream", "Nats-Sequence", "Nats-Subject", "Nats-Time-Stamp", "Nats-Last-Sequence", "Nats-Num-Pending":
		default:
			out[k] = v
		}
	}
	return out
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	a, b := startNode(t, "", nil), startNode(t, "", nil)
	nca, jsa := connect(t, a)
	ncb, jsb := connect(t, b)
	c := ctx(t)
	cfg := jetstream.StreamConfig{
		Name: "RT", Subjects: []string{"rt.>"}, Description: "round trip", Metadata: map[string]string{"team": "a"},
		MaxMsgsPerSubject: 40, AllowDirect: true, Duplicates: time.Hour, Compression: jetstream.S2Compression,
		AllowRollup: true, MaxMsgSize: 4096,
	}
	sa := mustStream(t, jsa, cfg)
	for i := 1; i <= 300; i++ {
		m := nats.NewMsg(fmt.Sprintf("rt.%d", i%7))
		m.Header.Set("Nats-Msg-Id", fmt.Sprint("id-", i))
		m.Header.Set("X-I", fmt.Sprint(i))
		m.Data = bytes.Repeat([]byte{byte(i)}, i%200)
		if _, err := jsa.PublishMsg(c, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := sa.DeleteMsg(c, 250); err != nil {
		t.Fatal(err)
	}
	if err := sa.Purge(c, jetstream.WithPurgeSubject("rt.3")); err != nil {
		t.Fatal(err)
	}

	// Publishing goes on during the snapshot: what it holds is what the
	// response's state says.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := jsa.Publish(c, "rt.live", []byte(fmt.Sprint("live ", i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	bk, status := takeSnapshot(t, nca, "RT", map[string]any{"chunk_size": 1024, "window_size": 8192})
	close(stop)
	wg.Wait()
	if status != "204" {
		t.Fatalf("end status %q", status)
	}
	var st jsapi.StreamState
	if err := json.Unmarshal(bk.State, &st); err != nil {
		t.Fatal(err)
	}
	if st.Msgs == 0 || st.LastSeq < 300 || bk.chunks < 2 {
		t.Fatalf("snapshot state %+v in %d chunks", st, bk.chunks)
	}

	final := restoreBackup(t, ncb, "RT", bk, 64*1024)
	if errCode(final) != 0 || final["type"] != jsapi.StreamCreateResponseType {
		t.Fatalf("restore: %v", final)
	}
	sb, err := jsb.Stream(c, "RT")
	if err != nil {
		t.Fatal(err)
	}
	info := sb.CachedInfo()
	got := info.State
	if got.Msgs != st.Msgs || got.FirstSeq != st.FirstSeq || got.LastSeq != st.LastSeq ||
		got.Bytes != st.Bytes || got.NumDeleted != st.NumDeleted || got.NumSubjects != uint64(st.NumSubjects) {
		t.Fatalf("restored state %+v, snapshot said %+v", got, st)
	}
	if info.Config.Description != "round trip" || info.Config.Metadata["team"] != "a" || info.Config.MaxMsgsPerSubject != 40 ||
		!info.Config.AllowDirect || info.Config.Duplicates != time.Hour || info.Config.Compression != jetstream.S2Compression ||
		!info.Config.AllowRollup || info.Config.MaxMsgSize != 4096 || info.Created.IsZero() {
		t.Fatalf("restored config %+v", info.Config)
	}
	if ia := sa.CachedInfo(); !info.Created.Equal(ia.Created) {
		t.Fatalf("created %v, origin %v", info.Created, ia.Created)
	}
	sameMessages(t, sa, sb, st.FirstSeq, st.LastSeq)

	// The restored stream is a stream: its duplicate window came back and
	// publishing continues after its last sequence.
	m := nats.NewMsg("rt.1")
	m.Header.Set("Nats-Msg-Id", "id-300")
	if ack, err := jsb.PublishMsg(c, m); err != nil || !ack.Duplicate || ack.Sequence != 300 {
		t.Fatalf("duplicate after restore: %v %+v", err, ack)
	}
	if ack, err := jsb.Publish(c, "rt.1", nil); err != nil || ack.Sequence != st.LastSeq+1 {
		t.Fatalf("publish after restore: %v %+v", err, ack)
	}
}

func TestSnapshotRestoreMemoryStream(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "MEM", Subjects: []string{"mem.*"}, Storage: jetstream.MemoryStorage})
	for i := 0; i < 50; i++ {
		if _, err := js.Publish(c, fmt.Sprint("mem.", i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	bk, status := takeSnapshot(t, nc, "MEM", nil)
	if status != "204" {
		t.Fatalf("status %q", status)
	}
	// Restored under another name, from a configuration edited to match.
	bk.Config = bytes.Replace(bk.Config, []byte(`"name":"MEM"`), []byte(`"name":"MEM2"`), 1)
	bk.Config = bytes.Replace(bk.Config, []byte(`"mem.*"`), []byte(`"mem2.*"`), 1)
	if final := restoreBackup(t, nc, "MEM2", bk, 100); errCode(final) != 0 {
		t.Fatalf("restore: %v", final)
	}
	s2, err := js.Stream(c, "MEM2")
	if err != nil {
		t.Fatal(err)
	}
	if i := s2.CachedInfo(); i.Config.Storage != jetstream.MemoryStorage || i.State.Msgs != 50 || i.State.LastSeq != 50 {
		t.Fatalf("restored %+v %+v", i.Config, i.State)
	}
	sameMessages(t, s, s2, 1, 50)
}

// TestSnapshotFlowControl checks the window: no more than
// window_size/chunk_size chunks wait for an answer, each chunk's reply
// subject says its size and index, and an answer lets the next one go.
func TestSnapshotFlowControl(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "FC", Subjects: []string{"fc"}})
	payload := make([]byte, 2000)
	for i := range 100 {
		for j := range payload {
			payload[j] = byte((i*7919 + j*104729) >> 3) // does not compress away
		}
		if _, err := js.Publish(c, "fc", payload); err != nil {
			t.Fatal(err)
		}
	}
	inbox := nats.NewInbox()
	sub, _ := nc.SubscribeSync(inbox)
	resp := request(t, nc, "$JS.API.STREAM.SNAPSHOT.FC", map[string]any{"deliver_subject": inbox, "chunk_size": 1024, "window_size": 4096})
	if errCode(resp) != 0 || resp["type"] != jsapi.StreamSnapshotResponseType {
		t.Fatalf("snapshot: %v", resp)
	}
	var held []*nats.Msg
	for i := 1; i <= 4; i++ {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		want := fmt.Sprintf(".%d.%d", len(m.Data), i)
		if !strings.HasPrefix(m.Reply, "$JS.SNAPSHOT.ACK.FC.") || !strings.HasSuffix(m.Reply, want) || len(m.Data) != 1024 {
			t.Fatalf("chunk %d: %d bytes, reply %q", i, len(m.Data), m.Reply)
		}
		held = append(held, m)
	}
	if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("a fifth chunk without answers: %q", m.Reply)
	}
	held[0].Respond(nil)
	if m, err := sub.NextMsg(5 * time.Second); err != nil || !strings.HasSuffix(m.Reply, ".5") {
		t.Fatalf("after an answer: %v", err)
	}
	for _, m := range held[1:] {
		m.Respond(nil)
	}
	// The rest flows; the end is an empty 204.
	for {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Data) == 0 {
			if m.Header.Get("Status") != "204" {
				t.Fatalf("end %v", m.Header)
			}
			return
		}
		m.Respond(nil)
	}
}

// TestSnapshotNoFlowResponse: a receiver that never answers ends the
// snapshot with 408 after the ack timeout.
func TestSnapshotNoFlowResponse(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s ack timeout")
	}
	t.Parallel()
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "NF", Subjects: []string{"nf"}})
	for i := range 20 {
		if _, err := js.Publish(ctx(t), "nf", bytes.Repeat([]byte{byte(i)}, 3000)); err != nil {
			t.Fatal(err)
		}
	}
	inbox := nats.NewInbox()
	sub, _ := nc.SubscribeSync(inbox)
	request(t, nc, "$JS.API.STREAM.SNAPSHOT.NF", map[string]any{"deliver_subject": inbox, "chunk_size": 1024, "window_size": 1024})
	for {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Data) == 0 {
			if m.Header.Get("Status") != "408" || m.Header.Get("Description") != "No Flow Response" {
				t.Fatalf("end %v", m.Header)
			}
			return
		}
	}
}

func TestSnapshotRestoreErrors(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "A", Subjects: []string{"a"}})
	if _, err := js.Publish(c, "a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, subj, body string
		code             int
	}{
		{"snapshot empty request", "$JS.API.STREAM.SNAPSHOT.A", ``, 10003},
		{"snapshot empty object", "$JS.API.STREAM.SNAPSHOT.A", `{}`, 10003},
		{"snapshot missing stream", "$JS.API.STREAM.SNAPSHOT.NOPE", `{"deliver_subject":"x"}`, 10059},
		{"snapshot bad json", "$JS.API.STREAM.SNAPSHOT.A", `{"deliver_subject":`, 10025},
		{"snapshot no deliver subject", "$JS.API.STREAM.SNAPSHOT.A", `{"chunk_size":100}`, 10015},
		{"snapshot wildcard deliver subject", "$JS.API.STREAM.SNAPSHOT.A", `{"deliver_subject":"x.*"}`, 10015},
		{"snapshot reserved deliver subject", "$JS.API.STREAM.SNAPSHOT.A", `{"deliver_subject":"$JS.API.STREAM.INFO.A"}`, 10015},
		{"restore empty request", "$JS.API.STREAM.RESTORE.B", ``, 10003},
		{"restore bad json", "$JS.API.STREAM.RESTORE.B", `{"config":`, 10025},
		{"restore name mismatch", "$JS.API.STREAM.RESTORE.B", `{"config":{"name":"C"}}`, 10056},
		{"restore existing stream", "$JS.API.STREAM.RESTORE.A", `{"config":{"name":"A"}}`, 10130},
		{"restore bad config", "$JS.API.STREAM.RESTORE.B", `{"config":{"name":"B","max_age":1000}}`, 10052},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := request(t, nc, tc.subj, tc.body)
			if got := errCode(m); got != tc.code {
				t.Fatalf("err_code %d, want %d: %v", got, tc.code, m)
			}
			if strings.Contains(tc.subj, "RESTORE") {
				if _, ok := m["deliver_subject"]; !ok {
					t.Fatalf("restore error without deliver_subject: %v", m)
				}
			}
		})
	}

	good, status := takeSnapshot(t, nc, "A", nil)
	if status != "204" {
		t.Fatal(status)
	}
	meta := func(name string, data []byte) *backup {
		return &backup{Config: json.RawMessage(fmt.Sprintf(`{"name":%q}`, name)), State: json.RawMessage(`{}`), data: data}
	}
	var buf bytes.Buffer
	w := s2.NewWriter(&buf)
	w.Write([]byte("a tar file from somewhere else"))
	w.Close()
	corrupt := append([]byte(nil), good.data...)
	corrupt[len(corrupt)/2] ^= 0xff
	// Damage inside the engine's snapshot, under valid s2 framing.
	plain, err := io.ReadAll(s2.NewReader(bytes.NewReader(good.data)))
	if err != nil {
		t.Fatal(err)
	}
	plain[len(plain)-20] ^= 0x01
	var rebuilt bytes.Buffer
	w = s2.NewWriter(&rebuilt)
	w.Write(plain)
	w.Close()
	for _, tc := range []struct {
		stream string
		data   []byte
		want   string
	}{
		{"GARBAGE", []byte("garbage that is not a backup at all"), "restore failed"},
		{"NOTKEEL", buf.Bytes(), "not a Keel stream backup"},
		{"CHECKSUM", corrupt, "corrupt input"}, // a CRC or a length the framing refuses
		{"FRAME", rebuilt.Bytes(), "bad snapshot"},
		{"TRUNCATED", good.data[:len(good.data)-10], "corrupt input"},
		{"NOTHING", nil, "not a Keel stream backup: no data"},
	} {
		t.Run(tc.stream, func(t *testing.T) {
			final := restoreBackup(t, nc, tc.stream, meta(tc.stream, tc.data), 64)
			e, _ := final["error"].(map[string]any)
			desc, _ := e["description"].(string)
			if errCode(final) != 10062 || !strings.Contains(desc, tc.want) || final["type"] != jsapi.StreamCreateResponseType {
				t.Fatalf("final %v", final)
			}
			if _, err := js.Stream(c, tc.stream); err == nil {
				t.Fatal("a failed restore left a stream")
			}
		})
	}

	// One restore of a name at a time.
	first := request(t, nc, "$JS.API.STREAM.RESTORE.R", `{"config":{"name":"R"}}`)
	if errCode(first) != 0 {
		t.Fatal(first)
	}
	if m := request(t, nc, "$JS.API.STREAM.RESTORE.R", `{"config":{"name":"R"}}`); errCode(m) != 10130 {
		t.Fatalf("second restore: %v", m)
	}
	for off := 0; off < len(good.data); off += 512 {
		if _, err := nc.Request(first["deliver_subject"].(string), good.data[off:min(off+512, len(good.data))], 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	end, err := nc.Request(first["deliver_subject"].(string), nil, 5*time.Second)
	if err != nil || errCode(decodeJSON(t, end.Data)) != 0 {
		t.Fatalf("first restore: %v %s", err, end.Data)
	}
	if s, err := js.Stream(c, "R"); err != nil || s.CachedInfo().State.Msgs != 1 {
		t.Fatalf("restored R: %v", err)
	}
}

// TestSnapshotConsumerState: the consumers' aux records travel with the
// stream unless the snapshot is taken with no_consumers.
func TestSnapshotConsumerState(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "CS", Subjects: []string{"cs"}})
	es, ok := n.JetStream().Engine().Stream("CS")
	if !ok {
		t.Fatal("no engine stream")
	}
	key := keeljs.ConsumerAuxPrefix + "C1"
	if _, err := es.Apply(&blockstore.Command{Op: blockstore.OpSetAux, Key: key, Data: []byte(`{"state":1}`)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		noConsumers bool
	}{{"CSA", false}, {"CSB", true}} {
		bk, _ := takeSnapshot(t, nc, "CS", map[string]any{"no_consumers": tc.noConsumers})
		// Left out of the backup itself, not only dropped by the restore.
		raw, err := io.ReadAll(s2.NewReader(bytes.NewReader(bk.data)))
		if err != nil {
			t.Fatal(err)
		}
		if carried := bytes.Contains(raw, []byte(key)); carried == tc.noConsumers {
			t.Fatalf("%s: backup carries the consumer record: %v, with no_consumers=%v", tc.name, carried, tc.noConsumers)
		}
		bk.Config = bytes.Replace(bk.Config, []byte(`"name":"CS"`), []byte(fmt.Sprintf(`"name":%q`, tc.name)), 1)
		bk.Config = bytes.Replace(bk.Config, []byte(`"cs"`), []byte(fmt.Sprintf("%q", strings.ToLower(tc.name))), 1)
		if final := restoreBackup(t, nc, tc.name, bk, 4096); errCode(final) != 0 {
			t.Fatal(final)
		}
		rs, ok := n.JetStream().Engine().Stream(tc.name)
		if !ok {
			t.Fatal("not restored")
		}
		if got := rs.Aux(key); (got != nil) == tc.noConsumers {
			t.Fatalf("%s: consumer record %q with no_consumers=%v", tc.name, got, tc.noConsumers)
		}
	}
}

// TestSnapshotCheckMsgs: jsck (check_msgs) verifies every message before the
// snapshot starts; a healthy stream then snapshots and restores whole.
func TestSnapshotCheckMsgs(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	mustStream(t, js, jetstream.StreamConfig{Name: "CK", Subjects: []string{"ck.*"}})
	for i := range 100 {
		if _, err := js.Publish(c, fmt.Sprintf("ck.%d", i%4), bytes.Repeat([]byte("p"), i)); err != nil {
			t.Fatal(err)
		}
	}
	bk, status := takeSnapshot(t, nc, "CK", map[string]any{"jsck": true})
	var st jsapi.StreamState
	if err := json.Unmarshal(bk.State, &st); err != nil || status != "204" || st.Msgs != 100 {
		t.Fatalf("checked snapshot: %v status %q state %+v", err, status, st)
	}
	bk.Config = bytes.Replace(bk.Config, []byte(`"name":"CK"`), []byte(`"name":"CK2"`), 1)
	bk.Config = bytes.Replace(bk.Config, []byte(`"ck.*"`), []byte(`"ck2.*"`), 1)
	if final := restoreBackup(t, nc, "CK2", bk, 4096); errCode(final) != 0 {
		t.Fatal(final)
	}
	if s, err := js.Stream(c, "CK2"); err != nil || s.CachedInfo().State.Msgs != 100 {
		t.Fatalf("restored: %v", err)
	}
}
