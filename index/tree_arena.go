package index

import (
	"math"
	"math/bits"
	"slices"
)

// This file manages the Tree's arenas: allocation and reuse of nodes,
// leaves and edge blocks, and the reclaiming of subject bytes.
//
// Nodes and leaves are reused through free lists threaded through their own
// fields. Edge blocks come in power-of-two size classes with a free list per
// class. Subject bytes are only ever appended: bytes of deleted subjects and
// of merged prefixes become garbage, and the data arena is compacted once
// garbage outweighs live bytes, so its size stays within twice what is live.
// When most subjects are gone, the whole tree is rebuilt so that a stream
// that once had many subjects does not keep their memory.

func (t *Tree) init() {
	// Index and offset 0 are reserved so that 0 can mean "none".
	t.nodes = make([]node, 1, 8)
	t.leaves = make([]leaf, 1, 8)
	t.erefs = make([]ref, 1, 16)
	t.ekeys = make([]byte, 1, 16)
}

// reserve makes room for about n more subjects, so that a bulk load (a
// checkpoint decode, a rebuild) grows each arena once.
func (t *Tree) reserve(n int) {
	if t.nodes == nil {
		t.init()
	}
	t.leaves = slices.Grow(t.leaves, n)
	t.nodes = slices.Grow(t.nodes, n/2)
	t.erefs = slices.Grow(t.erefs, n*2)
	t.ekeys = slices.Grow(t.ekeys, n*2)
}

// store appends s to the data arena and returns its offset.
func (t *Tree) store(s string) uint32 {
	if len(s) == 0 {
		return 0
	}
	off := len(t.data)
	if off+len(s) > math.MaxUint32 {
		panic("index: subject tree holds more than 4 GiB of subject bytes")
	}
	t.data = append(t.data, s...)
	t.live += len(s)
	return uint32(off)
}

// concat stores a + b + c, where a and c are spans of data, and returns the
// new span. The old spans become garbage.
func (t *Tree) concat(aoff, an uint32, b byte, coff, cn uint32) (uint32, uint32) {
	off := len(t.data)
	n := int(an) + 1 + int(cn)
	if off+n > math.MaxUint32 {
		panic("index: subject tree holds more than 4 GiB of subject bytes")
	}
	t.data = slices.Grow(t.data, n)
	t.data = append(t.data, t.data[aoff:aoff+an]...)
	t.data = append(t.data, b)
	t.data = append(t.data, t.data[coff:coff+cn]...)
	t.live++ // a and c were live already; b comes from an edge
	return uint32(off), uint32(n)
}

func (t *Tree) newLeaf(suffix string) ref {
	off := t.store(suffix)
	var li uint32
	if t.freeLeaf != 0 {
		li = t.freeLeaf
		t.freeLeaf = t.leaves[li].off
	} else {
		if len(t.leaves) >= int(leafTag) {
			panic("index: subject tree holds too many subjects")
		}
		li = uint32(len(t.leaves))
		t.leaves = append(t.leaves, leaf{})
	}
	t.leaves[li] = leaf{off: off, n: uint32(len(suffix))}
	return ref(li) | leafTag
}

func (t *Tree) freeLeafAt(li uint32) {
	l := &t.leaves[li]
	t.live -= int(l.n)
	*l = leaf{off: t.freeLeaf, n: freeMark}
	t.freeLeaf = li
}

// newNode returns a node whose prefix is the span (off, n) of data, which
// the caller has already accounted as live, with room for two edges.
func (t *Tree) newNode(off, n uint32) uint32 {
	edges := t.allocEdges(1)
	var ni uint32
	if t.freeNode != 0 {
		ni = t.freeNode
		t.freeNode = t.nodes[ni].off
	} else {
		if len(t.nodes) >= int(leafTag) {
			panic("index: subject tree holds too many nodes")
		}
		ni = uint32(len(t.nodes))
		t.nodes = append(t.nodes, node{})
	}
	t.nodes[ni] = node{off: off, n: n, edges: edges, class: 1}
	return ni
}

// freeNodeAt releases node ni and its edge block. Its prefix bytes must
// already have been handed over or accounted for by the caller.
func (t *Tree) freeNodeAt(ni uint32) {
	nd := &t.nodes[ni]
	t.freeEdges(nd.edges, nd.class)
	*nd = node{off: t.freeNode}
	t.freeNode = ni
}

func (t *Tree) allocEdges(class uint8) uint32 {
	if off := t.freeEdge[class]; off != 0 {
		t.freeEdge[class] = uint32(t.erefs[off])
		return off
	}
	off := len(t.erefs)
	n := 1 << class
	if off+n > math.MaxUint32 {
		panic("index: subject tree holds too many edges")
	}
	t.erefs = slices.Grow(t.erefs, n)[:off+n]
	t.ekeys = slices.Grow(t.ekeys, n)[:off+n]
	return uint32(off)
}

func (t *Tree) freeEdges(off uint32, class uint8) {
	t.erefs[off] = ref(t.freeEdge[class])
	t.freeEdge[class] = off
}

// addEdge adds an edge labelled b to node ni, keeping the block sorted.
func (t *Tree) addEdge(ni uint32, b byte, r ref) {
	nd := &t.nodes[ni]
	if int(nd.cnt) == 1<<nd.class {
		t.moveEdges(ni, nd.class+1)
	}
	cnt := uint32(nd.cnt)
	keys := t.ekeys[nd.edges : nd.edges+cnt+1]
	refs := t.erefs[nd.edges : nd.edges+cnt+1]
	i := 0
	for i < int(cnt) && keys[i] < b {
		i++
	}
	copy(keys[i+1:], keys[i:cnt])
	copy(refs[i+1:], refs[i:cnt])
	keys[i], refs[i] = b, r
	nd.cnt++
}

// removeEdge removes the i-th edge of node ni.
func (t *Tree) removeEdge(ni uint32, i int) {
	nd := &t.nodes[ni]
	cnt := uint32(nd.cnt)
	keys := t.ekeys[nd.edges : nd.edges+cnt]
	refs := t.erefs[nd.edges : nd.edges+cnt]
	copy(keys[i:], keys[i+1:])
	copy(refs[i:], refs[i+1:])
	nd.cnt--
}

// shrinkEdges moves node ni's edges to a smaller block once it is at most a
// quarter full, leaving room to grow by as much again.
func (t *Tree) shrinkEdges(ni uint32) {
	nd := &t.nodes[ni]
	if nd.class <= 1 || int(nd.cnt)*4 > 1<<nd.class {
		return
	}
	t.moveEdges(ni, max(1, uint8(bits.Len(uint(nd.cnt)*2-1))))
}

func (t *Tree) moveEdges(ni uint32, class uint8) {
	off := t.allocEdges(class)
	nd := &t.nodes[ni]
	cnt := uint32(nd.cnt)
	copy(t.ekeys[off:off+cnt], t.ekeys[nd.edges:nd.edges+cnt])
	copy(t.erefs[off:off+cnt], t.erefs[nd.edges:nd.edges+cnt])
	t.freeEdges(nd.edges, nd.class)
	nd.edges, nd.class = off, class
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

// compactData copies the live spans of data into a new arena.
func (t *Tree) compactData() {
	data := make([]byte, 0, t.live+t.live/4)
	for i := 1; i < len(t.nodes); i++ {
		nd := &t.nodes[i]
		if nd.class == 0 {
			continue
		}
		off := len(data)
		data = append(data, t.data[nd.off:nd.off+nd.n]...)
		nd.off = uint32(off)
	}
	for i := 1; i < len(t.leaves); i++ {
		l := &t.leaves[i]
		if l.n == freeMark {
			continue
		}
		off := len(data)
		data = append(data, t.data[l.off:l.off+l.n]...)
		l.off = uint32(off)
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
