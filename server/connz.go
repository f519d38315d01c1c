package server

import (
	"sort"
	"sync"
	"time"
)

// ClientInfo is a snapshot of one connection, for monitoring (/connz).
type ClientInfo struct {
	CID        uint64
	Kind       string
	IP         string
	Port       int
	Start      time.Time
	Stop       time.Time // zero while open
	LastIn     time.Time
	Name       string
	Lang       string
	Version    string
	User       string
	Account    string
	Pending    int // bytes queued for the client
	InMsgs     int64
	OutMsgs    int64
	InBytes    int64
	OutBytes   int64
	RTT        time.Duration // last measured round trip (0: not yet)
	Stalls     int64         // times the client was held back as a fast producer
	NumSubs    int
	Subs       []string // subjects, with " queue" appended for queue subscriptions
	SubsDetail []SubDetail
	Reason     string // why it closed; "" while open
	SlowClosed bool
}

// SubDetail describes one subscription (/connz subscriptions_list_detail).
type SubDetail struct {
	Subject string
	Queue   string
	Sid     string
	Msgs    int64 // messages delivered
	Max     int64 // auto-unsubscribe limit, 0 for none
}

type clientMeta struct {
	name, lang, version, user string
}

// DefaultMaxClosedClients is how many closed connections are remembered,
// as in the reference.
const DefaultMaxClosedClients = 10000

// closedRing keeps the most recent closed connections. It grows as
// connections close, up to its size, so a quiet server holds little.
type closedRing struct {
	mu   sync.Mutex
	buf  []ClientInfo
	next int // once full: the oldest entry, overwritten next
	full bool
}

// add records ci; size is max_closed_clients (0: the default, negative:
// keep none).
func (r *closedRing) add(ci ClientInfo, size int) {
	if size == 0 {
		size = DefaultMaxClosedClients
	}
	if size < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		r.buf = append(r.buf, ci)
		r.full = len(r.buf) >= size
		return
	}
	r.buf[r.next] = ci
	r.next = (r.next + 1) % len(r.buf)
}

func (r *closedRing) list() []ClientInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ClientInfo, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// snapshot describes c; subs is the subscription list when the caller
// already took it (at close), nil to read it now. Without withSubs only
// the number of subscriptions is taken.
func (c *client) snapshot(closed bool, subs []*subscription, withSubs bool) ClientInfo {
	c.mu.Lock()
	ci := ClientInfo{
		CID: c.cid, Kind: "Client", IP: c.host, Port: c.port, Start: c.start,
		Name: c.meta.name, Lang: c.meta.lang, Version: c.meta.version, User: c.meta.user,
		Pending: c.out.size + c.out.inflight,
	}
	if closed {
		ci.Stop = c.stop
		ci.Reason = c.reason.String()
		ci.SlowClosed = c.reason == SlowConsumerPendingBytes || c.reason == SlowConsumerWriteDeadline
	}
	if subs == nil && withSubs {
		for _, sub := range c.subs {
			subs = append(subs, sub)
		}
	}
	ci.NumSubs = len(c.subs)
	c.mu.Unlock()
	if c.acc != nil {
		ci.Account = c.acc.Name
	}
	if ns := c.lastIn.Load(); ns > 0 {
		ci.LastIn = time.Unix(0, ns)
	}
	ci.InMsgs, ci.InBytes = c.inMsgs.Load(), c.inBytes.Load()
	ci.OutMsgs, ci.OutBytes = c.outMsgs.Load(), c.outBytes.Load()
	ci.RTT = time.Duration(c.rtt.Load())
	ci.Stalls = c.stalls.Load()
	if subs != nil {
		ci.NumSubs = len(subs)
	}
	for _, sub := range subs {
		ci.SubsDetail = append(ci.SubsDetail, SubDetail{
			Subject: sub.subject, Queue: sub.queue, Sid: string(sub.sid),
			Msgs: sub.delivered(), Max: sub.max.Load(),
		})
		if sub.queue != "" {
			ci.Subs = append(ci.Subs, sub.subject+" "+sub.queue)
		} else {
			ci.Subs = append(ci.Subs, sub.subject)
		}
	}
	sort.Strings(ci.Subs)
	sort.Slice(ci.SubsDetail, func(i, j int) bool { return ci.SubsDetail[i].Sid < ci.SubsDetail[j].Sid })
	return ci
}

// Clients returns a snapshot of the open client connections, by CID.
func (s *Server) Clients() []ClientInfo { return s.clientInfos(true) }

// ClientSummaries is Clients without the subscription lists (NumSubs is
// set): cheaper when they are not wanted.
func (s *Server) ClientSummaries() []ClientInfo { return s.clientInfos(false) }

func (s *Server) clientInfos(withSubs bool) []ClientInfo {
	list := s.clientList()
	out := make([]ClientInfo, 0, len(list))
	for _, c := range list {
		out = append(out, c.snapshot(false, nil, withSubs))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CID < out[j].CID })
	return out
}

// ClosedClients returns the most recently closed connections, oldest
// first.
func (s *Server) ClosedClients() []ClientInfo { return s.closed.list() }

// delivered is how many messages the subscription took: its counter also
// counts the attempts refused once an UNSUB max was reached.
func (sub *subscription) delivered() int64 {
	n := sub.nm.Load()
	if m := sub.max.Load(); m > 0 {
		return min(n, m)
	}
	return n
}
