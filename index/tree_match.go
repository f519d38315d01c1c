package index

import (
	"bytes"
	"sync"
)

// Match calls fn for every subject in the tree matching filter, in byte-wise
// lexicographic order, until fn returns false.
//
// The filter is a NATS subject filter: tokens separated by '.', where a
// token "*" matches any one non-empty token and a last token ">" matches one
// or more tokens; every other token matches itself byte for byte. An empty
// filter matches every subject. A filter without wildcards is a direct
// lookup, and a wildcard walk only enters the parts of the tree that can
// still match.
//
// fn receives the subject in a buffer that is valid only during the call,
// and the subject's state, which it may modify (to resolve a stale bound,
// for example). fn must not add or delete subjects.
func (t *Tree) Match(filter string, fn func(subject []byte, st *SubjectState) bool) {
	if t.root == 0 {
		return
	}
	if filter == "" {
		t.Walk(fn)
		return
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if !hasWildcard(filter) {
		if st := t.Lookup(filter); st != nil {
			*bp = append((*bp)[:0], filter...)
			fn(*bp, st)
		}
		return
	}
	m := matcher{t: t, filter: filter, buf: (*bp)[:0]}
	m.visit(t.root, m.enter(0), fn)
	*bp = m.buf[:0]
}

// Walk calls fn for every subject in the tree, in byte-wise lexicographic
// order, until fn returns false. The arguments are as for Match.
func (t *Tree) Walk(fn func(subject []byte, st *SubjectState) bool) {
	if t.root == 0 {
		return
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	m := matcher{t: t, buf: (*bp)[:0]}
	m.visit(t.root, fstate{mode: modeTail, n: true}, fn)
	*bp = m.buf[:0]
}

// FirstMatch answers "from which sequence on may a message match filter":
// among the subjects matching filter whose Last is at or after start, it
// returns the smallest max(First, start). ok is false when no matching
// subject has messages at or after start. With stale bounds the answer is
// still a safe place to start scanning from, never past the first match.
// On a per-block tree this tells whether the block holds any message for
// the filter at or after start.
func (t *Tree) FirstMatch(filter string, start uint64) (seq uint64, ok bool) {
	t.Match(filter, func(_ []byte, st *SubjectState) bool {
		if st.Msgs == 0 || st.Last < start {
			return true
		}
		s := max(st.First, start)
		if !ok || s < seq {
			seq, ok = s, true
		}
		return seq > start // nothing can beat start itself
	})
	return seq, ok
}

// hasWildcard reports whether filter has a "*" token or ends with a ">"
// token.
func hasWildcard(filter string) bool {
	start := 0
	for i := 0; i <= len(filter); i++ {
		if i < len(filter) && filter[i] != '.' {
			continue
		}
		if i-start == 1 && (filter[start] == '*' || (filter[start] == '>' && i == len(filter))) {
			return true
		}
		start = i + 1
	}
	return false
}

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 256)
	return &b
}}

// fmode says how the next subject byte is checked against the filter.
type fmode uint8

const (
	modeLit  fmode = iota // the byte must equal filter[f]
	modeStar              // inside a "*" token: any byte but '.'
	modeTail              // inside the ">" tail: any byte
)

// fstate is a position in the filter. Because "*" always ends at the next
// '.', a subject prefix leads to exactly one state: matching walks the tree
// once, never backtracking.
type fstate struct {
	f    int
	mode fmode
	n    bool // the current "*" or ">" has matched at least one byte
}

// matcher is the state of one walk. The callback is passed down the
// recursion rather than kept here: a func stored in a struct that the walk
// hands to it would escape, and cost the caller an allocation per Match.
type matcher struct {
	t      *Tree
	filter string
	buf    []byte // the subject so far
}

// enter returns the state at the start of the filter token at f.
func (m *matcher) enter(f int) fstate {
	rest := m.filter[f:]
	if rest == ">" {
		return fstate{f: f + 1, mode: modeTail}
	}
	if len(rest) > 0 && rest[0] == '*' && (len(rest) == 1 || rest[1] == '.') {
		return fstate{f: f + 1, mode: modeStar}
	}
	return fstate{f: f, mode: modeLit}
}

func (m *matcher) step(s fstate, c byte) (fstate, bool) {
	switch s.mode {
	case modeTail:
		s.n = true
		return s, true
	case modeStar:
		if c != '.' {
			s.n = true
			return s, true
		}
		if !s.n || s.f >= len(m.filter) {
			return s, false
		}
		return m.enter(s.f + 1), true
	default:
		if s.f >= len(m.filter) || m.filter[s.f] != c {
			return s, false
		}
		if c == '.' {
			return m.enter(s.f + 1), true
		}
		s.f++
		return s, true
	}
}

func (m *matcher) accepts(s fstate) bool {
	switch s.mode {
	case modeTail:
		return s.n
	case modeStar:
		return s.n && s.f == len(m.filter)
	default:
		return s.f == len(m.filter)
	}
}

// feed steps s through b; ok is false once the filter cannot match.
func (m *matcher) feed(s fstate, b []byte) (fstate, bool) {
	if s.mode == modeTail {
		s.n = s.n || len(b) > 0
		return s, true
	}
	ok := true
	for _, c := range b {
		if s, ok = m.step(s, c); !ok {
			return s, false
		}
	}
	return s, true
}

// visit walks the subtree at r in state s; it returns false once fn asked
// to stop.
func (m *matcher) visit(r ref, s fstate, fn func([]byte, *SubjectState) bool) bool {
	t := m.t
	var buf [inlineMax]byte
	if r.isLeaf() {
		l := &t.leaves[r.idx()]
		suffix := t.spanBytes(l.sfx, &buf)
		s, ok := m.feed(s, suffix)
		if !ok || !m.accepts(s) {
			return true
		}
		mark := len(m.buf)
		m.buf = append(m.buf, suffix...)
		cont := fn(m.buf, &l.st)
		m.buf = m.buf[:mark]
		return cont
	}
	n := uint32(r)
	h := t.header(n)
	prefix := t.spanBytes(h.pre, &buf)
	s, ok := m.feed(s, prefix)
	if !ok {
		return true
	}
	mark := len(m.buf)
	m.buf = append(m.buf, prefix...)
	base := len(m.buf)
	if h.term != 0 && m.accepts(s) {
		if !fn(m.buf, &t.leaves[h.term.idx()].st) {
			return false
		}
	}
	keys := t.keys(n, h)
	if s.mode == modeLit {
		// Only one edge can continue a literal: look it up directly.
		if s.f < len(m.filter) {
			if i := bytes.IndexByte(keys, m.filter[s.f]); i >= 0 {
				ns, _ := m.step(s, keys[i])
				m.buf = append(m.buf, keys[i])
				if !m.visit(t.child(n, h, i), ns, fn) {
					return false
				}
			}
		}
	} else {
		for i, c := range keys {
			ns, ok := m.step(s, c)
			if !ok {
				continue
			}
			m.buf = append(m.buf[:base], c)
			if !m.visit(t.child(n, h, i), ns, fn) {
				return false
			}
		}
	}
	m.buf = m.buf[:mark]
	return true
}
