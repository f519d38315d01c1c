package jetstream

import (
	"fmt"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Entry points for mirrors and sources (built on this package by the
// mirrors/sources work): they feed a stream through the same apply path
// as publishes, so that everything a stream does to a stored message
// (limits, transforms, republish, duplicate window, expiry, the engine's
// one apply function) happens to sourced messages too.
//
// A source reads its origin (a consumer on it, or direct reads) and calls
// storeSourced for each message, with the Nats-Stream-Source header it
// builds; a mirror calls storeMirrored with the origin's sequence and
// time. The progress of each origin belongs in the stream's aux records
// (OpSetAux under a key of its own), applied with the messages, so that a
// restart resumes where the stream's data ends. Turn the features on with
// JetStream.SupportFeature(jsapi.FeatureMirror / FeatureSources ...).

// storeSourced stores a message coming from a source. The rules that only
// bind clients (Nats-Stream-Source, counter arithmetic, schedules, TTLs on
// a stream without them) do not apply; like the reference, the caller
// strips the Nats-Expected-* headers, which were checked at the origin.
func (st *stream) storeSourced(subject string, hdr, data []byte) (uint64, *jsapi.ApiError) {
	in := inbound{subject: subject, hdr: hdr, data: data, sourced: true}
	var out pubOutcome
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return 0, jsapi.ErrStreamStoreFailed(errStreamClosed)
	}
	st.storeLocked(&in, &out)
	st.mu.Unlock()
	st.finishPublish(&in, &out)
	return out.seq, out.err
}

// storeMirrored stores a message of a mirror at its origin's sequence and
// timestamp; sequences the origin no longer has are skipped.
func (st *stream) storeMirrored(seq uint64, ts int64, subject string, hdr, data []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return errStreamClosed
	}
	if seq <= st.lseq {
		return fmt.Errorf("jetstream: mirror %s: sequence %d not after %d: %w", st.name, seq, st.lseq, blockstore.ErrSequence)
	}
	if seq > st.lseq+1 {
		st.cmd = blockstore.Command{Op: blockstore.OpSkip, Seq: seq - 1, Time: ts}
		if _, err := st.applyLocked(); err != nil {
			return err
		}
		st.lseq = seq - 1
	}
	var ttl int64
	if v := headerValue(hdr, jsapi.HdrTTL); len(v) > 0 && st.config().AllowMsgTTL {
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
	st.exp.noteStoredLocked(r.Time, ttl)
	return nil
}
