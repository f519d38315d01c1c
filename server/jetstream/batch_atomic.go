package jetstream

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Atomic batch publishing (allow_atomic): messages carrying Nats-Batch-Id
// and Nats-Batch-Sequence are staged in memory, each answered with an
// empty reply; the message with Nats-Batch-Commit ("1", or "eob" to commit
// without storing itself) checks the whole batch against the stream and
// stores all of it or none of it, answering with one PubAck naming the
// batch and its size.
//
// All of it or none of it: the checks run on every message first, against
// the stream as the batch's earlier messages would leave it (sequences,
// per-subject sequences, duplicate ids, discard-new limits); then every
// message is decided (sequence, timestamp, TTL, counter total) and the
// whole batch goes to the engine as one ApplyBatch, one WAL record, so a
// crash keeps all of it or none of it (batch_commit.go).

// Limits of the reference (jetstream { limits { batch { ... } } }).
const (
	defaultBatchTimeout          = 10 * time.Second
	defaultAtomicInflightStream  = 50
	defaultAtomicInflightTotal   = 1000
	defaultAtomicMaxBatchSize    = 1000
	maxBatchIDLen                = 64
	batchCommitValue             = "1"
	batchCommitEOB               = "eob"
	batchAbandonedAdvisoryPrefix = jsapi.AdvisoryStreamBatchAbandonedPre
)

var atomicInflight atomic.Int64

type stagedMsg struct {
	subject string
	hdr     []byte
	data    []byte
}

type atomicBatch struct {
	id    string
	lseq  uint64
	msgs  []stagedMsg
	timer *time.Timer
}

func (js *JetStream) batchLimits() (timeout time.Duration, perStream, total, size int) {
	l := js.cfg.BatchLimits
	timeout, perStream, total, size = defaultBatchTimeout, defaultAtomicInflightStream, defaultAtomicInflightTotal, defaultAtomicMaxBatchSize
	if l.Timeout > 0 {
		timeout = l.Timeout
	}
	if l.InflightPerStream > 0 {
		perStream = l.InflightPerStream
	}
	if l.InflightTotal > 0 {
		total = l.InflightTotal
	}
	if l.MaxSize > 0 {
		size = l.MaxSize
	}
	return
}

// atomicBatchMsgLocked handles one message of an atomic batch.
func (st *stream) atomicBatchMsgLocked(in *inbound, out *pubOutcome) {
	cfg := st.config()
	hdr, data := in.hdr, in.data
	fail := func(err *jsapi.ApiError) { out.err = err }
	if cfg.Sealed {
		fail(jsapi.ErrStreamSealed())
		return
	}
	if err := st.js.checkPublishLimits(cfg, in.subject, hdr, data); err != nil {
		fail(err)
		return
	}
	if max := int(cfg.MaxMsgSize); max >= 0 && (len(hdr) > max || len(data) > max-len(hdr)) {
		fail(jsapi.ErrStreamMessageExceedsMaximum())
		return
	}
	if !cfg.AllowAtomic {
		fail(jsapi.ErrAtomicPublishDisabled())
		return
	}
	id := headerValue(hdr, jsapi.HdrBatchID)
	if len(id) > maxBatchIDLen {
		fail(jsapi.ErrAtomicPublishInvalidBatchID())
		return
	}
	bseq, err := strconv.ParseUint(bstr(headerValue(hdr, jsapi.HdrBatchSeq)), 10, 64)
	if err != nil {
		fail(jsapi.ErrAtomicPublishMissingSeq())
		return
	}
	var commit, eob, badCommit bool
	if c := headerValue(hdr, jsapi.HdrBatchCommit); hasHeader(hdr, jsapi.HdrBatchCommit) {
		commit = true
		eob = string(c) == batchCommitEOB
		badCommit = !eob && string(c) != batchCommitValue
	}
	timeout, perStream, total, maxSize := st.js.batchLimits()
	size := bseq
	if eob {
		size--
	}

	b, ok := st.atomic[string(id)]
	if !ok {
		if bseq != 1 {
			if size > uint64(maxSize) {
				fail(jsapi.ErrAtomicPublishTooLargeBatch(maxSize))
			} else {
				fail(jsapi.ErrAtomicPublishIncompleteBatch())
			}
			return
		}
		if len(st.atomic)+1 > perStream {
			fail(jsapi.ErrAtomicPublishTooManyInflight())
			return
		}
		if atomicInflight.Add(1) > int64(total) {
			atomicInflight.Add(-1)
			fail(jsapi.ErrAtomicPublishTooManyInflight())
			return
		}
		b = &atomicBatch{id: string(id)}
		if st.atomic == nil {
			st.atomic = make(map[string]*atomicBatch)
		}
		st.atomic[b.id] = b
		b.timer = time.AfterFunc(timeout, func() { st.abandonAtomic(b, jsapi.BatchTimeout) })
	} else {
		b.timer.Reset(timeout)
	}
	abandon := func(err *jsapi.ApiError, reason jsapi.BatchAbandonReason) {
		st.dropAtomicLocked(b)
		if reason != "" {
			st.batchAbandonedAdvisory(b.id, reason)
		}
		fail(err)
	}
	if badCommit {
		abandon(jsapi.ErrAtomicPublishInvalidBatchCommit(), "")
		return
	}
	if v := headerValue(hdr, jsapi.HdrRequiredAPILevel); len(v) > 0 {
		if jsapi.CheckRequiredAPILevel(string(v), st.js.APILevel()) != nil {
			abandon(jsapi.ErrRequiredApiLevel(), jsapi.BatchRequirementsNotMet)
			return
		}
		hdr = removeHeaderField(hdr, jsapi.HdrRequiredAPILevel)
	}
	b.lseq++
	if b.lseq != bseq || (bseq == 1 && eob) {
		abandon(jsapi.ErrAtomicPublishIncompleteBatch(), jsapi.BatchIncomplete)
		return
	}
	if size > uint64(maxSize) {
		abandon(jsapi.ErrAtomicPublishTooLargeBatch(maxSize), jsapi.BatchLarge)
		return
	}
	if !eob {
		// Staged past the callback: the subject aliases the publisher's
		// read buffer, so it is copied with the rest.
		b.msgs = append(b.msgs, stagedMsg{subject: strings.Clone(in.subject), hdr: append([]byte(nil), hdr...), data: append([]byte(nil), data...)})
	}
	if !commit {
		out.empty = true
		return
	}
	msgs := b.msgs
	st.dropAtomicLocked(b)
	if eob {
		// The last stored message carries the commit, as if sent with it.
		last := &msgs[len(msgs)-1]
		last.hdr = appendHeaderField(last.hdr, jsapi.HdrBatchCommit, batchCommitValue)
	}
	st.commitAtomicLocked(b.id, msgs, in.reply, out)
}

// dropAtomicLocked forgets a batch.
func (st *stream) dropAtomicLocked(b *atomicBatch) {
	if st.atomic[b.id] != b {
		return
	}
	delete(st.atomic, b.id)
	b.timer.Stop()
	atomicInflight.Add(-1)
}

func (st *stream) abandonAtomic(b *atomicBatch, reason jsapi.BatchAbandonReason) {
	st.mu.Lock()
	live := st.atomic[b.id] == b
	if live {
		st.dropAtomicLocked(b)
	}
	st.mu.Unlock()
	if live {
		st.batchAbandonedAdvisory(b.id, reason)
	}
}

func (st *stream) batchAbandonedAdvisory(id string, reason jsapi.BatchAbandonReason) {
	st.js.sendAdvisory(batchAbandonedAdvisoryPrefix+"."+st.name, &jsapi.StreamBatchAbandonedAdvisory{
		TypedEvent: typedEvent(jsapi.StreamBatchAbandonedAdvisoryType),
		Stream:     st.name, Domain: st.js.cfg.Domain, BatchID: id, Reason: reason,
	})
}

// batchSim is the stream as a batch's earlier messages would leave it.
type batchSim struct {
	lseq     uint64
	msgs     uint64
	bytes    uint64
	subjLast map[string]uint64
	subjAdd  map[string]uint64
	ids      map[string]struct{}
}

// checkBatchLocked runs the publish checks of every message of a batch
// against the simulated stream; nothing is stored when one fails.
func (st *stream) checkBatchLocked(cfg *jsapi.StreamConfig, msgs []stagedMsg) *jsapi.ApiError {
	state := st.store.State()
	sim := batchSim{lseq: st.lseq, msgs: state.Msgs, bytes: state.Bytes,
		subjLast: map[string]uint64{}, subjAdd: map[string]uint64{}, ids: map[string]struct{}{}}
	for i := range msgs {
		m := &msgs[i]
		subject, hdr, data := m.subject, m.hdr, m.data
		if st.itr != nil {
			if ts, ok := st.itr.apply(subject); ok {
				subject = ts
			}
		}
		if max := int(cfg.MaxMsgSize); max >= 0 && (len(hdr) > max || len(data) > max-len(hdr)) {
			return jsapi.ErrStreamMessageExceedsMaximum()
		}
		if len(hdr) > 65535 {
			return jsapi.ErrStreamHeaderExceedsMaximum()
		}
		if len(hdr) > 0 {
			if len(headerValue(hdr, jsapi.HdrExpectedLastMsgID)) > 0 {
				return jsapi.ErrAtomicPublishUnsupportedHeaderBatch(jsapi.HdrExpectedLastMsgID)
			}
			if _, err := st.checkIncr(cfg, hdr, data, false); err != nil {
				return err
			}
			if want := headerValue(hdr, jsapi.HdrExpectedStream); len(want) > 0 && string(want) != cfg.Name {
				return jsapi.ErrStreamNotMatch()
			}
			if v := headerValue(hdr, jsapi.HdrTTL); len(v) > 0 {
				secs, ok := parseTTL(string(v))
				if (secs != 0 || !ok) && !cfg.AllowMsgTTL {
					return jsapi.ErrMessageTTLDisabled()
				}
				if !ok {
					return jsapi.ErrMessageTTLInvalid()
				}
			}
			if id := headerValue(hdr, jsapi.HdrMsgID); len(id) > 0 {
				if _, dup := sim.ids[string(id)]; dup {
					return jsapi.ErrAtomicPublishContainsDuplicateMessage()
				}
				if _, dup := st.isDuplicate(id); dup {
					return jsapi.ErrAtomicPublishContainsDuplicateMessage()
				}
				sim.ids[string(id)] = struct{}{}
			}
			if len(headerValue(hdr, jsapi.HdrStreamSource)) > 0 {
				return jsapi.ErrMessageSourceHdrNotAllowed()
			}
			if want, ok := headerUint(hdr, jsapi.HdrExpectedLastSubjSeq); ok {
				subj := subject
				if s := headerValue(hdr, jsapi.HdrExpectedLastSubjSeqSubj); len(s) > 0 {
					subj = string(s)
				}
				last, staged := sim.subjLast[subj]
				if !staged {
					last = st.store.FilteredState(1, subj).Last
				}
				if last != want {
					return jsapi.ErrStreamWrongLastSequence(last)
				}
			} else if len(headerValue(hdr, jsapi.HdrExpectedLastSubjSeqSubj)) > 0 {
				return jsapi.ErrStreamExpectedLastSeqPerSubjectInvalid()
			}
			if want, ok := headerUint(hdr, jsapi.HdrExpectedLastSeq); ok && want != sim.lseq {
				return jsapi.ErrStreamWrongLastSequence(sim.lseq)
			}
			if err := st.checkSchedule(cfg, subject, &hdr); err != nil {
				return err
			}
			if r := headerValue(hdr, jsapi.HdrRollup); len(r) > 0 {
				if !cfg.AllowRollupHdrs || cfg.DenyPurge {
					return jsapi.ErrStreamRollupFailed(errors.New("rollup not permitted"))
				}
				// A roll-up purges what is stored before it, so it must be
				// the batch's first message of its subject (or, for all,
				// the first of the batch): the purge then touches nothing
				// of the batch and can follow it.
				switch v := string(r); v {
				case jsapi.RollupSubject:
					if _, staged := sim.subjLast[subject]; staged {
						return jsapi.ErrStreamRollupFailed(errors.New("batch rollup sub invalid"))
					}
				case jsapi.RollupAll:
					if i > 0 {
						return jsapi.ErrStreamRollupFailed(errors.New("batch rollup all invalid"))
					}
				default:
					return jsapi.ErrStreamRollupFailed(errors.New("rollup value invalid: " + strconv.Quote(v)))
				}
			}
		} else if cfg.AllowMsgCounter {
			return jsapi.ErrMessageIncrMissing()
		}
		if err := st.simulateLimits(cfg, &sim, subject, hdr, data); err != nil {
			return err
		}
		sim.lseq++
		sim.subjLast[subject] = sim.lseq
		// What the commit stores: the transformed subject, the header as
		// the checks completed it (a schedule's roll-up).
		m.subject, m.hdr = subject, hdr
	}
	return nil
}

// simulateLimits applies discard-new limits to one more batch message.
func (st *stream) simulateLimits(cfg *jsapi.StreamConfig, sim *batchSim, subject string, hdr, data []byte) *jsapi.ApiError {
	size := storedSize(cfg.Storage, subject, hdr, data)
	if cfg.Discard == jsapi.DiscardNew {
		perSubj := st.store.FilteredState(1, subject).Msgs + sim.subjAdd[subject]
		atSubjLimit := cfg.MaxMsgsPerSubject > 0 && perSubj >= uint64(cfg.MaxMsgsPerSubject)
		switch {
		case atSubjLimit && cfg.DiscardNewPerSubject:
			return jsapi.ErrStreamStoreFailed(errors.New("maximum messages per subject exceeded"))
		case cfg.MaxMsgs > 0 && sim.msgs >= uint64(cfg.MaxMsgs) && !atSubjLimit:
			return jsapi.ErrStreamStoreFailed(errors.New("maximum messages exceeded"))
		case cfg.MaxBytes > 0 && sim.bytes+size > uint64(cfg.MaxBytes) && !atSubjLimit:
			return jsapi.ErrStreamStoreFailed(errors.New("maximum bytes exceeded"))
		}
	}
	sim.msgs++
	sim.bytes += size
	sim.subjAdd[subject]++
	return nil
}
