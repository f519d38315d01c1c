package jetstream

import (
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Fast batch publishing (allow_batched): a publisher streams messages whose
// reply subject says which batch they belong to and where:
//
//	<prefix>.<batch id>.<flow>.<gap mode>.<batch seq>.<operation>.$FI
//
// operation 0 starts the batch, 1 appends, 2 commits with the message, 3
// commits without it (end of batch), 4 pings. Every message is stored as it
// arrives (no staging); the server answers with flow control instead of a
// PubAck per message: {"type":"ack","seq":N,"msgs":M} once the batch is
// durable up to N, every M messages; {"type":"gap",...} when a sequence is
// missing; {"type":"err","seq":N,"error":...} for a message it refused.
// The commit is answered with one PubAck naming the batch and its size,
// once everything before it is durable. "Durable" here is the engine's
// watermark, as for every PubAck.

const (
	fastOpStart = iota
	fastOpAppend
	fastOpCommit
	fastOpCommitEOB
	fastOpPing

	fastGapFail = "fail"
	fastGapOK   = "ok"

	defaultFastInflightStream = 1000
	defaultFastInflightTotal  = 50_000
	maxFastAckMessages        = 500
)

var fastInflight atomic.Int64

// fastBatchRef is a fast batch publish as its reply subject describes it.
type fastBatchRef struct {
	id                string
	seq               uint64
	flow              uint16
	ping, gapOK       bool
	commit, commitEOB bool
	malformed         bool
}

// parseFastBatch reads the reply subject of a fast batch publish.
func parseFastBatch(reply string) fastBatchRef {
	bad := fastBatchRef{malformed: true}
	rest, ok := strings.CutSuffix(reply, fastBatchSuffix)
	if !ok {
		return bad
	}
	next := func() (string, bool) {
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			return "", false
		}
		tok := rest[i+1:]
		rest = rest[:i]
		return tok, true
	}
	var r fastBatchRef
	tok, ok := next()
	op, err := strconv.Atoi(tok)
	if !ok || err != nil || op < fastOpStart || op > fastOpPing {
		return bad
	}
	r.ping = op == fastOpPing
	r.commitEOB = op == fastOpCommitEOB
	r.commit = r.commitEOB || op == fastOpCommit
	if tok, ok = next(); !ok {
		return bad
	}
	if r.seq, err = strconv.ParseUint(tok, 10, 64); err != nil || r.seq == 0 || r.seq == math.MaxUint64 {
		return bad
	}
	if (r.seq == 1 && r.commitEOB) || (op == fastOpStart && r.seq != 1) || (op == fastOpAppend && r.seq <= 1) {
		return bad
	}
	if tok, ok = next(); !ok || (tok != fastGapFail && tok != fastGapOK) {
		return bad
	}
	r.gapOK = tok == fastGapOK
	if tok, ok = next(); !ok {
		return bad
	}
	flow, err := strconv.ParseInt(tok, 10, 64)
	switch {
	case err != nil || flow <= 0:
		flow = 10
	case flow > math.MaxUint16:
		flow = math.MaxUint16
	}
	r.flow = uint16(flow)
	if r.id, ok = next(); !ok || r.id == "" {
		return bad
	}
	return r
}

// fastBatch is the server's state of one fast batch.
type fastBatch struct {
	id         string
	lseq       uint64 // highest batch sequence received
	pseq       uint64 // highest batch sequence durable
	fseq       uint64 // batch sequence of the last flow ack sent
	sseq       uint64 // stream sequence of the last durable message
	pending    uint32 // stored messages not yet durable
	ackMsgs    uint16 // flow ack every ackMsgs messages
	maxAckMsgs uint16 // the publisher's ceiling
	gapOK      bool
	committing bool
	reply      string // where flow control goes
	timer      *time.Timer
}

// batchSend is a reply decided under the stream's lock, sent after it.
type batchSend struct {
	reply string
	data  []byte
}

func (b *fastBatch) flowAck() []byte {
	buf, _ := jsapi.BatchFlowAck{Sequence: b.fseq, Messages: b.ackMsgs}.MarshalJSON()
	return buf
}

// fastBatchMsgLocked handles one message of a fast batch; it returns the
// flow control to send.
func (st *stream) fastBatchMsgLocked(in *inbound, out *pubOutcome) []batchSend {
	cfg := st.config()
	fail := func(err *jsapi.ApiError) []batchSend { out.err = err; return nil }
	if cfg.Sealed {
		return fail(jsapi.ErrStreamSealed())
	}
	if err := st.js.checkPublishLimits(cfg, in.subject, in.hdr, in.data); err != nil {
		return fail(err)
	}
	if max := int(cfg.MaxMsgSize); max >= 0 && (len(in.hdr) > max || len(in.data) > max-len(in.hdr)) {
		return fail(jsapi.ErrStreamMessageExceedsMaximum())
	}
	if !cfg.AllowBatched {
		return fail(jsapi.ErrBatchPublishDisabled())
	}
	ref := parseFastBatch(in.reply)
	if ref.malformed {
		return fail(jsapi.ErrBatchPublishInvalidPattern())
	}
	if len(ref.id) > maxBatchIDLen {
		return fail(jsapi.ErrBatchPublishInvalidBatchID())
	}
	timeout, _, _, _ := st.js.batchLimits()
	b, ok := st.fast[ref.id]
	if !ok {
		if ref.seq != 1 || ref.ping {
			return fail(jsapi.ErrBatchPublishUnknownBatchID())
		}
		perStream, total := defaultFastInflightStream, defaultFastInflightTotal
		if l := st.js.cfg.BatchLimits; l.InflightPerStream > 0 {
			perStream = l.InflightPerStream
		}
		if l := st.js.cfg.BatchLimits; l.InflightTotal > 0 {
			total = l.InflightTotal
		}
		if len(st.fast)+1 > perStream {
			return fail(jsapi.ErrBatchPublishTooManyInflight())
		}
		if fastInflight.Add(1) > int64(total) {
			fastInflight.Add(-1)
			return fail(jsapi.ErrBatchPublishTooManyInflight())
		}
		b = &fastBatch{id: strings.Clone(ref.id), gapOK: ref.gapOK, maxAckMsgs: ref.flow}
		if st.fast == nil {
			st.fast = make(map[string]*fastBatch)
		}
		st.fast[b.id] = b
		// Alone, a publisher gets what it asks for; sharing the stream,
		// every publisher starts slow.
		b.ackMsgs = min(maxFastAckMessages, b.maxAckMsgs)
		if len(st.fast) > 1 {
			b.ackMsgs = 1
		}
		b.timer = time.AfterFunc(timeout, func() { st.dropFast(b) })
	} else if !b.committing {
		b.timer.Reset(timeout)
	}
	hdr := in.hdr
	if v := headerValue(hdr, jsapi.HdrRequiredAPILevel); len(v) > 0 {
		if jsapi.CheckRequiredAPILevel(string(v), st.js.APILevel()) != nil {
			st.dropFastLocked(b)
			return fail(jsapi.ErrRequiredApiLevel())
		}
		hdr = removeHeaderField(hdr, jsapi.HdrRequiredAPILevel)
	}
	reply := strings.Clone(in.reply)
	var sends []batchSend
	send := func(data []byte) { sends = append(sends, batchSend{reply, data}) }

	if ref.ping {
		if ref.seq > b.lseq {
			gap, _ := jsapi.BatchFlowGap{ExpectedLastSequence: b.lseq + 1, CurrentSequence: ref.seq + 1}.MarshalJSON()
			send(gap)
			if !b.gapOK {
				return append(sends, st.fastCommitLocked(b, reply)...)
			}
			b.lseq = ref.seq
			if b.pending == 0 {
				b.pseq = b.lseq
			}
		}
		send(b.flowAck())
		return sends
	}
	if b.committing {
		return nil // the publisher waits for the PubAck
	}
	b.lseq++
	if b.lseq != ref.seq {
		gap, _ := jsapi.BatchFlowGap{ExpectedLastSequence: b.lseq, CurrentSequence: ref.seq}.MarshalJSON()
		send(gap)
		if !(b.gapOK && ref.seq > b.lseq) {
			b.lseq--
			return append(sends, st.fastCommitLocked(b, reply)...)
		}
		b.lseq = ref.seq
	}
	if ref.commit && ref.commitEOB {
		b.lseq--
		if b.pending == 0 {
			b.pseq = b.lseq
		}
		return append(sends, st.fastCommitLocked(b, reply)...)
	}
	if ref.seq == 1 && !ref.commit {
		send(b.flowAck())
	}

	var one pubOutcome
	st.storeLocked(&inbound{subject: in.subject, hdr: hdr, data: in.data}, &one)
	if one.err != nil || one.dup {
		if one.dup && b.pending == 0 {
			b.pseq = ref.seq
			sends = append(sends, st.fastFlowLocked(b, reply)...)
		}
		if one.dup && !ref.commit {
			return sends
		}
		if !b.gapOK && b.lseq == 1 {
			st.dropFastLocked(b)
			if one.dup {
				send(jsapi.AppendBatchPubAck(nil, st.pubAckPrefix, one.seq, b.id, ref.seq, true))
				return sends
			}
			out.err = one.err
			return sends
		}
		if !one.dup {
			e, _ := jsapi.BatchFlowErr{Sequence: ref.seq, Error: one.err}.MarshalJSON()
			send(e)
		}
		if b.gapOK && !ref.commit {
			return sends
		}
		if !one.dup {
			b.lseq--
			if b.pending == 0 {
				b.pseq = b.lseq
			}
		}
		return append(sends, st.fastCommitLocked(b, reply)...)
	}
	out.rpSubject, out.rpHdr, out.rpData = one.rpSubject, one.rpHdr, one.rpData
	b.pending++
	if ref.commit {
		b.committing = true
		b.timer.Stop()
	}
	ticket := uint64(one.ticket)
	if cfg.PersistMode == jsapi.AsyncPersistMode {
		ticket = 0
	}
	st.queueAck(ackEntry{ticket: ticket, seq: one.seq, count: ref.seq, kind: ackFast}, reply, b.id)
	return sends
}

// fastPersisted runs when a stored fast batch message became durable: it
// moves the batch's durable sequence on and sends flow control, or the
// PubAck when the batch is committed and complete.
func (st *stream) fastPersisted(id string, bseq, sseq uint64, reply string, pub *pubBatch) {
	st.mu.Lock()
	b, ok := st.fast[id]
	if !ok {
		st.mu.Unlock()
		return
	}
	b.reply = reply
	if b.pending > 0 {
		b.pending--
	}
	b.sseq = sseq
	caughtUp := b.pending == 0
	if caughtUp {
		b.pseq = b.lseq
	} else {
		b.pseq = bseq
	}
	var sends []batchSend
	if b.lseq == b.pseq && b.committing {
		st.dropFastLocked(b)
		sends = append(sends, batchSend{reply, jsapi.AppendBatchPubAck(nil, st.pubAckPrefix, b.sseq, b.id, b.lseq, false)})
	} else {
		sends = st.fastFlowLocked(b, reply)
	}
	st.mu.Unlock()
	for _, s := range sends {
		pub.Publish(s.reply, "", nil, s.data)
	}
}

// fastFlowLocked sends a flow ack when the durable sequence passed the
// next step, adjusting the step to how many publishers share the stream.
func (st *stream) fastFlowLocked(b *fastBatch, reply string) []batchSend {
	am := uint64(b.ackMsgs)
	if am == 0 || b.pseq < b.fseq+am {
		return nil
	}
	b.fseq += (b.pseq - b.fseq) / am * am
	ceiling := uint16(max(maxFastAckMessages/len(st.fast), 1))
	ceiling = min(ceiling, b.maxAckMsgs)
	switch {
	case b.ackMsgs < ceiling:
		b.ackMsgs = min(b.ackMsgs*2, ceiling)
	case b.ackMsgs > ceiling:
		b.ackMsgs = max(b.ackMsgs/2, ceiling)
	}
	if reply == "" {
		return nil
	}
	return []batchSend{{reply, b.flowAck()}}
}

// fastCommitLocked ends a batch: the PubAck goes now when everything
// received is durable, or when the last of it becomes durable.
func (st *stream) fastCommitLocked(b *fastBatch, reply string) []batchSend {
	b.committing = true
	b.timer.Stop()
	if b.lseq == b.pseq {
		st.dropFastLocked(b)
		return []batchSend{{reply, jsapi.AppendBatchPubAck(nil, st.pubAckPrefix, b.sseq, b.id, b.lseq, false)}}
	}
	return nil
}

func (st *stream) dropFastLocked(b *fastBatch) {
	if st.fast[b.id] != b {
		return
	}
	delete(st.fast, b.id)
	b.timer.Stop()
	fastInflight.Add(-1)
}

func (st *stream) dropFast(b *fastBatch) {
	st.mu.Lock()
	if !b.committing {
		st.dropFastLocked(b)
	}
	st.mu.Unlock()
}
