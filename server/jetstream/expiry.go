package jetstream

import (
	"fmt"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Expiry by max_age and per-message TTL. The engine knows when its next
// message is due (Stream.NextExpiry) and removes what is due when told the
// time (OpExpire): the clock is read here, never in the engine, so the
// command replays identically. Each stream has one timer, armed for its
// next due message; it fires at that instant, so expiry is exact to the
// timer's precision, well within a second.
//
// With subject_delete_marker_ttl, the removal of a subject's last message
// leaves a delete marker on that subject (Nats-Marker-Reason: MaxAge,
// Nats-TTL: the marker TTL, Nats-Rollup: sub), stored through the normal
// publish path, as the reference does. A marker that expires in turn leaves
// none.

type expiry struct {
	st    *stream
	timer *time.Timer
	at    int64 // unix ns the timer is armed for; 0 when idle
}

// minRearm keeps a store whose next expiry stays in the past (which it
// should not) from spinning the timer.
const minRearm = time.Second

// noteStoredLocked arms the timer for a message just stored, when it
// expires before what the timer waits for. Caller holds st.mu.
func (e *expiry) noteStoredLocked(ts, ttl int64) {
	var due int64
	if ttl > 0 {
		due = ts + ttl
	}
	if ma := int64(e.st.config().MaxAge); ma > 0 && (due == 0 || ts+ma < due) {
		due = ts + ma
	}
	if due != 0 && (e.at == 0 || due < e.at) {
		e.setLocked(due)
	}
}

// armLocked arms the timer for the store's next expiry (or stops it).
func (e *expiry) armLocked(bool) {
	at := e.st.store.NextExpiry()
	if at.IsZero() {
		e.stopLocked()
		return
	}
	e.setLocked(at.UnixNano())
}

func (e *expiry) setLocked(at int64) {
	e.at = at
	d := time.Until(time.Unix(0, at))
	if e.timer == nil {
		e.timer = time.AfterFunc(d, e.fire)
		return
	}
	e.timer.Reset(d)
}

func (e *expiry) stopLocked() {
	e.at = 0
	if e.timer != nil {
		e.timer.Stop()
	}
}

func (e *expiry) fire() {
	st := e.st
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	now := time.Now()
	if e.at != 0 && e.at > now.UnixNano() {
		// Re-armed for later since this firing was scheduled.
		e.setLocked(e.at)
		st.mu.Unlock()
		return
	}
	e.at = 0
	markers := st.expireLocked(now)
	if next := st.store.NextExpiry(); !next.IsZero() {
		if !next.After(now) {
			next = now.Add(minRearm)
		}
		e.setLocked(next.UnixNano())
	}
	st.mu.Unlock()
	for i := range markers {
		st.finishPublish(&markers[i].in, &markers[i].out)
	}
}

// markerPub is a delete marker stored by an expiry, whose republish (if
// any) goes out after the lock is released.
type markerPub struct {
	in  inbound
	out pubOutcome
}

// expireLocked removes what is due at now and writes the delete markers.
func (st *stream) expireLocked(now time.Time) []markerPub {
	cfg := st.config()
	sdm := cfg.SubjectDeleteMarkerTTL > 0
	st.collect, st.removed = sdm, st.removed[:0]
	st.cmd = blockstore.Command{Op: blockstore.OpExpire, Time: now.UnixNano()}
	r, err := st.applyLocked()
	st.collect = false
	if err != nil {
		st.js.host.Warnf("JetStream stream '%s' expiry failed: %v", st.name, err)
		return nil
	}
	if r.Removed > 0 {
		st.refreshUsage()
	}
	if !sdm {
		return nil
	}
	var pubs []markerPub
	for _, rm := range st.removed {
		if _, was := st.markers[rm.seq]; was {
			delete(st.markers, rm.seq)
			continue
		}
		if st.store.FilteredState(1, rm.subj).Msgs > 0 {
			continue
		}
		// Stored like the reference stores its markers: as a message from
		// the server itself, exempt from the publish-time header rules.
		mp := markerPub{in: inbound{subject: rm.subj, hdr: markerHeader(cfg.SubjectDeleteMarkerTTL), sourced: true}}
		st.storeLocked(&mp.in, &mp.out)
		if mp.out.err != nil {
			st.js.host.Warnf("JetStream stream '%s' delete marker on %q failed: %v", st.name, rm.subj, mp.out.err)
			continue
		}
		if st.markers == nil {
			st.markers = make(map[uint64]struct{})
		}
		st.markers[mp.out.seq] = struct{}{}
		mp.out.ackNow = false
		pubs = append(pubs, mp)
	}
	clear(st.removed)
	st.removed = st.removed[:0]
	return pubs
}

// markerHeader is the header of a delete marker left by max_age or TTL.
func markerHeader(ttl time.Duration) []byte {
	return fmt.Appendf(nil, "NATS/1.0\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n\r\n",
		jsapi.HdrMarkerReason, jsapi.MarkerReasonMaxAge,
		jsapi.HdrTTL, time.Duration(int64(ttl.Seconds()))*time.Second,
		jsapi.HdrRollup, jsapi.RollupSubject)
}

// isDeleteMarker reports whether a stored message is a delete marker (or a
// KV purge, which the reference treats alike).
func isDeleteMarker(hdr []byte) bool {
	return len(headerValue(hdr, jsapi.HdrMarkerReason)) > 0 ||
		string(headerValue(hdr, jsapi.HdrKVOperation)) == jsapi.KVOperationPurge
}

// rebuildMarkersLocked finds the delete markers a stream holds after a
// restart: a marker is always the last message of its subject.
func (st *stream) rebuildMarkersLocked() {
	if st.config().SubjectDeleteMarkerTTL <= 0 {
		return
	}
	for _, ss := range st.store.SubjectsState(">") {
		if sm, err := st.store.LoadMsg(ss.Last, &st.sm); err == nil && isDeleteMarker(sm.Header) {
			if st.markers == nil {
				st.markers = make(map[uint64]struct{})
			}
			st.markers[ss.Last] = struct{}{}
		}
	}
}
