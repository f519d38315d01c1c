package jetstream_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

func TestAtomicBatch(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	c := ctx(t)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.*"}, AllowAtomicPublish: true})

	bp, err := jetstreamext.NewBatchPublisher(js)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 9; i++ {
		if err := bp.Add(fmt.Sprintf("b.%d", i%3), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if s.CachedInfo().State.Msgs != 0 {
		t.Fatal("staged messages visible")
	}
	ack, err := bp.Commit(c, "b.last", []byte("end"))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Sequence != 10 || ack.BatchSize != 10 || ack.BatchID == "" {
		t.Fatalf("batch ack %+v", ack)
	}
	info, _ := s.Info(c)
	if info.State.Msgs != 10 {
		t.Fatalf("after commit %+v", info.State)
	}

	// A failing expectation inside the batch stores nothing.
	msgs := []*nats.Msg{nats.NewMsg("b.x"), nats.NewMsg("b.y")}
	msgs[1].Header.Set("Nats-Expected-Last-Sequence", "99")
	if _, err := jetstreamext.PublishMsgBatch(c, js, msgs); err == nil {
		t.Fatal("batch with a wrong expectation committed")
	}
	// The expectation counts the batch's own earlier messages.
	msgs = []*nats.Msg{nats.NewMsg("b.x"), nats.NewMsg("b.y")}
	msgs[1].Header.Set("Nats-Expected-Last-Sequence", "11")
	if ack, err = jetstreamext.PublishMsgBatch(c, js, msgs); err != nil || ack.Sequence != 12 {
		t.Fatalf("batch with a right expectation: %v %+v", err, ack)
	}
	if info, _ = s.Info(c); info.State.Msgs != 12 {
		t.Fatalf("after second batch %+v", info.State)
	}

	// Raw protocol: a gap abandons the batch; a missing sequence is refused.
	pub := func(hdr map[string]string) map[string]any {
		m := nats.NewMsg("b.raw")
		for k, v := range hdr {
			m.Header.Set(k, v)
		}
		resp, err := nc.RequestMsg(m, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) == 0 {
			return nil
		}
		return decodeJSON(t, resp.Data)
	}
	if r := pub(map[string]string{"Nats-Batch-Id": "g", "Nats-Batch-Sequence": "1"}); r != nil {
		t.Fatalf("staged message answered %v", r)
	}
	if r := pub(map[string]string{"Nats-Batch-Id": "g", "Nats-Batch-Sequence": "3", "Nats-Batch-Commit": "1"}); errCode(r) != 10176 {
		t.Fatalf("gap: %v", r)
	}
	if r := pub(map[string]string{"Nats-Batch-Id": "h"}); errCode(r) != 10175 {
		t.Fatalf("missing sequence: %v", r)
	}
	if r := pub(map[string]string{"Nats-Batch-Id": "i", "Nats-Batch-Sequence": "1", "Nats-Batch-Commit": "bogus"}); errCode(r) != 10200 {
		t.Fatalf("bad commit: %v", r)
	}
	if info, _ = s.Info(c); info.State.Msgs != 12 {
		t.Fatalf("refused batches stored something: %+v", info.State)
	}

	// Not allowed on a stream without allow_atomic.
	mustStream(t, js, jetstream.StreamConfig{Name: "NB", Subjects: []string{"nb"}})
	m := nats.NewMsg("nb")
	m.Header.Set("Nats-Batch-Id", "x")
	m.Header.Set("Nats-Batch-Sequence", "1")
	resp, err := nc.RequestMsg(m, 2*time.Second)
	if err != nil || errCode(decodeJSON(t, resp.Data)) != 10174 {
		t.Fatalf("batch on a plain stream: %v %s", err, resp.Data)
	}
}

func TestFastBatch(t *testing.T) {
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		t.Run(storage.String(), func(t *testing.T) {
			n := startNode(t, "", nil)
			_, js := connect(t, n)
			s := mustStream(t, js, jetstream.StreamConfig{Name: "F", Subjects: []string{"f.*"}, AllowBatchPublish: true, Storage: storage})
			fp, err := jetstreamext.NewFastPublisher(js, jetstreamext.FastPublishFlowControl{Flow: 50, MaxOutstandingAcks: 2})
			if err != nil {
				t.Fatal(err)
			}
			const total = 2000
			for i := 0; i < total-1; i++ {
				if _, err := fp.Add(fmt.Sprintf("f.%d", i%4), []byte("x")); err != nil {
					t.Fatalf("add %d: %v", i, err)
				}
			}
			ack, err := fp.Commit(ctx(t), "f.end", []byte("end"))
			if err != nil {
				t.Fatal(err)
			}
			if ack.Sequence != total || ack.BatchSize != total {
				t.Fatalf("fast batch ack %+v", ack)
			}
			if info, _ := s.Info(ctx(t)); info.State.Msgs != total {
				t.Fatalf("stored %d", info.State.Msgs)
			}

			// Close commits with an end-of-batch marker.
			fp2, _ := jetstreamext.NewFastPublisher(js, jetstreamext.FastPublishFlowControl{Flow: 10})
			for i := 0; i < 25; i++ {
				if _, err := fp2.Add("f.x", nil); err != nil {
					t.Fatal(err)
				}
			}
			if ack, err = fp2.Close(ctx(t)); err != nil || ack.Sequence != total+25 || ack.BatchSize != 25 {
				t.Fatalf("close: %v %+v", err, ack)
			}
		})
	}
}

func TestFastBatchRaw(t *testing.T) {
	n := startNode(t, "", nil)
	nc, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "P", Subjects: []string{"p"}})
	mustStream(t, js, jetstream.StreamConfig{Name: "Q", Subjects: []string{"q"}, AllowBatchPublish: true})
	sub, _ := nc.SubscribeSync("fb.>")
	send := func(subj, reply string) map[string]any {
		t.Helper()
		if err := nc.PublishRequest(subj, reply, []byte("x")); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("%s %s: %v", subj, reply, err)
		}
		return decodeJSON(t, m.Data)
	}
	if r := send("p", "fb.id1.10.fail.1.0.$FI"); errCode(r) != 10205 {
		t.Fatalf("stream without allow_batched: %v", r)
	}
	if r := send("q", "fb.id2.10.fail.2.1.$FI"); errCode(r) != 10208 {
		t.Fatalf("unknown batch: %v", r)
	}
	if r := send("q", "fb.id3.10.bogus.1.0.$FI"); errCode(r) != 10206 {
		t.Fatalf("bad pattern: %v", r)
	}
	if r := send("q", "fb.id4.10.fail.1.0.$FI"); r["type"] != "ack" || r["seq"].(float64) != 0 || r["msgs"].(float64) != 10 {
		t.Fatalf("first flow ack: %v", r)
	}
	if r := send("q", "fb.id4.10.fail.2.2.$FI"); r["batch"] != "id4" || r["count"].(float64) != 2 || r["seq"].(float64) != 2 {
		t.Fatalf("commit: %v", r)
	}
}
