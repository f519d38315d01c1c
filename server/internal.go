package server

import (
	"fmt"
	"unsafe"

	"github.com/keelhq/keel/server/sublist"
)

// InMsg is a message handed to an internal subscription. It, and the
// strings and slices in it, are valid only during the callback: Subject
// and Reply alias the publisher's read buffer (no copy is made on the hot
// path). Copy what you keep (strings.Clone, bytes.Clone).
type InMsg struct {
	Subject string
	Reply   string
	Header  []byte // nil when the message has no headers
	Data    []byte
	// Account is the name of the publisher's account.
	Account string
	// ClientID is the publisher's client id (0 for server-internal
	// publishers).
	ClientID uint64
	// User is the user the publisher authenticated as ("" without
	// authentication, and for server-internal publishers).
	User string
}

// InternalSub is a subscription made by the server itself.
type InternalSub struct {
	sub *subscription
	acc *Account
}

// Subject is what the internal subscription listens on.
func (is *InternalSub) Subject() string { return is.sub.subject }

// SubscribeInternal subscribes fn to subject (in queue group queue when not
// "") in the global account. fn runs synchronously on the publisher's
// goroutine, as nats-server's internal subscriptions do: it must not block,
// and must copy anything from the message it keeps. It may call Publish.
func (s *Server) SubscribeInternal(subject, queue string, fn func(m *InMsg)) (*InternalSub, error) {
	return s.SubscribeInternalAccount(s.gacc, subject, queue, fn)
}

// SubscribeInternalAccount is SubscribeInternal in a given account.
func (s *Server) SubscribeInternalAccount(acc *Account, subject, queue string, fn func(m *InMsg)) (*InternalSub, error) {
	if fn == nil {
		return nil, fmt.Errorf("server: internal subscription to %q: nil callback", subject)
	}
	if !sublist.IsValidSubject(subject) {
		return nil, fmt.Errorf("server: internal subscription to %q: invalid subject", subject)
	}
	sub := &subscription{subject: subject, queue: queue, icb: fn}
	if err := acc.sl.Insert(subject, queue, sub); err != nil {
		return nil, fmt.Errorf("server: internal subscription to %q: %w", subject, err)
	}
	return &InternalSub{sub: sub, acc: acc}, nil
}

// UnsubscribeInternal removes an internal subscription; calling it twice
// is harmless.
func (s *Server) UnsubscribeInternal(is *InternalSub) {
	if is == nil || is.sub.closed.Swap(true) {
		return
	}
	_ = is.acc.sl.Remove(is.sub.subject, is.sub.queue, is.sub)
}

// Publish routes a message from the server itself like a client PUB (or
// HPUB when hdr is not nil) in the global account: to client
// subscriptions and internal subscriptions. Safe from any goroutine,
// including inside an internal subscription's callback.
func (s *Server) Publish(subject, reply string, hdr, data []byte) {
	s.PublishAccount(s.gacc, subject, reply, hdr, data)
}

// PublishAccount is Publish in a given account.
func (s *Server) PublishAccount(acc *Account, subject, reply string, hdr, data []byte) {
	c := s.pubs.Get().(*client)
	c.acc = acc
	if acc != s.gacc {
		// The per-publisher cache is per account.
		clear(c.cache)
	}
	c.routeInternal(subject, reply, hdr, data)
	c.flushClients()
	if acc != s.gacc {
		clear(c.cache)
		c.acc = s.gacc
	}
	if cap(c.rbuf) > maxReadBuf {
		c.rbuf = nil
	}
	s.pubs.Put(c)
}

// deliverInternal runs an internal subscription's callback.
func (c *client) deliverInternal(sub *subscription, subject, reply []byte, hdrLen int, data []byte) {
	// The publisher's own InMsg is reused: callbacks run one after the
	// other on this goroutine, and a Publish from inside a callback takes
	// another publisher from the pool, so nothing overwrites it while a
	// callback still holds it.
	m := &c.imsg
	m.Subject = bstr(subject)
	m.Reply = bstr(reply)
	if hdrLen >= 0 {
		m.Header, m.Data = data[:hdrLen:hdrLen], data[hdrLen:]
	} else {
		m.Header, m.Data = nil, data
	}
	m.Account = c.acc.Name
	m.ClientID, m.User = c.cid, c.meta.user
	if c.kind == kindInternal {
		m.ClientID, m.User = 0, ""
	}
	sub.icb(m)
	*m = InMsg{}
}

// routeInternal routes one message of the server's own through the
// internal publisher c, as if a client had sent it, without flushing.
func (c *client) routeInternal(subject, reply string, hdr, data []byte) {
	subj := unsafe.Slice(unsafe.StringData(subject), len(subject))
	rep := unsafe.Slice(unsafe.StringData(reply), len(reply))
	hdrLen := -1
	msg := data
	if hdr != nil {
		hdrLen = len(hdr)
		// Delivery wants header and payload contiguous, as they arrive
		// from a client. Reuse the publisher's scratch space.
		c.rbuf = append(append(c.rbuf[:0], hdr...), data...)
		msg = c.rbuf
	}
	c.processMsg(subj, rep, hdrLen, msg)
}
