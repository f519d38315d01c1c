package index

import (
	"bytes"
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
// in arenas addressed by 32-bit offsets: node records, leaves and key bytes
// live in three flat slices. There are no Go pointers inside, so the garbage
// collector never scans it however many subjects it holds, and a subject
// costs about 65 bytes with its state (see BenchmarkTreeMemory).
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
	nodes  []byte // node records, see tree_arena.go
	leaves []leaf
	data   []byte // key bytes of spans longer than inlineMax
	live   int    // bytes of data referenced by live spans

	freeLeaf uint32               // head of the free leaf list (0: empty)
	freeNode [maxClass + 1]uint32 // free node records per size class
}

// ref addresses a node or a leaf: 0 is nil, the top bit tags leaves (an
// index into leaves); otherwise it is a node record's offset in nodes.
type ref uint32

const leafTag ref = 1 << 31

func (r ref) isLeaf() bool { return r&leafTag != 0 }
func (r ref) idx() uint32  { return uint32(r &^ leafTag) }

// leaf is one subject: its state and the bytes of its key that no node
// holds (the suffix after the edge byte that leads to it).
type leaf struct {
	st  SubjectState
	sfx span // n == freeMark when the leaf is free; off then links the free list
}

const freeMark = ^uint32(0)

// span holds a piece of a key: up to inlineMax bytes are packed into off
// (little-endian, zero-padded), so that short pieces, the common case below
// the top of the tree, cost no extra memory access; longer ones are off, n
// in data.
type span struct {
	off uint32
	n   uint32
}

const inlineMax = 4

// Len returns the number of subjects in the tree.
func (t *Tree) Len() int { return t.size }

// MemoryBytes returns the bytes allocated for the tree's arenas, which is
// all the memory it holds.
func (t *Tree) MemoryBytes() int {
	return cap(t.nodes) + cap(t.leaves)*int(unsafe.Sizeof(leaf{})) + cap(t.data) + int(unsafe.Sizeof(*t))
}

// Lookup returns the state of subject, or nil when the tree doesn't hold it.
func (t *Tree) Lookup(subject string) *SubjectState {
	r := t.root
	pos := 0
	for r != 0 {
		if r.isLeaf() {
			l := &t.leaves[r.idx()]
			if t.spanEqual(l.sfx, subject[pos:]) {
				return &l.st
			}
			return nil
		}
		n := uint32(r)
		h := t.header(n)
		if h.pre.n > 0 {
			end := pos + int(h.pre.n)
			if end > len(subject) || !t.spanEqual(h.pre, subject[pos:end]) {
				return nil
			}
			pos = end
		}
		if pos == len(subject) {
			if h.term == 0 {
				return nil
			}
			return &t.leaves[h.term.idx()].st
		}
		i := bytes.IndexByte(t.keys(n, h), subject[pos])
		if i < 0 {
			return nil
		}
		r = t.child(n, h, i)
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
	var buf [inlineMax]byte
	for {
		rest := subject[pos:]
		if r.isLeaf() {
			l := &t.leaves[r.idx()]
			sfx := l.sfx
			sb := t.spanBytes(sfx, &buf)
			if string(sb) == rest {
				return &l.st, false
			}
			// The leaf's suffix splits into a new node's prefix, an edge
			// byte and the leaf's shorter suffix; long pieces keep their
			// bytes where they are in data.
			c := commonPrefix(sb, rest)
			pre := t.sub(sfx, 0, c)
			var b byte
			if c < len(sb) {
				b = sb[c]
				l.sfx = t.sub(sfx, c+1, len(sb))
			} else {
				l.sfx = span{}
			}
			t.release(sfx)
			n := t.newNode(pre)
			if c < len(sb) {
				t.addEdge(n, b, r)
			} else {
				t.setTerm(n, r)
			}
			nl := t.attach(n, rest, c)
			t.setSlot(slot, ref(n))
			t.size++
			return &t.leaves[nl.idx()].st, true
		}
		n := uint32(r)
		h := t.header(n)
		if h.pre.n > 0 {
			end := pos + int(h.pre.n)
			if end > len(subject) || !t.spanEqual(h.pre, subject[pos:end]) {
				// The key leaves this node's prefix early: a new node
				// takes the shared part and this one hangs below it.
				pb := t.spanBytes(h.pre, &buf)
				c := commonPrefix(pb, rest)
				b := pb[c]
				t.setPrefix(n, t.sub(h.pre, c+1, len(pb)))
				pre := t.sub(h.pre, 0, c)
				t.release(h.pre)
				p := t.newNode(pre)
				t.addEdge(p, b, r)
				nl := t.attach(p, rest, c)
				t.setSlot(slot, ref(p))
				t.size++
				return &t.leaves[nl.idx()].st, true
			}
			pos = end
		}
		if pos == len(subject) {
			if h.term != 0 {
				return &t.leaves[h.term.idx()].st, false
			}
			lr := t.newLeaf("")
			t.setTerm(n, lr)
			t.size++
			return &t.leaves[lr.idx()].st, true
		}
		b := subject[pos]
		i := bytes.IndexByte(t.keys(n, h), b)
		if i < 0 {
			lr := t.newLeaf(subject[pos+1:])
			if m := t.addEdge(n, b, lr); m != n {
				t.setSlot(slot, ref(m))
			}
			t.size++
			return &t.leaves[lr.idx()].st, true
		}
		slot = int(t.childSlot(n, h, i))
		r = t.child(n, h, i)
		pos++
	}
}

// InsertBytes is Insert for a subject held in a byte slice; the tree keeps
// its own copy of the bytes.
func (t *Tree) InsertBytes(subject []byte) (st *SubjectState, created bool) {
	return t.Insert(bstr(subject))
}

// attach hangs a new leaf for rest, whose first c bytes are the prefix of
// the new node n, below n: as its term when nothing is left.
func (t *Tree) attach(n uint32, rest string, c int) ref {
	if c == len(rest) {
		lr := t.newLeaf("")
		t.setTerm(n, lr)
		return lr
	}
	lr := t.newLeaf(rest[c+1:])
	t.addEdge(n, rest[c], lr) // a new node has room for two edges
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
			if !t.spanEqual(t.leaves[li].sfx, subject[pos:]) {
				return SubjectState{}, false
			}
			st := t.leaves[li].st
			t.freeLeafAt(li)
			if parent == 0 {
				t.root = 0
			} else {
				t.removeEdge(parent, uint32(slot))
				t.fixNode(parent, pslot)
			}
			t.size--
			t.maybeCompact()
			return st, true
		}
		n := uint32(r)
		h := t.header(n)
		if h.pre.n > 0 {
			end := pos + int(h.pre.n)
			if end > len(subject) || !t.spanEqual(h.pre, subject[pos:end]) {
				return SubjectState{}, false
			}
			pos = end
		}
		if pos == len(subject) {
			if h.term == 0 {
				return SubjectState{}, false
			}
			li := h.term.idx()
			st := t.leaves[li].st
			t.freeLeafAt(li)
			t.setTerm(n, 0)
			t.fixNode(n, slot)
			t.size--
			t.maybeCompact()
			return st, true
		}
		i := bytes.IndexByte(t.keys(n, h), subject[pos])
		if i < 0 {
			return SubjectState{}, false
		}
		parent, pslot = n, slot
		slot = int(t.childSlot(n, h, i))
		r = t.child(n, h, i)
		pos++
	}
	return SubjectState{}, false
}

// DeleteBytes is Delete for a subject held in a byte slice.
func (t *Tree) DeleteBytes(subject []byte) (SubjectState, bool) {
	return t.Delete(bstr(subject))
}

// fixNode restores the invariant of node n (referenced from slot) after it
// lost an edge or its term: a node left with one way down is folded away.
func (t *Tree) fixNode(n uint32, slot int) {
	h := t.header(n)
	switch {
	case h.cnt == 0:
		// Only the term is left: the leaf takes the node's place, and the
		// node's prefix becomes its suffix.
		t.leaves[h.term.idx()].sfx = h.pre
		t.freeRecord(n)
		t.setSlot(slot, h.term)
	case h.cnt == 1 && h.term == 0:
		// One edge is left: its target absorbs prefix + edge byte.
		b, cr := t.keys(n, h)[0], t.child(n, h, 0)
		if cr.isLeaf() {
			l := &t.leaves[cr.idx()]
			old := l.sfx
			l.sfx = t.concat(h.pre, b, old)
			t.release(old)
		} else {
			old := t.header(uint32(cr)).pre
			t.setPrefix(uint32(cr), t.concat(h.pre, b, old))
			t.release(old)
		}
		t.release(h.pre)
		t.freeRecord(n)
		t.setSlot(slot, cr)
	default:
		if m := t.shrink(n); m != n {
			t.setSlot(slot, ref(m))
		}
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

// AddMsgBytes is AddMsg for a subject held in a byte slice (a store
// rebuilding from its blocks), without converting it to a string.
func (t *Tree) AddMsgBytes(subject []byte, seq uint64) (created bool) {
	return t.AddMsg(bstr(subject), seq)
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

// RemoveMsgBytes is RemoveMsg for a subject held in a byte slice.
func (t *Tree) RemoveMsgBytes(subject []byte, seq uint64) (SubjectState, bool) {
	return t.RemoveMsg(bstr(subject), seq)
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
