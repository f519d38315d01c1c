package server

import (
	"math/rand/v2"
	"strconv"

	"github.com/keelhq/keel/server/sublist"
)

var crlf = []byte("\r\n")

// match returns the subscriptions for subject from the client's own cache,
// which needs no lock: it is stamped with the sublist generation it was
// built at and dropped as soon as the account's subscriptions change.
func (c *client) match(subject []byte) *sublist.Result[*subscription] {
	sl := c.acc.sl
	gen := sl.Gen()
	if gen != c.cacheGen {
		clear(c.cache)
		c.cacheGen = gen
	}
	if r, ok := c.cache[bstr(subject)]; ok {
		return r
	}
	key := string(subject)
	r := sl.Match(key)
	if len(c.cache) >= maxClientCache {
		clear(c.cache)
	}
	c.cache[key] = r
	return r
}

// processMsg routes one message published by c to every interested
// subscription: all plain ones and one member of each queue group.
// hdrLen is -1 when the message has no header block.
func (c *client) processMsg(subject, reply []byte, hdrLen int, data []byte) {
	if c.kind == kindInternal && c.srv.traceSys.Load() && c.srv.trace.Load() {
		c.traceInternalPub(subject, reply, hdrLen, data)
	}
	r := c.match(subject)
	delivered := false
	o := c.srv.getOpts()
	lim := limits{maxPending: o.MaxPending, noStall: o.NoFastProducerStall}
	for _, sub := range r.Plain {
		if c.deliver(sub, subject, reply, hdrLen, data, lim) {
			delivered = true
		}
	}
	for _, group := range r.Queues {
		// Start at a random member so the group shares the load; move on
		// when the pick cannot take it (closed, or the publisher itself
		// with echo off).
		n := len(group)
		start := 0
		if n > 1 {
			start = rand.IntN(n)
		}
		for k := range n {
			if c.deliver(group[(start+k)%n], subject, reply, hdrLen, data, lim) {
				delivered = true
				break
			}
		}
	}
	c.stIn++
	c.stInBytes += int64(len(data))
	if !delivered && len(reply) > 0 && c.noResp {
		c.noResponders(subject, reply)
	}
}

// limits are the options deliver needs, read once per message.
type limits struct {
	maxPending int64
	noStall    bool // no_fast_producer_stall
}

// deliver hands the message to one subscription. It returns whether the
// subscription took it.
func (c *client) deliver(sub *subscription, subject, reply []byte, hdrLen int, data []byte, lim limits) bool {
	maxPending, noStall := lim.maxPending, lim.noStall
	dst := sub.client
	if dst == c && !c.echo {
		return false
	}
	if sub.closed.Load() {
		return false
	}
	n := sub.nm.Add(1)
	limit := sub.max.Load()
	if limit > 0 && n > limit {
		return false
	}
	if limit > 0 && n == limit {
		// The last message this subscription takes: it leaves the
		// sublist now, before anyone else can match it again.
		defer sub.unsubscribeAfterMax()
	}
	if sub.icb != nil {
		c.deliverInternal(sub, subject, reply, hdrLen, data)
		return true
	}

	payload := data
	withHdr := hdrLen >= 0 && dst.headers.Load()
	if hdrLen >= 0 && !withHdr {
		// Clients that did not ask for headers get the payload alone.
		payload = data[hdrLen:]
	}
	// The control line is built in the publisher's scratch space, outside
	// the subscriber's lock.
	b := c.msgHdr[:0]
	if withHdr {
		b = append(b, "HMSG "...)
	} else {
		b = append(b, "MSG "...)
	}
	b = append(b, subject...)
	b = append(b, ' ')
	b = append(b, sub.sid...)
	b = append(b, ' ')
	if len(reply) > 0 {
		b = append(b, reply...)
		b = append(b, ' ')
	}
	if withHdr {
		b = strconv.AppendInt(b, int64(hdrLen), 10)
		b = append(b, ' ')
	}
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, "\r\n"...)
	c.msgHdr = b

	dst.mu.Lock()
	if dst.closed {
		dst.mu.Unlock()
		return false
	}
	if dst.out.stall != nil && c.kind == kindClient && dst != c && noStall {
		// no_fast_producer_stall: a subscriber that is behind loses the
		// message instead of slowing the publisher down.
		dst.mu.Unlock()
		return false
	}
	dst.out.appendLocked(b)
	dst.out.appendLocked(payload)
	dst.out.appendLocked(crlf)
	ok := dst.checkPendingLocked(maxPending)
	var stall chan struct{}
	atLimit := false
	if ok && maxPending > 0 {
		if pend := int64(dst.out.size + dst.out.inflight); pend > maxPending/4*3 {
			if dst.out.stall == nil {
				dst.out.stall = make(chan struct{})
			}
			stall, atLimit = dst.out.stall, pend >= maxPending*9/10
		}
	}
	dst.mu.Unlock()
	if !ok {
		dst.slowConsumer(maxPending)
		return false
	}
	if stall != nil && c.kind == kindClient && dst != c && !noStall {
		c.stallFor(dst, stall, atLimit)
	}
	if dst.srv.trace.Load() {
		dst.traceMsgOut(subject, sub.sid, reply, hdrLen, payload, withHdr)
	}
	// Per connection, out_bytes counts what was delivered (headers and
	// payload), as the reference does, not protocol bytes written.
	dst.outMsgs.Add(1)
	dst.outBytes.Add(int64(len(payload)))
	c.stOut++
	c.stOutB += int64(len(payload))
	c.pcd.add(dst)
	return true
}

// unsubscribeAfterMax removes a subscription that reached its UNSUB max.
func (sub *subscription) unsubscribeAfterMax() {
	if sub.client != nil {
		sub.client.removeSub(sub)
		return
	}
	sub.closed.Store(true)
}

// noResponders answers a request nobody received with a 503 status
// message on the requester's own reply subscription, as the reference
// does (only for clients that asked for it with headers on).
func (c *client) noResponders(subject, reply []byte) {
	r := c.acc.sl.Match(string(reply))
	var sid []byte
	for _, sub := range r.Plain {
		if sub.client == c {
			sid = sub.sid
			break
		}
	}
	if sid == nil {
		return
	}
	hdrLen := len("NATS/1.0 503\r\nNats-Subject: \r\n\r\n") + len(subject)
	b := make([]byte, 0, 64+len(reply)+len(subject)*2)
	b = append(b, "HMSG "...)
	b = append(b, reply...)
	b = append(b, ' ')
	b = append(b, sid...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(hdrLen), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(hdrLen), 10)
	b = append(b, "\r\nNATS/1.0 503\r\nNats-Subject: "...)
	b = append(b, subject...)
	b = append(b, "\r\n\r\n\r\n"...)
	c.queueProto(b)
}
