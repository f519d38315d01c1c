package jetstream

import (
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// The commit of an atomic batch. Every message is decided first, as the
// batch's earlier messages leave the stream (sequence, timestamp, TTL,
// counter total, republish), and the stores go to the engine as one
// Stream.ApplyBatch: one WAL record that recovery replays whole or not at
// all. What a batch implies beyond its stores follows it as ordinary
// commands (the engine's batches hold stores only):
//
//   - a roll-up purges what its subject (or the stream) held before it;
//     the checks let one stand only where nothing of the batch precedes
//     it on that subject, so purging below its sequence afterwards removes
//     exactly what it would have removed in line;
//   - a finished one-off schedule purges its schedule subject up to
//     itself;
//   - on an interest stream a message no consumer wants is removed (a
//     lone publish skips its sequence instead; a batch cannot hold skips).
//
// A crash between the batch record and these leaves the batch whole and
// the clean-up undone, never a part of the batch.

// batchFollowUp is work a committed batch message leaves to do.
type batchFollowUp struct {
	msgID      []byte
	purge      *blockstore.Command // roll-up or finished schedule
	purgeSelf  bool                // the purge takes the message too (a schedule's)
	noInterest bool
	rpSubject  string
	rpLast     uint64 // the subject's previous sequence, for the republish
}

// commitAtomicLocked checks, decides and stores a whole batch.
func (st *stream) commitAtomicLocked(id string, msgs []stagedMsg, reply string, out *pubOutcome) {
	cfg := st.config()
	if err := st.checkBatchLocked(cfg, msgs); err != nil {
		out.err = err
		return
	}
	cmds, follow, err := st.decideBatchLocked(cfg, msgs)
	if err != nil {
		out.err = err
		return
	}
	preSeq := st.lseq
	rs, serr := st.store.ApplyBatch(cmds)
	if serr != nil {
		if rs != nil {
			// Applied but not logged: the engine is failing. Take the batch
			// back out of the stream so that no reader sees what was
			// never acknowledged.
			st.truncateLocked(preSeq)
		}
		out.err = storeError(serr)
		return
	}
	if len(st.watchers) > 0 {
		st.wakeWatchersLocked()
	}
	ticket := rs[len(rs)-1].Ticket
	for i, r := range rs {
		cmd, f := cmds[i], &follow[i]
		st.lseq = r.Seq
		st.noteMsgID(f.msgID, r.Seq, r.Time)
		if st.sched != nil {
			st.noteScheduleLocked(cmd.Subject, r.Seq, r.Time, cmd.Header)
		}
		if cmd.TTL > 0 || cfg.MaxAge > 0 {
			st.exp.noteStoredLocked(r.Time, cmd.TTL)
		}
		if f.rpSubject != "" {
			h, d := republishMessage(cfg, st.name, cmd.Subject, r.Seq, r.Time, f.rpLast, cmd.Header, cmd.Data)
			out.republish = append(out.republish, republished{f.rpSubject, h, d})
		}
	}
	for i := range follow {
		f := &follow[i]
		var extra blockstore.Command
		switch {
		case f.noInterest:
			extra = blockstore.Command{Op: blockstore.OpRemove, Seq: rs[i].Seq}
		case f.purge != nil:
			// Bounded by the message (exclusive): what the batch stored
			// after it stays, as it would have in line.
			extra = *f.purge
			extra.Seq = rs[i].Seq
			if f.purgeSelf {
				extra.Seq++
			}
		default:
			continue
		}
		st.cmd = extra
		if r, err := st.applyLocked(); err == nil {
			ticket = max(ticket, r.Ticket)
		} else {
			st.js.host.Warnf("JetStream stream '%s' clean-up after batch %q failed: %v", st.name, id, err)
		}
	}
	st.refreshUsage()
	out.seq = st.lseq
	if reply == "" || cfg.NoAck {
		return
	}
	if cfg.PersistMode == jsapi.AsyncPersistMode {
		ticket = 0
	}
	st.queueAck(ackEntry{ticket: uint64(ticket), seq: out.seq, count: uint64(len(msgs)), kind: ackBatch}, reply, id)
}

// decideBatchLocked turns checked batch messages into store commands with
// everything decided, as the earlier messages of the batch leave the
// stream.
func (st *stream) decideBatchLocked(cfg *jsapi.StreamConfig, msgs []stagedMsg) ([]*blockstore.Command, []batchFollowUp, *jsapi.ApiError) {
	now := time.Now().UnixNano()
	cmds := make([]*blockstore.Command, len(msgs))
	follow := make([]batchFollowUp, len(msgs))
	cmdBuf := make([]blockstore.Command, len(msgs))
	lastOf := map[string]int{} // subject -> index of its latest batch message
	seq := st.lseq
	var size int64
	for i := range msgs {
		m, f := &msgs[i], &follow[i]
		subject, hdr, data := m.subject, m.hdr, m.data
		if len(hdr) > 0 {
			hdr = stripStatus(hdr)
		}
		prev, inBatch := lastOf[subject]
		incr, err := st.checkIncr(cfg, hdr, data, false)
		if err != nil {
			return nil, nil, err
		}
		if incr != nil {
			if inBatch {
				hdr, data, err = st.incrFrom(cmds[prev].Header, cmds[prev].Data, true, hdr, incr)
			} else {
				hdr, data, err = st.applyIncr(subject, hdr, incr)
			}
			if err != nil {
				return nil, nil, err
			}
			if max := int(cfg.MaxMsgSize); max >= 0 && (len(hdr) > max || len(data) > max-len(hdr)) {
				return nil, nil, jsapi.ErrStreamMessageExceedsMaximum()
			}
		}
		ttl, err := st.messageTTL(cfg, &hdr)
		if err != nil {
			return nil, nil, err
		}
		f.msgID = headerValue(hdr, jsapi.HdrMsgID)
		f.noInterest = cfg.Retention == jsapi.InterestPolicy && (st.interest == nil || !st.interest(subject))
		switch r := string(headerValue(hdr, jsapi.HdrRollup)); r {
		case jsapi.RollupSubject:
			f.purge = &blockstore.Command{Op: blockstore.OpPurge, Subject: subject}
		case jsapi.RollupAll:
			f.purge = &blockstore.Command{Op: blockstore.OpPurge}
		}
		if sched := headerValue(hdr, jsapi.HdrScheduler); len(sched) > 0 && f.purge == nil &&
			string(headerValue(hdr, jsapi.HdrScheduleNext)) == scheduleNextPurge && cfg.AllowRollupHdrs && !cfg.DenyPurge {
			f.purge, f.purgeSelf = &blockstore.Command{Op: blockstore.OpPurge, Subject: string(sched)}, true
		}
		if st.rpub != nil && !f.noInterest {
			if s, ok := st.rpub.apply(subject); ok && jsapi.IsValidPublishSubject(s) && !jsapi.IsReservedSubject(s) {
				f.rpSubject = s
				if inBatch {
					f.rpLast = cmds[prev].Seq
				} else {
					f.rpLast = st.store.FilteredState(1, subject).Last
				}
			}
		}
		seq++
		size += int64(storedSize(cfg.Storage, subject, hdr, data))
		cmdBuf[i] = blockstore.Command{Op: blockstore.OpStore, Seq: seq, Time: now, TTL: ttl, Subject: subject, Header: hdr, Data: data}
		cmds[i] = &cmdBuf[i]
		lastOf[subject] = i
	}
	if err := st.js.checkRoom(cfg, size); err != nil {
		return nil, nil, err
	}
	return cmds, follow, nil
}

// truncateLocked takes the stream back to preSeq after a failed batch.
func (st *stream) truncateLocked(preSeq uint64) {
	st.cmd = blockstore.Command{Op: blockstore.OpTruncate, Seq: preSeq}
	if _, err := st.applyLocked(); err != nil {
		st.js.host.Errorf("JetStream stream '%s' could not roll back a failed batch: %v", st.name, err)
	}
	st.lseq = preSeq
	st.refreshUsage()
}
