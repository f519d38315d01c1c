package blockstore

import (
	"slices"
	"time"

	"github.com/keelhq/keel/index"
)

// The read side of the core. Nothing here changes state, so streams run
// these under a shared lock.

func sortStrings(s []string) { slices.Sort(s) }

func (c *core) loadMsg(seq uint64, sm *StoreMsg) (*StoreMsg, error) {
	if seq < c.first || seq > c.last {
		return nil, ErrNotFound
	}
	return c.be.load(seq, sm)
}

func (c *core) loadNext(filter string, start uint64, sm *StoreMsg) (*StoreMsg, error) {
	if start < c.first {
		start = c.first
	}
	if c.msgs == 0 || start > c.last {
		return nil, ErrNotFound
	}
	if isAll(filter) {
		s := c.be.nextLive(start, c.last)
		if s == 0 {
			return nil, ErrNotFound
		}
		return c.be.load(s, sm)
	}
	if isLiteral(filter) {
		ss := c.subjs.Lookup(filter)
		if ss == nil || start > ss.Last {
			return nil, ErrNotFound
		}
		if !ss.FirstStale && start <= ss.First {
			return c.be.load(ss.First, sm)
		}
		if start < ss.First {
			start = ss.First
		}
		if s := c.scanFirst(filter, start, ss.Last); s != 0 {
			return c.be.load(s, sm)
		}
		return nil, ErrNotFound
	}
	// Wildcard: a short scan first (matches are usually close); then the
	// index narrows the scan to the span the matching subjects cover.
	found, scanned := c.be.findSubject(start, c.last, filter, false, wildcardProbe)
	if found != 0 {
		return c.be.load(found, sm)
	}
	if scanned != 0 && scanned >= c.last {
		return nil, ErrNotFound
	}
	if scanned != 0 {
		start = scanned + 1
	}
	lo, hi := c.matchSpan(filter, start)
	if hi == 0 || start > hi {
		return nil, ErrNotFound
	}
	if found, _ = c.be.findSubject(max(start, lo), hi, filter, false, 0); found == 0 {
		return nil, ErrNotFound
	}
	return c.be.load(found, sm)
}

// matchSpan returns the smallest first sequence among the subjects matching
// filter with messages at or after start, and the largest last sequence
// among all matching subjects.
func (c *core) matchSpan(filter string, start uint64) (lo, hi uint64) {
	c.subjs.Match(filter, func(_ []byte, ss *index.SubjectState) bool {
		if ss.Last >= start && (lo == 0 || ss.First < lo) {
			lo = ss.First
		}
		if ss.Last > hi {
			hi = ss.Last
		}
		return true
	})
	return lo, hi
}

// wildcardProbe is how far a wildcard load scans before asking the index.
const wildcardProbe = 256

func (c *core) loadLast(filter string, sm *StoreMsg) (*StoreMsg, error) {
	if c.msgs == 0 {
		return nil, ErrNotFound
	}
	var s uint64
	switch {
	case isAll(filter):
		s = c.be.prevLive(c.last, c.first)
	case isLiteral(filter):
		if ss := c.subjs.Lookup(filter); ss != nil {
			s = c.exactLast(filter, ss)
		}
	default:
		c.subjs.Match(filter, func(subj []byte, ss *index.SubjectState) bool {
			if ss.Last > s {
				if l := c.exactLast(string(subj), ss); l > s {
					s = l
				}
			}
			return true
		})
	}
	if s == 0 {
		return nil, ErrNotFound
	}
	return c.be.load(s, sm)
}

func (c *core) loadPrev(start uint64, sm *StoreMsg) (*StoreMsg, error) {
	if start > c.last {
		start = c.last
	}
	if c.msgs == 0 || start < c.first {
		return nil, ErrNotFound
	}
	s := c.be.prevLive(start, c.first)
	if s == 0 {
		return nil, ErrNotFound
	}
	return c.be.load(s, sm)
}

// seqForTime is the first sequence stored at or after t (last+1 when none),
// by binary search: timestamps grow with sequences.
func (c *core) seqForTime(t time.Time) uint64 {
	ts := t.UnixNano()
	if c.msgs == 0 {
		return c.last + 1
	}
	var m msgMeta
	lo, hi := c.first, c.last // answer in [lo, hi+1]
	ans := c.last + 1
	for lo <= hi {
		mid := lo + (hi-lo)/2
		s := c.be.nextLive(mid, hi)
		if s == 0 {
			hi = mid - 1
			if mid == 0 {
				break
			}
			continue
		}
		if c.be.peek(s, &m) != nil {
			return ans
		}
		if m.ts >= ts {
			ans = s
			if mid == 0 {
				break
			}
			hi = mid - 1
		} else {
			lo = s + 1
		}
	}
	return ans
}

// filtered is the state of messages matching filter at or after start.
func (c *core) filtered(start uint64, filter string) SimpleState {
	if start < c.first {
		start = c.first
	}
	var st SimpleState
	if c.msgs == 0 || start > c.last {
		return st
	}
	if isAll(filter) {
		st.First = c.be.nextLive(start, c.last)
		if st.First == 0 {
			return SimpleState{}
		}
		st.Last = c.be.prevLive(c.last, st.First)
		st.Msgs = c.be.liveBetween(st.First, st.Last)
		return st
	}
	// Subjects wholly at or after start count in full; subjects straddling
	// start are counted by one scan of the straddled range.
	var partial map[string]struct{}
	var scanTo uint64
	c.subjs.Match(filter, func(sb []byte, ss *index.SubjectState) bool {
		if ss.Last < start {
			return true
		}
		last := ss.Last
		if ss.LastStale {
			if last = c.exactLast(string(sb), ss); last < start {
				return true
			}
		}
		if ss.First >= start {
			st.Msgs += ss.Msgs
			if st.First == 0 || ss.First < st.First {
				if f := c.exactFirst(string(sb), ss); st.First == 0 || f < st.First {
					st.First = f
				}
			}
			if last > st.Last {
				st.Last = last
			}
			return true
		}
		if partial == nil {
			partial = make(map[string]struct{})
		}
		partial[string(sb)] = struct{}{}
		if last > scanTo {
			scanTo = last
		}
		return true
	})
	if len(partial) == 0 {
		return st
	}
	c.be.scan(start, scanTo, func(s uint64, subj string) bool {
		if _, ok := partial[subj]; ok {
			st.Msgs++
			if st.First == 0 || s < st.First {
				st.First = s
			}
			if s > st.Last {
				st.Last = s
			}
		}
		return true
	})
	return st
}

func (c *core) subjectsState(filter string) map[string]SubjectState {
	out := make(map[string]SubjectState)
	c.subjs.Match(filter, func(sb []byte, ss *index.SubjectState) bool {
		subj := string(sb)
		out[subj] = SubjectState{Msgs: ss.Msgs, First: c.exactFirst(subj, ss), Last: c.exactLast(subj, ss)}
		return true
	})
	return out
}

func (c *core) subjectsTotals(filter string) map[string]uint64 {
	out := make(map[string]uint64)
	c.subjs.Match(filter, func(sb []byte, ss *index.SubjectState) bool {
		out[string(sb)] = ss.Msgs
		return true
	})
	return out
}

func (c *core) numPending(start uint64, filter string, lastPerSubject bool) uint64 {
	if !lastPerSubject {
		return c.filtered(start, filter).Msgs
	}
	if start < c.first {
		start = c.first
	}
	var n uint64
	c.subjs.Match(filter, func(sb []byte, ss *index.SubjectState) bool {
		if ss.Last >= start && (!ss.LastStale || c.exactLast(string(sb), ss) >= start) {
			n++
		}
		return true
	})
	return n
}
