package index

import (
	"math/bits"
	"slices"
	"sort"
)

// A container holds the members of a SeqSet that share their high 48 bits
// (one chunk of 65536 sequences), as low 16-bit values, in whichever of
// three forms is smallest for what it holds:
//
//	array:  sorted values, 2 bytes each (scattered deletes)
//	bitmap: 65536 bits, 8 KiB (dense, irregular deletes)
//	runs:   (start, last) pairs, 4 bytes per run (ranges of deletes)
//
// The run count is kept up to date on every change (adding x joins runs
// when x-1 or x+1 is present), so the container always knows what each
// form would cost and switches once another form is less than half the
// size of the current one.
type container struct {
	key  uint64 // the chunk: seq >> 16
	kind ckind
	card uint32   // members, 1..65536
	runs uint32   // runs of consecutive members
	vals []uint16 // array: the members; runs: start, last pairs
	bits []uint64 // bitmap: 1024 words
}

type ckind uint8

const (
	kindRuns ckind = iota + 1
	kindArray
	kindBitmap
)

const (
	chunkBits   = 16
	chunkSize   = 1 << chunkBits
	bitmapWords = chunkSize / 64
	bitmapBytes = chunkSize / 8
)

// sizeOf returns the bytes a container of kind k would take.
func (c *container) sizeOf(k ckind) int {
	switch k {
	case kindRuns:
		return 4 * int(c.runs)
	case kindArray:
		return 2 * int(c.card)
	default:
		return bitmapBytes
	}
}

// bestKind is the smallest form for the container's content; ties go to
// runs, then array. It is a function of the content only, which makes the
// checkpoint encoding canonical.
func (c *container) bestKind() ckind {
	best := kindRuns
	for _, k := range []ckind{kindArray, kindBitmap} {
		if c.sizeOf(k) < c.sizeOf(best) {
			best = k
		}
	}
	return best
}

// optimize switches form when another one is much smaller; the margin
// keeps a container from flapping between two forms.
func (c *container) optimize() {
	best := c.bestKind()
	cur, next := c.sizeOf(c.kind), c.sizeOf(best)
	if best != c.kind && cur > 2*next && cur-next >= 64 {
		c.convert(best)
	}
}

// convert rebuilds the container in form k.
func (c *container) convert(k ckind) {
	if k == c.kind {
		return
	}
	var vals []uint16
	var words []uint64
	switch k {
	case kindArray:
		vals = make([]uint16, 0, c.card)
	case kindRuns:
		vals = make([]uint16, 0, 2*c.runs)
	default:
		words = make([]uint64, bitmapWords)
	}
	c.eachRun(func(lo, hi uint16) {
		switch k {
		case kindArray:
			for x := int(lo); x <= int(hi); x++ {
				vals = append(vals, uint16(x))
			}
		case kindRuns:
			vals = append(vals, lo, hi)
		default:
			setBits(words, lo, hi)
		}
	})
	c.kind, c.vals, c.bits = k, vals, words
}

// eachRun calls fn for each maximal run [lo, hi] of members, ascending.
func (c *container) eachRun(fn func(lo, hi uint16)) {
	switch c.kind {
	case kindRuns:
		for i := 0; i < len(c.vals); i += 2 {
			fn(c.vals[i], c.vals[i+1])
		}
	case kindArray:
		for i := 0; i < len(c.vals); {
			j := i
			for j+1 < len(c.vals) && c.vals[j+1] == c.vals[j]+1 {
				j++
			}
			fn(c.vals[i], c.vals[j])
			i = j + 1
		}
	default:
		x := 0
		for x < chunkSize {
			lo, ok := nextSet(c.bits, x)
			if !ok {
				return
			}
			hi := nextClear(c.bits, lo) - 1
			fn(uint16(lo), uint16(hi))
			x = hi + 1
		}
	}
}

// runIndex returns the index of the first run (pair) whose last is >= x.
func (c *container) runIndex(x uint16) int {
	n := len(c.vals) / 2
	return sort.Search(n, func(i int) bool { return c.vals[2*i+1] >= x })
}

func (c *container) contains(x uint16) bool {
	switch c.kind {
	case kindArray:
		_, ok := slices.BinarySearch(c.vals, x)
		return ok
	case kindRuns:
		i := c.runIndex(x)
		return 2*i < len(c.vals) && c.vals[2*i] <= x
	default:
		return c.bits[x>>6]&(1<<(x&63)) != 0
	}
}

// neighbours reports whether x-1 and x+1 (within the chunk) are members.
func (c *container) neighbours(x uint16) (left, right bool) {
	left = x > 0 && c.contains(x-1)
	right = x < chunkSize-1 && c.contains(x+1)
	return left, right
}

func (c *container) add(x uint16) bool {
	if c.contains(x) {
		return false
	}
	left, right := c.neighbours(x)
	c.runs = c.runs + 1 - b2u(left) - b2u(right)
	c.card++
	switch c.kind {
	case kindArray:
		i, _ := slices.BinarySearch(c.vals, x)
		c.vals = slices.Insert(c.vals, i, x)
	case kindBitmap:
		c.bits[x>>6] |= 1 << (x & 63)
	default:
		i := c.runIndex(x) // the run after x, if any
		switch {
		case left && right: // x joins run i-1 and run i
			c.vals[2*i-1] = c.vals[2*i+1]
			c.vals = slices.Delete(c.vals, 2*i, 2*i+2)
		case left:
			c.vals[2*i-1] = x
		case right:
			c.vals[2*i] = x
		default:
			c.vals = slices.Insert(c.vals, 2*i, x, x)
		}
	}
	c.optimize()
	return true
}

func (c *container) remove(x uint16) bool {
	if !c.contains(x) {
		return false
	}
	left, right := c.neighbours(x)
	c.runs = c.runs + b2u(left) + b2u(right) - 1
	c.card--
	switch c.kind {
	case kindArray:
		i, _ := slices.BinarySearch(c.vals, x)
		c.vals = slices.Delete(c.vals, i, i+1)
	case kindBitmap:
		c.bits[x>>6] &^= 1 << (x & 63)
	default:
		i := c.runIndex(x) // the run holding x
		lo, hi := c.vals[2*i], c.vals[2*i+1]
		switch {
		case lo == hi:
			c.vals = slices.Delete(c.vals, 2*i, 2*i+2)
		case x == lo:
			c.vals[2*i] = x + 1
		case x == hi:
			c.vals[2*i+1] = x - 1
		default:
			c.vals = slices.Insert(c.vals, 2*i+1, x-1, x+1)
		}
	}
	if c.card > 0 {
		c.optimize()
	}
	return true
}

// setRange adds (on) or removes (!on) the members [lo, hi]. Removing a
// range is how the set follows a stream's first sequence, so arrays and
// runs do it in place; other range changes are rare (purges) and go through
// the bitmap form, then pick the best form again.
func (c *container) setRange(lo, hi uint16, on bool) {
	if lo == 0 && hi == chunkSize-1 {
		if on {
			c.kind, c.card, c.runs, c.vals, c.bits = kindRuns, chunkSize, 1, []uint16{0, chunkSize - 1}, nil
		} else {
			c.kind, c.card, c.runs, c.vals, c.bits = kindArray, 0, 0, nil, nil
		}
		return
	}
	if !on {
		if c.maximum() < lo || c.minimum() > hi {
			return
		}
		switch c.kind {
		case kindArray:
			a, _ := slices.BinarySearch(c.vals, lo)
			b, found := slices.BinarySearch(c.vals, hi)
			if found {
				b++
			}
			c.vals = slices.Delete(c.vals, a, b)
			c.card = uint32(len(c.vals))
			c.runs = 0
			c.eachRun(func(uint16, uint16) { c.runs++ })
			return
		case kindRuns:
			out := make([]uint16, 0, len(c.vals)+2)
			c.card = 0
			for i := 0; i < len(c.vals); i += 2 {
				a, b := c.vals[i], c.vals[i+1]
				if b < lo || a > hi {
					out = append(out, a, b)
					continue
				}
				if a < lo {
					out = append(out, a, lo-1)
				}
				if b > hi {
					out = append(out, hi+1, b)
				}
			}
			for i := 0; i < len(out); i += 2 {
				c.card += uint32(out[i+1]-out[i]) + 1
			}
			c.vals, c.runs = out, uint32(len(out)/2)
			return
		}
	}
	c.convert(kindBitmap)
	if on {
		setBits(c.bits, lo, hi)
	} else {
		clearBits(c.bits, lo, hi)
	}
	c.card, c.runs = 0, 0
	var carry uint64
	for _, w := range c.bits {
		c.card += uint32(bits.OnesCount64(w))
		c.runs += uint32(bits.OnesCount64(w &^ (w<<1 | carry)))
		carry = w >> 63
	}
	if c.card > 0 {
		c.convert(c.bestKind())
	}
}

// rank returns the number of members <= x.
func (c *container) rank(x uint16) uint32 {
	switch c.kind {
	case kindArray:
		i, ok := slices.BinarySearch(c.vals, x)
		if ok {
			i++
		}
		return uint32(i)
	case kindBitmap:
		var n int
		w := int(x >> 6)
		for _, v := range c.bits[:w] {
			n += bits.OnesCount64(v)
		}
		n += bits.OnesCount64(c.bits[w] & (^uint64(0) >> (63 - x&63)))
		return uint32(n)
	default:
		var n uint32
		for i := 0; i < len(c.vals); i += 2 {
			lo, hi := c.vals[i], c.vals[i+1]
			if lo > x {
				break
			}
			n += uint32(min(hi, x)-lo) + 1
		}
		return n
	}
}

// ascend calls fn for each member >= from, ascending, until fn returns
// false; it returns false if fn did.
func (c *container) ascend(from uint16, base uint64, fn func(uint64) bool) bool {
	switch c.kind {
	case kindArray:
		i, _ := slices.BinarySearch(c.vals, from)
		for _, v := range c.vals[i:] {
			if !fn(base | uint64(v)) {
				return false
			}
		}
	case kindBitmap:
		for x := int(from); x < chunkSize; x++ {
			var ok bool
			if x, ok = nextSet(c.bits, x); !ok {
				break
			}
			if !fn(base | uint64(x)) {
				return false
			}
		}
	default:
		for i := 2 * c.runIndex(from); i < len(c.vals); i += 2 {
			for x := max(int(c.vals[i]), int(from)); x <= int(c.vals[i+1]); x++ {
				if !fn(base | uint64(x)) {
					return false
				}
			}
		}
	}
	return true
}

func (c *container) minimum() uint16 {
	if c.kind == kindBitmap {
		x, _ := nextSet(c.bits, 0)
		return uint16(x)
	}
	return c.vals[0]
}

func (c *container) maximum() uint16 {
	if c.kind == kindBitmap {
		for w := bitmapWords - 1; w >= 0; w-- {
			if v := c.bits[w]; v != 0 {
				return uint16(w*64 + 63 - bits.LeadingZeros64(v))
			}
		}
	}
	return c.vals[len(c.vals)-1]
}

func (c *container) memoryBytes() int { return 2*cap(c.vals) + 8*cap(c.bits) }

// nextSet returns the first set bit at or after x.
func nextSet(words []uint64, x int) (int, bool) {
	w := x >> 6
	if w >= len(words) {
		return 0, false
	}
	if v := words[w] >> (x & 63); v != 0 {
		return x + bits.TrailingZeros64(v), true
	}
	for w++; w < len(words); w++ {
		if words[w] != 0 {
			return w*64 + bits.TrailingZeros64(words[w]), true
		}
	}
	return 0, false
}

// nextClear returns the first clear bit at or after x (chunkSize if none).
func nextClear(words []uint64, x int) int {
	w := x >> 6
	if v := ^words[w] >> (x & 63); v != 0 {
		return x + bits.TrailingZeros64(v)
	}
	for w++; w < len(words); w++ {
		if words[w] != ^uint64(0) {
			return w*64 + bits.TrailingZeros64(^words[w])
		}
	}
	return chunkSize
}

func setBits(words []uint64, lo, hi uint16) {
	forWords(lo, hi, func(w int, mask uint64) { words[w] |= mask })
}

func clearBits(words []uint64, lo, hi uint16) {
	forWords(lo, hi, func(w int, mask uint64) { words[w] &^= mask })
}

// forWords calls fn with each word of [lo, hi] and the mask of the range's
// bits in it.
func forWords(lo, hi uint16, fn func(w int, mask uint64)) {
	for w := int(lo >> 6); w <= int(hi>>6); w++ {
		mask := ^uint64(0)
		if w == int(lo>>6) {
			mask &= ^uint64(0) << (lo & 63)
		}
		if w == int(hi>>6) {
			mask &= ^uint64(0) >> (63 - hi&63)
		}
		fn(w, mask)
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
