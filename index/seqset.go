package index

import (
	"slices"
	"sort"
	"unsafe"
)

// SeqSet is a set of sequence numbers, meant for the sequences deleted
// inside a stream's range (interior deletes) or inside one block.
//
// It is compact whatever the deletes look like: sequences are grouped by
// chunks of 65536 and each chunk is kept as a sorted array, a bitmap or a
// list of runs, whichever is smallest (a few bytes for a run of a million
// deletes, about 2 bytes per delete when they are scattered, 1 bit per
// sequence when they are dense).
//
// The zero SeqSet is empty and ready to use. A SeqSet must not be copied
// after first use; it is not safe for concurrent use, except that read-only
// methods may run concurrently with each other.
type SeqSet struct {
	conts []container // sorted by key
	n     uint64
}

// Len returns the number of sequences in the set.
func (s *SeqSet) Len() uint64 { return s.n }

// find returns the index of the container for key, or where it would go.
func (s *SeqSet) find(key uint64) (int, bool) {
	i := sort.Search(len(s.conts), func(i int) bool { return s.conts[i].key >= key })
	return i, i < len(s.conts) && s.conts[i].key == key
}

// Contains reports whether seq is in the set.
func (s *SeqSet) Contains(seq uint64) bool {
	i, ok := s.find(seq >> chunkBits)
	return ok && s.conts[i].contains(uint16(seq))
}

// Add adds seq and reports whether it was absent.
func (s *SeqSet) Add(seq uint64) bool {
	i, ok := s.find(seq >> chunkBits)
	if !ok {
		c := container{key: seq >> chunkBits, kind: kindArray, card: 1, runs: 1, vals: []uint16{uint16(seq)}}
		s.conts = slices.Insert(s.conts, i, c)
		s.n++
		return true
	}
	if s.conts[i].add(uint16(seq)) {
		s.n++
		return true
	}
	return false
}

// Remove removes seq and reports whether it was present.
func (s *SeqSet) Remove(seq uint64) bool {
	i, ok := s.find(seq >> chunkBits)
	if !ok || !s.conts[i].remove(uint16(seq)) {
		return false
	}
	s.n--
	if s.conts[i].card == 0 {
		s.conts = slices.Delete(s.conts, i, i+1)
	}
	return true
}

// AddRange adds every sequence in [lo, hi] and returns how many were
// absent. Whole chunks inside the range cost a few bytes each.
func (s *SeqSet) AddRange(lo, hi uint64) uint64 {
	return s.setRange(lo, hi, true)
}

// RemoveRange removes every sequence in [lo, hi] and returns how many were
// present. A store uses it when the stream's first sequence moves up
// (RemoveRange(0, first-1)) or when it is truncated.
func (s *SeqSet) RemoveRange(lo, hi uint64) uint64 {
	return s.setRange(lo, hi, false)
}

func (s *SeqSet) setRange(lo, hi uint64, on bool) uint64 {
	if lo > hi {
		return 0
	}
	before := s.n
	klo, khi := lo>>chunkBits, hi>>chunkBits
	part := func(k uint64) (uint16, uint16) {
		clo, chi := uint16(0), uint16(chunkSize-1)
		if k == klo {
			clo = uint16(lo)
		}
		if k == khi {
			chi = uint16(hi)
		}
		return clo, chi
	}
	i, _ := s.find(klo)
	j := i + sort.Search(len(s.conts)-i, func(e int) bool { return s.conts[i+e].key > khi })
	if !on {
		// Edit the existing chunks in place and drop the emptied ones.
		w := i
		for e := i; e < j; e++ {
			c := &s.conts[e]
			clo, chi := part(c.key)
			s.n -= uint64(c.card)
			c.setRange(clo, chi, false)
			s.n += uint64(c.card)
			if c.card > 0 {
				s.conts[w] = *c
				w++
			}
		}
		s.conts = slices.Delete(s.conts, w, j)
		return before - s.n
	}
	// Every chunk of the range ends up non-empty: merge the existing ones
	// with new run containers for the rest.
	mid := make([]container, 0, khi-klo+1)
	e := i
	for k := klo; ; k++ {
		clo, chi := part(k)
		if e < j && s.conts[e].key == k {
			c := s.conts[e]
			e++
			s.n -= uint64(c.card)
			c.setRange(clo, chi, true)
			s.n += uint64(c.card)
			mid = append(mid, c)
		} else {
			c := container{key: k, kind: kindRuns, card: uint32(chi-clo) + 1, runs: 1, vals: []uint16{clo, chi}}
			s.n += uint64(c.card)
			mid = append(mid, c)
		}
		if k == khi {
			break
		}
	}
	s.conts = slices.Replace(s.conts, i, j, mid...)
	return s.n - before
}

// CountRange returns how many sequences of [lo, hi] are in the set: for
// example the interior deletes between a consumer's position and the end
// of the stream.
func (s *SeqSet) CountRange(lo, hi uint64) uint64 {
	if lo > hi {
		return 0
	}
	var n uint64
	i, _ := s.find(lo >> chunkBits)
	for ; i < len(s.conts) && s.conts[i].key <= hi>>chunkBits; i++ {
		c := &s.conts[i]
		n += uint64(c.card)
		if c.key == lo>>chunkBits && uint16(lo) > 0 {
			n -= uint64(c.rank(uint16(lo) - 1))
		}
		if c.key == hi>>chunkBits {
			n -= uint64(c.card - c.rank(uint16(hi)))
		}
	}
	return n
}

// Ascend calls fn for each sequence >= from in ascending order, until fn
// returns false.
func (s *SeqSet) Ascend(from uint64, fn func(seq uint64) bool) {
	i, _ := s.find(from >> chunkBits)
	for ; i < len(s.conts); i++ {
		c := &s.conts[i]
		lo := uint16(0)
		if c.key == from>>chunkBits {
			lo = uint16(from)
		}
		if !c.ascend(lo, c.key<<chunkBits, fn) {
			return
		}
	}
}

// AppendTo appends the set's sequences, ascending, to dst.
func (s *SeqSet) AppendTo(dst []uint64) []uint64 {
	dst = slices.Grow(dst, int(min(s.n, 1<<30)))
	s.Ascend(0, func(seq uint64) bool {
		dst = append(dst, seq)
		return true
	})
	return dst
}

// Min returns the smallest sequence in the set.
func (s *SeqSet) Min() (uint64, bool) {
	if len(s.conts) == 0 {
		return 0, false
	}
	c := &s.conts[0]
	return c.key<<chunkBits | uint64(c.minimum()), true
}

// Max returns the largest sequence in the set.
func (s *SeqSet) Max() (uint64, bool) {
	if len(s.conts) == 0 {
		return 0, false
	}
	c := &s.conts[len(s.conts)-1]
	return c.key<<chunkBits | uint64(c.maximum()), true
}

// Reset empties the set.
func (s *SeqSet) Reset() {
	s.conts = nil
	s.n = 0
}

// Equal reports whether s and o hold the same sequences.
func (s *SeqSet) Equal(o *SeqSet) bool {
	if s.n != o.n || len(s.conts) != len(o.conts) {
		return false
	}
	for i := range s.conts {
		a, b := &s.conts[i], &o.conts[i]
		if a.key != b.key || a.card != b.card || a.runs != b.runs {
			return false
		}
		if !slices.Equal(a.runList(), b.runList()) {
			return false
		}
	}
	return true
}

// runList returns the container's runs as start, last pairs.
func (c *container) runList() []uint16 {
	if c.kind == kindRuns {
		return c.vals
	}
	l := make([]uint16, 0, 2*c.runs)
	c.eachRun(func(lo, hi uint16) { l = append(l, lo, hi) })
	return l
}

// MemoryBytes returns the bytes allocated for the set.
func (s *SeqSet) MemoryBytes() int {
	n := cap(s.conts)*int(unsafe.Sizeof(container{})) + int(unsafe.Sizeof(*s))
	for i := range s.conts {
		n += s.conts[i].memoryBytes()
	}
	return n
}
