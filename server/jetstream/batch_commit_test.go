package jetstream_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keelhq/keel/blockstore"
	keeljs "github.com/keelhq/keel/server/jetstream"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// recordingStore counts how a stream hands stores to the engine and can
// spoil one command of the next batch, so that the engine refuses it.
type recordingStore struct {
	blockstore.Stream
	mu      sync.Mutex
	single  int   // OpStore commands applied one at a time
	batches []int // command count of each ApplyBatch
	spoil   int   // 1-based index of the command to give a wrong sequence (0: none)
}

func (r *recordingStore) Apply(cmd *blockstore.Command) (blockstore.Result, error) {
	r.mu.Lock()
	if cmd.Op == blockstore.OpStore {
		r.single++
	}
	r.mu.Unlock()
	return r.Stream.Apply(cmd)
}

func (r *recordingStore) ApplyBatch(cmds []*blockstore.Command) ([]blockstore.Result, error) {
	r.mu.Lock()
	r.batches = append(r.batches, len(cmds))
	if r.spoil > 0 && r.spoil <= len(cmds) {
		cmds[r.spoil-1].Seq += 7
		r.spoil = 0
	}
	r.mu.Unlock()
	return r.Stream.ApplyBatch(cmds)
}

func (r *recordingStore) counts() (int, []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.single, append([]int(nil), r.batches...)
}

// TestAtomicBatchOneEngineOperation checks that a committed atomic batch
// reaches the engine as one ApplyBatch (one WAL record, all or none
// across a crash), and that when the engine refuses one of its commands
// none of the batch is stored.
func TestAtomicBatchOneEngineOperation(t *testing.T) {
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		t.Run(storage.String(), func(t *testing.T) {
			n := startNode(t, "", nil)
			_, js := connect(t, n)
			c := ctx(t)
			s := mustStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.*"}, AllowAtomicPublish: true, Storage: storage})
			if _, err := js.Publish(c, "b.before", nil); err != nil {
				t.Fatal(err)
			}
			rec := &recordingStore{}
			if !keeljs.WrapStore(n.JetStream(), "B", func(st blockstore.Stream) blockstore.Stream { rec.Stream = st; return rec }) {
				t.Fatal("stream B not found")
			}
			batch := func(size int) []*nats.Msg {
				msgs := make([]*nats.Msg, size)
				for i := range msgs {
					msgs[i] = nats.NewMsg(fmt.Sprintf("b.%d", i%3))
					msgs[i].Data = []byte(strconv.Itoa(i))
				}
				return msgs
			}

			ack, err := jetstreamext.PublishMsgBatch(c, js, batch(25))
			if err != nil || ack.Sequence != 26 || ack.BatchSize != 25 {
				t.Fatalf("batch: %v %+v", err, ack)
			}
			if single, batches := rec.counts(); single != 0 || len(batches) != 1 || batches[0] != 25 {
				t.Fatalf("engine saw %d single stores and batches %v, want one batch of 25", single, batches)
			}

			// The engine refuses the 5th command: nothing of the batch stays.
			rec.mu.Lock()
			rec.spoil = 5
			rec.mu.Unlock()
			if _, err := jetstreamext.PublishMsgBatch(c, js, batch(10)); err == nil {
				t.Fatal("a batch the engine refused was acknowledged")
			}
			info, err := s.Info(c)
			if err != nil || info.State.Msgs != 26 || info.State.LastSeq != 26 {
				t.Fatalf("after a refused batch: %v %+v", err, info.State)
			}
			if ack, err := js.Publish(c, "b.after", nil); err != nil || ack.Sequence != 27 {
				t.Fatalf("publish after a refused batch: %v %+v", err, ack)
			}
		})
	}
}

// TestAtomicBatchKill commits atomic batches into a file stream while the
// server is SIGKILLed, restarts it, and checks that every batch is there
// whole or not at all, and every acknowledged batch whole.
func TestAtomicBatchKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	const size = 100
	dir := t.TempDir()
	p := startProcess(t, dir)
	nc, err := nats.Connect(p.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	mustStream(t, js, jetstream.StreamConfig{Name: "K", Subjects: []string{"k.>"}, AllowAtomicPublish: true})

	var mu sync.Mutex
	acked := map[int]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := 0; ; b++ {
			id := "batch-" + strconv.Itoa(b)
			for i := 1; i <= size; i++ {
				m := nats.NewMsg("k." + strconv.Itoa(b))
				m.Data = make([]byte, 256)
				m.Header.Set("Nats-Batch-Id", id)
				m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i))
				if i < size {
					if err := nc.PublishMsg(m); err != nil {
						return
					}
					continue
				}
				m.Header.Set("Nats-Batch-Commit", "1")
				resp, err := nc.RequestMsg(m, 5*time.Second)
				if err != nil {
					return
				}
				var ack struct {
					Seq   uint64 `json:"seq"`
					Error any    `json:"error"`
				}
				if json.Unmarshal(resp.Data, &ack) == nil && ack.Error == nil && ack.Seq > 0 {
					mu.Lock()
					acked[b] = true
					mu.Unlock()
				}
			}
		}
	}()
	waitFor(t, 30*time.Second, "batches before the kill", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 10
	})
	p2, js2 := killAndRestart(t, p, nc, done, dir)
	s, err := js2.Stream(ctx(t), "K")
	if err != nil {
		t.Fatalf("stream after kill: %v\n%s", err, p2.log.String())
	}
	info, err := s.Info(ctx(t), jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	for subj, n := range info.State.Subjects {
		if n != size {
			t.Errorf("%s: %d of %d messages after the kill", subj, n, size)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for b := range acked {
		if info.State.Subjects["k."+strconv.Itoa(b)] != size {
			t.Errorf("acknowledged batch %d lost", b)
		}
	}
	if info.State.Msgs != uint64(len(info.State.Subjects))*size {
		t.Errorf("%d messages in %d subjects", info.State.Msgs, len(info.State.Subjects))
	}
}

// TestAtomicBatchDecided checks what a batch decides before the engine
// applies it: counter totals run through the batch, and a roll-up purges
// what was stored before it but nothing of the batch.
func TestAtomicBatchDecided(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	c := ctx(t)

	cs := mustStream(t, js, jetstream.StreamConfig{Name: "C", Subjects: []string{"c.*"}, AllowAtomicPublish: true, AllowMsgCounter: true})
	incr := func(subj, by string) *nats.Msg {
		m := nats.NewMsg(subj)
		m.Header.Set("Nats-Incr", by)
		return m
	}
	if _, err := jetstreamext.PublishMsgBatch(c, js, []*nats.Msg{incr("c.a", "5"), incr("c.b", "1"), incr("c.a", "-2"), incr("c.a", "10")}); err != nil {
		t.Fatal(err)
	}
	for subj, want := range map[string]string{"c.a": `{"val":"13"}`, "c.b": `{"val":"1"}`} {
		m, err := cs.GetLastMsgForSubject(c, subj)
		if err != nil || string(m.Data) != want {
			t.Fatalf("%s: %v %s, want %s", subj, err, m.Data, want)
		}
	}

	// On an interest stream nobody listens to, a batch uses its sequences
	// and keeps nothing, as single publishes do.
	is := mustStream(t, js, jetstream.StreamConfig{Name: "I", Subjects: []string{"i.*"}, AllowAtomicPublish: true, Retention: jetstream.InterestPolicy})
	if ack, err := jetstreamext.PublishMsgBatch(c, js, []*nats.Msg{nats.NewMsg("i.a"), nats.NewMsg("i.b"), nats.NewMsg("i.a")}); err != nil || ack.Sequence != 3 {
		t.Fatalf("interest batch: %v %+v", err, ack)
	}
	if info, err := is.Info(c); err != nil || info.State.Msgs != 0 || info.State.LastSeq != 3 {
		t.Fatalf("interest stream after a batch: %v %+v", err, info.State)
	}
	if ack, err := js.Publish(c, "i.c", nil); err != nil || ack.Sequence != 4 {
		t.Fatalf("publish after the batch: %v %+v", err, ack)
	}

	// A message TTL is decided with the batch and honoured by the engine.
	ts := mustStream(t, js, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.*"}, AllowAtomicPublish: true, AllowMsgTTL: true})
	short := nats.NewMsg("t.short")
	short.Header.Set("Nats-TTL", "1s")
	if _, err := jetstreamext.PublishMsgBatch(c, js, []*nats.Msg{nats.NewMsg("t.keep"), short}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the batch message with a TTL to expire", func() bool {
		info, err := ts.Info(c)
		return err == nil && info.State.Msgs == 1
	})
	if _, err := ts.GetLastMsgForSubject(c, "t.keep"); err != nil {
		t.Fatalf("message without a TTL: %v", err)
	}

	rs := mustStream(t, js, jetstream.StreamConfig{Name: "R", Subjects: []string{"r.*"}, AllowAtomicPublish: true, AllowRollup: true})
	for _, subj := range []string{"r.a", "r.a", "r.b"} {
		if _, err := js.Publish(c, subj, nil); err != nil {
			t.Fatal(err)
		}
	}
	rollup := func(subj, how string) *nats.Msg {
		m := nats.NewMsg(subj)
		m.Header.Set("Nats-Rollup", how)
		return m
	}
	cases := []struct {
		name string
		msgs []*nats.Msg
		code int // 0: committed
		left uint64
	}{
		{"sub roll-up after the subject in the batch", []*nats.Msg{nats.NewMsg("r.a"), rollup("r.a", "sub")}, 10111, 3},
		{"all roll-up not first", []*nats.Msg{nats.NewMsg("r.b"), rollup("r.a", "all")}, 10111, 3},
		// r.a's two old messages go; the roll-up and the later r.a stay.
		{"sub roll-up first of its subject", []*nats.Msg{nats.NewMsg("r.b"), rollup("r.a", "sub"), nats.NewMsg("r.a")}, 0, 4},
		{"all roll-up first", []*nats.Msg{rollup("r.c", "all"), nats.NewMsg("r.a"), nats.NewMsg("r.b")}, 0, 3},
	}
	for _, tc := range cases {
		_, err := jetstreamext.PublishMsgBatch(c, js, tc.msgs)
		if code := apiErrCode(err); code != tc.code || (tc.code == 0 && err != nil) {
			t.Fatalf("%s: %v (code %d), want code %d", tc.name, err, code, tc.code)
		}
		info, err := rs.Info(c)
		if err != nil || info.State.Msgs != tc.left {
			t.Fatalf("%s: %v %d messages, want %d", tc.name, err, info.State.Msgs, tc.left)
		}
	}
}
