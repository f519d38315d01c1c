package index

import (
	"fmt"
	"strings"
)

// check verifies the tree's structural invariants: every node has two ways
// down, edges are sorted and within their record, every node and leaf is
// reachable once, the free lists account for the rest, inline spans are
// zero-padded, and the live byte count is exact.
func (t *Tree) check() error {
	if t.root == 0 {
		if t.size != 0 {
			return fmt.Errorf("empty root but size %d", t.size)
		}
		return nil
	}
	seenN := make(map[uint32]bool)
	seenL := make(map[uint32]bool)
	live := 0
	checkSpan := func(s span) error {
		if s.n <= inlineMax {
			if s.off>>(8*s.n) != 0 && s.n < 4 {
				return fmt.Errorf("inline span %x/%d not zero-padded", s.off, s.n)
			}
			return nil
		}
		if int(s.off)+int(s.n) > len(t.data) {
			return fmt.Errorf("span %d/%d out of data (%d)", s.off, s.n, len(t.data))
		}
		live += int(s.n)
		return nil
	}
	var visit func(r ref) error
	visit = func(r ref) error {
		if r == 0 {
			return fmt.Errorf("nil ref inside the tree")
		}
		if r.isLeaf() {
			i := r.idx()
			if i == 0 || int(i) >= len(t.leaves) || seenL[i] {
				return fmt.Errorf("leaf %d bad or seen twice", i)
			}
			seenL[i] = true
			if t.leaves[i].sfx.n == freeMark {
				return fmt.Errorf("leaf %d is free but reachable", i)
			}
			return checkSpan(t.leaves[i].sfx)
		}
		n := uint32(r)
		if n < nodesStart || int(n)+recHeader > len(t.nodes) || seenN[n] {
			return fmt.Errorf("node %d bad or seen twice", n)
		}
		seenN[n] = true
		h := t.header(n)
		if h.class == 0 || h.class > maxClass || h.cnt > 1<<h.class || int(n)+recordSize(h.class) > len(t.nodes) || t.nodes[n+15] != 0 {
			return fmt.Errorf("node %d: class %d cnt %d free %d", n, h.class, h.cnt, t.nodes[n+15])
		}
		if h.cnt < 2 && !(h.cnt == 1 && h.term != 0) {
			return fmt.Errorf("node %d has cnt %d term %d: should have been folded", n, h.cnt, h.term)
		}
		if err := checkSpan(h.pre); err != nil {
			return fmt.Errorf("node %d prefix: %v", n, err)
		}
		if h.term != 0 {
			if !h.term.isLeaf() || t.leaves[h.term.idx()].sfx.n != 0 {
				return fmt.Errorf("node %d term is not a leaf without suffix", n)
			}
			if err := visit(h.term); err != nil {
				return err
			}
		}
		keys := t.keys(n, h)
		for k := 1; k < len(keys); k++ {
			if keys[k-1] >= keys[k] {
				return fmt.Errorf("node %d edges unsorted: %q", n, keys)
			}
		}
		for k := range keys {
			if err := visit(t.child(n, h, k)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(t.root); err != nil {
		return err
	}
	if len(seenL) != t.size {
		return fmt.Errorf("reachable leaves %d, size %d", len(seenL), t.size)
	}
	if live != t.live {
		return fmt.Errorf("live bytes %d, counted %d", t.live, live)
	}
	// Every record is either reachable or on its class's free list.
	records, free := 0, 0
	for n := nodesStart; n < len(t.nodes); n += recordSize(t.nodes[n+14]) {
		records++
		if t.nodes[n+15] != 0 {
			free++
		}
	}
	listed := 0
	for class := range t.freeNode {
		for n := t.freeNode[class]; n != 0; n = le.Uint32(t.nodes[n:]) {
			if seenN[n] || t.nodes[n+15] != 1 || t.nodes[n+14] != uint8(class) {
				return fmt.Errorf("free record %d is in use or misfiled", n)
			}
			if listed++; listed > records {
				return fmt.Errorf("free record list loops")
			}
		}
	}
	if listed != free || len(seenN)+free != records {
		return fmt.Errorf("records: %d live + %d free (%d listed) != %d", len(seenN), free, listed, records)
	}
	freeL := 0
	for i := t.freeLeaf; i != 0; i = t.leaves[i].sfx.off {
		if seenL[i] || t.leaves[i].sfx.n != freeMark {
			return fmt.Errorf("free leaf %d is in use", i)
		}
		if freeL++; freeL > len(t.leaves) {
			return fmt.Errorf("free leaf list loops")
		}
	}
	if len(seenL)+freeL != len(t.leaves)-1 {
		return fmt.Errorf("leaves: %d live + %d free != %d", len(seenL), freeL, len(t.leaves)-1)
	}
	return nil
}

// matchModel is the obvious token-by-token matcher that Match must agree
// with: "*" needs a non-empty token, ">" at least one more byte.
func matchModel(filter, subject string) bool {
	if filter == "" {
		return true
	}
	ft := strings.Split(filter, ".")
	st := strings.Split(subject, ".")
	for i, f := range ft {
		if f == ">" && i == len(ft)-1 {
			return strings.Join(st[min(i, len(st)):], ".") != ""
		}
		if i >= len(st) {
			return false
		}
		if f != "*" && f != st[i] {
			return false
		}
		if f == "*" && st[i] == "" {
			return false
		}
	}
	return len(st) == len(ft)
}
