package blockstore

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// The shared suite: every test here runs against every store kind.

func TestSuiteStoreLoad(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		r := s.apply(Command{Op: OpStore, Subject: "a.b", Header: []byte("NATS/1.0\r\nX: 1\r\n\r\n"), Data: []byte("one"), Time: 42, TTL: 7})
		if r.Seq != 1 || r.Time != 42 {
			t.Fatalf("result %+v", r)
		}
		sm := s.mustLoad(1)
		if sm.Subject != "a.b" || string(sm.Data) != "one" || string(sm.Header) != "NATS/1.0\r\nX: 1\r\n\r\n" || sm.Time != 42 || sm.TTL != 7 {
			t.Fatalf("loaded %+v", sm)
		}
		// Loading into a caller buffer reuses it.
		var buf StoreMsg
		if _, err := s.LoadMsg(1, &buf); err != nil || string(buf.Data) != "one" {
			t.Fatalf("load into buffer: %v %q", err, buf.Data)
		}
		_, err := s.LoadMsg(2, nil)
		wantErr(t, err, ErrNotFound)
		_, err = s.LoadMsg(0, nil)
		wantErr(t, err, ErrNotFound)
		// A refused command changes nothing.
		_, err = s.Apply(&Command{Op: OpStore, Seq: 5, Subject: "x", Time: 1})
		wantErr(t, err, ErrSequence)
		if _, err := s.Apply(&Command{Op: OpStore, Time: 1}); err == nil {
			t.Fatal("store without a subject accepted")
		}
		if got := s.LastApplied(); got != 1 {
			t.Fatalf("last applied %d after refusals", got)
		}
		// An explicit sequence equal to last+1 is accepted.
		if r := s.apply(Command{Op: OpStore, Seq: 2, Subject: "x", Time: 43}); r.Seq != 2 {
			t.Fatalf("explicit seq: %+v", r)
		}
		st := s.wantState(2, 1, 2)
		if st.FirstTime.UnixNano() != 42 || st.LastTime.UnixNano() != 43 || st.NumSubjects != 2 || st.LastApplied != 2 {
			t.Fatalf("state %+v", st)
		}
	})
}

func TestSuiteCommandIndex(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		s.apply(Command{Op: OpStore, Index: 10, Subject: "a", Time: 1})
		if s.LastApplied() != 10 {
			t.Fatalf("last applied %d", s.LastApplied())
		}
		_, err := s.Apply(&Command{Op: OpStore, Index: 10, Subject: "a", Time: 2})
		wantErr(t, err, ErrSequence)
		s.apply(Command{Op: OpSetAux, Key: "k", Data: []byte("v")})
		if s.LastApplied() != 11 {
			t.Fatalf("self-numbered index %d, want 11", s.LastApplied())
		}
	})
}

func TestSuiteLoadNextFilters(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		for i := 0; i < 30; i++ {
			s.put(fmt.Sprintf("orders.%s.%d", []string{"eu", "us", "ap"}[i%3], i%5), fmt.Sprint(i))
		}
		s.apply(Command{Op: OpRemove, Seq: 4})
		cases := []struct {
			filter string
			start  uint64
			want   uint64 // 0: not found
		}{
			{"", 0, 1},
			{">", 4, 5},
			{"orders.eu.0", 0, 1},
			{"orders.eu.0", 2, 16},
			{"orders.eu.0", 17, 0},
			{"orders.us.*", 3, 5},
			{"orders.*.3", 0, 4 + 5}, // 4 removed; next *.3 is seq 9 (i=8: us? i%5==3 -> i=3,8,13)
			{"orders.>", 29, 29},
			{"orders.>", 31, 0},
			{"orders.eu.>", 2, 4 + 3}, // i=6 -> seq 7, i=3 removed
			{"nope", 0, 0},
			{"nope.*", 0, 0},
			{"*.*.*", 30, 30},
		}
		for _, c := range cases {
			sm, err := s.LoadNextMsg(c.filter, c.start, nil)
			if c.want == 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("next %q from %d: %v %v, want not found", c.filter, c.start, sm, err)
				}
				continue
			}
			if err != nil || sm.Seq != c.want {
				t.Errorf("next %q from %d: %v %v, want %d", c.filter, c.start, sm, err, c.want)
			}
		}
	})
}

func TestSuiteLoadLastPrev(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		_, err := s.LoadLastMsg(">", nil)
		wantErr(t, err, ErrNotFound)
		for i, subj := range []string{"a.1", "a.2", "b.1", "a.1", "b.2", "a.2"} {
			s.put(subj, fmt.Sprint(i+1))
		}
		last := []struct {
			filter string
			want   uint64
		}{{">", 6}, {"a.1", 4}, {"a.*", 6}, {"b.*", 5}, {"b.1", 3}, {"c", 0}}
		for _, c := range last {
			sm, err := s.LoadLastMsg(c.filter, nil)
			if c.want == 0 {
				wantErr(t, err, ErrNotFound)
				continue
			}
			if err != nil || sm.Seq != c.want {
				t.Errorf("last %q: %v %v, want %d", c.filter, sm, err, c.want)
			}
		}
		// Removing the newest of a subject makes its last stale; the next
		// query must still be exact.
		s.apply(Command{Op: OpRemove, Seq: 4})
		sm, err := s.LoadLastMsg("a.1", nil)
		s.wantMsg(sm, err, 1, "a.1", "1")
		s.apply(Command{Op: OpRemove, Seq: 6})
		sm, err = s.LoadLastMsg(">", nil)
		s.wantMsg(sm, err, 5, "b.2", "5")
		prev := []struct{ start, want uint64 }{{100, 5}, {5, 5}, {4, 3}, {1, 1}, {0, 0}}
		for _, c := range prev {
			sm, err := s.LoadPrevMsg(c.start, nil)
			if c.want == 0 {
				wantErr(t, err, ErrNotFound)
				continue
			}
			if err != nil || sm.Seq != c.want {
				t.Errorf("prev from %d: %v %v, want %d", c.start, sm, err, c.want)
			}
		}
	})
}

func TestSuiteRemoveErase(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		for i := 1; i <= 5; i++ {
			s.put("a", fmt.Sprint(i))
		}
		before := s.State().Bytes
		s.apply(Command{Op: OpRemove, Seq: 2})
		s.apply(Command{Op: OpErase, Seq: 3})
		_, err := s.LoadMsg(2, nil)
		wantErr(t, err, ErrDeleted)
		_, err = s.LoadMsg(3, nil)
		wantErr(t, err, ErrDeleted)
		_, err = s.Apply(&Command{Op: OpRemove, Seq: 2})
		wantErr(t, err, ErrDeleted)
		_, err = s.Apply(&Command{Op: OpRemove, Seq: 9})
		wantErr(t, err, ErrNotFound)
		st := s.StateWithDeleted()
		if st.Msgs != 3 || st.NumDeleted != 2 || !eqSeqs(st.Deleted, []uint64{2, 3}) {
			t.Fatalf("state %+v", st)
		}
		if st.Bytes >= before {
			t.Fatalf("bytes %d not below %d", st.Bytes, before)
		}
		// Removing the first moves FirstSeq past the deleted run.
		s.apply(Command{Op: OpRemove, Seq: 1})
		s.wantState(2, 4, 5)
		if got := s.SubjectsState("a")["a"]; got != (SubjectState{Msgs: 2, First: 4, Last: 5}) {
			t.Fatalf("subject state %+v", got)
		}
		s.apply(Command{Op: OpRemove, Seq: 4})
		s.apply(Command{Op: OpRemove, Seq: 5})
		st = s.wantState(0, 6, 5)
		if st.NumSubjects != 0 || st.Bytes != 0 || !st.FirstTime.IsZero() {
			t.Fatalf("empty state %+v", st)
		}
	})
}

func TestSuitePurge(t *testing.T) {
	type purge struct {
		subject   string
		seq, keep uint64
	}
	cases := []struct {
		name    string
		p       purge
		removed uint64
		left    []uint64
	}{
		{"all", purge{}, 10, nil},
		{"all by >", purge{subject: ">"}, 10, nil},
		{"subject", purge{subject: "a"}, 5, []uint64{2, 4, 6, 8, 10}},
		{"wildcard", purge{subject: "*"}, 10, nil},
		{"up to seq", purge{seq: 4}, 3, []uint64{4, 5, 6, 7, 8, 9, 10}},
		{"seq 1 is a no-op", purge{seq: 1}, 0, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"subject up to seq", purge{subject: "a", seq: 6}, 3, []uint64{2, 4, 6, 7, 8, 9, 10}},
		{"keep", purge{keep: 3}, 7, []uint64{8, 9, 10}},
		{"subject keep", purge{subject: "b", keep: 2}, 3, []uint64{1, 3, 5, 7, 8, 9, 10}},
		{"keep more than there", purge{subject: "b", keep: 9}, 0, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"no match", purge{subject: "zzz"}, 0, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	forEachKind(t, func(t *testing.T, k storeKind) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := newT(t, k, Config{})
				for i := 1; i <= 10; i++ {
					s.put([]string{"a", "b"}[(i+1)%2], fmt.Sprint(i))
				}
				var removed []uint64
				s.OnRemove(func(seq uint64, subj string) { removed = append(removed, seq) })
				r := s.apply(Command{Op: OpPurge, Subject: c.p.subject, Seq: c.p.seq, Keep: c.p.keep})
				if r.Removed != c.removed {
					t.Fatalf("removed %d, want %d", r.Removed, c.removed)
				}
				if got := s.seqs(">"); !eqSeqs(got, c.left) {
					t.Fatalf("left %v, want %v", got, c.left)
				}
				st := s.State()
				if st.Msgs != uint64(len(c.left)) || st.LastSeq != 10 {
					t.Fatalf("state %+v", st)
				}
				if len(c.left) > 0 && (st.FirstSeq != c.left[0] || r.Seq != c.left[0]) {
					t.Fatalf("first %d result seq %d, want %d", st.FirstSeq, r.Seq, c.left[0])
				}
				if len(c.left) == 0 && st.FirstSeq != 11 {
					t.Fatalf("first after full purge %d", st.FirstSeq)
				}
				if c.removed > 0 && len(removed) == 0 {
					t.Fatal("OnRemove not called")
				}
				if next := s.put("a", "new"); next != 11 {
					t.Fatalf("next seq after purge %d", next)
				}
			})
		}
	})
}

func TestSuiteCompactTruncate(t *testing.T) {
	cases := []struct {
		name              string
		cmd               Command
		msgs, first, last uint64
		next              uint64
	}{
		{"compact middle", Command{Op: OpCompact, Seq: 4}, 7, 4, 10, 11},
		{"compact at first", Command{Op: OpCompact, Seq: 1}, 10, 1, 10, 11},
		{"compact past last", Command{Op: OpCompact, Seq: 20}, 0, 20, 19, 20},
		{"compact 0 purges", Command{Op: OpCompact}, 0, 11, 10, 11},
		{"truncate middle", Command{Op: OpTruncate, Seq: 6}, 6, 1, 6, 7},
		{"truncate at last", Command{Op: OpTruncate, Seq: 10}, 10, 1, 10, 11},
		{"truncate 0 resets", Command{Op: OpTruncate}, 0, 1, 0, 1},
	}
	forEachKind(t, func(t *testing.T, k storeKind) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := newT(t, k, Config{})
				for i := 1; i <= 10; i++ {
					s.put(fmt.Sprintf("s.%d", i%3), fmt.Sprint(i))
				}
				s.apply(c.cmd)
				s.wantState(c.msgs, c.first, c.last)
				if next := s.put("s.x", "n"); next != c.next {
					t.Fatalf("next seq %d, want %d", next, c.next)
				}
				// The subject index follows.
				var total uint64
				for _, n := range s.SubjectsTotals(">") {
					total += n
				}
				if total != c.msgs+1 {
					t.Fatalf("subject totals %d, want %d", total, c.msgs+1)
				}
			})
		}
		t.Run("truncate keeps last time", func(t *testing.T) {
			s := newT(t, k, Config{})
			for i := 0; i < 5; i++ {
				s.put("a", "x")
			}
			want := s.mustLoad(3).Time
			s.apply(Command{Op: OpTruncate, Seq: 3})
			if got := s.State().LastTime.UnixNano(); got != want {
				t.Fatalf("last time %d, want %d", got, want)
			}
			if sm, err := s.LoadLastMsg("a", nil); err != nil || sm.Seq != 3 {
				t.Fatalf("last a: %v %v", sm, err)
			}
		})
	})
}

func TestSuiteFilteredState(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		subjects := []string{"a.1", "a.2", "b.1", "a.1", "b.2", "a.2", "a.1", "c"}
		for i, subj := range subjects {
			s.put(subj, fmt.Sprint(i+1))
		}
		s.apply(Command{Op: OpRemove, Seq: 4})
		cases := []struct {
			start  uint64
			filter string
			want   SimpleState
		}{
			{0, ">", SimpleState{Msgs: 7, First: 1, Last: 8}},
			{5, "", SimpleState{Msgs: 4, First: 5, Last: 8}},
			{0, "a.1", SimpleState{Msgs: 2, First: 1, Last: 7}},
			{2, "a.1", SimpleState{Msgs: 1, First: 7, Last: 7}},
			{0, "a.*", SimpleState{Msgs: 4, First: 1, Last: 7}},
			{3, "a.*", SimpleState{Msgs: 2, First: 6, Last: 7}},
			{0, "*.1", SimpleState{Msgs: 3, First: 1, Last: 7}},
			{8, "a.>", SimpleState{}},
			{9, ">", SimpleState{}},
			{0, "zz", SimpleState{}},
		}
		for _, c := range cases {
			if got := s.FilteredState(c.start, c.filter); got != c.want {
				t.Errorf("filtered(%d, %q) = %+v, want %+v", c.start, c.filter, got, c.want)
			}
			if got := s.NumPending(c.start, c.filter, false); got != c.want.Msgs {
				t.Errorf("pending(%d, %q) = %d, want %d", c.start, c.filter, got, c.want.Msgs)
			}
		}
		lps := []struct {
			start  uint64
			filter string
			want   uint64
		}{{0, ">", 5}, {0, "a.*", 2}, {7, "a.*", 1}, {8, ">", 1}, {6, "*.2", 1}, {0, "b.1", 1}}
		for _, c := range lps {
			if got := s.NumPending(c.start, c.filter, true); got != c.want {
				t.Errorf("pending last-per-subject(%d, %q) = %d, want %d", c.start, c.filter, got, c.want)
			}
		}
		ss := s.SubjectsState("a.*")
		want := map[string]SubjectState{"a.1": {2, 1, 7}, "a.2": {2, 2, 6}}
		if len(ss) != len(want) || ss["a.1"] != want["a.1"] || ss["a.2"] != want["a.2"] {
			t.Fatalf("subjects state %+v", ss)
		}
		tot := s.SubjectsTotals(">")
		if len(tot) != 5 || tot["a.1"] != 2 || tot["c"] != 1 {
			t.Fatalf("totals %+v", tot)
		}
	})
}

func TestSuiteSeqForTime(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		if got := s.SeqForTime(time.Unix(0, baseTime)); got != 1 {
			t.Fatalf("empty: %d", got)
		}
		for i := 0; i < 20; i++ {
			s.put("t", "x")
		}
		s.apply(Command{Op: OpRemove, Seq: 5})
		s.apply(Command{Op: OpRemove, Seq: 6})
		at := func(seq uint64) time.Time { return time.Unix(0, baseTime+int64(seq)*int64(time.Second)) }
		cases := []struct {
			t    time.Time
			want uint64
		}{
			{time.Unix(0, 0), 1}, {at(1), 1}, {at(3), 3}, {at(5), 7}, {at(6).Add(time.Millisecond), 7},
			{at(20), 20}, {at(21), 21},
		}
		for _, c := range cases {
			if got := s.SeqForTime(c.t); got != c.want {
				t.Errorf("seq for %v: %d, want %d", c.t, got, c.want)
			}
		}
	})
}

func TestSuiteAux(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		s.apply(Command{Op: OpSetAux, Key: "consumer/a", Data: []byte("state-a")})
		s.apply(Command{Op: OpSetAux, Key: "consumer/b", Data: []byte("state-b")})
		s.apply(Command{Op: OpSetAux, Key: "meta", Data: []byte("{}")})
		if got := s.Aux("consumer/a"); string(got) != "state-a" {
			t.Fatalf("aux %q", got)
		}
		got := s.Aux("consumer/a")
		got[0] = 'X' // a copy: the caller may keep and change it
		if string(s.Aux("consumer/a")) != "state-a" {
			t.Fatal("aux aliased")
		}
		if keys := s.AuxKeys("consumer/"); len(keys) != 2 || keys[0] != "consumer/a" {
			t.Fatalf("keys %v", keys)
		}
		s.apply(Command{Op: OpSetAux, Key: "consumer/a"})
		if s.Aux("consumer/a") != nil || len(s.AuxKeys("")) != 2 {
			t.Fatal("aux delete")
		}
		if _, err := s.Apply(&Command{Op: OpSetAux}); err == nil {
			t.Fatal("aux without key accepted")
		}
	})
}

func TestSuiteSkip(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{FirstSeq: 100})
		s.wantState(0, 100, 99)
		if seq := s.put("a", "x"); seq != 100 {
			t.Fatalf("first seq %d", seq)
		}
		s.apply(Command{Op: OpSkip})
		s.apply(Command{Op: OpSkip, Seq: 110})
		st := s.wantState(1, 100, 110)
		if st.NumDeleted != 10 {
			t.Fatalf("deleted %d", st.NumDeleted)
		}
		_, err := s.Apply(&Command{Op: OpSkip, Seq: 105})
		wantErr(t, err, ErrSequence)
		if seq := s.put("a", "y"); seq != 111 {
			t.Fatalf("after skip %d", seq)
		}
		e := newT(t, k, Config{Name: "E"})
		e.apply(Command{Op: OpSkip, Seq: 5})
		e.wantState(0, 6, 5)
		// A skip with a time (recovery's stand-in for a lost store) sets
		// the last time; one without leaves it.
		e.apply(Command{Op: OpSkip, Seq: 7, Time: baseTime + 77})
		e.apply(Command{Op: OpSkip, Seq: 9})
		if st := e.wantState(0, 10, 9); st.LastTime.UnixNano() != baseTime+77 {
			t.Fatalf("last time %v", st.LastTime)
		}
	})
}

// TestSuiteSkipFarGap: a skip to a far sequence leaves a gap of about a
// billion deleted sequences between two messages. Stepping back over it,
// snapshotting and restoring cost what the live messages do (one step per
// sequence of the gap would not finish).
func TestSuiteSkipFarGap(t *testing.T) {
	const far = 1 << 30
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		s.put("a", "before")
		s.apply(Command{Op: OpSkip, Seq: far})
		last := s.put("b", "after")
		if st := s.wantState(2, 1, far+1); st.NumDeleted != far-1 {
			t.Fatalf("deleted %d", st.NumDeleted)
		}
		sm, err := s.LoadPrevMsg(last-1, nil)
		s.wantMsg(sm, err, 1, "a", "before")
		sm, err = s.LoadNextMsg(">", 2, nil)
		s.wantMsg(sm, err, last, "b", "after")
		if got := s.seqs(">"); !eqSeqs(got, []uint64{1, last}) {
			t.Fatalf("messages %v", got)
		}
		if fs := s.FilteredState(1, ">"); fs.Msgs != 2 || fs.First != 1 || fs.Last != last {
			t.Fatalf("filtered %+v", fs)
		}
		var buf bytes.Buffer
		if err := s.Snapshot(&buf); err != nil {
			t.Fatal(err)
		}
		r, err := RestoreMemoryStream("R", &buf)
		if err != nil {
			t.Fatal(err)
		}
		if st := r.State(); st.Msgs != 2 || st.LastSeq != last {
			t.Fatalf("restored %+v", st)
		}
		s.apply(Command{Op: OpRemove, Seq: last})
		if _, err := s.LoadLastMsg(">", nil); err != nil {
			t.Fatalf("last after removing the newest: %v", err)
		}
	})
}

// TestSuiteSnapshotWith: aux records left out by prefix, the state the
// snapshot holds returned, and a check that writes nothing.
func TestSuiteSnapshotWith(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{})
		for i := 0; i < 5; i++ {
			s.put("w."+fmt.Sprint(i%2), "payload")
		}
		s.apply(Command{Op: OpRemove, Seq: 2})
		for _, key := range []string{"consumer/a", "consumer/b", "dedup/x", "meta"} {
			s.apply(Command{Op: OpSetAux, Key: key, Data: []byte("v")})
		}
		var buf bytes.Buffer
		st, err := s.SnapshotWith(&buf, SnapshotOptions{ExcludeAux: []string{"consumer/", "dedup/"}})
		if err != nil {
			t.Fatal(err)
		}
		want := s.State()
		if st.Msgs != want.Msgs || st.Bytes != want.Bytes || st.FirstSeq != want.FirstSeq ||
			st.LastSeq != want.LastSeq || st.NumDeleted != want.NumDeleted || st.LastApplied != want.LastApplied {
			t.Fatalf("snapshot state %+v, stream %+v", st, want)
		}
		r, err := RestoreMemoryStream("R", &buf)
		if err != nil {
			t.Fatal(err)
		}
		if keys := r.AuxKeys(""); len(keys) != 1 || keys[0] != "meta" {
			t.Fatalf("restored aux keys %v", keys)
		}
		if st, err := s.SnapshotWith(nil, SnapshotOptions{CheckOnly: true}); err != nil || st.Msgs != want.Msgs {
			t.Fatalf("check: %+v %v", st, err)
		}
	})
}

func TestSuiteSnapshotRestore(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{MaxMsgsPerSubject: 3, AllowMsgTTL: true})
		for i := 0; i < 50; i++ {
			s.apply(Command{Op: OpStore, Subject: fmt.Sprintf("k.%d", i%7), Header: []byte(fmt.Sprint("h", i)),
				Data: bytes.Repeat([]byte{byte(i)}, i*10), Time: baseTime + int64(i), TTL: int64(i % 3)})
		}
		s.apply(Command{Op: OpRemove, Seq: 40})
		s.apply(Command{Op: OpSetAux, Key: "c1", Data: []byte("ack floor 7")})
		want := dump(t, s)
		var buf bytes.Buffer
		if err := s.Snapshot(&buf); err != nil {
			t.Fatal(err)
		}
		// Writes continue after the snapshot and do not leak into it.
		s.put("late", "x")
		for _, into := range restoreTargets(t) {
			r, err := into.restore("S", bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("restore into %s: %v", into.name, err)
			}
			got, exp := dump(t, r), want
			if into.name != k.name {
				// Byte accounting differs between memory and file
				// storage, as in the reference.
				got, exp = stripBytes(got), stripBytes(want)
			}
			if got != exp {
				t.Fatalf("restore into %s differs: %s", into.name, firstDiff(got, exp))
			}
			r.Close()
		}
		// Damage is detected, never restored as a smaller stream.
		bad := append([]byte(nil), buf.Bytes()...)
		bad[len(bad)/2] ^= 0xff
		for _, into := range restoreTargets(t) {
			if _, err := into.restore("bad", bytes.NewReader(bad)); !errors.Is(err, ErrSnapshot) {
				t.Fatalf("damaged snapshot into %s: %v", into.name, err)
			}
			if _, err := into.restore("short", bytes.NewReader(buf.Bytes()[:buf.Len()-3])); !errors.Is(err, ErrSnapshot) {
				t.Fatalf("truncated snapshot into %s: %v", into.name, err)
			}
		}
	})
}

type restoreTarget struct {
	name    string
	restore func(name string, r *bytes.Reader) (Stream, error)
}

// restoreTargets lists where a snapshot can be restored; the file engine
// adds itself in its own test file.
var extraRestoreTargets []func(t testing.TB) restoreTarget

func restoreTargets(t testing.TB) []restoreTarget {
	out := []restoreTarget{{name: "mem", restore: func(name string, r *bytes.Reader) (Stream, error) {
		return RestoreMemoryStream(name, r)
	}}}
	for _, f := range extraRestoreTargets {
		out = append(out, f(t))
	}
	return out
}

// stripBytes drops the byte count from a dump's state line.
func stripBytes(d string) string {
	var a, b, c, e string
	var rest string
	i := bytes.IndexByte([]byte(d), '\n')
	line, tail := d[:i], d[i:]
	fmt.Sscanf(line, "%s %s %s %s", &a, &b, &c, &e)
	rest = line[len(a)+len(b)+len(c)+3:]
	return a + " " + b + " _ " + rest + tail
}
