package server

import (
	"syscall"
	"time"
)

// outbound is a client's queue of bytes to write. Publishers append to buf
// under the client's lock; the write loop swaps buf with spare and writes
// the whole batch with one system call, so many messages queued while a
// write is in flight go out together.
type outbound struct {
	buf      []byte
	spare    []byte
	inflight int  // bytes being written right now
	writing  bool // a goroutine owns the socket for writing
	flushCh  chan struct{}
	done     chan struct{}
	raw      syscall.RawConn // for non-blocking inline writes; nil if unavailable
}

// Buffers above this size are not kept once drained: one burst must not
// pin memory for the life of an idle connection.
const maxKeptOutBuf = 256 * 1024

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
	for _, cl := range c.pcd.list {
		if !cl.writeInline() {
			cl.signalFlush()
		}
	}
	c.pcd.reset()
	if c.stIn > 0 || c.stOut > 0 {
		st := &c.srv.stats
		st.InMsgs.Add(c.stIn)
		st.InBytes.Add(c.stInBytes)
		st.OutMsgs.Add(c.stOut)
		st.OutBytes.Add(c.stOutB)
		c.stIn, c.stInBytes, c.stOut, c.stOutB = 0, 0, 0, 0
	}
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

// writeInline attempts one non-blocking write of c's queue. It returns true
// when everything queued was written.
func (c *client) writeInline() bool {
	if c.out.raw == nil {
		return false
	}
	c.mu.Lock()
	if c.out.writing || c.closed || len(c.out.buf) == 0 {
		done := !c.out.writing && !c.closed && len(c.out.buf) == 0
		c.mu.Unlock()
		return done
	}
	b := c.out.buf
	c.out.buf = c.out.spare[:0]
	c.out.writing = true
	c.out.inflight = len(b)
	c.mu.Unlock()

	n := 0
	var werr error
	err := c.out.raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // never wait for the socket to become writable
	})
	if err == nil && werr != nil && werr != syscall.EAGAIN {
		err = werr
	}
	if n < 0 {
		n = 0
	}
	c.outBytes.Add(int64(n))

	c.mu.Lock()
	c.out.writing = false
	c.out.inflight = 0
	rest := b[n:]
	if len(rest) > 0 && err == nil {
		// Keep order: the unwritten tail goes before anything queued
		// meanwhile. Rare (the socket buffer was full), so a copy is fine.
		rest = append(rest[:len(rest):len(rest)], c.out.buf...)
		c.out.buf = append(c.out.buf[:0], rest...)
	}
	c.out.spare = nil
	if cap(b) <= maxKeptOutBuf {
		c.out.spare = b[:0]
	}
	// A close that came in meanwhile needs the writer to finish it.
	done := len(c.out.buf) == 0 && err == nil && !c.closed
	c.mu.Unlock()
	if err != nil {
		c.closeConnection(WriteError, false)
	}
	return done
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
		if len(c.out.buf) == 0 {
			closed := c.closed
			c.mu.Unlock()
			return !closed
		}
		b := c.out.buf
		c.out.buf = c.out.spare[:0]
		c.out.inflight = len(b)
		c.out.writing = true
		closed := c.closed
		c.mu.Unlock()

		wd := c.srv.getOpts().WriteDeadline
		if wd > 0 {
			c.conn.SetWriteDeadline(time.Now().Add(wd))
		}
		n, err := c.conn.Write(b)
		c.outBytes.Add(int64(n))

		c.mu.Lock()
		c.out.inflight = 0
		c.out.writing = false
		if cap(b) <= maxKeptOutBuf {
			c.out.spare = b[:0]
		} else {
			c.out.spare = nil
		}
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
			c.out.buf = c.out.buf[:0]
			c.mu.Unlock()
			if !alreadyClosed && isTimeout(err) {
				c.srv.stats.SlowConsumers.Add(1)
				c.Noticef("Slow Consumer Detected: WriteDeadline of %v exceeded with %d total bytes.", wd, len(b))
			}
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

// enqueueMsgLocked checks the subscriber's pending limit after a message
// was appended. Over max_pending the client is a slow consumer: it is cut
// off without blocking the publisher. Called with c.mu held; returns false
// when the client was closed.
func (c *client) checkPendingLocked(maxPending int64) bool {
	if maxPending <= 0 || int64(len(c.out.buf)+c.out.inflight) <= maxPending {
		return true
	}
	c.closed = true
	c.reason = SlowConsumerPendingBytes
	c.stop = time.Now()
	c.out.buf = c.out.buf[:0]
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	return false
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
