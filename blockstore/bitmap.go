package blockstore

import "math/bits"

// bitmap is a growable set of small non-negative integers, used for the
// live/dead state of positions in a block or a memory store.
type bitmap []uint64

func (b bitmap) has(i uint64) bool {
	w := i >> 6
	return w < uint64(len(b)) && b[w]&(1<<(i&63)) != 0
}

func (b *bitmap) set(i uint64) {
	w := i >> 6
	for uint64(len(*b)) <= w {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (i & 63)
}

func (b bitmap) clear(i uint64) {
	if w := i >> 6; w < uint64(len(b)) {
		b[w] &^= 1 << (i & 63)
	}
}

// next returns the first set bit at or after i, or -1.
func (b bitmap) next(i uint64) int64 {
	w := i >> 6
	if w >= uint64(len(b)) {
		return -1
	}
	if x := b[w] >> (i & 63); x != 0 {
		return int64(i + uint64(bits.TrailingZeros64(x)))
	}
	for w++; w < uint64(len(b)); w++ {
		if b[w] != 0 {
			return int64(w<<6 + uint64(bits.TrailingZeros64(b[w])))
		}
	}
	return -1
}

// prev returns the last set bit at or before i, or -1.
func (b bitmap) prev(i uint64) int64 {
	w := i >> 6
	if w >= uint64(len(b)) {
		if len(b) == 0 {
			return -1
		}
		w, i = uint64(len(b)-1), uint64(len(b))<<6-1
	}
	if x := b[w] << (63 - i&63); x != 0 {
		return int64(i - uint64(bits.LeadingZeros64(x)))
	}
	for w > 0 {
		w--
		if b[w] != 0 {
			return int64(w<<6 + 63 - uint64(bits.LeadingZeros64(b[w])))
		}
	}
	return -1
}

// count returns the number of set bits in [from, to].
func (b bitmap) count(from, to uint64) uint64 {
	if from > to {
		return 0
	}
	if max := uint64(len(b))<<6 - 1; len(b) == 0 {
		return 0
	} else if to > max {
		to = max
	}
	if from > to {
		return 0
	}
	fw, tw := from>>6, to>>6
	if fw == tw {
		x := b[fw] >> (from & 63)
		x &= (1<<(to-from+1) - 1) | boolMask(to-from+1 == 64)
		return uint64(bits.OnesCount64(x))
	}
	n := uint64(bits.OnesCount64(b[fw] >> (from & 63)))
	for w := fw + 1; w < tw; w++ {
		n += uint64(bits.OnesCount64(b[w]))
	}
	hi := to & 63
	n += uint64(bits.OnesCount64(b[tw] & (1<<(hi+1) - 1 | boolMask(hi == 63))))
	return n
}

func boolMask(v bool) uint64 {
	if v {
		return ^uint64(0)
	}
	return 0
}
