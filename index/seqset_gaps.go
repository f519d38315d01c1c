package index

import (
	"math/bits"
	"slices"
)

// Walking around the members of a SeqSet a run at a time: a store asks for
// the live sequence next to a position, and the deleted sequences between
// may be a run of billions (a skip to a far sequence). These cost one step
// per chunk (65536 sequences) at most, whatever the run's length.

// NextAbsent returns the smallest sequence >= from that is not in the set;
// false when every sequence from there to the largest uint64 is.
func (s *SeqSet) NextAbsent(from uint64) (uint64, bool) {
	key := from >> chunkBits
	i, ok := s.find(key)
	if !ok {
		return from, true
	}
	x := uint16(from)
	for {
		if v, ok := s.conts[i].nextAbsent(x); ok {
			return key<<chunkBits | uint64(v), true
		}
		// Full from x to the chunk's end: the next chunk starts absent
		// unless it is the next container.
		if key == ^uint64(0)>>chunkBits {
			return 0, false
		}
		key++
		i++
		if i == len(s.conts) || s.conts[i].key != key {
			return key << chunkBits, true
		}
		x = 0
	}
}

// PrevAbsent returns the largest sequence <= from that is not in the set;
// false when every sequence from 0 to from is.
func (s *SeqSet) PrevAbsent(from uint64) (uint64, bool) {
	key := from >> chunkBits
	i, ok := s.find(key)
	if !ok {
		return from, true
	}
	x := uint16(from)
	for {
		if v, ok := s.conts[i].prevAbsent(x); ok {
			return key<<chunkBits | uint64(v), true
		}
		if key == 0 {
			return 0, false
		}
		key--
		if i == 0 || s.conts[i-1].key != key {
			return key<<chunkBits | (chunkSize - 1), true
		}
		i--
		x = chunkSize - 1
	}
}

// Clone returns a copy of the set sharing no memory with it, in time and
// space proportional to its containers (not to its members).
func (s *SeqSet) Clone() *SeqSet {
	c := &SeqSet{conts: make([]container, len(s.conts)), n: s.n}
	for i, x := range s.conts {
		x.vals, x.bits = slices.Clone(x.vals), slices.Clone(x.bits)
		c.conts[i] = x
	}
	return c
}

// nextAbsent returns the first value >= x that is not a member; false when
// every value from x to the chunk's end is.
func (c *container) nextAbsent(x uint16) (uint16, bool) {
	switch c.kind {
	case kindArray:
		i, found := slices.BinarySearch(c.vals, x)
		if !found {
			return x, true
		}
		for ; i+1 < len(c.vals) && c.vals[i+1] == c.vals[i]+1; i++ {
		}
		if c.vals[i] == chunkSize-1 {
			return 0, false
		}
		return c.vals[i] + 1, true
	case kindBitmap:
		v := nextClear(c.bits, int(x))
		return uint16(v), v < chunkSize
	default:
		for i := c.runIndex(x); 2*i < len(c.vals) && c.vals[2*i] <= x; i++ {
			if c.vals[2*i+1] == chunkSize-1 {
				return 0, false
			}
			x = c.vals[2*i+1] + 1 // runs may touch: go on while they do
		}
		return x, true
	}
}

// prevAbsent returns the last value <= x that is not a member; false when
// every value from the chunk's start to x is.
func (c *container) prevAbsent(x uint16) (uint16, bool) {
	switch c.kind {
	case kindArray:
		i, found := slices.BinarySearch(c.vals, x)
		if !found {
			return x, true
		}
		for ; i > 0 && c.vals[i-1] == c.vals[i]-1; i-- {
		}
		if c.vals[i] == 0 {
			return 0, false
		}
		return c.vals[i] - 1, true
	case kindBitmap:
		return prevClear(c.bits, int(x))
	default:
		for i := c.runIndex(x); i >= 0 && 2*i < len(c.vals) && c.vals[2*i] <= x && c.vals[2*i+1] >= x; i-- {
			if c.vals[2*i] == 0 {
				return 0, false
			}
			x = c.vals[2*i] - 1
		}
		return x, true
	}
}

// prevClear returns the last clear bit at or before x.
func prevClear(words []uint64, x int) (uint16, bool) {
	w := x >> 6
	// The clear bits of word w at or below x's position.
	if v := ^words[w] << (63 - x&63); v != 0 {
		return uint16(x - bits.LeadingZeros64(v)), true
	}
	for w--; w >= 0; w-- {
		if words[w] != ^uint64(0) {
			return uint16(w*64 + 63 - bits.LeadingZeros64(^words[w])), true
		}
	}
	return 0, false
}
