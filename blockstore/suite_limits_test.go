package blockstore

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Limits, expiry, config changes and the removal callback, for every store.

func TestSuiteLimits(t *testing.T) {
	type step struct {
		subj string
		err  error // expected refusal
	}
	cases := []struct {
		name  string
		cfg   Config
		steps []step
		left  []uint64
	}{
		{"max msgs discard old", Config{MaxMsgs: 3},
			[]step{{"a", nil}, {"b", nil}, {"c", nil}, {"d", nil}, {"e", nil}}, []uint64{3, 4, 5}},
		{"max msgs discard new", Config{MaxMsgs: 3, Discard: DiscardNew},
			[]step{{"a", nil}, {"b", nil}, {"c", nil}, {"d", ErrMaxMsgs}}, []uint64{1, 2, 3}},
		// A message costs 22+1+100+8 = 131 bytes (file) or 1+100+16 = 117
		// (memory); 300 bytes hold two of either.
		{"max bytes discard old", Config{MaxBytes: 300},
			[]step{{"a", nil}, {"b", nil}, {"c", nil}, {"d", nil}}, []uint64{3, 4}},
		{"max bytes discard new", Config{MaxBytes: 300, Discard: DiscardNew},
			[]step{{"a", nil}, {"b", nil}, {"c", ErrMaxBytes}}, []uint64{1, 2}},
		{"per subject discard old", Config{MaxMsgsPerSubject: 2},
			[]step{{"a", nil}, {"b", nil}, {"a", nil}, {"a", nil}, {"b", nil}, {"a", nil}}, []uint64{2, 4, 5, 6}},
		{"per subject with discard new replaces", Config{MaxMsgsPerSubject: 1, Discard: DiscardNew},
			[]step{{"a", nil}, {"a", nil}, {"a", nil}}, []uint64{3}},
		{"discard new per subject", Config{MaxMsgsPerSubject: 1, Discard: DiscardNew, DiscardNewPerSubject: true},
			[]step{{"a", nil}, {"b", nil}, {"a", ErrMaxMsgsPerSubj}}, []uint64{1, 2}},
		{"max msgs discard new at subject limit replaces", Config{MaxMsgs: 2, MaxMsgsPerSubject: 1, Discard: DiscardNew},
			[]step{{"a", nil}, {"b", nil}, {"a", nil}, {"c", ErrMaxMsgs}}, []uint64{2, 3}},
		{"max msg size", Config{MaxMsgSize: 100},
			[]step{{"a", nil}, {"toolong", ErrMaxMsgSize}}, []uint64{1}},
	}
	forEachKind(t, func(t *testing.T, k storeKind) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := newT(t, k, c.cfg)
				var removed []uint64
				s.OnRemove(func(seq uint64, subj string) { removed = append(removed, seq) })
				for i, st := range c.steps {
					data := strings.Repeat("x", 100)
					if st.subj == "toolong" {
						data += "9"
					}
					s.now += int64(time.Second)
					before := s.State()
					_, err := s.Apply(&Command{Op: OpStore, Subject: st.subj, Data: []byte(data), Time: s.now})
					if st.err != nil {
						wantErr(t, err, st.err)
						if after := s.State(); after.Msgs != before.Msgs || after.LastSeq != before.LastSeq || after.LastApplied != before.LastApplied {
							t.Fatalf("refusal %d changed state", i)
						}
						continue
					}
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				if got := s.seqs(">"); !eqSeqs(got, c.left) {
					t.Fatalf("left %v, want %v", got, c.left)
				}
				last := c.left[len(c.left)-1]
				if want := int(last) - len(c.left); len(removed) != want {
					t.Fatalf("OnRemove saw %v, want %d removals", removed, want)
				}
			})
		}
	})
}

func TestSuiteMaxAgeAndTTL(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{MaxAge: 10 * time.Second, AllowMsgTTL: true})
		if !s.NextExpiry().IsZero() {
			t.Fatal("expiry on an empty stream")
		}
		t0 := s.now
		s.put("a", "1")                     // seq 1 at t0+1s, expires by age at t0+11s
		s.putTTL("b", "2", 3*time.Second)   // seq 2 at t0+2s, expires at t0+5s
		s.putTTL("c", "3", -1)              // seq 3 never expires
		s.putTTL("d", "4", 100*time.Second) // seq 4 at t0+4s: age wins at t0+14s
		s.putTTL("e", "5", 2*time.Second)   // seq 5 at t0+5s, expires at t0+7s
		at := func(d time.Duration) int64 { return t0 + int64(d) }
		if got := s.NextExpiry().UnixNano(); got != at(5*time.Second) {
			t.Fatalf("next expiry %v, want t0+5s", time.Duration(got-t0))
		}
		steps := []struct {
			now  time.Duration
			gone uint64
			left []uint64
		}{
			{4 * time.Second, 0, []uint64{1, 2, 3, 4, 5}},
			{5 * time.Second, 1, []uint64{1, 3, 4, 5}},
			{7 * time.Second, 1, []uint64{1, 3, 4}},
			{11 * time.Second, 1, []uint64{3, 4}},
			{30 * time.Second, 1, []uint64{3}},
		}
		for _, st := range steps {
			r := s.apply(Command{Op: OpExpire, Time: at(st.now)})
			if r.Removed != st.gone {
				t.Fatalf("at t0+%v removed %d, want %d", st.now, r.Removed, st.gone)
			}
			if got := s.seqs(">"); !eqSeqs(got, st.left) {
				t.Fatalf("at t0+%v left %v, want %v", st.now, got, st.left)
			}
		}
		if !s.NextExpiry().IsZero() {
			t.Fatalf("next expiry with only a never-expiring message: %v", s.NextExpiry())
		}
	})
}

// TestSuiteMaxAgePastNeverExpiring: messages that never expire gather at
// the front of a stream with MaxAge. However many there are, NextExpiry is
// the age of the first message after them that does expire, and expiry
// removes it (once it searched only a bounded distance and gave zero).
func TestSuiteMaxAgePastNeverExpiring(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{MaxAge: time.Minute, AllowMsgTTL: true})
		for i := 0; i < 200; i++ {
			s.putTTL("keep", "forever", -1)
		}
		seq := s.put("a", "ages")
		ts := s.mustLoad(seq).Time
		if got := s.NextExpiry(); got.UnixNano() != ts+int64(time.Minute) {
			t.Fatalf("next expiry %v, want %v", got, time.Unix(0, ts+int64(time.Minute)).UTC())
		}
		if r := s.apply(Command{Op: OpExpire, Time: ts + int64(time.Minute)}); r.Removed != 1 {
			t.Fatalf("expired %d", r.Removed)
		}
		if !s.NextExpiry().IsZero() {
			t.Fatalf("next expiry %v with only never-expiring messages", s.NextExpiry())
		}
		// A truncation back into the never-expiring run, then messages
		// that expire again.
		s.apply(Command{Op: OpTruncate, Seq: 100})
		seq = s.put("b", "ages too")
		if got, want := s.NextExpiry().UnixNano(), s.mustLoad(seq).Time+int64(time.Minute); got != want {
			t.Fatalf("after a truncation, next expiry %v, want %v", got, want)
		}
	})
}

func TestSuiteTTLIgnoredWhenNotAllowed(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		s.putTTL("a", "1", time.Second)
		s.apply(Command{Op: OpExpire, Time: s.now + int64(time.Hour)})
		s.wantState(1, 1, 1)
		// Allowing TTLs later indexes what is stored.
		cfg := s.Config()
		cfg.AllowMsgTTL = true
		s.apply(Command{Op: OpConfig, Config: &cfg})
		if s.NextExpiry().IsZero() {
			t.Fatal("TTL not indexed after config change")
		}
		s.apply(Command{Op: OpExpire, Time: s.now + int64(time.Hour)})
		s.wantState(0, 2, 1)
	})
}

func TestSuiteConfigChange(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		for i := 0; i < 10; i++ {
			s.put(fmt.Sprintf("s.%d", i%2), "x")
		}
		var removed int
		s.OnRemove(func(uint64, string) { removed++ })
		cfg := s.Config()
		cfg.MaxMsgsPerSubject = 2
		r := s.apply(Command{Op: OpConfig, Config: &cfg})
		if r.Removed != 6 || removed != 6 {
			t.Fatalf("per-subject change removed %d (callback %d)", r.Removed, removed)
		}
		cfg.MaxMsgs = 3
		cfg.Discard = DiscardNew
		r = s.apply(Command{Op: OpConfig, Config: &cfg})
		if r.Removed != 1 {
			t.Fatalf("max msgs change removed %d", r.Removed)
		}
		if got := s.seqs(">"); !eqSeqs(got, []uint64{8, 9, 10}) {
			t.Fatalf("left %v", got)
		}
		if got := s.Config(); got.MaxMsgs != 3 || got.Name != "S" {
			t.Fatalf("config %+v", got)
		}
		// Name and storage never change: a config command's are ignored.
		other := cfg
		other.Name, other.Storage = "other", MemoryStorage+FileStorage-s.Config().Storage
		s.apply(Command{Op: OpConfig, Config: &other})
		if got := s.Config(); got.Name != "S" || got.Storage != cfg.Storage {
			t.Fatalf("config command changed name or storage: %+v", got)
		}
		if _, err := s.Apply(&Command{Op: OpConfig}); err == nil {
			t.Fatal("config command without config accepted")
		}
	})
}

func TestSuiteSubjectStateStaysExact(t *testing.T) {
	// Removals in every order must leave per-subject first/last exact.
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		for i := 0; i < 40; i++ {
			s.put(fmt.Sprintf("x.%d", i%4), fmt.Sprint(i))
		}
		order := []uint64{1, 40, 5, 36, 2, 9, 13, 17, 39, 38, 37, 21, 3, 4}
		for _, seq := range order {
			s.apply(Command{Op: OpRemove, Seq: seq})
			for subj, got := range s.SubjectsState(">") {
				var want SubjectState
				for _, q := range s.seqs(subj) {
					if want.First == 0 {
						want.First = q
					}
					want.Last = q
					want.Msgs++
				}
				if got != want {
					t.Fatalf("after removing %d, %s: %+v want %+v", seq, subj, got, want)
				}
			}
		}
	})
}

func TestSuiteOnRemoveSubjects(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{MaxMsgs: 2})
		var got []string
		s.OnRemove(func(seq uint64, subj string) { got = append(got, fmt.Sprint(seq, subj)) })
		s.put("one", "1")
		s.put("two", "2")
		s.put("three", "3")
		s.apply(Command{Op: OpRemove, Seq: 3})
		if strings.Join(got, ",") != "1one,3three" {
			t.Fatalf("callbacks %v", got)
		}
	})
}
