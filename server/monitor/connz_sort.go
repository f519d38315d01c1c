package monitor

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// SortOpt is a /connz sort order.
type SortOpt string

// Sort orders. By connection id, start and uptime and reason the order is
// ascending; by every other key descending (busiest, largest, most recent
// first). Ties go by connection id, in the direction of the sort, so that
// pages of one listing do not overlap.
const (
	ByCid      SortOpt = "cid"
	ByStart    SortOpt = "start"
	BySubs     SortOpt = "subs"
	ByPending  SortOpt = "pending"
	ByOutMsgs  SortOpt = "msgs_to"
	ByInMsgs   SortOpt = "msgs_from"
	ByOutBytes SortOpt = "bytes_to"
	ByInBytes  SortOpt = "bytes_from"
	ByLast     SortOpt = "last"
	ByIdle     SortOpt = "idle"
	ByUptime   SortOpt = "uptime"
	ByStop     SortOpt = "stop"
	ByReason   SortOpt = "reason"
	ByRTT      SortOpt = "rtt"
)

// IsValid reports whether s is a known sort order ("" is: it means cid).
func (s SortOpt) IsValid() bool {
	switch s {
	case "", ByCid, ByStart, BySubs, ByPending, ByOutMsgs, ByInMsgs, ByOutBytes,
		ByInBytes, ByLast, ByIdle, ByUptime, ByStop, ByReason, ByRTT:
		return true
	}
	return false
}

// sortConns orders conns by s; now is the time the page describes (idle
// and uptime of open connections are measured to it).
func sortConns(conns []*ConnInfo, s SortOpt, now time.Time) {
	// key compares two connections on the sort key alone, ascending.
	var key func(a, b *ConnInfo) int
	desc := true
	switch s {
	case ByCid, ByStart, "":
		key, desc = func(a, b *ConnInfo) int { return 0 }, false
	case BySubs:
		key = func(a, b *ConnInfo) int { return cmp.Compare(a.NumSubs, b.NumSubs) }
	case ByPending:
		key = func(a, b *ConnInfo) int { return cmp.Compare(a.Pending, b.Pending) }
	case ByOutMsgs:
		key = func(a, b *ConnInfo) int { return cmp.Compare(a.OutMsgs, b.OutMsgs) }
	case ByInMsgs:
		key = func(a, b *ConnInfo) int { return cmp.Compare(a.InMsgs, b.InMsgs) }
	case ByOutBytes:
		key = func(a, b *ConnInfo) int { return cmp.Compare(a.OutBytes, b.OutBytes) }
	case ByInBytes:
		key = func(a, b *ConnInfo) int { return cmp.Compare(a.InBytes, b.InBytes) }
	case ByLast:
		key = func(a, b *ConnInfo) int { return a.LastActivity.Compare(b.LastActivity) }
	case ByIdle:
		key = func(a, b *ConnInfo) int { return cmp.Compare(now.Sub(a.LastActivity), now.Sub(b.LastActivity)) }
	case ByUptime:
		up := func(c *ConnInfo) time.Duration {
			if c.Stop != nil {
				return c.Stop.Sub(c.Start)
			}
			return now.Sub(c.Start)
		}
		key, desc = func(a, b *ConnInfo) int { return cmp.Compare(up(a), up(b)) }, false
	case ByStop:
		key = func(a, b *ConnInfo) int { return stopTime(a).Compare(stopTime(b)) }
	case ByReason:
		key, desc = func(a, b *ConnInfo) int { return strings.Compare(a.Reason, b.Reason) }, false
	case ByRTT:
		key = func(a, b *ConnInfo) int { return cmp.Compare(a.rtt, b.rtt) }
	}
	slices.SortFunc(conns, func(a, b *ConnInfo) int {
		r := cmp.Or(key(a, b), cmp.Compare(a.Cid, b.Cid))
		if desc {
			return -r
		}
		return r
	})
}

func stopTime(c *ConnInfo) time.Time {
	if c.Stop == nil {
		return time.Time{}
	}
	return *c.Stop
}
