package jetstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// A source copies the messages of its origin that its filters select into
// the destination, with the destination's own sequences, through the
// publish path (limits, duplicate window, the stream's subject transform,
// republish). Each copy carries where it came from in Nats-Stream-Source,
// in the reference's format:
//
//	<origin> <origin sequence> <filters> <destinations> <original subject> <origin identity>
//
// A source whose origin is deleted and created again (another identity)
// starts over from its configured start, as the reference does.

// sourcesKey is the destination's aux record of its sources' progress.
const sourcesKey = "jetstream.sources"

// sourcesRecord is that record: the progress of every source, valid up to
// the destination sequence DSeq (later copies are found by their headers).
type sourcesRecord struct {
	DSeq    uint64                    `json:"dseq"`
	Sources map[string]sourceProgress `json:"sources"`
}

// sourceProgress is the last origin sequence copied and the identity of
// the origin it was copied from.
type sourceProgress struct {
	Seq   uint64 `json:"seq"`
	Ident string `json:"ident,omitempty"`
}

// Checkpoint the progress after this many copies or this long, whichever
// comes first; it bounds the headers read again at start.
const (
	sourcesSaveEvery    = 1024
	sourcesSaveInterval = time.Second
)

// resumeSource is where a source continues reading o: after its progress,
// unless o is another incarnation of the origin than the one it copied.
func (r *originReader) resumeSource(o *stream) uint64 {
	st, key := r.st, r.spec.key
	r.ident = o.identity()
	st.mu.Lock()
	p, ok := st.org.book[key]
	if ok && p.Ident != "" && p.Ident != r.ident {
		st.js.host.Warnf("JetStream source stream %q for stream '%s > %s' was recreated, resetting source state",
			r.spec.src.Name, server.GlobalAccountName, st.name)
		delete(st.org.book, key)
		st.org.dirty++
		ok = false
	}
	st.mu.Unlock()
	if ok {
		return p.Seq + 1
	}
	return max(r.startSeq(o), 1)
}

// deliverSource stores a copy of m.
func (r *originReader) deliverSource(m *blockstore.StoreMsg) deliverResult {
	st := r.st
	r.hbuf = sourcedHeader(r.hbuf, m.Header, r.spec.src.Name, m.Seq, r.spec.hdrParts, m.Subject, r.ident)
	note := sourceNote{key: r.spec.key, seq: m.Seq, ident: r.ident}
	_, err := st.storeSourced(&note, r.spec.transform(m.Subject), r.hbuf, m.Data)
	switch {
	case err == nil:
		return delivered
	case errorsIsClosed(err):
		return stopReading
	case jsapi.IsErr(err, jsapi.ErrCodeStreamMessageExceedsMaximum, jsapi.ErrCodeStreamHeaderExceedsMaximum,
		jsapi.ErrCodeMessageTTLInvalid):
		// It will never be stored: pass over it.
		r.warn("JetStream stream '%s' skips message %d of source '%s': %v", st.name, m.Seq, r.spec.src.Name, err)
		st.passSource(&note)
		return delivered
	default:
		// Discard new, account limits: try again once there is room.
		if !jsapi.IsErr(err, jsapi.ErrCodeStreamStoreFailed) {
			r.warn("Error processing inbound source %q for '%s' > '%s': %v", r.spec.key, server.GlobalAccountName, st.name, err)
		}
		return retryLater
	}
}

// sourceNote identifies the origin message a sourced store copies, so that
// the progress moves with the data.
type sourceNote struct {
	key   string
	seq   uint64
	ident string
}

// storeSourced stores a message coming from a source (note says which,
// when it is not nil). The rules that only bind clients (Nats-Stream-Source,
// counter arithmetic, schedules, TTLs on a stream without them) do not
// apply; sourcedHeader has removed the Nats-Expected-* headers, which were
// checked at the origin. A duplicate (Nats-Msg-Id) is not an error.
func (st *stream) storeSourced(note *sourceNote, subject string, hdr, data []byte) (uint64, error) {
	in := inbound{subject: subject, hdr: hdr, data: data, sourced: true}
	var out pubOutcome
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return 0, errStreamClosed
	}
	st.storeLocked(&in, &out)
	if out.err == nil && note != nil {
		st.noteSourceLocked(note)
	}
	st.mu.Unlock()
	st.finishPublish(&in, &out)
	if out.err != nil {
		return 0, out.err
	}
	return out.seq, nil
}

// passSource moves a source's progress past a message it will not store.
func (st *stream) passSource(note *sourceNote) {
	st.mu.Lock()
	if !st.closed {
		st.noteSourceLocked(note)
	}
	st.mu.Unlock()
}

func (st *stream) noteSourceLocked(note *sourceNote) {
	o := &st.org
	if o.book == nil {
		o.book = make(map[string]sourceProgress)
	}
	if p := o.book[note.key]; note.seq > p.Seq || p.Ident != note.ident {
		o.book[note.key] = sourceProgress{Seq: note.seq, Ident: note.ident}
		o.dirty++
	}
	st.saveSourcesLocked(false)
}

// checkpointSources records the progress if it is due (a reader's
// heartbeat).
func (st *stream) checkpointSources() {
	st.mu.Lock()
	if !st.closed {
		st.saveSourcesLocked(false)
	}
	st.mu.Unlock()
}

// saveSourcesLocked writes the sources record when it changed, at most
// every sourcesSaveInterval or sourcesSaveEvery copies unless forced. The
// write need not be durable by itself: a later command's fsync covers it,
// and without one the headers tell the same.
func (st *stream) saveSourcesLocked(force bool) {
	o := &st.org
	if o.dirty == 0 || (!force && o.dirty < sourcesSaveEvery && time.Since(o.savedAt) < sourcesSaveInterval) {
		return
	}
	var data []byte
	if len(o.book) > 0 {
		var err error
		if data, err = json.Marshal(sourcesRecord{DSeq: st.lseq, Sources: o.book}); err != nil {
			st.js.host.Errorf("JetStream stream '%s': encode sources progress: %v", st.name, err)
			return
		}
	}
	st.cmd = blockstore.Command{Op: blockstore.OpSetAux, Key: sourcesKey, Data: data}
	if _, err := st.applyLocked(); err != nil {
		st.js.host.Warnf("JetStream stream '%s': record sources progress: %v", st.name, err)
		return
	}
	o.dirty, o.savedAt = 0, time.Now()
}

// forgetSourcesLocked drops the progress of sources no longer configured.
func (st *stream) forgetSourcesLocked(keep map[string]*originSpec) {
	o := &st.org
	for k := range o.book {
		if _, ok := keep[k]; !ok {
			delete(o.book, k)
			o.dirty++
		}
	}
	if !st.closed {
		st.saveSourcesLocked(true)
	}
}

// loadSourcesLocked restores the sources' progress at start: the record,
// then the headers of the copies stored after it.
func (st *stream) loadSourcesLocked() {
	o := &st.org
	rec, err := decodeSourcesRecord(st.store.Aux(sourcesKey))
	if err != nil {
		st.js.host.Warnf("JetStream stream '%s': sources progress record unreadable, reading the stream instead: %v", st.name, err)
		rec = sourcesRecord{}
	}
	if rec.Sources == nil && len(st.config().Sources) == 0 {
		return
	}
	o.book = rec.Sources
	if o.book == nil {
		o.book = make(map[string]sourceProgress)
	}
	for seq := rec.DSeq + 1; seq <= st.lseq; seq++ {
		sm, err := st.store.LoadNextMsg(">", seq, &st.sm)
		if err != nil || sm.Seq > st.lseq {
			break
		}
		seq = sm.Seq
		key, oseq, ident, ok := parseSourceHeader(headerValue(sm.Header, jsapi.HdrStreamSource))
		if !ok {
			continue
		}
		if p := o.book[key]; oseq > p.Seq || (ident != "" && ident != p.Ident) {
			o.book[key] = sourceProgress{Seq: oseq, Ident: ident}
			o.dirty++
		}
	}
	o.savedAt = time.Now()
}

// decodeSourcesRecord reads the sources record (nil or empty: none).
func decodeSourcesRecord(raw []byte) (sourcesRecord, error) {
	var rec sourcesRecord
	if len(raw) == 0 {
		return rec, nil
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return sourcesRecord{}, fmt.Errorf("decode sources record: %w", err)
	}
	return rec, nil
}

// sourcedHeader builds a copy's header block into buf: the origin's header
// lines without Nats-Stream-Source (a chained copy names only its last
// hop), Nats-Expected-* (checked at the origin) and Nats-Batch-* (batches
// do not travel), then Nats-Stream-Source.
func sourcedHeader(buf, hdr []byte, origin string, seq uint64, parts, subject, ident string) []byte {
	buf = append(buf[:0], hdrLine...)
	if i := bytes.Index(hdr, []byte("\r\n")); i >= 0 {
		rest := hdr[i+2:]
		for {
			j := bytes.Index(rest, []byte("\r\n"))
			if j <= 0 {
				break // the blank line, or a block without one
			}
			line := rest[:j]
			rest = rest[j+2:]
			if !droppedFromCopy(line) {
				buf = append(buf, line...)
				buf = append(buf, "\r\n"...)
			}
		}
	}
	buf = append(buf, jsapi.HdrStreamSource...)
	buf = append(buf, ": "...)
	buf = append(buf, origin...)
	buf = append(buf, ' ')
	buf = strconv.AppendUint(buf, seq, 10)
	buf = append(buf, ' ')
	buf = append(buf, parts...)
	buf = append(buf, ' ')
	buf = append(buf, subject...)
	if ident != "" {
		buf = append(buf, ' ')
		buf = append(buf, ident...)
	}
	return append(buf, "\r\n\r\n"...)
}

func droppedFromCopy(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return false
	}
	key := bstr(line[:colon])
	return key == jsapi.HdrStreamSource || strings.HasPrefix(key, "Nats-Expected-") || strings.HasPrefix(key, "Nats-Batch-")
}

// parseSourceHeader reads a Nats-Stream-Source value back: the progress
// key of the source, the origin sequence and the origin's identity.
func parseSourceHeader(v []byte) (key string, seq uint64, ident string, ok bool) {
	// Fields are separated by single spaces; a field may hold form feeds.
	f := strings.Split(string(v), " ")
	if len(f) < 5 {
		return "", 0, "", false
	}
	seq, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil || seq == 0 {
		return "", 0, "", false
	}
	if len(f) >= 6 {
		ident = f[5]
	}
	return f[0] + " " + f[2] + " " + f[3], seq, ident, true
}
