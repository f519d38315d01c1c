package jetstream_test

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestSmokePublish(t *testing.T) {
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	for i := 0; i < 10; i++ {
		ack, err := js.Publish(ctx(t), "orders.new", []byte("hello"))
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		if ack.Sequence != uint64(i+1) || ack.Stream != "ORDERS" {
			t.Fatalf("ack %+v", ack)
		}
	}
	info, err := s.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 10 {
		t.Fatalf("msgs %d", info.State.Msgs)
	}
}
