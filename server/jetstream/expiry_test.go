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
	pub("t.short", "1s")
	pub("t.never", "never")
	pub("t.plain", "")
	waitFor(t, 3*time.Second, "ttl expiry", func() bool { return msgs(t, s) == 2 })
	if _, err := s.GetLastMsgForSubject(ctx(t), "t.short"); err != jetstream.ErrMsgNotFound {
		t.Fatalf("short-lived message still there: %v", err)
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
