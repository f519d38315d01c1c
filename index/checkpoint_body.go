package index

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// This file encodes and decodes the body of a checkpoint: four sections,
// each a tag byte, an 8-byte length and its payload, in a fixed order.
// Decoders read through a reader that bounds every count and length by
// the input that is left, so damaged input can neither run a loop long nor
// make anything allocate much.

func (c *Checkpoint) appendBody(dst []byte) []byte {
	dst = appendSection(dst, secMeta, c.appendMeta)
	dst = appendSection(dst, secBlocks, orEmpty(c.Blocks).appendTo)
	subjects := orEmpty(c.Subjects)
	// Front coding keeps a subject to a few bytes plus its state.
	dst = growBy(dst, subjects.live+subjects.size*16)
	dst = appendSection(dst, secSubjects, subjects.appendTo)
	return appendSection(dst, secDeleted, orEmpty(c.Deleted).appendTo)
}

func (c *Checkpoint) decodeBody(body []byte) error {
	r := reader{b: body}
	decoders := []struct {
		tag    byte
		name   string
		decode func(*reader)
	}{
		{secMeta, "meta", c.decodeMeta},
		{secBlocks, "blocks", c.Blocks.decode},
		{secSubjects, "subjects", c.Subjects.decode},
		{secDeleted, "deleted", c.Deleted.decode},
	}
	for _, d := range decoders {
		if tag := r.byte(); tag != d.tag && r.err == nil {
			r.fail("section tag %d, want %d", tag, d.tag)
		}
		n := r.fixed64()
		sec := reader{b: r.bytes(n)}
		if r.err != nil {
			return fmt.Errorf("%w: %s section: %v", ErrCorrupt, d.name, r.err)
		}
		d.decode(&sec)
		if sec.err == nil && len(sec.b) != 0 {
			sec.fail("%d bytes left over", len(sec.b))
		}
		if sec.err != nil {
			return fmt.Errorf("%w: %s section: %v", ErrCorrupt, d.name, sec.err)
		}
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the last section", ErrCorrupt, len(r.b))
	}
	return nil
}

func appendSection(dst []byte, tag byte, body func([]byte) []byte) []byte {
	dst = append(dst, tag, 0, 0, 0, 0, 0, 0, 0, 0)
	start := len(dst)
	dst = body(dst)
	binary.LittleEndian.PutUint64(dst[start-8:], uint64(len(dst)-start))
	return dst
}

func growBy(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		return nb
	}
	return b
}

func (c *Checkpoint) appendMeta(dst []byte) []byte {
	t := &c.Totals
	dst = binary.AppendUvarint(dst, c.LastApplied)
	dst = binary.AppendUvarint(dst, t.Msgs)
	dst = binary.AppendUvarint(dst, t.Bytes)
	dst = binary.AppendUvarint(dst, t.FirstSeq)
	dst = binary.AppendUvarint(dst, t.LastSeq)
	dst = binary.AppendVarint(dst, t.FirstTime)
	dst = binary.AppendVarint(dst, t.LastTime)
	dst = binary.AppendUvarint(dst, uint64(len(c.Extra)))
	return append(dst, c.Extra...)
}

func (c *Checkpoint) decodeMeta(r *reader) {
	t := &c.Totals
	c.LastApplied = r.uvarint()
	t.Msgs, t.Bytes = r.uvarint(), r.uvarint()
	t.FirstSeq, t.LastSeq = r.uvarint(), r.uvarint()
	t.FirstTime, t.LastTime = r.varint(), r.varint()
	if extra := r.bytes(r.uvarint()); len(extra) > 0 {
		c.Extra = append([]byte(nil), extra...)
	}
}

// Blocks: count, then per block ID, First, Last-First+1, FirstTime,
// LastTime-FirstTime, Msgs, Bytes (differences wrap, so any value encodes).
func (b *Blocks) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b.list)))
	for i := range b.list {
		bi := &b.list[i]
		dst = binary.AppendUvarint(dst, bi.ID)
		dst = binary.AppendUvarint(dst, bi.First)
		dst = binary.AppendUvarint(dst, bi.Last-bi.First+1)
		dst = binary.AppendVarint(dst, bi.FirstTime)
		dst = binary.AppendVarint(dst, bi.LastTime-bi.FirstTime)
		dst = binary.AppendUvarint(dst, bi.Msgs)
		dst = binary.AppendUvarint(dst, bi.Bytes)
	}
	return dst
}

func (b *Blocks) decode(r *reader) {
	n := r.count(7)
	b.list = make([]BlockInfo, 0, min(n, preallocMax))
	for i := 0; i < n && r.err == nil; i++ {
		var bi BlockInfo
		bi.ID = r.uvarint()
		bi.First = r.uvarint()
		bi.Last = bi.First + r.uvarint() - 1
		bi.FirstTime = r.varint()
		bi.LastTime = bi.FirstTime + r.varint()
		bi.Msgs, bi.Bytes = r.uvarint(), r.uvarint()
		b.list = append(b.list, bi)
	}
	if r.err == nil {
		if err := b.Validate(); err != nil {
			r.fail("%v", err)
		}
	}
}

// Subjects: count, then per subject in byte order: (shared prefix length
// with the previous subject << 2 | stale flags), suffix length, suffix,
// Msgs, First, Last-First.
func (t *Tree) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(t.size))
	prev := make([]byte, 0, 256)
	t.Walk(func(subject []byte, st *SubjectState) bool {
		lcp := 0
		for lcp < len(prev) && lcp < len(subject) && prev[lcp] == subject[lcp] {
			lcp++
		}
		var flags uint64
		if st.FirstStale {
			flags |= 1
		}
		if st.LastStale {
			flags |= 2
		}
		dst = binary.AppendUvarint(dst, uint64(lcp)<<2|flags)
		dst = binary.AppendUvarint(dst, uint64(len(subject)-lcp))
		dst = append(dst, subject[lcp:]...)
		dst = binary.AppendUvarint(dst, st.Msgs)
		dst = binary.AppendUvarint(dst, st.First)
		dst = binary.AppendUvarint(dst, st.Last-st.First)
		prev = append(prev[:0], subject...)
		return true
	})
	return dst
}

func (t *Tree) decode(r *reader) {
	n := r.count(5)
	t.reserve(n)
	key := make([]byte, 0, 256)
	for i := 0; i < n && r.err == nil; i++ {
		lf := r.uvarint()
		lcp, flags := lf>>2, lf&3
		suffix := r.bytes(r.uvarint())
		var st SubjectState
		st.Msgs = r.uvarint()
		st.First = r.uvarint()
		st.Last = st.First + r.uvarint()
		st.FirstStale, st.LastStale = flags&1 != 0, flags&2 != 0
		if r.err != nil {
			return
		}
		// Subjects must be strictly increasing, and lcp exact: that makes
		// the encoding canonical and rules out duplicates.
		switch {
		case lcp > uint64(len(key)):
			r.fail("subject %d shares %d bytes with a %d-byte predecessor", i, lcp, len(key))
		case i > 0 && len(suffix) == 0:
			r.fail("subject %d repeats or precedes its predecessor", i)
		case lcp < uint64(len(key)) && suffix[0] <= key[lcp]:
			r.fail("subject %d is out of order", i)
		}
		if r.err != nil {
			return
		}
		key = append(key[:lcp], suffix...)
		p, _ := t.InsertBytes(key)
		*p = st
	}
}

// Deleted: number of chunks, then per chunk: key - previous key - 1 (the
// first: key), form (1 runs, 2 array, 3 bitmap) and
//
//	runs:   count-1, then (start, last) pairs as 2-byte little-endian values
//	array:  count-1, then the values as 2-byte little-endian values
//	bitmap: 1024 8-byte little-endian words
//
// Each chunk is written in its smallest form, whatever form it has in
// memory, so equal sets encode to equal bytes.
func (s *SeqSet) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s.conts)))
	next := uint64(0)
	for i := range s.conts {
		c := &s.conts[i]
		dst = binary.AppendUvarint(dst, c.key-next)
		next = c.key + 1
		kind := c.bestKind()
		dst = append(dst, byte(kind))
		switch kind {
		case kindRuns:
			dst = binary.AppendUvarint(dst, uint64(c.runs)-1)
			c.eachRun(func(lo, hi uint16) {
				dst = binary.LittleEndian.AppendUint16(dst, lo)
				dst = binary.LittleEndian.AppendUint16(dst, hi)
			})
		case kindArray:
			dst = binary.AppendUvarint(dst, uint64(c.card)-1)
			c.ascend(0, 0, func(x uint64) bool {
				dst = binary.LittleEndian.AppendUint16(dst, uint16(x))
				return true
			})
		default:
			words := c.bits
			if c.kind != kindBitmap {
				words = make([]uint64, bitmapWords)
				c.eachRun(func(lo, hi uint16) { setBits(words, lo, hi) })
			}
			for _, w := range words {
				dst = binary.LittleEndian.AppendUint64(dst, w)
			}
		}
	}
	return dst
}

const maxChunkKey = ^uint64(0) >> chunkBits

// preallocMax caps what a decoder reserves on the word of a count alone:
// counts are bounded by the input, but an element can take more memory
// than its encoding, so beyond this the slices grow with what is really
// decoded.
const preallocMax = 1024

func (s *SeqSet) decode(r *reader) {
	n := r.count(3)
	s.conts = make([]container, 0, min(n, preallocMax))
	next := uint64(0)
	for i := 0; i < n && r.err == nil; i++ {
		delta := r.uvarint()
		if delta > maxChunkKey-next {
			r.fail("chunk %d: key out of range", i)
			return
		}
		c := container{key: next + delta, kind: ckind(r.byte())}
		next = c.key + 1
		switch c.kind {
		case kindRuns:
			runs := r.uvarint() + 1
			if runs > chunkSize/2 || runs*4 > uint64(len(r.b)) {
				r.fail("chunk %d: %d runs", i, runs)
				return
			}
			c.vals = make([]uint16, 2*runs)
			prevLast := -2
			for k := range c.vals {
				c.vals[k] = r.uint16()
			}
			for k := 0; k < len(c.vals); k += 2 {
				lo, hi := c.vals[k], c.vals[k+1]
				if lo > hi || int(lo) <= prevLast+1 {
					r.fail("chunk %d: bad run [%d, %d]", i, lo, hi)
					return
				}
				prevLast = int(hi)
				c.card += uint32(hi-lo) + 1
			}
			c.runs = uint32(runs)
		case kindArray:
			card := r.uvarint() + 1
			if card > chunkSize || card*2 > uint64(len(r.b)) {
				r.fail("chunk %d: %d values", i, card)
				return
			}
			c.vals = make([]uint16, card)
			for k := range c.vals {
				c.vals[k] = r.uint16()
				if k > 0 && c.vals[k] <= c.vals[k-1] {
					r.fail("chunk %d: values out of order", i)
					return
				}
				if k == 0 || c.vals[k] != c.vals[k-1]+1 {
					c.runs++
				}
			}
			c.card = uint32(card)
		case kindBitmap:
			if len(r.b) < bitmapBytes {
				r.fail("chunk %d: short bitmap", i)
				return
			}
			c.bits = make([]uint64, bitmapWords)
			var carry uint64
			for k := range c.bits {
				w := r.fixed64()
				c.bits[k] = w
				c.card += uint32(bits.OnesCount64(w))
				c.runs += uint32(bits.OnesCount64(w &^ (w<<1 | carry)))
				carry = w >> 63
			}
			if c.card == 0 {
				r.fail("chunk %d: empty bitmap", i)
				return
			}
		default:
			r.fail("chunk %d: unknown form %d", i, c.kind)
			return
		}
		s.conts = append(s.conts, c)
		s.n += uint64(c.card)
	}
}

// reader reads a byte slice with a sticky error: after the first failure
// every read returns zero values, so decoders check the error once per
// element instead of after every field.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail("unexpected end")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uint16() uint16 {
	if r.err != nil || len(r.b) < 2 {
		r.fail("unexpected end")
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) fixed64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail("unexpected end")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// bytes returns the next n bytes, aliasing the input.
func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("length %d exceeds the %d bytes left", n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// count reads an element count and checks it against the input left, given
// that each element takes at least minSize bytes.
func (r *reader) count(minSize int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/minSize) {
		r.fail("count %d exceeds what %d bytes can hold", n, len(r.b))
		return 0
	}
	return int(n)
}
