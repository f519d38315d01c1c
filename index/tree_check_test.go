package index

import (
	"fmt"
	"strings"
)

// check verifies the tree's structural invariants: every node has two ways
// down, edge blocks are sorted and within their class, every slot is
// reachable once, the free lists account for the rest, and the live byte
// count is exact.
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
	var visit func(r ref) error
	visit = func(r ref) error {
		if r == 0 {
			return fmt.Errorf("nil ref inside the tree")
		}
		i := r.idx()
		if r.isLeaf() {
			if i == 0 || int(i) >= len(t.leaves) || seenL[i] {
				return fmt.Errorf("leaf %d bad or seen twice", i)
			}
			seenL[i] = true
			l := t.leaves[i]
			if l.n == freeMark {
				return fmt.Errorf("leaf %d is free but reachable", i)
			}
			if int(l.off)+int(l.n) > len(t.data) {
				return fmt.Errorf("leaf %d span out of data", i)
			}
			live += int(l.n)
			return nil
		}
		if i == 0 || int(i) >= len(t.nodes) || seenN[i] {
			return fmt.Errorf("node %d bad or seen twice", i)
		}
		seenN[i] = true
		nd := t.nodes[i]
		if nd.class == 0 || nd.class > maxClass || int(nd.cnt) > 1<<nd.class {
			return fmt.Errorf("node %d: class %d cnt %d", i, nd.class, nd.cnt)
		}
		if nd.cnt < 2 && !(nd.cnt == 1 && nd.term != 0) {
			return fmt.Errorf("node %d has cnt %d term %d: should have been folded", i, nd.cnt, nd.term)
		}
		if int(nd.off)+int(nd.n) > len(t.data) {
			return fmt.Errorf("node %d span out of data", i)
		}
		live += int(nd.n)
		if nd.term != 0 {
			if !nd.term.isLeaf() {
				return fmt.Errorf("node %d term is not a leaf", i)
			}
			if t.leaves[nd.term.idx()].n != 0 {
				return fmt.Errorf("node %d term has a suffix", i)
			}
			if err := visit(nd.term); err != nil {
				return err
			}
		}
		keys := t.ekeys[nd.edges : nd.edges+uint32(nd.cnt)]
		for k := 1; k < len(keys); k++ {
			if keys[k-1] >= keys[k] {
				return fmt.Errorf("node %d edges unsorted: %q", i, keys)
			}
		}
		for k := range keys {
			if err := visit(t.erefs[nd.edges+uint32(k)]); err != nil {
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
		return fmt.Errorf("live bytes %d, counted %d", live, t.live)
	}
	freeN := 0
	for i := t.freeNode; i != 0; i = t.nodes[i].off {
		if seenN[i] || t.nodes[i].class != 0 {
			return fmt.Errorf("free node %d is in use", i)
		}
		if freeN++; freeN > len(t.nodes) {
			return fmt.Errorf("free node list loops")
		}
	}
	if len(seenN)+freeN != len(t.nodes)-1 {
		return fmt.Errorf("nodes: %d live + %d free != %d", len(seenN), freeN, len(t.nodes)-1)
	}
	freeL := 0
	for i := t.freeLeaf; i != 0; i = t.leaves[i].off {
		if seenL[i] || t.leaves[i].n != freeMark {
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
