package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// check verifies the set's invariants: containers sorted and non-empty,
// counts and run counts exact, forms well built.
func (s *SeqSet) check() error {
	var total uint64
	for i := range s.conts {
		c := &s.conts[i]
		if i > 0 && s.conts[i-1].key >= c.key {
			return fmt.Errorf("container %d: keys out of order", i)
		}
		var card, runs uint32
		prev := -2
		switch c.kind {
		case kindArray:
			for k, v := range c.vals {
				if k > 0 && c.vals[k-1] >= v {
					return fmt.Errorf("container %d: array unsorted", i)
				}
			}
		case kindRuns:
			if len(c.vals)%2 != 0 {
				return fmt.Errorf("container %d: odd run list", i)
			}
			for k := 0; k < len(c.vals); k += 2 {
				if c.vals[k] > c.vals[k+1] || (k > 0 && int(c.vals[k]) <= int(c.vals[k-1])+1) {
					return fmt.Errorf("container %d: bad run list %v", i, c.vals)
				}
			}
		case kindBitmap:
			if len(c.bits) != bitmapWords {
				return fmt.Errorf("container %d: bitmap of %d words", i, len(c.bits))
			}
		default:
			return fmt.Errorf("container %d: kind %d", i, c.kind)
		}
		c.ascend(0, 0, func(x uint64) bool {
			card++
			if int(x) != prev+1 {
				runs++
			}
			prev = int(x)
			return true
		})
		if card != c.card || runs != c.runs || card == 0 {
			return fmt.Errorf("container %d (kind %d): card %d/%d runs %d/%d", i, c.kind, c.card, card, c.runs, runs)
		}
		total += uint64(card)
	}
	if total != s.n {
		return fmt.Errorf("n %d, counted %d", s.n, total)
	}
	return nil
}

func sortedKeys(m map[uint64]bool) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestSeqSetRandomAgainstMap(t *testing.T) {
	// Each distribution pushes containers into a different form and
	// through the conversions between them.
	dists := map[string]func(r *rand.Rand) uint64{
		"sparse":    func(r *rand.Rand) uint64 { return r.Uint64N(1 << 22) },
		"dense":     func(r *rand.Rand) uint64 { return 70000 + r.Uint64N(3000) },
		"clustered": func(r *rand.Rand) uint64 { return 1<<40 + r.Uint64N(40)*1000 + r.Uint64N(30) },
		"edges":     func(r *rand.Rand) uint64 { return 65536*r.Uint64N(3) + r.Uint64N(4) - 2 + 65536 },
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			var s SeqSet
			model := map[uint64]bool{}
			for i := 0; i < 20000; i++ {
				x := gen(r)
				switch op := r.IntN(20); {
				case op < 12:
					if got := s.Add(x); got == model[x] {
						t.Fatalf("step %d Add(%d) = %v, model had %v", i, x, got, model[x])
					}
					model[x] = true
				case op < 18:
					if got := s.Remove(x); got != model[x] {
						t.Fatalf("step %d Remove(%d) = %v, model had %v", i, x, got, model[x])
					}
					delete(model, x)
				case op == 18:
					hi := x + r.Uint64N(200)
					var want uint64
					for q := x; q <= hi; q++ {
						if !model[q] {
							want++
							model[q] = true
						}
					}
					if got := s.AddRange(x, hi); got != want {
						t.Fatalf("step %d AddRange(%d,%d) = %d, want %d", i, x, hi, got, want)
					}
				default:
					hi := x + r.Uint64N(200)
					var want uint64
					for q := x; q <= hi; q++ {
						if model[q] {
							want++
							delete(model, q)
						}
					}
					if got := s.RemoveRange(x, hi); got != want {
						t.Fatalf("step %d RemoveRange(%d,%d) = %d, want %d", i, x, hi, got, want)
					}
				}
				if s.Contains(x) != model[x] {
					t.Fatalf("step %d Contains(%d) = %v", i, x, !model[x])
				}
				if i%199 == 0 {
					if err := s.check(); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
			}
			if err := s.check(); err != nil {
				t.Fatal(err)
			}
			want := sortedKeys(model)
			if got := s.AppendTo(nil); !slices.Equal(got, want) {
				t.Fatalf("AppendTo: %d values, model %d", len(got), len(want))
			}
			if s.Len() != uint64(len(want)) {
				t.Fatalf("Len %d, model %d", s.Len(), len(want))
			}
			if len(want) > 0 {
				if mn, _ := s.Min(); mn != want[0] {
					t.Fatalf("Min %d, want %d", mn, want[0])
				}
				if mx, _ := s.Max(); mx != want[len(want)-1] {
					t.Fatalf("Max %d, want %d", mx, want[len(want)-1])
				}
			}
			for k := 0; k < 200; k++ {
				lo := gen(r)
				hi := lo + r.Uint64N(100000)
				a := sort.Search(len(want), func(i int) bool { return want[i] >= lo })
				b := sort.Search(len(want), func(i int) bool { return want[i] > hi })
				if got := s.CountRange(lo, hi); got != uint64(b-a) {
					t.Fatalf("CountRange(%d,%d) = %d, want %d", lo, hi, got, b-a)
				}
				var asc []uint64
				s.Ascend(lo, func(q uint64) bool {
					asc = append(asc, q)
					return len(asc) < 10
				})
				if end := min(a+10, len(want)); !slices.Equal(asc, want[a:end]) {
					t.Fatalf("Ascend(%d) = %v, want %v", lo, asc, want[a:end])
				}
			}
			// Equal is about content, not form.
			var o SeqSet
			for _, q := range want {
				o.Add(q)
			}
			if !s.Equal(&o) || !o.Equal(&s) {
				t.Fatal("sets with the same content are not Equal")
			}
			if len(want) > 0 {
				o.Remove(want[0])
				if s.Equal(&o) {
					t.Fatal("sets with different content are Equal")
				}
			}
		})
	}
}

func TestSeqSetFollowsFirstSeq(t *testing.T) {
	var s SeqSet
	for q := uint64(10); q < 300000; q += 3 {
		s.Add(q)
	}
	n := s.Len()
	removed := s.RemoveRange(0, 150000)
	if want := uint64((150000-10)/3 + 1); removed != want {
		t.Fatalf("RemoveRange removed %d, want %d", removed, want)
	}
	if s.Len() != n-removed {
		t.Fatalf("Len %d after removing %d of %d", s.Len(), removed, n)
	}
	if mn, _ := s.Min(); mn <= 150000 {
		t.Fatalf("Min %d after RemoveRange(0, 150000)", mn)
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	s.RemoveRange(0, ^uint64(0))
	if s.Len() != 0 || len(s.conts) != 0 {
		t.Fatalf("set not empty: %d", s.Len())
	}
	if _, ok := s.Min(); ok {
		t.Fatal("Min of an empty set")
	}
}

func TestSeqSetCompact(t *testing.T) {
	tests := []struct {
		name     string
		fill     func(s *SeqSet)
		maxBytes int
	}{
		// A run of ten million deletes: a few bytes per chunk.
		{"run of 10M", func(s *SeqSet) { s.AddRange(1000, 10_001_000) }, 20_000},
		// The same run, deleted one at a time.
		{"run of 1M one by one", func(s *SeqSet) {
			for q := uint64(1); q <= 1_000_000; q++ {
				s.Add(q)
			}
		}, 2_000},
		// Every tenth sequence: ~2 bytes per delete.
		{"every 10th of 1M", func(s *SeqSet) {
			for q := uint64(1); q <= 1_000_000; q += 10 {
				s.Add(q)
			}
		}, 250_000},
		// Every other sequence: a bitmap, 1 bit per sequence.
		{"every 2nd of 1M", func(s *SeqSet) {
			for q := uint64(1); q <= 1_000_000; q += 2 {
				s.Add(q)
			}
		}, 140_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s SeqSet
			tc.fill(&s)
			if err := s.check(); err != nil {
				t.Fatal(err)
			}
			if got := s.MemoryBytes(); got > tc.maxBytes {
				t.Fatalf("%d sequences take %d bytes, want <= %d", s.Len(), got, tc.maxBytes)
			}
		})
	}
}
