package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// outbound is a client's queue of bytes to write: a list of fixed-size
// chunks. Publishers append to the last chunk under the client's lock (a
// chunk is never reallocated, so a long queue costs no copying); whoever
// writes takes the whole list and writes it with one writev, so messages
// queued while a write is in flight go out together.
type outbound struct {
	q        [][]byte // queued chunks, oldest first
	size     int      // queued bytes
	spare    [][]byte // the other list, swapped in when a writer takes q
	inflight int      // bytes being written right now
	writing  bool     // a goroutine owns the socket for writing
	flushCh  chan struct{}
	done     chan struct{}
	raw      syscall.RawConn // for non-blocking inline writes; nil if unavailable
	iov      net.Buffers     // writer goroutine's scratch
	wasSlow  bool            // a write has hit the deadline (writer goroutine only)
	// stall is closed when a backlog above 3/4 of max_pending has been
	// worked off; publishers wait on it briefly (see stallFor).
	stall chan struct{}
}

// unstallLocked wakes publishers waiting on a backlog once it is below
// the stall mark (or the client is gone).
func (o *outbound) unstallLocked(maxPending int64, force bool) {
	if o.stall == nil {
		return
	}
	if force || int64(o.size+o.inflight) <= maxPending/4*3 {
		close(o.stall)
		o.stall = nil
	}
}

// maxIovecs is the most chunks one writev takes (Linux's IOV_MAX).
const maxIovecs = 1024

// chunkSize is the unit of outbound buffering. Chunks come from a pool and
// go back to it once written, so an idle client holds no buffer at all.
const chunkSize = 32 * 1024

// The pool holds array pointers so that neither Get nor Put allocates.
var chunkPool = sync.Pool{New: func() any { return new([chunkSize]byte) }}

func getChunk() []byte { return chunkPool.Get().(*[chunkSize]byte)[:0] }

// putChunk returns a chunk made by getChunk; anything else (a chunk
// re-sliced past a partial write) is left to the garbage collector.
func putChunk(b []byte) {
	if cap(b) != chunkSize {
		return
	}
	chunkPool.Put((*[chunkSize]byte)(b[:chunkSize]))
}

// appendLocked queues b. Caller holds c.mu.
func (o *outbound) appendLocked(b []byte) {
	o.size += len(b)
	for len(b) > 0 {
		n := len(o.q)
		if n == 0 || len(o.q[n-1]) == cap(o.q[n-1]) {
			o.q = append(o.q, getChunk())
			n++
		}
		last := o.q[n-1]
		k := min(len(b), cap(last)-len(last))
		o.q[n-1] = append(last, b[:k]...)
		b = b[k:]
	}
}

// dropLocked discards everything queued.
func (o *outbound) dropLocked() {
	for i, ch := range o.q {
		putChunk(ch)
		o.q[i] = nil
	}
	o.q = o.q[:0]
	o.size = 0
}

// takeLocked hands the queue to a writer.
func (o *outbound) takeLocked() [][]byte {
	q := o.q
	o.q = o.spare[:0]
	o.spare = nil
	o.inflight = o.size
	o.size = 0
	o.writing = true
	return q
}

// releaseLocked ends a write. With rest nil everything in q was written
// (or dropped) and its chunks go back to the pool. Otherwise rest, what
// could not be written (see unwritten), goes back in front of anything
// queued meanwhile.
func (o *outbound) releaseLocked(q [][]byte, rest [][]byte) {
	o.writing = false
	o.inflight = 0
	if len(rest) > 0 {
		n := 0
		for _, ch := range rest {
			n += len(ch)
		}
		merged := make([][]byte, 0, len(rest)+len(o.q))
		merged = append(merged, rest...)
		merged = append(merged, o.q...)
		o.q = merged
		o.size += n
		clear(q)
		return
	}
	for i, ch := range q {
		if ch != nil {
			putChunk(ch[:0:cap(ch)])
		}
		q[i] = nil
	}
	if o.spare == nil && cap(q) <= 64 {
		o.spare = q[:0]
	}
}

func (c *client) signalFlush() {
	select {
	case c.out.flushCh <- struct{}{}:
	default:
	}
}

// flushClients pushes out what the last read produced for every client
// that got output (the publisher itself included). It first tries one
// non-blocking write from this goroutine, which saves waking the writer
// goroutine on the request/reply path; whatever the socket does not take
// at once is left to the writer, so a slow receiver never blocks us.
func (c *client) flushClients() {
	// Counters first: a client that sees the answer to its PING (written
	// below) must find everything it sent before in the statistics.
	if c.stIn > 0 || c.stOut > 0 {
		st := &c.srv.stats
		c.inMsgs.Add(c.stIn)
		c.inBytes.Add(c.stInBytes)
		st.InMsgs.Add(c.stIn)
		st.InBytes.Add(c.stInBytes)
		st.OutMsgs.Add(c.stOut)
		st.OutBytes.Add(c.stOutB)
		c.stIn, c.stInBytes, c.stOut, c.stOutB = 0, 0, 0, 0
	}
	for _, cl := range c.pcd.list {
		if !cl.writeInline() {
			cl.signalFlush()
		}
	}
	c.pcd.reset()
}

// pending is the set of clients a read produced output for. Most reads
// touch a handful, found by a short scan; a large fan-out switches to a
// map so adding stays O(1).
type pending struct {
	list []*client
	set  map[*client]struct{}
}

const pendingScan = 16

func (p *pending) add(c *client) {
	if n := len(p.list); n > 0 && p.list[n-1] == c {
		return
	}
	if len(p.list) <= pendingScan {
		for _, x := range p.list {
			if x == c {
				return
			}
		}
		p.list = append(p.list, c)
		if len(p.list) > pendingScan {
			if p.set == nil {
				p.set = make(map[*client]struct{})
			}
			for _, x := range p.list {
				p.set[x] = struct{}{}
			}
		}
		return
	}
	if _, ok := p.set[c]; !ok {
		p.set[c] = struct{}{}
		p.list = append(p.list, c)
	}
}

func (p *pending) reset() {
	if len(p.list) > pendingScan {
		clear(p.set)
	}
	clear(p.list)
	p.list = p.list[:0]
}

// writeInline attempts one non-blocking writev of c's queue. It returns
// true when nothing is left for the caller to do: all was written, or the
// writer goroutine owns the socket (it keeps writing until the queue is
// empty).
func (c *client) writeInline() bool {
	if c.out.raw == nil {
		return false
	}
	c.mu.Lock()
	if c.out.writing {
		c.mu.Unlock()
		return true
	}
	if c.closed || c.out.size == 0 {
		closed := c.closed
		c.mu.Unlock()
		return !closed
	}
	q := c.out.takeLocked()
	c.mu.Unlock()

	n := 0
	var werr error
	err := c.out.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Writev(int(fd), q[:min(len(q), maxIovecs)])
			if werr != unix.EINTR {
				// Done, or EAGAIN: never wait for the socket to
				// become writable here.
				return true
			}
		}
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline the writer goroutine last set has passed; that is
		// no failure of this attempt. Leave the data to the writer, which
		// sets a fresh one.
		err, n = nil, 0
	}
	if err == nil && werr != nil && werr != unix.EAGAIN {
		err = werr
	}
	n = max(n, 0)

	var rest [][]byte
	if err == nil {
		rest = unwritten(q, n)
	}
	c.mu.Lock()
	c.out.releaseLocked(q, rest)
	if err != nil {
		c.out.dropLocked()
	}
	c.out.unstallLocked(c.srv.getOpts().MaxPending, err != nil)
	// A close that came in meanwhile needs the writer to finish it.
	done := c.out.size == 0 && err == nil && !c.closed
	c.mu.Unlock()
	if err != nil {
		c.Debugf("Error writing to client: %v", err)
		c.closeConnection(WriteError, false)
	}
	return done
}

// unwritten splits q after n written bytes: fully written chunks go back
// to the pool, and what is left is returned without copying (the first
// chunk re-sliced past its written part; such a chunk is not pooled again,
// its capacity no longer matches).
func unwritten(q [][]byte, n int) [][]byte {
	for i, ch := range q {
		if n >= len(ch) {
			n -= len(ch)
			putChunk(ch)
			q[i] = nil
			continue
		}
		rest := q[i:]
		rest[0] = ch[n:]
		return rest
	}
	return nil
}

// writeLoop drains the outbound queue until the client is closed and
// everything that may still be written has been.
func (c *client) writeLoop() {
	defer c.srv.conns.Done()
	defer close(c.out.done)
	for range c.out.flushCh {
		if !c.flushOutbound() {
			break
		}
	}
	c.conn.Close()
	c.teardown()
}

// flushOutbound writes what is queued. It returns false once the client is
// closed and drained, or a write failed.
func (c *client) flushOutbound() bool {
	for {
		c.mu.Lock()
		if c.out.writing {
			// An inline write owns the socket; it hands back to us if it
			// cannot finish.
			c.mu.Unlock()
			return true
		}
		if c.out.size == 0 {
			closed := c.closed
			c.mu.Unlock()
			return !closed
		}
		q := c.out.takeLocked()
		total := c.out.inflight
		closed := c.closed
		c.mu.Unlock()

		o := c.srv.getOpts()
		wd := o.WriteDeadline
		if wd > 0 {
			c.conn.SetWriteDeadline(time.Now().Add(wd))
		}
		c.out.iov = append(c.out.iov[:0], q...)
		n, err := c.out.iov.WriteTo(c.conn)
		clear(c.out.iov[:cap(c.out.iov)])

		var rest [][]byte
		if err != nil && isTimeout(err) {
			// Counted and logged once per stalled write, as nats-server
			// does: "Detected" the first time, "State" while it lasts.
			state := "Detected"
			if c.out.wasSlow {
				state = "State"
			}
			c.out.wasSlow = true
			c.srv.stats.SlowConsumers.Add(1)
			c.Noticef("Slow Consumer %s: WriteDeadline of %v exceeded with %d chunks of %d total bytes.", state, wd, len(q), total)
			if n > 0 && o.WriteTimeout == "retry" && !closed {
				// write_timeout: retry keeps a client that is slow but
				// moving: keep what is left and try again.
				rest, err = unwritten(q, int(n)), nil
			}
		}
		c.mu.Lock()
		c.out.releaseLocked(q, rest)
		c.out.unstallLocked(o.MaxPending, err != nil)
		if err != nil {
			alreadyClosed := c.closed
			c.closed = true
			if !alreadyClosed {
				c.stop = time.Now()
				c.reason = WriteError
				if isTimeout(err) {
					c.reason = SlowConsumerWriteDeadline
				}
			}
			c.out.dropLocked()
			c.mu.Unlock()
			return false
		}
		c.mu.Unlock()
		if closed {
			// Drain whatever was queued before the close, then stop.
			continue
		}
	}
}

func isTimeout(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

// checkPendingLocked checks the subscriber's pending limit after a message
// was queued. Over max_pending the client is a slow consumer: it is cut off
// without blocking the publisher. Called with c.mu held; returns false
// when the client was closed.
func (c *client) checkPendingLocked(maxPending int64) bool {
	if maxPending <= 0 || int64(c.out.size+c.out.inflight) <= maxPending {
		return true
	}
	c.closed = true
	c.reason = SlowConsumerPendingBytes
	c.stop = time.Now()
	c.out.dropLocked()
	c.out.unstallLocked(0, true)
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	return false
}

// Fast producers are slowed down, as in the reference, rather than letting
// a subscriber that is only momentarily behind hit max_pending: once its
// backlog passes 3/4 of max_pending, each publish to it waits up to
// stallWait (stallWaitMax when at the limit) for the backlog to drain, at
// most stallBudget per read of the publisher. The publisher is never held
// longer than that; a subscriber that stays behind is cut off.
const (
	stallWait    = 2 * time.Millisecond
	stallWaitMax = 5 * time.Millisecond
	stallBudget  = 10 * time.Millisecond
)

// stallFor makes publisher c wait for dst's backlog to drain.
func (c *client) stallFor(dst *client, stall chan struct{}, atLimit bool) {
	if c.stalled >= stallBudget {
		return
	}
	dst.signalFlush()
	ttl := stallWait
	if atLimit {
		ttl = stallWaitMax
	}
	ttl = min(ttl, stallBudget-c.stalled)
	c.stalls.Add(1)
	c.srv.stats.Stalls.Add(1)
	if c.stallTimer == nil {
		c.stallTimer = time.NewTimer(ttl)
	} else {
		c.stallTimer.Reset(ttl)
	}
	start := time.Now()
	select {
	case <-stall:
		c.stallTimer.Stop()
	case <-c.stallTimer.C:
	}
	c.stalled += time.Since(start)
}

// slowConsumer finishes cutting off a client that checkPendingLocked
// closed (outside its lock).
func (c *client) slowConsumer(maxPending int64) {
	c.srv.stats.SlowConsumers.Add(1)
	c.Noticef("Slow Consumer Detected: MaxPending of %d Exceeded", maxPending)
	if c.conn != nil {
		c.conn.Close()
	}
	c.signalFlush()
}
