package jetstream_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// waitFor polls cond until it holds or the deadline passes: expiry is
// driven by the clock, so there is no event to wait on.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msgs(t *testing.T, s jetstream.Stream) uint64 {
	info, err := s.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestMaxAgeExpiry(t *testing.T) {
	t.Parallel()
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		t.Run(storage.String(), func(t *testing.T) {
			n := startNode(t, "", nil)
			_, js := connect(t, n)
			s := mustStream(t, js, jetstream.StreamConfig{Name: "E", Subjects: []string{"e"}, MaxAge: 300 * time.Millisecond, Storage: storage})
			start := time.Now()
			for i := 0; i < 3; i++ {
				if _, err := js.Publish(ctx(t), "e", nil); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 3*time.Second, "max_age expiry", func() bool { return msgs(t, s) == 0 })
			// Exact to within a second (here: well within).
			if el := time.Since(start); el > 1300*time.Millisecond {
				t.Fatalf("expired after %v", el)
			}
		})
	}
}

func TestMessageTTLExpiry(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.*"}, AllowMsgTTL: true})
	pub := func(subj, ttl string) {
		msg := nats.NewMsg(subj)
		if ttl != "" {
			msg.Header.Set("Nats-TTL", ttl)
		}
		if _, err := js.PublishMsg(ctx(t), msg); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	pub("t.short", "1s")
	pub("t.never", "never")
	pub("t.plain", "")
	waitFor(t, 3*time.Second, "ttl expiry", func() bool { return msgs(t, s) == 2 })
	// Not before its time, and exact to within a second.
	if el := time.Since(start); el < time.Second || el > 2*time.Second {
		t.Fatalf("a 1s TTL expired after %v", el)
	}
	if _, err := s.GetLastMsgForSubject(ctx(t), "t.short"); err != jetstream.ErrMsgNotFound {
		t.Fatalf("short-lived message still there: %v", err)
	}
}

// TestExpiryAfterRestart: messages due to expire while the server was down
// go at once when it is back, and the others on time.
func TestExpiryAfterRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := startNode(t, dir, nil)
	_, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "R", Subjects: []string{"r.*"}, AllowMsgTTL: true, MaxAge: 2 * time.Second})
	for _, m := range []*nats.Msg{
		{Subject: "r.ttl", Header: nats.Header{"Nats-TTL": {"1s"}}},
		{Subject: "r.age"},
	} {
		if _, err := js.PublishMsg(ctx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	n.Shutdown()
	time.Sleep(1200 * time.Millisecond) // the server is down: nothing to await
	n = startNode(t, dir, nil)
	_, js = connect(t, n)
	s, err := js.Stream(ctx(t), "R")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "TTL expiry after restart", func() bool { return msgs(t, s) == 1 })
	waitFor(t, 3*time.Second, "max_age expiry after restart", func() bool { return msgs(t, s) == 0 })
	if el := time.Since(start); el < 2*time.Second || el > 3*time.Second {
		t.Fatalf("a 2s max_age expired after %v", el)
	}
}

func TestSubjectDeleteMarkers(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", nil)
	_, js := connect(t, n)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.*"},
		MaxAge: 500 * time.Millisecond, SubjectDeleteMarkerTTL: time.Second, Duplicates: 500 * time.Millisecond})
	for _, subj := range []string{"s.a", "s.a", "s.b"} {
		if _, err := js.Publish(ctx(t), subj, nil); err != nil {
			t.Fatal(err)
		}
	}
	var marker *jetstream.RawStreamMsg
	waitFor(t, 3*time.Second, "delete marker", func() bool {
		m, err := s.GetLastMsgForSubject(ctx(t), "s.a")
		if err == nil && m.Header.Get("Nats-Marker-Reason") == "MaxAge" {
			marker = m
			return true
		}
		return false
	})
	if marker.Header.Get("Nats-TTL") != "1s" || marker.Sequence < 4 {
		t.Fatalf("marker %+v", marker)
	}
	// The markers expire in turn, leaving nothing and no new marker.
	waitFor(t, 4*time.Second, "markers gone", func() bool { return msgs(t, s) == 0 })
}
