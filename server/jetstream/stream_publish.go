package jetstream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// The publish path. processInbound runs on the publisher's goroutine (the
// server calls internal subscriptions synchronously): it decides
// everything about the message under the stream's lock, applies one
// OpStore command, queues the PubAck behind the command's ticket, and
// returns. Replies and republishes go out after the lock is released.

// inbound is a message offered to a stream: a client publish, or (later)
// a message from a mirror or source.
type inbound struct {
	subject string
	reply   string
	hdr     []byte
	data    []byte
	// sourced messages were checked where they were first stored: the
	// publish-time expectations and counter arithmetic do not apply.
	sourced bool
}

// pubOutcome is what storing decided, acted on after the lock is released.
type pubOutcome struct {
	err     *jsapi.ApiError
	seq     uint64
	dup     bool
	ackNow  bool   // answer now: nothing to wait for (memory, async persist, duplicate)
	counter string // new total of a counter stream
	ticket  blockstore.Ticket
	empty   bool // reply with an empty message (a staged batch message)
	// republish, when rpSubject is set
	rpSubject string
	rpHdr     []byte
	rpData    []byte
	republish []republished // of a committed batch
}

type republished struct {
	subject   string
	hdr, data []byte
}

// processInbound is the callback of the stream's subject subscriptions.
func (st *stream) processInbound(m *server.InMsg) {
	var out pubOutcome
	in := inbound{subject: m.Subject, reply: m.Reply, hdr: m.Header, data: m.Data}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	var sends []batchSend
	switch {
	case strings.HasSuffix(in.reply, fastBatchSuffix):
		sends = st.fastBatchMsgLocked(&in, &out)
	case len(in.hdr) > 0 && hasHeader(in.hdr, jsapi.HdrBatchID):
		st.atomicBatchMsgLocked(&in, &out)
	default:
		st.storeLocked(&in, &out)
	}
	st.mu.Unlock()
	st.finishPublish(&in, &out)
	for _, s := range sends {
		st.js.reply(s.reply, s.data)
	}
}

// finishPublish sends what storing decided: an error, an immediate ack,
// the republished copy.
func (st *stream) finishPublish(in *inbound, out *pubOutcome) {
	canRespond := in.reply != "" && !st.config().NoAck
	switch {
	case out.err != nil:
		if canRespond {
			st.js.reply(in.reply, jsapi.PubAckError(st.name, out.err))
		}
		return
	case out.empty && canRespond:
		st.js.reply(in.reply, nil)
	case out.ackNow && canRespond:
		var buf [256]byte
		var ack []byte
		if out.counter != "" {
			ack = jsapi.AppendCounterPubAck(buf[:0], st.pubAckPrefix, out.seq, out.counter)
		} else {
			ack = jsapi.AppendPubAck(buf[:0], st.pubAckPrefix, out.seq, out.dup)
		}
		st.js.reply(in.reply, ack)
	}
	if out.rpSubject != "" {
		st.js.host.Publish(out.rpSubject, "", out.rpHdr, out.rpData)
	}
	for _, rp := range out.republish {
		st.js.host.Publish(rp.subject, "", rp.hdr, rp.data)
	}
}

// fastBatchSuffix ends the reply subject of a fast batch publish.
const fastBatchSuffix = ".$FI"

// storeLocked checks and stores one message. Caller holds st.mu.
func (st *stream) storeLocked(in *inbound, out *pubOutcome) {
	cfg := st.config()
	js := st.js
	fail := func(err *jsapi.ApiError) { out.err = err }

	subject := in.subject
	if st.itr != nil {
		if ts, ok := st.itr.apply(subject); ok {
			subject = ts
		}
	}
	hdr, data := in.hdr, in.data
	if len(hdr) > 0 {
		hdr = stripStatus(hdr)
	}

	if cfg.Sealed {
		fail(jsapi.ErrStreamSealed())
		return
	}
	if max := int(cfg.MaxMsgSize); max >= 0 && (len(hdr) > max || len(data) > max-len(hdr)) {
		fail(jsapi.ErrStreamMessageExceedsMaximum())
		return
	}
	if len(hdr) > 65535 {
		fail(jsapi.ErrStreamHeaderExceedsMaximum())
		return
	}

	var (
		msgID              []byte
		rollupSub, rollupA bool
		incr               *counterIncr
	)
	if len(hdr) > 0 {
		var err *jsapi.ApiError
		if incr, err = st.checkIncr(cfg, hdr, data, in.sourced); err != nil {
			fail(err)
			return
		}
		if err := st.checkExpectations(cfg, subject, &hdr, in.sourced); err != nil {
			fail(err)
			return
		}
		msgID = headerValue(hdr, jsapi.HdrMsgID)
		if len(msgID) > 0 && cfg.Mirror == nil {
			if seq, dup := st.isDuplicate(msgID); dup {
				out.seq, out.dup, out.ackNow = seq, true, true
				return
			}
		}
		if want := headerValue(hdr, jsapi.HdrExpectedLastMsgID); len(want) > 0 && string(want) != string(st.lmsgID) {
			fail(jsapi.ErrStreamWrongLastMsgID(string(st.lmsgID)))
			return
		}
		if r := headerValue(hdr, jsapi.HdrRollup); len(r) > 0 {
			if !in.sourced && (!cfg.AllowRollupHdrs || cfg.DenyPurge) {
				fail(jsapi.ErrStreamRollupFailed(errors.New("rollup not permitted")))
				return
			}
			switch strings.ToLower(string(r)) {
			case jsapi.RollupSubject:
				rollupSub = true
			case jsapi.RollupAll:
				rollupA = true
			default:
				fail(jsapi.ErrStreamRollupFailed(fmt.Errorf("rollup value invalid: %q", string(r))))
				return
			}
		}
	}
	if incr == nil && cfg.AllowMsgCounter && !in.sourced {
		fail(jsapi.ErrMessageIncrMissing())
		return
	}
	if in.sourced && cfg.AllowMsgCounter {
		// A copy of another counter: add it up (source_counter.go).
		var err *jsapi.ApiError
		if hdr, data, out.counter, err = st.aggregateSourcedCounter(subject, hdr, data); err != nil {
			fail(err)
			return
		}
	}
	if incr != nil {
		var err *jsapi.ApiError
		if hdr, data, err = st.applyIncr(subject, hdr, incr); err != nil {
			fail(err)
			return
		}
		out.counter = incr.total
		if max := int(cfg.MaxMsgSize); max >= 0 && (len(hdr) > max || len(data) > max-len(hdr)) {
			fail(jsapi.ErrStreamMessageExceedsMaximum())
			return
		}
	}
	if err := js.checkPublishLimits(cfg, subject, hdr, data); err != nil {
		fail(err)
		return
	}

	now := time.Now().UnixNano()
	if cfg.Retention == jsapi.InterestPolicy && (st.interest == nil || !st.interest(subject)) {
		// No consumer wants it: the sequence is used, nothing is stored.
		st.cmd = blockstore.Command{Op: blockstore.OpSkip, Seq: st.lseq + 1, Time: now}
		if _, err := st.applyLocked(); err != nil {
			fail(jsapi.ErrStreamStoreFailed(err))
			return
		}
		st.lseq++
		st.noteMsgID(msgID, st.lseq, now)
		out.seq, out.ackNow = st.lseq, true
		return
	}

	ttl, err := st.messageTTL(cfg, &hdr)
	if err != nil {
		fail(err)
		return
	}

	var rpLast uint64
	rpSubject := ""
	if st.rpub != nil {
		if s, ok := st.rpub.apply(subject); ok && jsapi.IsValidPublishSubject(s) && !jsapi.IsReservedSubject(s) {
			rpSubject = s
			rpLast = st.store.FilteredState(1, subject).Last
		}
	}

	st.cmd = blockstore.Command{Op: blockstore.OpStore, Seq: st.lseq + 1, Time: now, TTL: ttl, Subject: subject, Header: hdr, Data: data}
	r, serr := st.applyLocked()
	if serr != nil {
		fail(storeError(serr))
		return
	}
	st.lseq = r.Seq
	st.noteMsgID(msgID, r.Seq, r.Time)
	st.bytes.Add(int64(storedSize(st.storage, subject, hdr, data)))
	js.addUsage(st.storage, int64(storedSize(st.storage, subject, hdr, data)))
	if r.Removed > 0 {
		st.refreshUsage()
	}
	ticket := r.Ticket
	if st.sched != nil {
		st.noteScheduleLocked(subject, r.Seq, r.Time, hdr)
	}
	if sched := headerValue(hdr, jsapi.HdrScheduler); len(sched) > 0 &&
		string(headerValue(hdr, jsapi.HdrScheduleNext)) == scheduleNextPurge && cfg.AllowRollupHdrs && !cfg.DenyPurge {
		// A one-off schedule fired (or a client ended one): the schedule goes.
		st.cmd = blockstore.Command{Op: blockstore.OpPurge, Subject: string(sched)}
		if pr, err := st.applyLocked(); err == nil {
			ticket = max(ticket, pr.Ticket)
			st.refreshUsage()
		}
	}
	if rollupSub || rollupA {
		purge := blockstore.Command{Op: blockstore.OpPurge, Keep: 1}
		if rollupSub {
			purge.Subject = subject
		}
		st.cmd = purge
		if pr, err := st.applyLocked(); err == nil {
			ticket = max(ticket, pr.Ticket)
			st.refreshUsage()
		} else {
			js.host.Warnf("JetStream stream '%s' roll-up purge failed: %v", st.name, err)
		}
	}
	if ttl > 0 || cfg.MaxAge > 0 {
		st.exp.noteStoredLocked(r.Time, ttl)
	}
	out.seq, out.ticket = r.Seq, ticket

	if rpSubject != "" {
		out.rpSubject = rpSubject
		out.rpHdr, out.rpData = republishMessage(cfg, st.name, subject, r.Seq, r.Time, rpLast, hdr, data)
	}

	// Acknowledge: at once when there is no fsync to wait for, otherwise
	// behind the ticket.
	if in.reply == "" || cfg.NoAck {
		return
	}
	if cfg.PersistMode == jsapi.AsyncPersistMode {
		// Acknowledged before the fsync (clarification 16).
		ticket = 0
	}
	// Even an ack with nothing to wait for (memory, async persist) goes
	// through the queue: the releasing goroutine writes a burst of acks to
	// a connection with one flush instead of one per message.
	kind := ackPlain
	if out.counter != "" {
		kind = ackCounter
	}
	st.queueAck(ackEntry{ticket: uint64(ticket), seq: r.Seq, kind: kind}, in.reply, out.counter)
}

// queueAck queues a reply behind its ticket. Caller holds st.mu, so that
// the queue stays in ticket order.
func (st *stream) queueAck(e ackEntry, reply, extra string) {
	st.acks.mu.Lock()
	if st.acks.push(e, reply, extra) {
		st.js.dur.register(st)
	}
	st.acks.mu.Unlock()
	st.js.dur.kick(e.ticket)
}

// noteMsgID records the last message id and adds it to the duplicate
// window.
func (st *stream) noteMsgID(msgID []byte, seq uint64, ts int64) {
	st.lmsgID = append(st.lmsgID[:0], msgID...)
	if len(msgID) > 0 && st.dedup.window > 0 {
		st.dedup.add(hashID(msgID), seq, ts, int64(st.js.cfg.DedupMaxIDs))
	}
}

// isDuplicate looks msgID up in the duplicate window; a hash match is
// confirmed against the stored message when it is still there.
func (st *stream) isDuplicate(msgID []byte) (uint64, bool) {
	if st.dedup.window <= 0 {
		return 0, false
	}
	st.dedup.expire(time.Now().UnixNano())
	var found uint64
	ok := st.dedup.find(hashID(msgID), func(seq uint64) bool {
		sm, err := st.store.LoadMsg(seq, &st.sm)
		if err == nil && string(headerValue(sm.Header, jsapi.HdrMsgID)) != string(msgID) {
			return false // a different id with the same hash
		}
		found = seq
		return true
	})
	return found, ok
}

// checkExpectations applies the publisher's Nats-Expected-* headers and
// the headers a client may not set.
func (st *stream) checkExpectations(cfg *jsapi.StreamConfig, subject string, hdrp *[]byte, sourced bool) *jsapi.ApiError {
	hdr := *hdrp
	if want := headerValue(hdr, jsapi.HdrExpectedStream); len(want) > 0 && string(want) != cfg.Name {
		return jsapi.ErrStreamNotMatch()
	}
	if v := headerValue(hdr, jsapi.HdrTTL); len(v) > 0 && !sourced && !cfg.AllowMsgTTL {
		if ttl, ok := parseTTL(string(v)); ok && ttl != 0 {
			return jsapi.ErrMessageTTLDisabled()
		}
	}
	if want, ok := headerUint(hdr, jsapi.HdrExpectedLastSubjSeq); ok {
		subj := subject
		if s := headerValue(hdr, jsapi.HdrExpectedLastSubjSeqSubj); len(s) > 0 {
			subj = string(s)
		}
		last := st.store.FilteredState(1, subj).Last
		if last != want {
			return jsapi.ErrStreamWrongLastSequence(last)
		}
	} else if len(headerValue(hdr, jsapi.HdrExpectedLastSubjSeqSubj)) > 0 {
		return jsapi.ErrStreamExpectedLastSeqPerSubjectInvalid()
	}
	if want, ok := headerUint(hdr, jsapi.HdrExpectedLastSeq); ok && want != st.lseq {
		return jsapi.ErrStreamWrongLastSequence(st.lseq)
	}
	if !sourced {
		if err := st.checkSchedule(cfg, subject, hdrp); err != nil {
			return err
		}
		if len(headerValue(*hdrp, jsapi.HdrStreamSource)) > 0 {
			return jsapi.ErrMessageSourceHdrNotAllowed()
		}
	}
	return nil
}

// messageTTL parses Nats-TTL (seconds) into the engine's nanoseconds,
// raising it to the delete-marker TTL where the reference does (so a
// marker cannot outlive the message that would replace it).
func (st *stream) messageTTL(cfg *jsapi.StreamConfig, hdr *[]byte) (int64, *jsapi.ApiError) {
	v := headerValue(*hdr, jsapi.HdrTTL)
	if len(v) == 0 {
		return 0, nil
	}
	secs, ok := parseTTL(string(v))
	if !ok {
		return 0, jsapi.ErrMessageTTLInvalid()
	}
	if !cfg.AllowMsgTTL {
		return 0, nil
	}
	if secs > 0 && cfg.SubjectDeleteMarkerTTL > 0 && cfg.MaxMsgsPerSubject != 1 {
		if minTTL := int64(cfg.SubjectDeleteMarkerTTL.Seconds()); secs < minTTL {
			secs = minTTL
			*hdr = appendHeaderField(removeHeaderField(*hdr, jsapi.HdrTTL), jsapi.HdrTTL, strconv.FormatInt(secs, 10))
		}
	}
	if secs < 0 {
		return -1, nil
	}
	return secs * int64(time.Second), nil
}

// storeError maps the engine's refusals to the reference's errors.
func storeError(err error) *jsapi.ApiError {
	var text string
	switch {
	case errors.Is(err, blockstore.ErrMaxMsgs):
		text = "maximum messages exceeded"
	case errors.Is(err, blockstore.ErrMaxBytes):
		text = "maximum bytes exceeded"
	case errors.Is(err, blockstore.ErrMaxMsgsPerSubj):
		text = "maximum messages per subject exceeded"
	case errors.Is(err, blockstore.ErrMaxMsgSize):
		return jsapi.ErrStreamMessageExceedsMaximum()
	case errors.Is(err, blockstore.ErrClosed):
		text = "store is closed"
	default:
		return jsapi.ErrStreamStoreFailed(err)
	}
	return jsapi.ErrStreamStoreFailed(errors.New(text))
}

// storedSize is the byte accounting of the engine (and the reference) for
// one message, for usage between refreshes.
func storedSize(storage jsapi.StorageType, subj string, hdr, data []byte) uint64 {
	if storage == jsapi.MemoryStorage {
		return uint64(len(subj) + len(hdr) + len(data) + 16)
	}
	if len(hdr) == 0 {
		return uint64(22 + len(subj) + len(data) + 8)
	}
	return uint64(22 + len(subj) + 4 + len(hdr) + len(data) + 8)
}
