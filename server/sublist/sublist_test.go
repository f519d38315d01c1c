package sublist

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestValidation(t *testing.T) {
	cases := []struct {
		subj              string
		valid, literal    bool
		validLiteralCheck bool
	}{
		{"foo", true, true, true},
		{"foo.bar", true, true, true},
		{"foo.*", true, false, false},
		{"foo.>", true, false, false},
		{">", true, false, false},
		{"*", true, false, false},
		{"foo.*.bar", true, false, false},
		{"foo*.bar", true, true, true},
		{"foo.>bar", true, true, true},
		{"foo.>.bar", false, false, false},
		{"", false, true, false},
		{"foo..bar", false, true, false},
		{".foo", false, true, false},
		{"foo.", false, true, false},
		{"foo bar", false, true, true},
		{"foo.\tbar", false, true, true},
		{" ", false, true, true},
		{"$JS.API.>", true, false, false},
	}
	for _, c := range cases {
		if got := IsValidSubject(c.subj); got != c.valid {
			t.Errorf("IsValidSubject(%q) = %v, want %v", c.subj, got, c.valid)
		}
		if got := IsLiteral(c.subj); got != c.literal {
			t.Errorf("IsLiteral(%q) = %v, want %v", c.subj, got, c.literal)
		}
		if got := IsValidLiteralSubject(c.subj); got != c.validLiteralCheck {
			t.Errorf("IsValidLiteralSubject(%q) = %v, want %v", c.subj, got, c.validLiteralCheck)
		}
		if got, want := IsValidPublishSubject(c.subj), c.valid && c.literal; got != want {
			t.Errorf("IsValidPublishSubject(%q) = %v, want %v", c.subj, got, want)
		}
	}
}

func TestMatchLiteral(t *testing.T) {
	cases := []struct {
		subj, filter string
		want         bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo.bar", "foo.*", true},
		{"foo.bar", "*.bar", true},
		{"foo.bar", "*", false},
		{"foo.bar", ">", true},
		{"foo", "foo.>", false},
		{"foo.bar.baz", "foo.>", true},
		{"foo.bar.baz", "foo.*", false},
		{"foo.bar", "foo.bar.baz", false},
		{"foo.bar.baz", "foo.*.baz", true},
	}
	for _, c := range cases {
		if got := MatchLiteral(c.subj, c.filter); got != c.want {
			t.Errorf("MatchLiteral(%q, %q) = %v, want %v", c.subj, c.filter, got, c.want)
		}
	}
}

type sub struct{ name string }

func names(r *Result[*sub]) []string {
	var out []string
	for _, s := range r.Plain {
		out = append(out, s.name)
	}
	for i, q := range r.Queues {
		for _, s := range q {
			out = append(out, r.QueueNames[i]+":"+s.name)
		}
	}
	slices.Sort(out)
	return out
}

func TestMatchTable(t *testing.T) {
	subs := []struct{ subject, queue, name string }{
		{"foo", "", "a"},
		{"foo.bar", "", "b"},
		{"foo.*", "", "c"},
		{"foo.>", "", "d"},
		{">", "", "e"},
		{"*.bar", "", "f"},
		{"foo.*", "q", "g"},
		{"foo.>", "q", "h"},
		{"foo.bar", "r", "i"},
		{"a.*.c.>", "", "j"},
	}
	sl := New[*sub]()
	for _, s := range subs {
		if err := sl.Insert(s.subject, s.queue, &sub{s.name}); err != nil {
			t.Fatalf("insert %s: %v", s.subject, err)
		}
	}
	cases := []struct {
		subject string
		want    []string
	}{
		{"foo", []string{"a", "e"}},
		{"foo.bar", []string{"b", "c", "d", "e", "f", "q:g", "q:h", "r:i"}},
		{"foo.baz", []string{"c", "d", "e", "q:g", "q:h"}},
		{"foo.bar.baz", []string{"d", "e", "q:h"}},
		{"x.bar", []string{"e", "f"}},
		{"a.b.c", []string{"e"}},
		{"a.b.c.d", []string{"e", "j"}},
		{"a.b.c.d.e", []string{"e", "j"}},
		{"foo..bar", nil},
		{"", nil},
		// Publishing to a wildcard token (non-pedantic) matches wildcard
		// subscriptions only, as the reference does.
		{"foo.*", []string{"c", "d", "e", "q:g", "q:h"}},
	}
	for _, c := range cases {
		for range 2 { // second time from the cache
			if got := names(sl.Match(c.subject)); !slices.Equal(got, c.want) {
				t.Errorf("Match(%q) = %v, want %v", c.subject, got, c.want)
			}
		}
	}
}

// TestQueueGroupsMerge: members of one group reached through different
// nodes ("foo.*" and "foo.>") form a single group, so a message goes to
// one of them only.
func TestQueueGroupsMerge(t *testing.T) {
	sl := New[*sub]()
	must(t, sl.Insert("foo.*", "q", &sub{"a"}))
	must(t, sl.Insert("foo.>", "q", &sub{"b"}))
	must(t, sl.Insert("foo.bar", "q", &sub{"c"}))
	must(t, sl.Insert("foo.bar", "other", &sub{"d"}))
	r := sl.Match("foo.bar")
	if len(r.Queues) != 2 || len(r.QueueNames) != 2 {
		t.Fatalf("groups %v", r.QueueNames)
	}
	for i, name := range r.QueueNames {
		want := map[string]int{"q": 3, "other": 1}[name]
		if len(r.Queues[i]) != want {
			t.Errorf("group %s has %d members, want %d", name, len(r.Queues[i]), want)
		}
	}
}

func TestNoCache(t *testing.T) {
	sl := NewNoCache[*sub]()
	a := &sub{"a"}
	must(t, sl.Insert("foo.*", "", a))
	if got := names(sl.MatchBytes([]byte("foo.bar"))); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("got %v", got)
	}
	must(t, sl.Remove("foo.*", "", a))
	if sl.Match("foo.bar").Len() != 0 {
		t.Fatal("stale result without a cache")
	}
}

func TestInsertInvalid(t *testing.T) {
	sl := New[*sub]()
	for _, s := range []string{"", "foo..bar", ".foo", "foo.", "foo.>.bar", ">.>"} {
		if err := sl.Insert(s, "", &sub{}); err != ErrInvalidSubject {
			t.Errorf("Insert(%q) = %v, want ErrInvalidSubject", s, err)
		}
	}
	if sl.Count() != 0 {
		t.Fatalf("count = %d after invalid inserts", sl.Count())
	}
}

func TestRemoveAndPrune(t *testing.T) {
	sl := New[*sub]()
	a, b := &sub{"a"}, &sub{"b"}
	must(t, sl.Insert("foo.bar.baz", "", a))
	must(t, sl.Insert("foo.*", "q", b))
	if got := sl.Match("foo.bar.baz").Len(); got != 1 {
		t.Fatalf("len = %d", got)
	}
	must(t, sl.Remove("foo.bar.baz", "", a))
	if err := sl.Remove("foo.bar.baz", "", a); err != ErrNotFound {
		t.Fatalf("second remove: %v", err)
	}
	if got := sl.Match("foo.bar.baz").Len(); got != 0 {
		t.Fatalf("stale cache: len = %d", got)
	}
	if got := sl.Match("foo.x").Len(); got != 1 {
		t.Fatalf("queue match len = %d", got)
	}
	must(t, sl.Remove("foo.*", "q", b))
	if sl.Count() != 0 || !sl.root.empty() {
		t.Fatalf("trie not pruned: count=%d", sl.Count())
	}
}

func TestCacheInvalidatedByWildcard(t *testing.T) {
	sl := New[*sub]()
	must(t, sl.Insert("foo.bar", "", &sub{"a"}))
	if sl.Match("foo.bar").Len() != 1 {
		t.Fatal("want 1")
	}
	w := &sub{"w"}
	must(t, sl.Insert("foo.>", "", w))
	if sl.Match("foo.bar").Len() != 2 {
		t.Fatal("wildcard insert did not invalidate cached literal")
	}
	must(t, sl.Remove("foo.>", "", w))
	if sl.Match("foo.bar").Len() != 1 {
		t.Fatal("wildcard remove did not invalidate cached literal")
	}
}

func TestStats(t *testing.T) {
	sl := New[*sub]()
	must(t, sl.Insert("a", "", &sub{}))
	sl.Match("a")
	sl.Match("a")
	st := sl.Stats()
	if st.NumSubs != 1 || st.NumCache != 1 || st.Matches != 2 || st.CacheHits != 1 || st.NumInserts != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Fan-out counts plain subscriptions and queue groups of cached results.
	gone := &sub{}
	must(t, sl.Insert("b.*", "", gone))
	must(t, sl.Insert("b.c", "", &sub{}))
	must(t, sl.Insert("b.c", "q", &sub{}))
	must(t, sl.Insert("b.c", "q", &sub{}))
	sl.Match("b.c")
	sl.Match("a")
	must(t, sl.Remove("b.*", "", gone))
	sl.Match("b.c")
	st = sl.Stats()
	if st.NumSubs != 4 || st.NumInserts != 5 || st.NumRemoves != 1 || st.MaxFanout != 2 || st.TotalFanout != 3 || st.NumCache != 2 {
		t.Fatalf("stats after changes %+v", st)
	}
}

func TestGenChanges(t *testing.T) {
	sl := New[*sub]()
	g := sl.Gen()
	s := &sub{}
	must(t, sl.Insert("x", "", s))
	if sl.Gen() == g {
		t.Fatal("insert did not change gen")
	}
	g = sl.Gen()
	must(t, sl.Insert("x", "", s)) // duplicate: no change
	if sl.Gen() != g {
		t.Fatal("duplicate insert changed gen")
	}
	must(t, sl.Remove("x", "", s))
	if sl.Gen() == g {
		t.Fatal("remove did not change gen")
	}
}

// TestConcurrentCacheCorrectness races subscribers against matchers and
// checks, after everything settles, that every cached answer equals a fresh
// walk of the trie. Run it with -race.
func TestConcurrentCacheCorrectness(t *testing.T) {
	sl := New[*sub]()
	subjects := []string{"a.b", "a.*", "a.>", "*.b", ">", "a.c"}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]*sub, len(subjects))
			for i := range mine {
				mine[i] = &sub{fmt.Sprint(w, i)}
			}
			for it := range 500 {
				i := it % len(subjects)
				must(t, sl.Insert(subjects[i], "", mine[i]))
				sl.Match("a.b")
				if it%3 == 0 {
					must(t, sl.Remove(subjects[i], "", mine[i]))
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				sl.Match("a.b")
				sl.Match("a.c")
				sl.Match("x.b")
			}
		}()
	}
	wg.Wait()
	for _, subj := range []string{"a.b", "a.c", "x.b"} {
		cached := names(sl.Match(subj))
		sl.mu.RLock()
		fresh := names(sl.matchLocked(subj))
		sl.mu.RUnlock()
		if !slices.Equal(cached, fresh) {
			t.Errorf("%s: cached %v != fresh %v", subj, cached, fresh)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkMatchCached(b *testing.B) {
	sl := New[*sub]()
	for i := range 1000 {
		_ = sl.Insert(fmt.Sprintf("foo.%d.bar", i), "", &sub{})
	}
	_ = sl.Insert("foo.*.bar", "", &sub{})
	_ = sl.Insert("foo.>", "q", &sub{})
	subj := []byte("foo.500.bar")
	b.ReportAllocs()
	for b.Loop() {
		if sl.MatchBytes(subj).Len() != 3 {
			b.Fatal("bad match")
		}
	}
}

func BenchmarkMatchUncached(b *testing.B) {
	sl := New[*sub]()
	for i := range 1000 {
		_ = sl.Insert(fmt.Sprintf("foo.%d.bar", i), "", &sub{})
	}
	_ = sl.Insert("foo.*.bar", "", &sub{})
	b.ReportAllocs()
	for b.Loop() {
		sl.mu.RLock()
		sl.matchLocked("foo.500.bar")
		sl.mu.RUnlock()
	}
}

func BenchmarkInsertRemove(b *testing.B) {
	sl := New[*sub]()
	s := &sub{}
	b.ReportAllocs()
	for b.Loop() {
		_ = sl.Insert("_INBOX.abc.def", "", s)
		_ = sl.Remove("_INBOX.abc.def", "", s)
	}
}
