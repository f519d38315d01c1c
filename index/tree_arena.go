package index

import (
	"encoding/binary"
	"math"
	"slices"
)

// This file lays out the Tree's arenas and manages their memory.
//
// A node is one record in the nodes arena, so that visiting it touches one
// or two cache lines rather than several scattered arrays:
//
//	off          len    field
//	0            4      prefix span: off (or up to 4 inline bytes)
//	4            4      prefix span: n
//	8            4      term: the leaf whose key ends after the prefix, or 0
//	12           2      cnt: edges in use
//	14           1      class: the record holds cap = 1<<class edges
//	15           1      1 when the record is free
//	16           cap    edge bytes, sorted
//	16+cap       4*cap  edge targets (refs), little-endian
//
// Records come in power-of-two edge classes with a free list per class
// (the next free record's offset is kept in its first four bytes); a node
// that fills its record moves to the next class. Leaves are reused through
// a free list threaded through their spans. Key bytes longer than a span
// can inline are only ever appended to data: bytes of deleted subjects and
// of merged prefixes become garbage, and data is compacted once garbage
// outweighs live bytes. When most subjects are gone the whole tree is
// rebuilt, so a stream that once had many subjects does not keep their
// memory.

const (
	maxClass   = 8  // 256 edges: one per byte value
	recHeader  = 16 // bytes before a record's edge bytes
	nodesStart = recHeader
	rootSlot   = -1 // the "slot" of the root: Tree.root itself
)

var le = binary.LittleEndian

func recordSize(class uint8) int { return recHeader + 5<<class }

// nodeHeader is a decoded record header.
type nodeHeader struct {
	pre   span
	term  ref
	cnt   int
	class uint8
}

func (t *Tree) header(n uint32) nodeHeader {
	b := t.nodes[n : n+recHeader]
	return nodeHeader{
		pre:   span{off: le.Uint32(b[0:]), n: le.Uint32(b[4:])},
		term:  ref(le.Uint32(b[8:])),
		cnt:   int(le.Uint16(b[12:])),
		class: b[14],
	}
}

// keys returns node n's edge bytes.
func (t *Tree) keys(n uint32, h nodeHeader) []byte {
	return t.nodes[n+recHeader : n+recHeader+uint32(h.cnt)]
}

func refsAt(n uint32, class uint8) uint32 { return n + recHeader + 1<<class }

// childSlot returns the offset of node n's i-th edge target.
func (t *Tree) childSlot(n uint32, h nodeHeader, i int) uint32 {
	return refsAt(n, h.class) + 4*uint32(i)
}

func (t *Tree) child(n uint32, h nodeHeader, i int) ref {
	return ref(le.Uint32(t.nodes[t.childSlot(n, h, i):]))
}

// setSlot stores r where a node or leaf is referenced: the root, or an
// edge target inside a record.
func (t *Tree) setSlot(slot int, r ref) {
	if slot == rootSlot {
		t.root = r
		return
	}
	le.PutUint32(t.nodes[slot:], uint32(r))
}

func (t *Tree) setPrefix(n uint32, s span) {
	le.PutUint32(t.nodes[n:], s.off)
	le.PutUint32(t.nodes[n+4:], s.n)
}

func (t *Tree) setTerm(n uint32, r ref) { le.PutUint32(t.nodes[n+8:], uint32(r)) }

func (t *Tree) init() {
	t.nodes = make([]byte, nodesStart, 256) // offset 0 is never a node
	t.leaves = make([]leaf, 1, 8)           // index 0 is never a leaf
}

// reserve makes room for about n more subjects, so that a bulk load (a
// checkpoint decode, a rebuild) grows each arena about once.
func (t *Tree) reserve(n int) {
	if t.nodes == nil {
		t.init()
	}
	t.leaves = slices.Grow(t.leaves, n)
	t.nodes = slices.Grow(t.nodes, n*24)
}

func (t *Tree) allocRecord(class uint8) uint32 {
	if n := t.freeNode[class]; n != 0 {
		t.freeNode[class] = le.Uint32(t.nodes[n:])
		t.nodes[n+15] = 0
		return n
	}
	n := len(t.nodes)
	size := recordSize(class)
	if n+size > int(leafTag) {
		panic("index: subject tree nodes exceed 2 GiB")
	}
	t.nodes = slices.Grow(t.nodes, size)[:n+size]
	t.nodes[n+14], t.nodes[n+15] = class, 0
	return uint32(n)
}

func (t *Tree) freeRecord(n uint32) {
	class := t.nodes[n+14]
	le.PutUint32(t.nodes[n:], t.freeNode[class])
	t.nodes[n+15] = 1
	t.freeNode[class] = n
}

// newNode returns a node with prefix pre and room for two edges.
func (t *Tree) newNode(pre span) uint32 {
	n := t.allocRecord(1)
	t.setPrefix(n, pre)
	t.setTerm(n, 0)
	le.PutUint16(t.nodes[n+12:], 0)
	return n
}

// moveRecord moves node n to a record of the given class and returns its
// new offset; the caller updates the slot that references it.
func (t *Tree) moveRecord(n uint32, class uint8) uint32 {
	m := t.allocRecord(class)
	h := t.header(n)
	copy(t.nodes[m:m+12], t.nodes[n:n+12])
	le.PutUint16(t.nodes[m+12:], uint16(h.cnt))
	cnt := uint32(h.cnt)
	copy(t.nodes[m+recHeader:m+recHeader+cnt], t.keys(n, h))
	from, to := refsAt(n, h.class), refsAt(m, class)
	copy(t.nodes[to:to+4*cnt], t.nodes[from:from+4*cnt])
	t.freeRecord(n)
	return m
}

// addEdge adds an edge labelled b to node n, keeping edges sorted. It
// returns the node's offset, which changes when the node has to move to a
// bigger record; a new node has room for two edges and never moves.
func (t *Tree) addEdge(n uint32, b byte, r ref) uint32 {
	h := t.header(n)
	if h.cnt == 1<<h.class {
		n = t.moveRecord(n, h.class+1)
		h = t.header(n)
	}
	cnt := uint32(h.cnt)
	keys := t.nodes[n+recHeader : n+recHeader+cnt+1]
	i := uint32(0)
	for i < cnt && keys[i] < b {
		i++
	}
	copy(keys[i+1:], keys[i:cnt])
	keys[i] = b
	base := refsAt(n, h.class)
	copy(t.nodes[base+4*(i+1):base+4*(cnt+1)], t.nodes[base+4*i:base+4*cnt])
	le.PutUint32(t.nodes[base+4*i:], uint32(r))
	le.PutUint16(t.nodes[n+12:], uint16(cnt+1))
	return n
}

// removeEdge removes the edge of node n whose target is stored at slot.
func (t *Tree) removeEdge(n, slot uint32) {
	h := t.header(n)
	cnt := uint32(h.cnt)
	base := refsAt(n, h.class)
	i := (slot - base) / 4
	keys := t.nodes[n+recHeader : n+recHeader+cnt]
	copy(keys[i:], keys[i+1:])
	copy(t.nodes[base+4*i:base+4*(cnt-1)], t.nodes[base+4*(i+1):base+4*cnt])
	le.PutUint16(t.nodes[n+12:], uint16(cnt-1))
}

// shrink moves node n to a smaller record once it is at most a quarter
// full, leaving room to grow by as much again; it returns the node's
// offset.
func (t *Tree) shrink(n uint32) uint32 {
	h := t.header(n)
	if h.class <= 1 || h.cnt*4 > 1<<h.class {
		return n
	}
	class := uint8(1)
	for 1<<class < 2*h.cnt {
		class++
	}
	return t.moveRecord(n, class)
}

// spanBytes returns the bytes of s, unpacking inline ones into buf.
func (t *Tree) spanBytes(s span, buf *[inlineMax]byte) []byte {
	if s.n <= inlineMax {
		le.PutUint32(buf[:], s.off)
		return buf[:s.n]
	}
	return t.data[s.off : s.off+s.n]
}

func (t *Tree) spanEqual(s span, k string) bool {
	if int(s.n) != len(k) {
		return false
	}
	if s.n <= inlineMax {
		return s.off == packString(k)
	}
	return string(t.data[s.off:s.off+s.n]) == k
}

func packString(k string) uint32 {
	var v uint32
	for i := len(k) - 1; i >= 0; i-- {
		v = v<<8 | uint32(k[i])
	}
	return v
}

// makeSpan stores k and returns its span.
func (t *Tree) makeSpan(k string) span {
	if len(k) <= inlineMax {
		return span{off: packString(k), n: uint32(len(k))}
	}
	off := len(t.data)
	if off+len(k) > math.MaxUint32 {
		panic("index: subject tree holds more than 4 GiB of subject bytes")
	}
	t.data = append(t.data, k...)
	t.live += len(k)
	return span{off: uint32(off), n: uint32(len(k))}
}

// sub returns the span of bytes [i, j) of s, sharing s's bytes in data.
// The caller releases s once it no longer uses it.
func (t *Tree) sub(s span, i, j int) span {
	if j-i <= inlineMax {
		var buf [inlineMax]byte
		return span{off: packString(bstr(t.spanBytes(s, &buf)[i:j])), n: uint32(j - i)}
	}
	t.live += j - i
	return span{off: s.off + uint32(i), n: uint32(j - i)}
}

// release tells the garbage accounting that s is no longer used.
func (t *Tree) release(s span) {
	if s.n > inlineMax {
		t.live -= int(s.n)
	}
}

// concat returns a new span holding a + b + c. The caller releases a and c.
func (t *Tree) concat(a span, b byte, c span) span {
	var ab, cb [inlineMax]byte
	n := int(a.n) + 1 + int(c.n)
	if n <= inlineMax {
		var v [inlineMax]byte
		k := copy(v[:], t.spanBytes(a, &ab))
		v[k] = b
		copy(v[k+1:], t.spanBytes(c, &cb))
		return span{off: le.Uint32(v[:]), n: uint32(n)}
	}
	off := len(t.data)
	if off+n > math.MaxUint32 {
		panic("index: subject tree holds more than 4 GiB of subject bytes")
	}
	t.data = slices.Grow(t.data, n)
	t.data = append(t.data, t.spanBytes(a, &ab)...)
	t.data = append(t.data, b)
	t.data = append(t.data, t.spanBytes(c, &cb)...)
	t.live += n
	return span{off: uint32(off), n: uint32(n)}
}

func (t *Tree) newLeaf(suffix string) ref {
	sfx := t.makeSpan(suffix)
	var li uint32
	if t.freeLeaf != 0 {
		li = t.freeLeaf
		t.freeLeaf = t.leaves[li].sfx.off
	} else {
		if len(t.leaves) >= int(leafTag) {
			panic("index: subject tree holds too many subjects")
		}
		li = uint32(len(t.leaves))
		t.leaves = append(t.leaves, leaf{})
	}
	t.leaves[li] = leaf{sfx: sfx}
	return ref(li) | leafTag
}

func (t *Tree) freeLeafAt(li uint32) {
	l := &t.leaves[li]
	t.release(l.sfx)
	*l = leaf{sfx: span{off: t.freeLeaf, n: freeMark}}
	t.freeLeaf = li
}

// maybeCompact runs after a deletion and reclaims memory when enough of it
// is dead; both checks keep the cost amortised over the deletions that made
// the garbage.
func (t *Tree) maybeCompact() {
	if len(t.leaves) > 1024 && t.size*4 < len(t.leaves) {
		t.rebuild()
		return
	}
	if len(t.data) > 4096 && len(t.data)-t.live > t.live {
		t.compactData()
	}
}

// compactData copies the bytes of live spans into a new data arena.
func (t *Tree) compactData() {
	data := make([]byte, 0, t.live+t.live/4)
	move := func(s span) span {
		if s.n <= inlineMax {
			return s
		}
		off := len(data)
		data = append(data, t.data[s.off:s.off+s.n]...)
		return span{off: uint32(off), n: s.n}
	}
	for i := 1; i < len(t.leaves); i++ {
		if l := &t.leaves[i]; l.sfx.n != freeMark {
			l.sfx = move(l.sfx)
		}
	}
	for n := nodesStart; n < len(t.nodes); n += recordSize(t.nodes[n+14]) {
		if t.nodes[n+15] == 0 {
			t.setPrefix(uint32(n), move(t.header(uint32(n)).pre))
		}
	}
	t.data = data
}

// rebuild replaces the tree with a freshly built copy of itself, sized for
// what it holds now.
func (t *Tree) rebuild() {
	var nt Tree
	nt.reserve(t.size)
	nt.data = make([]byte, 0, t.live+t.live/4)
	t.Walk(func(subject []byte, st *SubjectState) bool {
		p, _ := nt.InsertBytes(subject)
		*p = *st
		return true
	})
	*t = nt
}
