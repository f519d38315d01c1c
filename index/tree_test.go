package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestTreeInsertLookupDelete(t *testing.T) {
	// Keys that are prefixes of one another, share prefixes partly, or
	// are empty exercise every split and fold of the radix tree.
	keys := []string{
		"foo.bar", "foo", "foo.baz", "foo.bar.x", "f", "", "foo.bar.y",
		"bar", "ba", "b", "foo.b", "zzz", "foo.bar.xx", "foo.bar.x.y",
	}
	var tr Tree
	for i, k := range keys {
		st, created := tr.Insert(k)
		if !created {
			t.Fatalf("Insert(%q) not created", k)
		}
		st.Msgs = uint64(i + 1)
		if err := tr.check(); err != nil {
			t.Fatalf("after Insert(%q): %v", k, err)
		}
	}
	if tr.Len() != len(keys) {
		t.Fatalf("Len = %d, want %d", tr.Len(), len(keys))
	}
	for i, k := range keys {
		st := tr.Lookup(k)
		if st == nil || st.Msgs != uint64(i+1) {
			t.Fatalf("Lookup(%q) = %+v, want Msgs %d", k, st, i+1)
		}
		if st2, created := tr.Insert(k); created || st2 != st {
			t.Fatalf("re-Insert(%q) created=%v", k, created)
		}
	}
	for _, k := range []string{"fo", "foo.", "foo.bar.", "foo.bar.xy", "zz", "zzzz", "a", "foo.ba"} {
		if st := tr.Lookup(k); st != nil {
			t.Fatalf("Lookup(%q) found %+v", k, st)
		}
		if _, ok := tr.Delete(k); ok {
			t.Fatalf("Delete(%q) of an absent key succeeded", k)
		}
	}
	// Delete in a different order than inserted.
	order := slices.Clone(keys)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for n, k := range order {
		st, ok := tr.Delete(k)
		want := uint64(slices.Index(keys, k) + 1)
		if !ok || st.Msgs != want {
			t.Fatalf("Delete(%q) = %+v, %v; want Msgs %d", k, st, ok, want)
		}
		if err := tr.check(); err != nil {
			t.Fatalf("after Delete(%q): %v", k, err)
		}
		for _, k2 := range order[n+1:] {
			if tr.Lookup(k2) == nil {
				t.Fatalf("after Delete(%q): lost %q", k, k2)
			}
		}
	}
	if tr.Len() != 0 || tr.root != 0 {
		t.Fatalf("tree not empty: len %d", tr.Len())
	}
}

func TestTreeBytesVariants(t *testing.T) {
	var tr Tree
	b := []byte("orders.eu.1")
	st, created := tr.InsertBytes(b)
	if !created {
		t.Fatal("not created")
	}
	st.Msgs = 7
	b[0] = 'X' // the tree must have its own copy
	if got := tr.Lookup("orders.eu.1"); got == nil || got.Msgs != 7 {
		t.Fatalf("Lookup after caller changed its bytes = %+v", got)
	}
	if got := tr.LookupBytes([]byte("orders.eu.1")); got == nil || got.Msgs != 7 {
		t.Fatalf("LookupBytes = %+v", got)
	}
	if _, ok := tr.DeleteBytes([]byte("orders.eu.1")); !ok || tr.Len() != 0 {
		t.Fatal("DeleteBytes failed")
	}
	long := []byte("orders.region42.customer123456.with.a.long.tail")
	if !tr.AddMsgBytes(long, 5) || tr.AddMsgBytes(long, 6) {
		t.Fatal("AddMsgBytes: wrong created result")
	}
	if st, ok := tr.RemoveMsgBytes(long, 5); !ok || st != (SubjectState{Msgs: 1, First: 6, Last: 6}) {
		t.Fatalf("RemoveMsgBytes = %+v, %v", st, ok)
	}
	if n := testing.AllocsPerRun(100, func() { tr.AddMsgBytes(long, 7) }); n != 0 {
		t.Fatalf("AddMsgBytes on an existing subject allocates %.0f times", n)
	}
}

// randomSubject returns a valid subject over a small alphabet, so that
// random subjects collide and share prefixes often.
func randomSubject(r *rand.Rand) string {
	var sb strings.Builder
	n := 1 + r.IntN(4)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte('.')
		}
		for j := 1 + r.IntN(3); j > 0; j-- {
			sb.WriteByte("abc"[r.IntN(3)])
		}
	}
	return sb.String()
}

func TestTreeRandomAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var tr Tree
	model := map[string]uint64{}
	steps := 20000
	if testing.Short() {
		steps = 5000
	}
	for i := 0; i < steps; i++ {
		k := randomSubject(r)
		if r.IntN(3) == 0 {
			st, ok := tr.Delete(k)
			want, had := model[k]
			if ok != had || st.Msgs != want {
				t.Fatalf("step %d Delete(%q) = %+v %v, model %d %v", i, k, st, ok, want, had)
			}
			delete(model, k)
		} else {
			st, created := tr.Insert(k)
			if _, had := model[k]; created == had {
				t.Fatalf("step %d Insert(%q) created=%v, model had=%v", i, k, created, had)
			}
			st.Msgs++
			model[k] = st.Msgs
		}
		if i%97 == 0 {
			if err := tr.check(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
	}
	if err := tr.check(); err != nil {
		t.Fatal(err)
	}
	if tr.Len() != len(model) {
		t.Fatalf("Len %d, model %d", tr.Len(), len(model))
	}
	var got []string
	tr.Walk(func(s []byte, st *SubjectState) bool {
		if model[string(s)] != st.Msgs {
			t.Fatalf("Walk %q Msgs %d, model %d", s, st.Msgs, model[string(s)])
		}
		got = append(got, string(s))
		return true
	})
	want := make([]string, 0, len(model))
	for k := range model {
		want = append(want, k)
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Walk order/content differs:\n got %q\nwant %q", got, want)
	}
}

func TestTreeMatch(t *testing.T) {
	subjects := []string{
		"foo", "foo.bar", "foo.baz", "foo.bar.x", "foo.bar.y", "foo.bar.x.y",
		"bar.foo", "ba.foo", "foo*.bar", "foo.>.x", "f.b", "foo.barx",
	}
	var tr Tree
	for i, s := range subjects {
		st, _ := tr.Insert(s)
		st.Msgs = uint64(i + 1)
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"foo", []string{"foo"}},
		{"foo.bar", []string{"foo.bar"}},
		{"nope", nil},
		{"foo.*", []string{"foo.bar", "foo.barx", "foo.baz"}},
		{"foo.>", []string{"foo.>.x", "foo.bar", "foo.bar.x", "foo.bar.x.y", "foo.bar.y", "foo.barx", "foo.baz"}},
		{"foo.bar.>", []string{"foo.bar.x", "foo.bar.x.y", "foo.bar.y"}},
		{"foo.bar.*", []string{"foo.bar.x", "foo.bar.y"}},
		{"*.foo", []string{"ba.foo", "bar.foo"}},
		{"*", []string{"foo"}},
		{">", subjects},
		{"", subjects},
		{"*.*", []string{"ba.foo", "bar.foo", "f.b", "foo.bar", "foo.barx", "foo.baz", "foo*.bar"}},
		{"*.bar", []string{"foo.bar", "foo*.bar"}},
		{"foo*.*", []string{"foo*.bar"}}, // "foo*" is a literal token
		{"foo.>.x", []string{"foo.>.x"}}, // a ">" not at the end is literal
		{"*.*.x", []string{"foo.>.x", "foo.bar.x"}},
		{"*.*.*.*", []string{"foo.bar.x.y"}},
		{"*.*.*.*.*", nil},
		{"foo.ba", nil},
		{"fo.>", nil},
		{"f.*", []string{"f.b"}},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			var got []string
			tr.Match(tc.filter, func(s []byte, st *SubjectState) bool {
				if want := uint64(slices.Index(subjects, string(s)) + 1); st.Msgs != want {
					t.Errorf("%q: state Msgs %d, want %d", s, st.Msgs, want)
				}
				got = append(got, string(s))
				return true
			})
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("Match(%q) = %q, want %q", tc.filter, got, want)
			}
		})
	}
}

func TestTreeMatchEarlyStop(t *testing.T) {
	var tr Tree
	for i := 0; i < 100; i++ {
		tr.Insert(fmt.Sprintf("a.%03d", i))
	}
	n := 0
	tr.Match("a.*", func([]byte, *SubjectState) bool { n++; return n < 5 })
	if n != 5 {
		t.Fatalf("visited %d subjects after asking to stop at 5", n)
	}
	n = 0
	tr.Walk(func([]byte, *SubjectState) bool { n++; return false })
	if n != 1 {
		t.Fatalf("Walk visited %d after stop", n)
	}
}

func TestTreeMatchRandomAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var tr Tree
	var subjects []string
	for i := 0; i < 2000; i++ {
		s := randomSubject(r)
		if _, created := tr.Insert(s); created {
			subjects = append(subjects, s)
		}
	}
	sort.Strings(subjects)
	filters := []string{">", "*", "*.>", "a.>", "*.*", "a.*.b", "*.a.>", "ab.*.*", "*.*.*.*", "abc.>"}
	for i := 0; i < 300; i++ {
		// Random filters: random subjects with tokens replaced by wildcards.
		toks := strings.Split(randomSubject(r), ".")
		for j := range toks {
			if r.IntN(3) == 0 {
				toks[j] = "*"
			}
		}
		if r.IntN(3) == 0 {
			toks[len(toks)-1] = ">"
		}
		filters = append(filters, strings.Join(toks, "."))
	}
	for _, f := range filters {
		var want []string
		for _, s := range subjects {
			if matchModel(f, s) {
				want = append(want, s)
			}
		}
		var got []string
		tr.Match(f, func(s []byte, _ *SubjectState) bool {
			got = append(got, string(s))
			return true
		})
		if !slices.Equal(got, want) {
			t.Fatalf("Match(%q):\n got %q\nwant %q", f, got, want)
		}
	}
}

func TestTreeFirstMatch(t *testing.T) {
	var tr Tree
	add := func(s string, seqs ...uint64) {
		for _, q := range seqs {
			tr.AddMsg(s, q)
		}
	}
	add("a.x", 10, 20, 30)
	add("a.y", 5, 7)
	add("b.z", 1, 100)
	tests := []struct {
		filter string
		start  uint64
		want   uint64
		ok     bool
	}{
		{"a.*", 0, 5, true},
		{"a.*", 6, 6, true},
		{"a.*", 8, 10, true},
		{"a.*", 31, 0, false},
		{">", 31, 31, true},
		{"b.z", 2, 2, true},
		{"b.z", 101, 0, false},
		{"c.*", 0, 0, false},
	}
	for _, tc := range tests {
		got, ok := tr.FirstMatch(tc.filter, tc.start)
		if got != tc.want || ok != tc.ok {
			t.Errorf("FirstMatch(%q, %d) = %d, %v; want %d, %v", tc.filter, tc.start, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTreeAddRemoveMsg(t *testing.T) {
	type step struct {
		add  bool
		seq  uint64
		want SubjectState
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first removed then pinned by last", []step{
			{true, 1, SubjectState{Msgs: 1, First: 1, Last: 1}},
			{true, 5, SubjectState{Msgs: 2, First: 1, Last: 5}},
			{true, 9, SubjectState{Msgs: 3, First: 1, Last: 9}},
			{false, 1, SubjectState{Msgs: 2, First: 2, Last: 9, FirstStale: true}},
			{false, 9, SubjectState{Msgs: 1, First: 2, Last: 8, FirstStale: true, LastStale: true}},
		}},
		{"middle removal keeps bounds", []step{
			{true, 1, SubjectState{Msgs: 1, First: 1, Last: 1}},
			{true, 2, SubjectState{Msgs: 2, First: 1, Last: 2}},
			{true, 3, SubjectState{Msgs: 3, First: 1, Last: 3}},
			{false, 2, SubjectState{Msgs: 2, First: 1, Last: 3}},
			{false, 1, SubjectState{Msgs: 1, First: 3, Last: 3}},
		}},
		{"last removed, first pins", []step{
			{true, 4, SubjectState{Msgs: 1, First: 4, Last: 4}},
			{true, 8, SubjectState{Msgs: 2, First: 4, Last: 8}},
			{false, 8, SubjectState{Msgs: 1, First: 4, Last: 4}},
		}},
		{"add below a stale first is exact", []step{
			{true, 4, SubjectState{Msgs: 1, First: 4, Last: 4}},
			{true, 6, SubjectState{Msgs: 2, First: 4, Last: 6}},
			{true, 8, SubjectState{Msgs: 3, First: 4, Last: 8}},
			{false, 4, SubjectState{Msgs: 2, First: 5, Last: 8, FirstStale: true}},
			{true, 2, SubjectState{Msgs: 3, First: 2, Last: 8}},
		}},
		{"removing the only message deletes", []step{
			{true, 4, SubjectState{Msgs: 1, First: 4, Last: 4}},
			{false, 4, SubjectState{}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tree
			for i, s := range tc.steps {
				var got SubjectState
				if s.add {
					tr.AddMsg("s.1", s.seq)
					got = *tr.Lookup("s.1")
				} else {
					var ok bool
					got, ok = tr.RemoveMsg("s.1", s.seq)
					if !ok {
						t.Fatalf("step %d: RemoveMsg found no subject", i)
					}
				}
				if got != s.want {
					t.Fatalf("step %d (add=%v seq=%d): got %+v want %+v", i, s.add, s.seq, got, s.want)
				}
			}
			if tc.steps[len(tc.steps)-1].want.Msgs == 0 && tr.Len() != 0 {
				t.Fatal("subject with no messages left in the tree")
			}
		})
	}
	var tr Tree
	if _, ok := tr.RemoveMsg("absent", 1); ok {
		t.Fatal("RemoveMsg of an absent subject reported ok")
	}
}

func TestTreeReclaimsMemory(t *testing.T) {
	var tr Tree
	const n = 50000
	for i := 0; i < n; i++ {
		tr.AddMsg(fmt.Sprintf("kv.bucket.key%06d", i), uint64(i+1))
	}
	peak := tr.MemoryBytes()
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			continue
		}
		if _, ok := tr.Delete(fmt.Sprintf("kv.bucket.key%06d", i)); !ok {
			t.Fatalf("delete %d failed", i)
		}
	}
	if err := tr.check(); err != nil {
		t.Fatal(err)
	}
	if tr.Len() != n/100 {
		t.Fatalf("Len %d, want %d", tr.Len(), n/100)
	}
	if got := tr.MemoryBytes(); got > peak/10 {
		t.Fatalf("memory after deleting 99%%: %d bytes, peak %d", got, peak)
	}
	for i := 0; i < n; i += 100 {
		if st := tr.Lookup(fmt.Sprintf("kv.bucket.key%06d", i)); st == nil || st.First != uint64(i+1) {
			t.Fatalf("key %d lost or damaged by compaction: %+v", i, st)
		}
	}
}

func TestTreeDataCompaction(t *testing.T) {
	// Churn with a stable population: the data arena must not grow without
	// bound as deleted subjects' bytes turn into garbage.
	var tr Tree
	const live = 2000
	for i := 0; i < live; i++ {
		tr.Insert(fmt.Sprintf("churn.%d.subject", i))
	}
	for i := live; i < 20*live; i++ {
		tr.Delete(fmt.Sprintf("churn.%d.subject", i-live))
		tr.Insert(fmt.Sprintf("churn.%d.subject", i))
	}
	if err := tr.check(); err != nil {
		t.Fatal(err)
	}
	if len(tr.data) > 2*tr.live+4096 {
		t.Fatalf("data arena %d bytes for %d live", len(tr.data), tr.live)
	}
}

func TestTreeWideNodesAndSpanLengths(t *testing.T) {
	// Every byte value under one node grows its record to the largest
	// class and back; prefixes and suffixes of 0..9 bytes cross the
	// inline/data boundary in both directions as nodes split and fold.
	r := rand.New(rand.NewPCG(9, 10))
	var tr Tree
	model := map[string]bool{}
	for round := 0; round < 3; round++ {
		for b := 0; b < 256; b++ {
			for l := 0; l < 10; l += 3 {
				k := "p" + strings.Repeat("x", round*3) + string([]byte{byte(b)}) + strings.Repeat("y", l)
				if _, created := tr.Insert(k); created == model[k] {
					t.Fatalf("Insert(%q) created=%v", k, created)
				}
				model[k] = true
			}
		}
		if err := tr.check(); err != nil {
			t.Fatalf("round %d after inserts: %v", round, err)
		}
	}
	keys := make([]string, 0, len(model))
	for k := range model {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for i, k := range keys {
		if _, ok := tr.Delete(k); !ok {
			t.Fatalf("Delete(%q) failed", k)
		}
		delete(model, k)
		if i%50 == 0 {
			if err := tr.check(); err != nil {
				t.Fatalf("after %d deletes: %v", i+1, err)
			}
			for k2 := range model {
				if tr.Lookup(k2) == nil {
					t.Fatalf("after deleting %q, lost %q", k, k2)
				}
			}
		}
	}
	if tr.Len() != 0 {
		t.Fatalf("Len %d after deleting everything", tr.Len())
	}
}

func TestTreeLongSubjects(t *testing.T) {
	// Subjects up to the 4 KB a NATS control line allows, sharing long
	// prefixes, so splits and folds move long pieces of key around.
	var tr Tree
	base := strings.Repeat("segment.", 500) // 4000 bytes
	var keys []string
	for i := 0; i < 40; i++ {
		k := base[:len(base)-i*97] + fmt.Sprintf("leaf%02d.%s", i, strings.Repeat("z", i))
		keys = append(keys, k)
		tr.AddMsg(k, uint64(i+1))
	}
	if err := tr.check(); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if st := tr.Lookup(k); st == nil || st.First != uint64(i+1) {
			t.Fatalf("Lookup of %d-byte subject %d = %+v", len(k), i, st)
		}
	}
	n := 0
	tr.Match("segment.*.>", func(s []byte, _ *SubjectState) bool {
		if !slices.Contains(keys, string(s)) {
			t.Fatalf("Match produced an unknown subject of %d bytes", len(s))
		}
		n++
		return true
	})
	if n != len(keys) {
		t.Fatalf("Match found %d of %d", n, len(keys))
	}
	for i, k := range keys {
		if i%2 == 0 {
			tr.Delete(k)
		}
	}
	if err := tr.check(); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if got := tr.Lookup(k) != nil; got != (i%2 == 1) {
			t.Fatalf("after deletes, subject %d present = %v", i, got)
		}
	}
}

func TestTreeConcurrentReaders(t *testing.T) {
	// Read-only methods may run together (under a store's read lock); the
	// race detector checks they share nothing mutable.
	var tr Tree
	for i := 0; i < 5000; i++ {
		tr.AddMsg(fmt.Sprintf("r.%d.%d", i%50, i), uint64(i+1))
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				n := 0
				tr.Match(fmt.Sprintf("r.%d.*", (g*7+i)%50), func([]byte, *SubjectState) bool { n++; return true })
				if n != 100 {
					t.Errorf("Match found %d, want 100", n)
					return
				}
				if tr.Lookup(fmt.Sprintf("r.%d.%d", i%50, i)) == nil {
					t.Errorf("Lookup missed")
					return
				}
				if _, ok := tr.FirstMatch("r.>", 1); !ok {
					t.Errorf("FirstMatch found nothing")
					return
				}
			}
		}()
	}
	wg.Wait()
}
