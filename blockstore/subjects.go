package blockstore

import "strings"

// subjState is what the store knows about one subject. first and last may be
// stale after removals (a lower and an upper bound respectively); they are
// recomputed by a scan when someone needs the exact value.
type subjState struct {
	subj       string // interned: the index owns this copy
	msgs       uint64
	first      uint64
	last       uint64
	firstStale bool
	lastStale  bool
}

// subjectIndex maps every subject with at least one message to its state.
// Literal look-ups are a map access; wildcard filters walk the subjects
// whose first token matches, so a filter like "orders.*" over a million
// subjects touches only the "orders" bucket.
type subjectIndex struct {
	bySubj map[string]*subjState
	// byHead groups subjects by their first token for wildcard walks.
	byHead map[string]map[string]*subjState
}

func newSubjectIndex() *subjectIndex {
	return &subjectIndex{
		bySubj: make(map[string]*subjState),
		byHead: make(map[string]map[string]*subjState),
	}
}

func headToken(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i]
	}
	return s
}

func (x *subjectIndex) len() int { return len(x.bySubj) }

func (x *subjectIndex) get(subj string) *subjState { return x.bySubj[subj] }

// add returns the state of subj, creating it empty when absent.
func (x *subjectIndex) add(subj string) *subjState {
	if ss := x.bySubj[subj]; ss != nil {
		return ss
	}
	subj = strings.Clone(subj) // callers may pass strings aliasing their buffers
	ss := &subjState{subj: subj}
	x.bySubj[subj] = ss
	h := headToken(subj)
	g := x.byHead[h]
	if g == nil {
		g = make(map[string]*subjState)
		x.byHead[h] = g
	}
	g[subj] = ss
	return ss
}

func (x *subjectIndex) del(subj string) {
	if _, ok := x.bySubj[subj]; !ok {
		return
	}
	delete(x.bySubj, subj)
	h := headToken(subj)
	if g := x.byHead[h]; g != nil {
		delete(g, subj)
		if len(g) == 0 {
			delete(x.byHead, h)
		}
	}
}

func (x *subjectIndex) reset() {
	x.bySubj = make(map[string]*subjState)
	x.byHead = make(map[string]map[string]*subjState)
}

// match calls fn for every subject matching filter until fn returns false.
// The order is unspecified.
func (x *subjectIndex) match(filter string, fn func(subj string, ss *subjState) bool) {
	if isAll(filter) {
		for s, ss := range x.bySubj {
			if !fn(s, ss) {
				return
			}
		}
		return
	}
	if isLiteral(filter) {
		if ss := x.bySubj[filter]; ss != nil {
			fn(filter, ss)
		}
		return
	}
	h := headToken(filter)
	if h == "*" || h == ">" {
		for s, ss := range x.bySubj {
			if subjectMatches(s, filter) && !fn(s, ss) {
				return
			}
		}
		return
	}
	for s, ss := range x.byHead[h] {
		if subjectMatches(s, filter) && !fn(s, ss) {
			return
		}
	}
}

// isAll reports whether filter selects every subject.
func isAll(filter string) bool { return filter == "" || filter == ">" }

// isLiteral reports whether filter has no wildcard token.
func isLiteral(filter string) bool {
	for i := 0; i < len(filter); i++ {
		c := filter[i]
		if (c == '*' || c == '>') && (i == 0 || filter[i-1] == '.') &&
			(i+1 == len(filter) || filter[i+1] == '.') {
			return false
		}
	}
	return true
}

// subjectMatches reports whether the literal subject subj matches filter,
// where "*" matches one token and a final ">" one or more.
func subjectMatches(subj, filter string) bool {
	if isAll(filter) {
		return true
	}
	for {
		var ft string
		i := strings.IndexByte(filter, '.')
		if i < 0 {
			ft, filter = filter, ""
		} else {
			ft, filter = filter[:i], filter[i+1:]
		}
		if ft == ">" && i < 0 {
			return subj != ""
		}
		if subj == "" && ft != "" {
			return false
		}
		var st string
		j := strings.IndexByte(subj, '.')
		if j < 0 {
			st, subj = subj, ""
		} else {
			st, subj = subj[:j], subj[j+1:]
		}
		if ft != "*" && ft != st {
			return false
		}
		if i < 0 {
			return j < 0
		}
		if j < 0 {
			return false
		}
	}
}
