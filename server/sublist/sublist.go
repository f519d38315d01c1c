package sublist

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ErrInvalidSubject is returned by Insert for a subject the trie cannot hold
// (an empty token, or a token after `>`).
var ErrInvalidSubject = errors.New("sublist: invalid subject")

// ErrNotFound is returned by Remove when the value is not subscribed there.
var ErrNotFound = errors.New("sublist: subscription not found")

// Result is what matched a subject: the plain subscriptions, and one slice
// per queue group (the caller picks one member of each). A Result is shared
// by the caches and must be treated as read-only.
type Result[T comparable] struct {
	Plain  []T
	Queues [][]T
	// QueueNames[i] names the group of Queues[i].
	QueueNames []string
}

// Len is the number of plain subscriptions plus the number of queue groups.
func (r *Result[T]) Len() int { return len(r.Plain) + len(r.Queues) }

// Sublist is a subscription trie. It is safe for concurrent use.
//
// Every change bumps a generation counter (Gen). A caller that keeps its
// own cache of results (the server keeps one per client, so that the hot
// path takes no lock at all) stamps it with the generation it was built at
// and drops it when the counter has moved.
type Sublist[T comparable] struct {
	mu    sync.RWMutex
	root  *level[T]
	count uint32
	gen   atomic.Uint64
	// inserts and removes count changes since creation (monitoring), under mu.
	inserts, removes uint64

	cacheMu sync.RWMutex // readers of the cache share it; inserts and invalidation take it alone
	cache   map[string]*Result[T]

	matches   atomic.Uint64
	cacheHits atomic.Uint64
}

// maxCache bounds the shared cache; when full, a sweep drops entries.
const (
	maxCache   = 4096
	cacheSweep = 256
)

type level[T comparable] struct {
	nodes    map[string]*node[T]
	pwc, fwc *node[T]
}

type node[T comparable] struct {
	next   *level[T]
	plain  subset[T]
	queues map[string]*subset[T]
}

// subset is an unordered set with O(1) insert and remove that also exposes
// its members as a slice, so results can be built by copying.
type subset[T comparable] struct {
	list []T
	pos  map[T]int
}

func (s *subset[T]) add(v T) bool {
	if s.pos == nil {
		s.pos = make(map[T]int)
	}
	if _, ok := s.pos[v]; ok {
		return false
	}
	s.pos[v] = len(s.list)
	s.list = append(s.list, v)
	return true
}

func (s *subset[T]) remove(v T) bool {
	i, ok := s.pos[v]
	if !ok {
		return false
	}
	last := len(s.list) - 1
	if i != last {
		moved := s.list[last]
		s.list[i] = moved
		s.pos[moved] = i
	}
	var zero T
	s.list[last] = zero
	s.list = s.list[:last]
	delete(s.pos, v)
	return true
}

// New returns an empty Sublist with its shared match cache on.
func New[T comparable]() *Sublist[T] {
	return &Sublist[T]{root: newLevel[T](), cache: make(map[string]*Result[T])}
}

// NewNoCache returns an empty Sublist that walks the trie on every Match
// (disable_sublist_cache): less memory, more CPU per message for callers
// that do not cache results themselves.
func NewNoCache[T comparable]() *Sublist[T] {
	return &Sublist[T]{root: newLevel[T]()}
}

func newLevel[T comparable]() *level[T] {
	return &level[T]{nodes: make(map[string]*node[T])}
}

// Gen is the generation counter: it changes whenever the set of
// subscriptions changes.
func (s *Sublist[T]) Gen() uint64 { return s.gen.Load() }

// Count is the number of subscriptions held.
func (s *Sublist[T]) Count() uint32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count
}

// Insert adds v under subject, in queue group queue when queue is not "".
// Inserting the same value twice under the same subject and queue is a
// no-op.
func (s *Sublist[T]) Insert(subject, queue string, v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.root
	var n *node[T]
	sawFWC := false
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i < len(subject) && subject[i] != tsep {
			continue
		}
		tok := subject[start:i]
		start = i + 1
		if len(tok) == 0 || sawFWC {
			return ErrInvalidSubject
		}
		if l == nil {
			l = newLevel[T]()
			n.next = l
		}
		n = l.child(tok, true)
		if len(tok) == 1 && tok[0] == fwc {
			sawFWC = true
		}
		l = n.next
	}
	var added bool
	if queue == "" {
		added = n.plain.add(v)
	} else {
		if n.queues == nil {
			n.queues = make(map[string]*subset[T])
		}
		qs := n.queues[queue]
		if qs == nil {
			qs = &subset[T]{}
			n.queues[queue] = qs
		}
		added = qs.add(v)
	}
	if !added {
		return nil
	}
	s.count++
	s.inserts++
	s.gen.Add(1)
	s.invalidate(subject)
	return nil
}

// child finds (or, with create, makes) the node for one token.
func (l *level[T]) child(tok string, create bool) *node[T] {
	var n *node[T]
	if len(tok) == 1 && tok[0] == pwc {
		n = l.pwc
		if n == nil && create {
			n = &node[T]{}
			l.pwc = n
		}
		return n
	}
	if len(tok) == 1 && tok[0] == fwc {
		n = l.fwc
		if n == nil && create {
			n = &node[T]{}
			l.fwc = n
		}
		return n
	}
	n = l.nodes[tok]
	if n == nil && create {
		n = &node[T]{}
		l.nodes[tok] = n
	}
	return n
}

// Remove deletes v from subject (and queue). Empty nodes are pruned so that
// churn of unique subjects (inboxes) does not grow the trie.
func (s *Sublist[T]) Remove(subject, queue string, v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.removeLocked(subject, queue, v); err != nil {
		return err
	}
	s.count--
	s.removes++
	s.gen.Add(1)
	s.invalidate(subject)
	return nil
}

// path records the walk down the trie so empty nodes can be pruned
// bottom-up. Subjects deeper than its array still work; they just use a
// heap slice.
type step[T comparable] struct {
	l   *level[T]
	n   *node[T]
	tok string
}

func (s *Sublist[T]) removeLocked(subject, queue string, v T) error {
	var arr [16]step[T]
	path := arr[:0]
	l := s.root
	var n *node[T]
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i < len(subject) && subject[i] != tsep {
			continue
		}
		tok := subject[start:i]
		start = i + 1
		if l == nil {
			return ErrNotFound
		}
		n = l.child(tok, false)
		if n == nil {
			return ErrNotFound
		}
		path = append(path, step[T]{l, n, tok})
		l = n.next
	}
	if n == nil {
		return ErrNotFound
	}
	if queue == "" {
		if !n.plain.remove(v) {
			return ErrNotFound
		}
	} else {
		qs := n.queues[queue]
		if qs == nil || !qs.remove(v) {
			return ErrNotFound
		}
		if len(qs.list) == 0 {
			delete(n.queues, queue)
		}
	}
	for i := len(path) - 1; i >= 0; i-- {
		st := path[i]
		if !st.n.empty() {
			break
		}
		st.l.drop(st.tok)
	}
	return nil
}

func (n *node[T]) empty() bool {
	return len(n.plain.list) == 0 && len(n.queues) == 0 &&
		(n.next == nil || n.next.empty())
}

func (l *level[T]) empty() bool { return len(l.nodes) == 0 && l.pwc == nil && l.fwc == nil }

func (l *level[T]) drop(tok string) {
	switch {
	case len(tok) == 1 && tok[0] == pwc:
		l.pwc = nil
	case len(tok) == 1 && tok[0] == fwc:
		l.fwc = nil
	default:
		delete(l.nodes, tok)
	}
}

// invalidate removes the shared-cache entries that subject can change.
// Caller holds s.mu for writing.
func (s *Sublist[T]) invalidate(subject string) {
	if s.cache == nil {
		return
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if len(s.cache) == 0 {
		return
	}
	if IsLiteral(subject) {
		delete(s.cache, subject)
		return
	}
	for k := range s.cache {
		if MatchLiteral(k, subject) {
			delete(s.cache, k)
		}
	}
}

// Stats describes a sublist for monitoring (/subsz).
type Stats struct {
	NumSubs    uint32
	NumCache   uint32
	NumInserts uint64
	NumRemoves uint64
	Matches    uint64
	CacheHits  uint64
	// MaxFanout and TotalFanout are the largest and the summed result
	// sizes (plain subscriptions plus queue groups) of the cached matches.
	MaxFanout   uint32
	TotalFanout uint64
}

// Stats reports the subscription count, insert and remove counts, the size
// of the shared cache and the fan-out of its entries, and how many matches
// were asked for and answered from the cache. It walks the cache (at most
// maxCache entries): meant for monitoring, not for hot paths.
func (s *Sublist[T]) Stats() Stats {
	s.mu.RLock()
	st := Stats{NumSubs: s.count, NumInserts: s.inserts, NumRemoves: s.removes}
	s.mu.RUnlock()
	s.cacheMu.RLock()
	st.NumCache = uint32(len(s.cache))
	for _, r := range s.cache {
		n := uint32(r.Len())
		st.TotalFanout += uint64(n)
		st.MaxFanout = max(st.MaxFanout, n)
	}
	s.cacheMu.RUnlock()
	st.Matches, st.CacheHits = s.matches.Load(), s.cacheHits.Load()
	return st
}
