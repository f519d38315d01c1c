package blockstore

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// storeKind opens fresh streams of one implementation for the shared suite.
type storeKind struct {
	name string
	open func(t testing.TB, cfg Config) Stream
	// reopen closes s and opens it again from its storage (file stores
	// only; nil for memory).
	reopen func(t testing.TB, s Stream) Stream
}

var storeKinds = []storeKind{
	{name: "mem", open: func(t testing.TB, cfg Config) Stream {
		s, err := NewMemoryStream(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// forEachKind runs fn as a subtest against every store implementation.
func forEachKind(t *testing.T, fn func(t *testing.T, k storeKind)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { fn(t, k) })
	}
}

// baseTime is the deterministic clock of the suite: message i is stored at
// baseTime + i seconds unless a test says otherwise.
var baseTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()

type tstream struct {
	testing.TB
	Stream
	now int64
}

func newT(t testing.TB, k storeKind, cfg Config) *tstream {
	if cfg.Name == "" {
		cfg.Name = "S"
	}
	return &tstream{TB: t, Stream: k.open(t, cfg), now: baseTime}
}

func (s *tstream) apply(cmd Command) Result {
	s.Helper()
	r, err := s.Apply(&cmd)
	if err != nil {
		s.Fatalf("apply %+v: %v", cmd, err)
	}
	return r
}

// put stores data on subj one second after the previous message.
func (s *tstream) put(subj, data string) uint64 {
	s.Helper()
	s.now += int64(time.Second)
	return s.apply(Command{Op: OpStore, Subject: subj, Data: []byte(data), Time: s.now}).Seq
}

func (s *tstream) putTTL(subj, data string, ttl time.Duration) uint64 {
	s.Helper()
	s.now += int64(time.Second)
	return s.apply(Command{Op: OpStore, Subject: subj, Data: []byte(data), Time: s.now, TTL: int64(ttl)}).Seq
}

func (s *tstream) mustLoad(seq uint64) *StoreMsg {
	s.Helper()
	sm, err := s.LoadMsg(seq, nil)
	if err != nil {
		s.Fatalf("load %d: %v", seq, err)
	}
	return sm
}

func (s *tstream) wantMsg(sm *StoreMsg, err error, seq uint64, subj, data string) {
	s.Helper()
	if err != nil {
		s.Fatalf("want seq %d (%s): %v", seq, subj, err)
	}
	if sm.Seq != seq || sm.Subject != subj || string(sm.Data) != data {
		s.Fatalf("got seq %d %q %q, want %d %q %q", sm.Seq, sm.Subject, sm.Data, seq, subj, data)
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

func (s *tstream) wantState(msgs, first, last uint64) State {
	s.Helper()
	st := s.State()
	if st.Msgs != msgs || st.FirstSeq != first || st.LastSeq != last {
		s.Fatalf("state msgs=%d first=%d last=%d, want %d %d %d", st.Msgs, st.FirstSeq, st.LastSeq, msgs, first, last)
	}
	return st
}

// seqs lists the live sequences by walking LoadNextMsg with filter.
func (s *tstream) seqs(filter string) []uint64 {
	s.Helper()
	var out []uint64
	var sm StoreMsg
	for seq := uint64(0); ; seq++ {
		m, err := s.LoadNextMsg(filter, seq, &sm)
		if errors.Is(err, ErrNotFound) {
			return out
		}
		if err != nil {
			s.Fatalf("load next %q from %d: %v", filter, seq, err)
		}
		out = append(out, m.Seq)
		seq = m.Seq
	}
}

func eqSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// dump renders everything observable about a stream, for comparing two
// stores that must be identical.
func dump(t testing.TB, s Stream) string {
	t.Helper()
	var b bytes.Buffer
	st := s.StateWithDeleted()
	fmt.Fprintf(&b, "state %d %d %d %d %v %v %d %v %d %d\n", st.Msgs, st.Bytes, st.FirstSeq, st.LastSeq,
		st.FirstTime.UnixNano(), st.LastTime.UnixNano(), st.NumDeleted, st.Deleted, st.NumSubjects, st.LastApplied)
	var sm StoreMsg
	for seq := st.FirstSeq; seq <= st.LastSeq && st.Msgs > 0; seq++ {
		m, err := s.LoadMsg(seq, &sm)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%d %s %d %d %q %q\n", m.Seq, m.Subject, m.Time, m.TTL, m.Header, m.Data)
	}
	ss := s.SubjectsState(">")
	keys := make([]string, 0, len(ss))
	for k := range ss {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "subj %s %+v\n", k, ss[k])
	}
	for _, k := range s.AuxKeys("") {
		fmt.Fprintf(&b, "aux %s %q\n", k, s.Aux(k))
	}
	cfg := s.Config()
	cfg.Storage = 0 // a snapshot restores into either kind
	fmt.Fprintf(&b, "cfg %+v\n", cfg)
	return b.String()
}

// firstDiff shows the first line where two dumps differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			if len(a) > 200 {
				a = a[:200] + "..."
			}
			if len(b) > 200 {
				b = b[:200] + "..."
			}
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, a, b)
		}
	}
	return "no difference"
}

// testLogger sends engine logs to the test's log.
type testLogger struct{ t testing.TB }

func (l testLogger) Noticef(f string, v ...any) { l.t.Logf("[INF] "+f, v...) }
func (l testLogger) Warnf(f string, v ...any)   { l.t.Logf("[WRN] "+f, v...) }
func (l testLogger) Errorf(f string, v ...any)  { l.t.Logf("[ERR] "+f, v...) }
func (l testLogger) Debugf(f string, v ...any)  {}
