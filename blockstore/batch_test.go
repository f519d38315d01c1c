package blockstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func storeCmd(subj, data string) *Command {
	return &Command{Op: OpStore, Subject: subj, Data: []byte(data), Time: baseTime}
}

// TestSuiteApplyBatch: a batch applies all its commands in order, or none
// when one is refused, checked against what the earlier ones leave.
func TestSuiteApplyBatch(t *testing.T) {
	forEachKind(t, func(t *testing.T, k storeKind) {
		s := newT(t, k, Config{Discard: DiscardNew, MaxMsgs: 6, MaxMsgsPerSubject: 2, DiscardNewPerSubject: true})
		s.put("a", "0")
		rs, err := s.ApplyBatch([]*Command{storeCmd("a", "1"), storeCmd("b", "2"),
			{Op: OpSetAux, Key: "k", Data: []byte("v")}, storeCmd("b", "3")})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 4 || rs[0].Seq != 2 || rs[1].Seq != 3 || rs[3].Seq != 4 || rs[0].Ticket != rs[3].Ticket {
			t.Fatalf("results %+v", rs)
		}
		if st := s.wantState(4, 1, 4); st.LastApplied != 5 || string(s.Aux("k")) != "v" {
			t.Fatalf("state %+v aux %q", st, s.Aux("k"))
		}
		before := s.State()
		for _, tc := range []struct {
			name  string
			batch []*Command
			want  error
		}{
			{"per subject limit reached inside", []*Command{storeCmd("c", "x"), storeCmd("c", "y"), storeCmd("c", "z")}, ErrMaxMsgsPerSubj},
			{"stream limit reached inside", []*Command{storeCmd("d", "x"), storeCmd("e", "y"), storeCmd("f", "z")}, ErrMaxMsgs},
			{"sequence", []*Command{storeCmd("f", "x"), {Op: OpStore, Seq: 5, Subject: "g"}}, ErrSequence},
			{"index", []*Command{{Op: OpStore, Index: 9, Subject: "f"}, {Op: OpStore, Index: 9, Subject: "g"}}, ErrSequence},
			{"op", []*Command{storeCmd("f", "x"), {Op: OpRemove, Seq: 1}}, ErrBatch},
			{"empty", nil, ErrBatch},
		} {
			if _, err := s.ApplyBatch(tc.batch); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if st := s.State(); st.Msgs != before.Msgs || st.LastSeq != before.LastSeq || st.LastApplied != before.LastApplied {
				t.Fatalf("%s: a refused batch changed the stream: %+v, was %+v", tc.name, st, before)
			}
		}
		if _, err := s.ApplyBatch([]*Command{storeCmd("h", "x")}); err != nil {
			t.Fatalf("a batch that fits: %v", err)
		}
	})
}

// TestFileBatchAllOrNothing: a batch is one WAL record. Recovered whole it
// gives every message (a large one among them); cut by a torn WAL tail it
// gives none.
func TestFileBatchAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, quietOpts())
	s, _ := e.CreateStream(Config{Name: "B"})
	s.Apply(storeCmd("first", "committed"))
	if err := e.checkpoint(true); err != nil {
		t.Fatal(err)
	}
	big := string(bytes.Repeat([]byte("L"), 5000)) // past quietOpts' 2 KiB large size
	rs, err := s.ApplyBatch([]*Command{storeCmd("b.1", "one"), storeCmd("b.2", big), storeCmd("b.3", "three")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sync(); err != nil || e.Durable() < rs[0].Ticket {
		t.Fatalf("sync: %v", err)
	}
	whole, torn := t.TempDir(), t.TempDir()
	copyQuiet(t, e, dir, whole)
	copyQuiet(t, e, dir, torn)
	e.Close()
	segs, _ := filepath.Glob(filepath.Join(torn, "keel", "wal", "[0-9]*"))
	sort.Strings(segs)
	last := segs[len(segs)-1]
	fi, _ := os.Stat(last)
	if err := os.Truncate(last, fi.Size()-5); err != nil { // into the batch record
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir  string
		msgs uint64
	}{{whole, 4}, {torn, 1}} {
		e := openTestEngine(t, tc.dir, quietOpts())
		s, _ := e.Stream("B")
		st := s.State()
		if st.Msgs != tc.msgs || st.LastSeq != tc.msgs {
			t.Errorf("%s: state %+v, want %d messages", filepath.Base(tc.dir), st, tc.msgs)
		}
		if tc.msgs == 4 {
			if m, err := s.LoadMsg(3, nil); err != nil || string(m.Data) != big {
				t.Errorf("large message of the batch: %v", err)
			}
		}
		e.Close()
	}
}
