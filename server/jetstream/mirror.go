package jetstream

import (
	"errors"
	"fmt"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// A mirror is an exact copy of its origin: every message at the origin's
// sequence and timestamp, with its headers unchanged, the sequences it does
// not copy (filtered out, or gone from the origin) skipped. Its own last
// sequence is therefore its progress: it resumes after it, also when the
// origin was deleted and created again (it then waits for the new origin
// to pass that sequence, as the reference does).

// mirrorDirectCaughtUp is how far behind its origin a mirror may be when
// it starts answering the origin's direct gets (the reference's threshold).
const mirrorDirectCaughtUp = 10

// mirrorDirect subscribes the mirror to its origin's direct gets, in the
// origin's queue group, once it is nearly caught up (pending messages
// behind), so that a mirror far behind does not answer for its origin; and
// unsubscribes when the configuration no longer asks for it. The
// subscriptions stay while the origin is gone: the mirror then answers
// alone. Called by the reader's goroutine only.
func (r *originReader) mirrorDirect(pending uint64) {
	st := r.st
	want := st.config().MirrorDirect
	switch {
	case want && r.dsubs == nil && pending < mirrorDirectCaughtUp:
		origin := r.spec.src.Name
		for _, pfx := range st.js.directPrefixes() {
			s1, err := st.js.host.SubscribeInternal(pfx+"."+origin, directQueue, st.processDirectGet)
			if err != nil {
				r.warn("JetStream mirror '%s': direct get subscription: %v", st.name, err)
				r.dropMirrorDirect()
				return
			}
			r.dsubs = append(r.dsubs, s1)
			s2, err := st.js.host.SubscribeInternal(pfx+"."+origin+".>", directQueue, st.processDirectGetLastBySubject)
			if err != nil {
				r.warn("JetStream mirror '%s': direct get subscription: %v", st.name, err)
				r.dropMirrorDirect()
				return
			}
			r.dsubs = append(r.dsubs, s2)
		}
	case !want && r.dsubs != nil:
		r.dropMirrorDirect()
	}
}

func (r *originReader) dropMirrorDirect() {
	for _, s := range r.dsubs {
		r.st.js.host.UnsubscribeInternal(s)
	}
	r.dsubs = nil
}

// resumeMirror is where a mirror continues reading o.
func (r *originReader) resumeMirror(o *stream) uint64 {
	if last := r.st.lastSeq(); last > 0 {
		return last + 1
	}
	return max(r.startSeq(o), 1)
}

// deliverMirror stores m at its sequence.
func (r *originReader) deliverMirror(m *blockstore.StoreMsg) deliverResult {
	st := r.st
	err := st.storeMirrored(m.Seq, m.Time, r.spec.transform(m.Subject), m.Header, m.Data)
	switch {
	case err == nil:
		return delivered
	case errorsIsClosed(err):
		return stopReading
	case errors.Is(err, blockstore.ErrSequence):
		// Already there: nothing but this reader stores into a mirror.
		return delivered
	case errors.Is(err, blockstore.ErrMaxMsgSize):
		// It will never fit: the sequence stays a gap.
		r.warn("JetStream mirror '%s' skips message %d of '%s': %v", st.name, m.Seq, r.spec.src.Name, err)
		if err := st.skipMirrored(m.Seq); err != nil && errorsIsClosed(err) {
			return stopReading
		}
		return delivered
	default:
		r.warn("Error processing inbound mirror message for '%s > %s': %v", server.GlobalAccountName, st.name, err)
		return retryLater
	}
}

// storeMirrored stores a message of a mirror at its origin's sequence and
// timestamp; the sequences before it that the mirror does not have are
// skipped.
func (st *stream) storeMirrored(seq uint64, ts int64, subject string, hdr, data []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return errStreamClosed
	}
	if seq <= st.lseq {
		return fmt.Errorf("jetstream: mirror %s: sequence %d not after %d: %w", st.name, seq, st.lseq, blockstore.ErrSequence)
	}
	cfg := st.config()
	if max := int(cfg.MaxMsgSize); max >= 0 && len(hdr)+len(data) > max {
		return fmt.Errorf("jetstream: mirror %s: %w", st.name, blockstore.ErrMaxMsgSize)
	}
	if err := st.js.checkPublishLimits(cfg, subject, hdr, data); err != nil {
		return err
	}
	if seq > st.lseq+1 {
		if err := st.skipToLocked(seq - 1); err != nil {
			return err
		}
	}
	var ttl int64
	if v := headerValue(hdr, jsapi.HdrTTL); len(v) > 0 && cfg.AllowMsgTTL {
		if secs, ok := parseTTL(string(v)); ok {
			ttl = secs * int64(time.Second)
			if secs < 0 {
				ttl = -1
			}
		}
	}
	st.cmd = blockstore.Command{Op: blockstore.OpStore, Seq: seq, Time: ts, TTL: ttl, Subject: subject, Header: hdr, Data: data}
	r, err := st.applyLocked()
	if err != nil {
		return err
	}
	st.lseq = r.Seq
	size := int64(storedSize(st.storage, subject, hdr, data))
	st.bytes.Add(size)
	st.js.addUsage(st.storage, size)
	if r.Removed > 0 {
		st.refreshUsage()
	}
	if ttl > 0 || cfg.MaxAge > 0 {
		st.exp.noteStoredLocked(r.Time, ttl)
	}
	return nil
}

// skipMirrored leaves seq (and what precedes it) a gap in the mirror.
func (st *stream) skipMirrored(seq uint64) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return errStreamClosed
	}
	if seq <= st.lseq {
		return nil
	}
	return st.skipToLocked(seq)
}

func (st *stream) skipToLocked(seq uint64) error {
	st.cmd = blockstore.Command{Op: blockstore.OpSkip, Seq: seq, Time: time.Now().UnixNano()}
	if _, err := st.applyLocked(); err != nil {
		return err
	}
	st.lseq = seq
	return nil
}
