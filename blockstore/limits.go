package blockstore

import (
	"time"

	"github.com/keelhq/keel/index"
)

// enforceLimits applies the retention limits after a store to subj and
// returns how many messages they removed. With DiscardNew the stream-wide
// limits were checked before the store (check), so only the per-subject
// limit, which always replaces the subject's oldest, removes anything.
func (c *core) enforceLimits(subj string) uint64 {
	var n uint64
	if c.cfg.MaxMsgsPerSubject > 0 && subj != "" {
		n += c.enforceSubjectLimit(subj)
	}
	if c.cfg.Discard == DiscardOld {
		n += c.enforceStreamLimits()
	}
	return n
}

func (c *core) enforceSubjectLimit(subj string) uint64 {
	var n uint64
	max := uint64(c.cfg.MaxMsgsPerSubject)
	for {
		ss := c.subjs.Lookup(subj)
		if ss == nil || ss.Msgs <= max {
			return n
		}
		from := ss.First // below the first when stale
		first := c.subjFirst(subj, ss)
		if c.be.damaged() && first > from && len(c.lostIn(from, first-1)) > 0 && c.settleDamage() {
			// The scan for the first passed over messages lost to damage
			// that the counts still held: one may have been subj's first,
			// the message to go. Absorbed, they are gone (and counted
			// so): look again.
			continue
		}
		if !c.removeMsg(first, false) {
			return n // inconsistent index; never loop forever
		}
		n++
	}
}

func (c *core) enforceStreamLimits() uint64 {
	var n uint64
	for c.msgs > 0 &&
		((c.cfg.MaxMsgs > 0 && c.msgs > uint64(c.cfg.MaxMsgs)) ||
			(c.cfg.MaxBytes > 0 && c.bytes > uint64(c.cfg.MaxBytes))) {
		if !c.removeMsg(c.first, false) {
			return n
		}
		n++
	}
	return n
}

// subjFirst returns the exact first sequence of subj, refreshing a stale
// value in the index (write paths only: it mutates ss).
func (c *core) subjFirst(subj string, ss *index.SubjectState) uint64 {
	if ss.FirstStale {
		ss.First, ss.FirstStale = c.scanFirst(subj, ss.First, c.last), false
	}
	return ss.First
}

// scanFirst finds the first live message on the literal subj in [from, to].
func (c *core) scanFirst(subj string, from, to uint64) uint64 {
	from = max(from, c.first) // a stale bound may lie below the stream
	found, _ := c.be.findSubject(c.be.skipFor(from, subj), to, subj, true, 0)
	return found
}

// scanLast finds the last live message on the literal subj in [from, to].
func (c *core) scanLast(subj string, from, to uint64) uint64 {
	from = max(from, c.first)
	for s := to; s >= from && s != 0; s-- {
		s = c.be.prevLive(s, from)
		if s == 0 {
			break
		}
		if c.be.subject(s) == subj {
			return s
		}
	}
	return 0
}

// exactFirst and exactLast read a subject's bounds without changing the
// index, for read paths running under a shared lock.
func (c *core) exactFirst(subj string, ss *index.SubjectState) uint64 {
	if !ss.FirstStale {
		return ss.First
	}
	return c.scanFirst(subj, ss.First, c.last)
}

func (c *core) exactLast(subj string, ss *index.SubjectState) uint64 {
	if !ss.LastStale {
		return ss.Last
	}
	from := c.first
	if !ss.FirstStale {
		from = ss.First
	}
	return c.scanLast(subj, from, ss.Last)
}

// expire removes what MaxAge and per-message TTLs have expired at now.
func (c *core) expire(now int64) uint64 {
	var n uint64
	if c.cfg.MaxAge > 0 {
		cutoff := now - int64(c.cfg.MaxAge)
		var m msgMeta
		for c.msgs > 0 {
			s, err := c.firstAgeable(&m)
			if err != nil {
				// A damaged message: absorbed, it is gone; look again.
				if isDamage(err) && c.settleDamage() {
					continue
				}
				break
			}
			if s == 0 || m.ts > cutoff {
				break
			}
			c.removeMsg(s, false)
			n++
		}
	}
	for c.ttls.Len() > 0 && c.ttls.items[0].at <= now {
		e := c.ttls.pop()
		m := &c.peeked
		if err := c.be.peek(e.seq, m); err != nil || m.ttl <= 0 || m.ts+m.ttl != e.at {
			continue // removed (or replaced after a truncate) meanwhile
		}
		c.removeMsg(e.seq, false)
		n++
	}
	// Drop entries of messages removed otherwise, so NextExpiry points at
	// a message that is still there.
	for c.ttls.Len() > 0 {
		e := c.ttls.items[0]
		if m := &c.peeked; c.be.peek(e.seq, m) == nil && m.ttl > 0 && m.ts+m.ttl == e.at {
			break
		}
		c.ttls.pop()
	}
	c.pruneTTLs()
	return n
}

// firstAgeable finds the first live message MaxAge can expire (one whose
// TTL is not -1, "never"), filling m; 0 when there is none. Messages that
// never expire gather at the front of a stream with MaxAge (everything
// around them goes), so the search starts at ageFrom, past the ones seen
// before, and costs each of them once rather than at every call. It runs
// under the shared lock too: ageFrom only moves up then, and every reader
// moves it to a point that holds for the state they all see.
func (c *core) firstAgeable(m *msgMeta) (uint64, error) {
	from := max(c.first, c.ageFrom.Load())
	for s := c.be.nextLive(from, c.last); s != 0; s = c.be.nextLive(s+1, c.last) {
		if err := c.be.peek(s, m); err != nil {
			return 0, err
		}
		if m.ttl >= 0 {
			c.raiseAgeFrom(s)
			return s, nil
		}
		if s == c.last {
			break
		}
	}
	c.raiseAgeFrom(c.last + 1)
	return 0, nil
}

func (c *core) raiseAgeFrom(to uint64) {
	for {
		old := c.ageFrom.Load()
		if to <= old || c.ageFrom.CompareAndSwap(old, to) {
			return
		}
	}
}

// nextExpiry is when OpExpire next has work: the oldest message reaching
// MaxAge or the earliest TTL.
func (c *core) nextExpiry() time.Time {
	var at int64
	if c.cfg.MaxAge > 0 && c.msgs > 0 {
		var m msgMeta
		if s, err := c.firstAgeable(&m); err == nil && s != 0 {
			at = m.ts + int64(c.cfg.MaxAge)
		}
	}
	if c.ttls.Len() > 0 {
		if t := c.ttls.items[0].at; at == 0 || t < at {
			at = t
		}
	}
	if at == 0 {
		return time.Time{}
	}
	return time.Unix(0, at).UTC()
}

// setConfig replaces the configuration and applies the new limits at once.
func (c *core) setConfig(cfg Config) uint64 {
	old := c.cfg
	cfg.Name, cfg.Storage = old.Name, old.Storage
	c.cfg = cfg
	if cfg.AllowMsgTTL && !old.AllowMsgTTL {
		c.indexTTLs()
	} else if !cfg.AllowMsgTTL {
		c.ttls.reset()
	}
	var n uint64
	if cfg.MaxMsgsPerSubject > 0 && (old.MaxMsgsPerSubject <= 0 || cfg.MaxMsgsPerSubject < old.MaxMsgsPerSubject) {
		var over []string
		c.subjs.Match("", func(s []byte, ss *index.SubjectState) bool {
			if ss.Msgs > uint64(cfg.MaxMsgsPerSubject) {
				over = append(over, string(s))
			}
			return true
		}) // in byte order: the removal order is deterministic
		for _, s := range over {
			n += c.enforceSubjectLimit(s)
		}
	}
	// A config change applies the stream limits whatever the discard
	// policy: discard new only refuses new messages.
	n += c.enforceStreamLimits()
	return n
}

// indexTTLs builds the TTL index from the stored messages.
func (c *core) indexTTLs() {
	c.ttls.reset()
	var m msgMeta
	for s := c.be.nextLive(c.first, c.last); s != 0; s = c.be.nextLive(s+1, c.last) {
		if c.be.peek(s, &m) == nil && m.ttl > 0 {
			c.ttls.items = append(c.ttls.items, ttlEntry{at: m.ts + m.ttl, seq: s})
		}
		if s == c.last {
			break
		}
	}
	c.ttls.init()
}

// dropDeadTTLs drops the TTL entries of messages no longer live.
func (c *core) dropDeadTTLs() {
	kept := c.ttls.items[:0]
	for _, e := range c.ttls.items {
		if c.live(e.seq) {
			kept = append(kept, e)
		}
	}
	c.ttls.items = kept
	c.ttls.init()
}

// pruneTTLs drops entries of removed messages once they dominate the heap,
// so a stream whose TTL messages are deleted early does not grow it.
func (c *core) pruneTTLs() {
	if len(c.ttls.items) < 1024 || uint64(len(c.ttls.items)) < 2*c.msgs {
		return
	}
	c.dropDeadTTLs()
}

type ttlEntry struct {
	at  int64
	seq uint64
}

// ttlHeap is a binary min-heap of TTL entries by expiry, then sequence,
// written out (rather than container/heap) so pushes and pops do not box.
type ttlHeap struct{ items []ttlEntry }

func (h *ttlHeap) Len() int { return len(h.items) }

func (h *ttlHeap) less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (h *ttlHeap) push(at int64, seq uint64) {
	h.items = append(h.items, ttlEntry{at: at, seq: seq})
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *ttlHeap) pop() ttlEntry {
	top := h.items[0]
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	h.items = h.items[:n]
	h.down(0)
	return top
}

func (h *ttlHeap) down(i int) {
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

func (h *ttlHeap) init() {
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *ttlHeap) reset() { h.items = h.items[:0] }
