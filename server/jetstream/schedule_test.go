package jetstream_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestScheduleFires(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, AllowMsgSchedules: true, AllowMsgTTL: true})
	pub := func(subj, data string, hdr ...string) {
		t.Helper()
		m := nats.NewMsg(subj)
		m.Data = []byte(data)
		for i := 0; i+1 < len(hdr); i += 2 {
			m.Header.Set(hdr[i], hdr[i+1])
		}
		if _, err := js.PublishMsg(ctx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	pub("s.sched.every", "tick", "Nats-Schedule", "@every 1s", "Nats-Schedule-Target", "s.out.every")
	// Publishes after the schedule reuse the connection's read buffer the
	// schedule's subject was read from: the scheduler must have kept its
	// own copy (it once keyed its map by the aliased subject and fired
	// every 250ms).
	for i := 0; i < 5; i++ {
		pub("s.other.xxxxx", "filler")
	}
	start := time.Now()
	pub("s.sched.once", "once", "Nats-Schedule", "@at 2000-01-01T00:00:00Z", "Nats-Schedule-Target", "s.out.once", "Nats-Schedule-TTL", "5s")
	var once *jetstream.RawStreamMsg
	waitFor(t, 3*time.Second, "one-off schedule", func() bool {
		m, err := s.GetLastMsgForSubject(ctx(t), "s.out.once")
		once = m
		return err == nil
	})
	if string(once.Data) != "once" || once.Header.Get("Nats-Scheduler") != "s.sched.once" ||
		once.Header.Get("Nats-Schedule-Next") != "purge" || once.Header.Get("Nats-TTL") != "5s" {
		t.Fatalf("fired message %+v", once)
	}
	if _, err := s.GetLastMsgForSubject(ctx(t), "s.sched.once"); err != jetstream.ErrMsgNotFound {
		t.Fatalf("one-off schedule not purged: %v", err)
	}
	waitFor(t, 5*time.Second, "repeating schedule twice", func() bool {
		info, err := s.Info(ctx(t), jetstream.WithSubjectFilter("s.out.every"))
		return err == nil && info.State.Subjects["s.out.every"] >= 2
	})
	elapsed := time.Since(start)
	info, err := s.Info(ctx(t), jetstream.WithSubjectFilter("s.out.every"))
	if err != nil {
		t.Fatal(err)
	}
	fired := info.State.Subjects["s.out.every"]
	if max := uint64(elapsed/time.Second) + 2; fired > max {
		t.Fatalf("@every 1s fired %d times in %v", fired, elapsed)
	}
	// Every firing announces a different next time.
	seen := map[string]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx(t), seq)
		if err != nil || m.Subject != "s.out.every" {
			continue
		}
		next := m.Header.Get("Nats-Schedule-Next")
		if _, err := time.Parse(time.RFC3339Nano, next); err != nil || seen[next] {
			t.Fatalf("fired message %d: next time %q (seen before: %v)", seq, next, seen[next])
		}
		seen[next] = true
	}
}
