package index

import (
	"math/rand/v2"
	"testing"
)

// TestSeqSetAbsent checks NextAbsent and PrevAbsent against a scan, over
// sets with every container form, touching runs and whole chunks.
func TestSeqSetAbsent(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		var s SeqSet
		const span = 4 * chunkSize
		member := make([]bool, span+6*chunkSize)
		for i := 0; i < 30; i++ {
			lo := uint64(r.IntN(span))
			hi := lo + uint64(r.IntN([]int{1, 40, 3000, 2 * chunkSize}[r.IntN(4)]))
			if r.IntN(4) == 0 {
				s.RemoveRange(lo, hi)
				for q := lo; q <= hi; q++ {
					member[q] = false
				}
				continue
			}
			if r.IntN(3) == 0 {
				for q := lo; q <= hi; q += uint64(1 + r.IntN(3)) {
					s.Add(q)
					member[q] = true
				}
				continue
			}
			s.AddRange(lo, hi)
			for q := lo; q <= hi; q++ {
				member[q] = true
			}
		}
		if err := s.check(); err != nil {
			t.Fatal(err)
		}
		c := s.Clone()
		if !c.Equal(&s) {
			t.Fatalf("seed %d: clone differs", seed)
		}
		for i := 0; i < 300; i++ {
			q := uint64(r.IntN(span + 3*chunkSize))
			want := q
			for member[want] {
				want++
			}
			if got, ok := s.NextAbsent(q); !ok || got != want {
				t.Fatalf("seed %d: NextAbsent(%d) = %d %v, want %d", seed, q, got, ok, want)
			}
			want, wantOK := q, true
			for member[want] {
				if want == 0 {
					wantOK = false
					break
				}
				want--
			}
			if got, ok := s.PrevAbsent(q); ok != wantOK || (ok && got != want) {
				t.Fatalf("seed %d: PrevAbsent(%d) = %d %v, want %d %v", seed, q, got, ok, want, wantOK)
			}
		}
		c.Add(span + 10*chunkSize)
		if s.Contains(span + 10*chunkSize) {
			t.Fatal("the clone shares memory with the set")
		}
	}
}

// TestSeqSetAbsentFarGap: a run of many chunks is crossed in one call per
// chunk, and the ends of the sequence space answer false.
func TestSeqSetAbsentFarGap(t *testing.T) {
	var s SeqSet
	s.AddRange(10, 1<<30)
	if got, ok := s.NextAbsent(10); !ok || got != 1<<30+1 {
		t.Errorf("NextAbsent(10) = %d %v", got, ok)
	}
	if got, ok := s.PrevAbsent(1 << 30); !ok || got != 9 {
		t.Errorf("PrevAbsent(1<<30) = %d %v", got, ok)
	}
	s.AddRange(0, 9)
	if _, ok := s.PrevAbsent(1 << 29); ok {
		t.Error("PrevAbsent found a gap below a set starting at 0")
	}
	var top SeqSet
	top.AddRange(^uint64(0)-5, ^uint64(0))
	if _, ok := top.NextAbsent(^uint64(0) - 3); ok {
		t.Error("NextAbsent found a gap above a set reaching the top")
	}
	if got, ok := top.NextAbsent(7); !ok || got != 7 {
		t.Errorf("NextAbsent(7) = %d %v", got, ok)
	}
}

func BenchmarkSeqSetNextAbsentFarGap(b *testing.B) {
	var s SeqSet
	s.AddRange(10, 1<<30)
	b.ReportAllocs()
	for b.Loop() {
		s.NextAbsent(11)
	}
}
