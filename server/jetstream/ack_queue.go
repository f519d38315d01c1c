package jetstream

import (
	"sync"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Publish acknowledgements wait here for the engine's durable watermark.
//
// Each stream keeps a FIFO of acks in ticket order (they are queued under
// the stream's lock, in apply order). One goroutine, woken by the engine
// each time its watermark advances, releases from every stream with queued
// acks the prefix whose tickets are durable, and sends the PubAcks. The
// queues reuse their storage, so the steady publish path allocates nothing,
// and no publisher ever waits for an fsync: one fsync releases the acks of
// every publisher and stream it covered (group commit).

// ackKind says what an ackEntry sends once durable.
type ackKind uint8

const (
	ackPlain   ackKind = iota // PubAck (possibly a duplicate)
	ackCounter                // PubAck with a counter's total (extra)
	ackBatch                  // PubAck of an atomic batch: id (extra) and count
	ackFast                   // progress of a fast batch: id (extra), batch sequence (count)
)

// ackEntry is one reply waiting for its ticket. The reply subject lives in
// the queue's arena at [roff, roff+rlen), followed by vlen bytes of extra
// text (a counter's total, a batch id), usually none.
type ackEntry struct {
	ticket uint64
	seq    uint64
	count  uint64
	roff   uint32
	rlen   uint32
	vlen   uint32
	kind   ackKind
	dup    bool
}

// extra is the entry's extra text in arena.
func (e *ackEntry) extra(arena []byte) []byte {
	return arena[e.roff+e.rlen : e.roff+e.rlen+e.vlen]
}

// ackQueue is one stream's FIFO of waiting acks.
type ackQueue struct {
	mu      sync.Mutex
	entries []ackEntry
	head    int
	arena   []byte
	listed  bool // registered with durability as having acks queued
}

// push queues an ack; it reports whether the queue was empty (the caller
// then registers the stream with the durability goroutine).
func (q *ackQueue) push(e ackEntry, reply, extra string) (wasEmpty bool) {
	e.roff, e.rlen, e.vlen = uint32(len(q.arena)), uint32(len(reply)), uint32(len(extra))
	q.arena = append(q.arena, reply...)
	q.arena = append(q.arena, extra...)
	q.entries = append(q.entries, e)
	wasEmpty = !q.listed
	q.listed = true
	return wasEmpty
}

// popDurable moves the acks whose tickets are at or below wm into out
// (replies copied into *replies) and reports whether the queue is now
// empty. Caller holds q.mu.
func (q *ackQueue) popDurable(wm uint64, out []ackEntry, replies *[]byte) ([]ackEntry, bool) {
	for q.head < len(q.entries) && q.entries[q.head].ticket <= wm {
		e := q.entries[q.head]
		off := len(*replies)
		*replies = append(*replies, q.arena[e.roff:e.roff+e.rlen+e.vlen]...)
		e.roff = uint32(off)
		out = append(out, e)
		q.head++
	}
	if q.head == len(q.entries) {
		q.entries, q.arena, q.head = q.entries[:0], q.arena[:0], 0
		q.listed = false
		return out, true
	}
	// Keep the storage bounded under a queue that never drains fully:
	// slide the live part down once the consumed prefix dominates.
	if q.head >= 1024 && q.head*2 >= len(q.entries) {
		base := q.entries[q.head].roff
		n := copy(q.entries, q.entries[q.head:])
		q.entries = q.entries[:n]
		for i := range q.entries {
			q.entries[i].roff -= base
		}
		m := copy(q.arena, q.arena[base:])
		q.arena = q.arena[:m]
		q.head = 0
	}
	return out, false
}

func (q *ackQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries) - q.head
}

// durability follows the engine's watermark: it releases queued acks and
// wakes API requests waiting for a command to be durable.
type durability struct {
	js   *JetStream
	eng  *blockstore.Engine
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex
	queued  map[*stream]struct{}
	waiters []durWaiter

	// Scratch of the releasing goroutine.
	list    []*stream
	out     []ackEntry
	replies []byte
	ack     []byte
}

type durWaiter struct {
	ticket uint64
	ch     chan struct{}
}

func newDurability(js *JetStream) *durability {
	d := &durability{
		js: js, eng: js.engine,
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		queued: make(map[*stream]struct{}),
	}
	// Runs on the engine's commit path: only a non-blocking signal.
	d.eng.Notify(func(blockstore.Ticket) { signal(d.wake) })
	go d.loop()
	return d
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (d *durability) loop() {
	defer close(d.done)
	for {
		select {
		case <-d.wake:
			d.release()
		case <-d.quit:
			d.release()
			return
		}
	}
}

// stop releases what is durable and ends the goroutine.
func (d *durability) stop() {
	select {
	case <-d.quit:
	default:
		close(d.quit)
	}
	<-d.done
	d.mu.Lock()
	for _, w := range d.waiters {
		close(w.ch)
	}
	d.waiters = nil
	d.mu.Unlock()
}

// register notes that st has acks queued. Called with st's queue lock held.
func (d *durability) register(st *stream) {
	d.mu.Lock()
	d.queued[st] = struct{}{}
	d.mu.Unlock()
}

// kick makes the goroutine look again, for an ack queued after the
// watermark had already passed its ticket.
func (d *durability) kick(ticket uint64) {
	if uint64(d.eng.Durable()) >= ticket {
		signal(d.wake)
	}
}

func (d *durability) release() {
	wm := uint64(d.eng.Durable())
	d.mu.Lock()
	d.list = d.list[:0]
	for st := range d.queued {
		d.list = append(d.list, st)
	}
	kept := d.waiters[:0]
	for _, w := range d.waiters {
		if w.ticket <= wm {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	clear(d.waiters[len(kept):])
	d.waiters = kept
	d.mu.Unlock()

	var batch pubBatch
	started := false
	for i, st := range d.list {
		d.out, d.replies = d.out[:0], d.replies[:0]
		st.acks.mu.Lock()
		var empty bool
		d.out, empty = st.acks.popDurable(wm, d.out, &d.replies)
		if empty {
			d.mu.Lock()
			delete(d.queued, st)
			d.mu.Unlock()
		}
		st.acks.mu.Unlock()
		if len(d.out) > 0 && !started {
			batch, started = d.js.startBatch(), true
		}
		for i := range d.out {
			e := &d.out[i]
			reply := bstr(d.replies[e.roff : e.roff+e.rlen])
			switch e.kind {
			case ackCounter:
				d.ack = jsapi.AppendCounterPubAck(d.ack[:0], st.pubAckPrefix, e.seq, bstr(e.extra(d.replies)))
			case ackBatch:
				d.ack = jsapi.AppendBatchPubAck(d.ack[:0], st.pubAckPrefix, e.seq, bstr(e.extra(d.replies)), e.count, false)
			case ackFast:
				st.fastPersisted(string(e.extra(d.replies)), e.count, e.seq, reply, &batch)
				continue
			default:
				d.ack = jsapi.AppendPubAck(d.ack[:0], st.pubAckPrefix, e.seq, e.dup)
			}
			batch.Publish(reply, "", nil, d.ack)
		}
		d.list[i] = nil
	}
	// One flush per connection for every ack this watermark released.
	if started {
		batch.Flush()
	}
}

// waitDurable blocks until ticket is durable (or JetStream stops). API
// requests that change a stream answer only after this.
func (d *durability) waitDurable(ticket blockstore.Ticket) {
	if ticket == 0 || d.eng.Durable() >= ticket {
		return
	}
	ch := make(chan struct{})
	d.mu.Lock()
	d.waiters = append(d.waiters, durWaiter{ticket: uint64(ticket), ch: ch})
	d.mu.Unlock()
	signal(d.wake)
	select {
	case <-ch:
	case <-d.quit:
	}
}
