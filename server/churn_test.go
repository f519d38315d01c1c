package server

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestConcurrentChurn publishes from several connections while others
// subscribe and unsubscribe, then checks that a stable subscriber saw
// every message exactly once and that a stable queue group split them
// without loss or duplication. Run with -race.
func TestConcurrentChurn(t *testing.T) {
	s := runServer(t, nil)
	const pubs, perPub = 4, 500

	stable := connect(t, s)
	var plain, queued atomic.Int64
	seen := sync.Map{}
	if _, err := stable.Subscribe("churn.>", func(m *nats.Msg) {
		if _, dup := seen.LoadOrStore(string(m.Data), true); dup {
			t.Errorf("duplicate %s", m.Data)
		}
		plain.Add(1)
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		qc := connect(t, s)
		qc.QueueSubscribe("churn.*", "workers", func(*nats.Msg) { queued.Add(1) })
		qc.Flush()
	}
	stable.Flush()

	stop := make(chan struct{})
	var churners sync.WaitGroup
	for i := range 3 {
		churners.Add(1)
		go func() {
			defer churners.Done()
			nc := connect(t, s)
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				sub, err := nc.Subscribe(fmt.Sprintf("churn.%d", (i+k)%pubs), func(*nats.Msg) {})
				if err != nil {
					return
				}
				if k%2 == 0 {
					sub.AutoUnsubscribe(1)
				} else {
					sub.Unsubscribe()
				}
			}
		}()
	}

	var wg sync.WaitGroup
	for p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc := connect(t, s)
			for i := range perPub {
				nc.Publish(fmt.Sprintf("churn.%d", p), fmt.Appendf(nil, "%d-%d", p, i))
			}
			nc.Flush()
		}()
	}
	wg.Wait()
	const total = pubs * perPub
	waitFor(t, 5*time.Second, "all messages", func() bool { return plain.Load() == total && queued.Load() == total })
	close(stop)
	churners.Wait()
	if q := queued.Load(); q != total {
		t.Fatalf("queue group got %d of %d", q, total)
	}
}
