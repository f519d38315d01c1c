package jetstream

import (
	"slices"
	"strconv"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Direct gets ($JS.API.DIRECT.GET.<stream> with a JSON request, and
// $JS.API.DIRECT.GET.<stream>.<subject> for the last message on a subject)
// answer with the stored message itself: its headers plus Nats-Stream,
// Nats-Subject, Nats-Sequence and Nats-Time-Stamp (and, in a batch,
// Nats-Num-Pending and Nats-Last-Sequence), or a status-only reply. They
// are reads only, served inline on the requester's goroutine like the
// reference does for client connections.

func (st *stream) processDirectGet(m *server.InMsg) {
	if m.Reply == "" {
		return
	}
	if st.requiredLevelFails(m.Header) {
		st.directStatus(m.Reply, jsapi.DirectGetRequiredAPILevel)
		return
	}
	req, status := jsapi.ParseDirectGet(m.Data)
	if status != "" {
		st.directStatus(m.Reply, status)
		return
	}
	st.directGet(&req, m.Reply)
}

func (st *stream) processDirectGetLastBySubject(m *server.InMsg) {
	if m.Reply == "" {
		return
	}
	if st.requiredLevelFails(m.Header) {
		st.directStatus(m.Reply, jsapi.DirectGetRequiredAPILevel)
		return
	}
	subject := m.Subject
	if dom := st.js.cfg.Domain; dom != "" {
		// $JS.<domain>.API.DIRECT.GET... reads like $JS.API.DIRECT.GET...
		if rest, ok := cutPrefix(subject, "$JS."+dom+".API."); ok {
			subject = "$JS.API." + rest
		}
	}
	req, status := jsapi.ParseDirectGetLastBySubject(subject, m.Data)
	if status != "" {
		st.directStatus(m.Reply, status)
		return
	}
	st.directGet(&req, m.Reply)
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func (st *stream) requiredLevelFails(hdr []byte) bool {
	v := headerValue(hdr, jsapi.HdrRequiredAPILevel)
	return len(v) > 0 && jsapi.CheckRequiredAPILevel(string(v), st.js.APILevel()) != nil
}

func (st *stream) directStatus(reply, status string) {
	st.js.host.Publish(reply, "", []byte(status), nil)
}

// directGet serves a checked request.
func (st *stream) directGet(req *jsapi.JSApiMsgGetRequest, reply string) {
	if len(req.MultiLastFor) > 0 {
		st.directGetMulti(req, reply)
		return
	}
	store := st.store
	maxBytes := req.MaxBytes
	if maxBytes <= 0 {
		maxBytes = st.js.cfg.MaxPending
	}
	seq := req.Seq
	if req.StartTime != nil {
		seq = store.SeqForTime(*req.StartTime)
	}
	// Any batch field makes a batch request, answered with 204 EOB at the
	// end: a negative one is a batch of nothing, as the reference has it.
	batch, isBatch := req.Batch, req.Batch != 0
	if !isBatch {
		batch = 1
	}
	var np, lseq, validThrough uint64
	if isBatch {
		validThrough = store.State().LastSeq
		np = store.NumPending(seq, req.NextFor, false)
	}
	var sm blockstore.StoreMsg
	var hbuf []byte
	sent := 0
	// A batch goes out with one write to the requester per burst, not one
	// per message.
	out := st.js.startBatch()
	defer out.Flush()
	unflushed := 0
	for i := 0; i < batch; i++ {
		var m *blockstore.StoreMsg
		var err error
		switch {
		case seq > 0 && req.NextFor == "":
			if i == 0 && !isBatch {
				m, err = store.LoadMsg(seq, &sm)
			} else {
				m, err = store.LoadNextMsg("", seq, &sm)
			}
		case req.NextFor != "":
			m, err = store.LoadNextMsg(req.NextFor, seq, &sm)
		default:
			m, err = store.LoadLastMsg(req.LastFor, &sm)
		}
		if err != nil {
			if isBatch && i > 0 {
				break
			}
			out.Publish(reply, "", []byte(jsapi.DirectGetNotFound), nil)
			return
		}
		seq = m.Seq + 1
		var hdr []byte
		if !req.NoHeaders {
			if isBatch && np > 0 {
				np--
			}
			hbuf = st.appendDirectHeaders(hbuf[:0], m, isBatch, np, lseq)
			hdr = hbuf
		}
		lseq = m.Seq
		out.Publish(reply, "", hdr, m.Data)
		size := len(m.Subject) + len(m.Header) + len(m.Data)
		sent += size
		if sent >= maxBytes {
			break
		}
		if unflushed += size; unflushed >= directFlushBytes {
			out.Flush()
			out, unflushed = st.js.startBatch(), 0
		}
	}
	if isBatch {
		// The pending count was counted down while sending (with headers
		// only, as the reference does); it is counted again only when the
		// stream grew meanwhile.
		if store.State().LastSeq > validThrough {
			np = store.NumPending(seq, req.NextFor, false)
		}
		out.Publish(reply, "", jsapi.DirectGetEOB(np, lseq, false, 0), nil)
	}
}

// directFlushBytes bounds what a direct get batch holds in the requester's
// outbound buffer before writing it.
const directFlushBytes = 256 << 10

// appendDirectHeaders writes the reply header of a stored message: its own
// headers, then the Nats-* fields (the reference appends them after).
func (st *stream) appendDirectHeaders(b []byte, m *blockstore.StoreMsg, batch bool, np, lseq uint64) []byte {
	if len(m.Header) >= len(hdrLine)+2 {
		b = append(b, m.Header[:len(m.Header)-2]...)
	} else {
		b = append(b, hdrLine...)
	}
	field := func(k string) {
		b = append(b, k...)
		b = append(b, ": "...)
	}
	end := func() { b = append(b, "\r\n"...) }
	field(jsapi.HdrStream)
	b = append(b, st.name...)
	end()
	field(jsapi.HdrSubject)
	b = append(b, m.Subject...)
	end()
	field(jsapi.HdrSequence)
	b = strconv.AppendUint(b, m.Seq, 10)
	end()
	field(jsapi.HdrTimeStamp)
	b = time.Unix(0, m.Time).UTC().AppendFormat(b, time.RFC3339Nano)
	end()
	if batch {
		field(jsapi.HdrNumPending)
		b = strconv.AppendUint(b, np, 10)
		end()
		field(jsapi.HdrLastSequence)
		b = strconv.AppendUint(b, lseq, 10)
		end()
	}
	return append(b, "\r\n"...)
}

// directGetMulti answers multi_last: the last message of every subject
// matching the filters, at or below up_to_seq (or up_to_time), in
// sequence order, then 204 EOB with the sequence the answer is valid up to.
func (st *stream) directGetMulti(req *jsapi.JSApiMsgGetRequest, reply string) {
	store := st.store
	maxBytes := req.MaxBytes
	if maxBytes <= 0 {
		maxBytes = st.js.cfg.MaxPending
	}
	upTo := req.UpToSeq
	if req.UpToTime != nil {
		upTo = store.SeqForTime(req.UpToTime.UTC())
		if upTo <= store.State().FirstSeq {
			st.directStatus(reply, jsapi.DirectGetNoResults)
			return
		}
		upTo--
	}
	if upTo == 0 {
		upTo = store.State().LastSeq
	}
	seqs, tooMany := st.multiLastSeqs(req.MultiLastFor, upTo, jsapi.MaxDirectGetMultiResults)
	if tooMany {
		st.directStatus(reply, jsapi.DirectGetTooManyResults)
		return
	}
	if len(seqs) == 0 {
		st.directStatus(reply, jsapi.DirectGetNoResults)
		return
	}
	var sm blockstore.StoreMsg
	var hbuf []byte
	out := st.js.startBatch()
	defer out.Flush()
	unflushed := 0
	np := uint64(len(seqs))
	var lseq uint64
	sent, n := 0, 0
	for _, seq := range seqs {
		if np > 0 {
			np--
		}
		if seq < req.Seq {
			continue
		}
		m, err := store.LoadMsg(seq, &sm)
		if err != nil {
			out.Publish(reply, "", []byte(jsapi.DirectGetNotFound), nil)
			return
		}
		// multi_last answers always carry the headers (no_hdr is not
		// looked at, as in the reference): a client needs the subject.
		hbuf = st.appendDirectHeaders(hbuf[:0], m, true, np, lseq)
		lseq = m.Seq
		out.Publish(reply, "", hbuf, m.Data)
		size := len(m.Subject) + len(m.Header) + len(m.Data)
		sent += size
		n++
		if sent >= maxBytes || (req.Batch > 0 && n >= req.Batch) {
			break
		}
		if unflushed += size; unflushed >= directFlushBytes {
			out.Flush()
			out, unflushed = st.js.startBatch(), 0
		}
	}
	out.Publish(reply, "", jsapi.DirectGetEOB(np, lseq, true, upTo), nil)
}

// multiLastSeqs lists, sorted, the last sequence at or below upTo of each
// subject matching any filter; tooMany when that is more than limit.
func (st *stream) multiLastSeqs(filters []string, upTo uint64, limit int) ([]uint64, bool) {
	seen := make(map[uint64]struct{})
	var seqs []uint64
	var sm blockstore.StoreMsg
	for _, f := range filters {
		for subj, ss := range st.store.SubjectsState(f) {
			last := ss.Last
			if last > upTo {
				last = 0
				for s := upTo; s >= ss.First && s > 0; {
					m, err := st.store.LoadPrevMsg(s, &sm)
					if err != nil || m.Seq < ss.First {
						break
					}
					if m.Subject == subj {
						last = m.Seq
						break
					}
					s = m.Seq - 1
				}
			}
			if last == 0 {
				continue
			}
			if _, dup := seen[last]; !dup {
				seen[last] = struct{}{}
				seqs = append(seqs, last)
			}
		}
		if len(seqs) > limit {
			return nil, true
		}
	}
	slices.Sort(seqs)
	return seqs, false
}
