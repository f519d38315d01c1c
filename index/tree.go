package index

import (
	"bytes"
	"math"
	"unsafe"
)

// SubjectState is what a Tree keeps for one subject: how many messages it
// has and the range of their sequences.
//
// Removing a message can leave First or Last unknown without a scan. Rather
// than scan on every removal, the tree keeps a bound and a stale flag and the
// store resolves it lazily, only when someone asks: with FirstStale set the
// true first sequence is >= First; with LastStale set the true last sequence
// is <= Last. A store that resolves a bound writes the exact value back and
// clears the flag.
type SubjectState struct {
	Msgs       uint64
	First      uint64
	Last       uint64
	FirstStale bool // First is a lower bound only
	LastStale  bool // Last is an upper bound only
}

// Tree maps subjects to their SubjectState. Subjects are arbitrary byte
// strings (NATS subjects in practice: tokens separated by '.'); each one is
// stored once and prefixes shared between subjects are stored once too.
//
// The tree is a radix tree (a compressed trie branching on bytes) laid out
// in arenas: nodes, leaves, edge tables and subject bytes live in a few flat
// slices addressed by 32-bit offsets. There are no Go pointers inside, so
// the garbage collector never scans it however many subjects it holds, and
// per-subject memory stays small (see BenchmarkTreeMemory).
//
// The zero Tree is empty and ready to use. A Tree must not be copied after
// first use. It is not safe for concurrent use, except that the read-only
// methods (Len, Lookup, LookupBytes, Match, FirstMatch, Walk, Equal,
// MemoryBytes) may run concurrently with each other.
//
// Pointers to SubjectState returned by Lookup, Insert and the Match callback
// stay valid until the next Insert, AddMsg, Delete or RemoveMsg on the tree.
type Tree struct {
	root   ref
	size   int
	nodes  []node
	leaves []leaf
	data   []byte // node prefixes and leaf suffixes
	live   int    // bytes of data referenced by live nodes and leaves
	ekeys  []byte // edge bytes, one block per node, sorted within a block
	erefs  []ref  // edge targets, parallel to ekeys

	freeNode uint32               // head of the free node list (0: empty)
	freeLeaf uint32               // head of the free leaf list (0: empty)
	freeEdge [maxClass + 1]uint32 // free edge blocks per size class
}

// ref addresses a node or a leaf: 0 is nil, the top bit tags leaves.
type ref uint32

const leafTag ref = 1 << 31

func (r ref) isLeaf() bool { return r&leafTag != 0 }
func (r ref) idx() uint32  { return uint32(r &^ leafTag) }

// leaf is one subject: its state and the bytes of its key that no node
// holds (the suffix after the edge byte that leads to it).
type leaf struct {
	st  SubjectState
	off uint32 // suffix offset in data; next free leaf when free
	n   uint32 // suffix length; freeMark when free
}

const freeMark = math.MaxUint32

// node is a branch point. Every key below it continues with the node's
// prefix; then either ends here (term) or continues through one of the
// edges, each labelled with the next byte. A live node always has at least
// two ways down (two edges, or one edge and a term): otherwise it is merged
// into its parent's edge.
type node struct {
	off   uint32 // prefix offset in data; next free node when free
	n     uint32 // prefix length
	edges uint32 // offset of this node's edge block in ekeys/erefs
	cnt   uint16 // edges in use
	class uint8  // the edge block holds 1<<class edges; 0 when free
	term  ref    // leaf whose key ends right after the prefix, or 0
}

const maxClass = 8 // 256 edges: one per byte value

// Len returns the number of subjects in the tree.
func (t *Tree) Len() int { return t.size }

// MemoryBytes returns the bytes allocated for the tree's arenas, which is
// all the memory it holds.
func (t *Tree) MemoryBytes() int {
	return cap(t.nodes)*int(unsafe.Sizeof(node{})) +
		cap(t.leaves)*int(unsafe.Sizeof(leaf{})) +
		cap(t.data) + cap(t.ekeys) + cap(t.erefs)*int(unsafe.Sizeof(ref(0))) +
		int(unsafe.Sizeof(*t))
}

// Lookup returns the state of subject, or nil when the tree doesn't hold it.
func (t *Tree) Lookup(subject string) *SubjectState {
	r := t.root
	pos := 0
	for r != 0 {
		if r.isLeaf() {
			l := &t.leaves[r.idx()]
			if string(t.data[l.off:l.off+l.n]) == subject[pos:] {
				return &l.st
			}
			return nil
		}
		nd := &t.nodes[r.idx()]
		if nd.n > 0 {
			end := pos + int(nd.n)
			if end > len(subject) || string(t.data[nd.off:nd.off+nd.n]) != subject[pos:end] {
				return nil
			}
			pos = end
		}
		if pos == len(subject) {
			if nd.term == 0 {
				return nil
			}
			return &t.leaves[nd.term.idx()].st
		}
		i := bytes.IndexByte(t.ekeys[nd.edges:nd.edges+uint32(nd.cnt)], subject[pos])
		if i < 0 {
			return nil
		}
		r = t.erefs[nd.edges+uint32(i)]
		pos++
	}
	return nil
}

// LookupBytes is Lookup for a subject held in a byte slice.
func (t *Tree) LookupBytes(subject []byte) *SubjectState {
	return t.Lookup(bstr(subject))
}

// Insert returns the state of subject, adding the subject with a zero state
// when the tree doesn't hold it; created reports whether it was added.
func (t *Tree) Insert(subject string) (st *SubjectState, created bool) {
	if t.nodes == nil {
		t.init()
	}
	if t.root == 0 {
		t.root = t.newLeaf(subject)
		t.size++
		return &t.leaves[t.root.idx()].st, true
	}
	slot := rootSlot
	r := t.root
	pos := 0
	for {
		if r.isLeaf() {
			l := &t.leaves[r.idx()]
			suffix := t.data[l.off : l.off+l.n]
			rest := subject[pos:]
			if string(suffix) == rest {
				return &l.st, false
			}
			c := commonPrefix(suffix, rest)
			// The leaf's suffix splits into a new node's prefix, the edge
			// byte and the leaf's shorter suffix: all of them stay where
			// they are in data.
			ni := t.newNode(l.off, uint32(c))
			lr := r
			if c == len(suffix) {
				l.off += uint32(c)
				l.n = 0
				t.nodes[ni].term = lr
			} else {
				b := suffix[c]
				l.off += uint32(c) + 1
				l.n -= uint32(c) + 1
				t.live--
				t.addEdge(ni, b, lr)
			}
			nl := t.attach(ni, rest, c)
			t.setSlot(slot, ref(ni))
			t.size++
			return &t.leaves[nl.idx()].st, true
		}
		ni := r.idx()
		nd := &t.nodes[ni]
		prefix := t.data[nd.off : nd.off+nd.n]
		rest := subject[pos:]
		if c := commonPrefix(prefix, rest); c < len(prefix) {
			// The new key leaves this node's prefix early: a new node takes
			// the shared part and the old node hangs below it.
			pi := t.newNode(nd.off, uint32(c))
			nd = &t.nodes[ni]
			b := prefix[c]
			nd.off += uint32(c) + 1
			nd.n -= uint32(c) + 1
			t.live--
			t.addEdge(pi, b, r)
			nl := t.attach(pi, rest, c)
			t.setSlot(slot, ref(pi))
			t.size++
			return &t.leaves[nl.idx()].st, true
		}
		pos += len(prefix)
		if pos == len(subject) {
			if nd.term != 0 {
				return &t.leaves[nd.term.idx()].st, false
			}
			lr := t.newLeaf("")
			t.nodes[ni].term = lr
			t.size++
			return &t.leaves[lr.idx()].st, true
		}
		b := subject[pos]
		i := bytes.IndexByte(t.ekeys[nd.edges:nd.edges+uint32(nd.cnt)], b)
		if i < 0 {
			lr := t.newLeaf(subject[pos+1:])
			t.addEdge(ni, b, lr)
			t.size++
			return &t.leaves[lr.idx()].st, true
		}
		slot = int(nd.edges) + i
		r = t.erefs[slot]
		pos++
	}
}

// InsertBytes is Insert for a subject held in a byte slice; the tree keeps
// its own copy of the bytes.
func (t *Tree) InsertBytes(subject []byte) (st *SubjectState, created bool) {
	return t.Insert(bstr(subject))
}

// attach hangs a new leaf for rest (of which c bytes are node ni's prefix)
// below node ni, as its term when nothing is left.
func (t *Tree) attach(ni uint32, rest string, c int) ref {
	if c == len(rest) {
		lr := t.newLeaf("")
		t.nodes[ni].term = lr
		return lr
	}
	lr := t.newLeaf(rest[c+1:])
	t.addEdge(ni, rest[c], lr)
	return lr
}

// Delete removes subject and returns the state it had.
func (t *Tree) Delete(subject string) (SubjectState, bool) {
	r := t.root
	slot := rootSlot
	var parent uint32 // node holding the edge that leads to r (0: r is the root)
	pslot := rootSlot // where parent itself is referenced
	pos := 0
	for r != 0 {
		if r.isLeaf() {
			li := r.idx()
			l := &t.leaves[li]
			if string(t.data[l.off:l.off+l.n]) != subject[pos:] {
				return SubjectState{}, false
			}
			st := l.st
			t.freeLeafAt(li)
			if parent == 0 {
				t.root = 0
			} else {
				t.removeEdge(parent, slot-int(t.nodes[parent].edges))
				t.fixNode(parent, pslot)
			}
			t.size--
			t.maybeCompact()
			return st, true
		}
		ni := r.idx()
		nd := &t.nodes[ni]
		if nd.n > 0 {
			end := pos + int(nd.n)
			if end > len(subject) || string(t.data[nd.off:nd.off+nd.n]) != subject[pos:end] {
				return SubjectState{}, false
			}
			pos = end
		}
		if pos == len(subject) {
			if nd.term == 0 {
				return SubjectState{}, false
			}
			li := nd.term.idx()
			st := t.leaves[li].st
			t.freeLeafAt(li)
			nd.term = 0
			t.fixNode(ni, slot)
			t.size--
			t.maybeCompact()
			return st, true
		}
		i := bytes.IndexByte(t.ekeys[nd.edges:nd.edges+uint32(nd.cnt)], subject[pos])
		if i < 0 {
			return SubjectState{}, false
		}
		parent, pslot = ni, slot
		slot = int(nd.edges) + i
		r = t.erefs[slot]
		pos++
	}
	return SubjectState{}, false
}

// DeleteBytes is Delete for a subject held in a byte slice.
func (t *Tree) DeleteBytes(subject []byte) (SubjectState, bool) {
	return t.Delete(bstr(subject))
}

// fixNode restores the invariant of node ni (referenced from slot) after it
// lost an edge or its term: a node left with one way down is folded away.
func (t *Tree) fixNode(ni uint32, slot int) {
	nd := &t.nodes[ni]
	switch {
	case nd.cnt == 0:
		// Only the term is left: the leaf takes the node's place, and the
		// node's prefix becomes its suffix.
		lr := nd.term
		l := &t.leaves[lr.idx()]
		l.off, l.n = nd.off, nd.n
		t.freeNodeAt(ni)
		t.setSlot(slot, lr)
	case nd.cnt == 1 && nd.term == 0:
		// One edge is left: its target absorbs prefix + edge byte.
		b := t.ekeys[nd.edges]
		cr := t.erefs[nd.edges]
		var coff, cn *uint32
		if cr.isLeaf() {
			l := &t.leaves[cr.idx()]
			coff, cn = &l.off, &l.n
		} else {
			c := &t.nodes[cr.idx()]
			coff, cn = &c.off, &c.n
		}
		off, n := t.concat(nd.off, nd.n, b, *coff, *cn)
		// concat may grow data but never moves nodes or leaves, so the
		// pointers into them are still good.
		*coff, *cn = off, n
		t.freeNodeAt(ni)
		t.setSlot(slot, cr)
	default:
		t.shrinkEdges(ni)
	}
}

// AddMsg records message seq on subject: the subject is created when new,
// its count goes up and First/Last widen to include seq. It reports whether
// the subject was created.
func (t *Tree) AddMsg(subject string, seq uint64) (created bool) {
	st, created := t.Insert(subject)
	if created {
		*st = SubjectState{Msgs: 1, First: seq, Last: seq}
		return true
	}
	st.Msgs++
	// A stale bound is still a bound: a sequence beyond it is exact.
	if seq < st.First || st.Msgs == 1 {
		st.First, st.FirstStale = seq, false
	}
	if seq > st.Last || st.Msgs == 1 {
		st.Last, st.LastStale = seq, false
	}
	return false
}

// RemoveMsg records the removal of message seq, which the caller knows was
// stored on subject. The subject is deleted when its last message goes.
// Removing the first (last) message leaves First (Last) as a bound with the
// stale flag set, unless the one remaining message pins it. It returns the
// state after the removal and whether the tree held the subject.
func (t *Tree) RemoveMsg(subject string, seq uint64) (SubjectState, bool) {
	st := t.Lookup(subject)
	if st == nil {
		return SubjectState{}, false
	}
	if st.Msgs <= 1 {
		t.Delete(subject)
		return SubjectState{}, true
	}
	st.Msgs--
	// First <= true first <= seq, so First == seq means seq was the first.
	if seq == st.First {
		st.First, st.FirstStale = seq+1, true
	}
	if seq == st.Last {
		st.Last, st.LastStale = seq-1, true
	}
	if st.Msgs == 1 {
		switch {
		case !st.FirstStale:
			st.Last, st.LastStale = st.First, false
		case !st.LastStale:
			st.First, st.FirstStale = st.Last, false
		}
	}
	return *st, true
}

const rootSlot = -1

func (t *Tree) setSlot(slot int, r ref) {
	if slot == rootSlot {
		t.root = r
	} else {
		t.erefs[slot] = r
	}
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a []byte, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// bstr views b as a string without copying; the tree only reads keys it is
// given and copies what it keeps.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
