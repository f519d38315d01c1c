package jetstream

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Mirrors and sources on the same server.
//
// A stream with a mirror or sources runs one originReader per origin
// stream (mirror.go, source.go): a goroutine that reads the origin's
// engine store directly — the origin lives in this process, so no
// consumer is involved — and feeds the destination through storeMirrored
// or storeSourced, the apply path of publishes. An origin wakes its
// readers after every command it applies and when it stops
// (stream.watchers), so following live publishes costs no polling; a
// reader whose origin does not exist waits for JetStream to report a
// change in the set of streams (originHub) and reports "stream not found"
// meanwhile, as the reference does.
//
// Progress. A mirror stores every message at its origin's sequence, so its
// own last sequence is where it resumes. A source's progress (the last
// origin sequence copied and the origin's identity) moves under the
// destination's lock together with the store, is checkpointed at most once
// a second into the destination's aux record sourcesKey together with the
// destination sequence it covers (source.go), and is refined at start from
// the Nats-Stream-Source headers of the messages stored after that
// checkpoint. The engine applies a stream's commands in order and recovers
// a prefix of them, so after any crash the pair is exact: nothing is copied
// twice, nothing skipped.
//
// Durability. A reader may copy a message before the origin's command is
// fsynced: file streams share the engine's one WAL, written in order, so a
// copy never survives a crash that loses its original.

// originHeartbeat is how often an idle reader confirms its origin (the
// "active" of its info) and checkpoints a source's progress.
const originHeartbeat = time.Second

// lagEvery is how often (in messages) a catching-up reader refreshes its
// lag; an idle one does at every wake-up.
const lagEvery = 1024

// Retry delays after the destination refused a message (discard new,
// account limits): the copy resumes when room is made.
const (
	originRetryMin = 50 * time.Millisecond
	originRetryMax = 5 * time.Second
)

// originHub wakes the readers waiting for their origin to be created.
type originHub struct {
	mu      sync.Mutex
	changed chan struct{}
}

// changes returns a channel closed at the next change of the set of
// streams. Take it before looking the origin up, so no change is missed.
func (h *originHub) changes() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	return h.changed
}

// streamsChanged is called when a stream is installed or removed.
func (h *originHub) streamsChanged() {
	h.mu.Lock()
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
	h.mu.Unlock()
}

// watch registers ch to be woken after the stream's next command and when
// it stops; false when it has stopped already.
func (st *stream) watch(ch chan struct{}) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return false
	}
	st.watchers = append(st.watchers, ch)
	return true
}

func (st *stream) unwatch(ch chan struct{}) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, w := range st.watchers {
		if w == ch {
			st.watchers = append(st.watchers[:i], st.watchers[i+1:]...)
			return
		}
	}
}

// wakeWatchersLocked signals every watcher without blocking: a watcher
// with a pending signal reads everything new when it gets to it.
func (st *stream) wakeWatchersLocked() {
	for _, w := range st.watchers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (st *stream) isClosed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.closed
}

func (st *stream) lastSeq() uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lseq
}

// identity tells incarnations of a stream name apart: a hash of its
// creation time, computed as the reference does (so a Nats-Stream-Source
// header reads the same from either server). It is stable across restarts.
func (st *stream) identity() string { return streamIdentity(st.created) }

func streamIdentity(created time.Time) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(created.UTC().Format(time.RFC3339Nano)))
	var b [8]byte
	for i := range b {
		b[i] = digits[sum[i]%byte(len(digits))]
	}
	return string(b[:])
}

// originSpec is a mirror or source configuration compiled for reading.
type originSpec struct {
	mirror bool
	src    jsapi.StreamSource
	// key names a source's progress: the reference's index name
	// "<stream> <filters> <destinations>" (filters and destinations joined
	// by form feeds, ">" for none). The mirror's is mirrorKey.
	key string
	// filters are the origin subjects read (nil: all); trs their
	// transforms, nil where the subject is kept.
	filters []string
	trs     []*subjectTransform
	// hdrParts is "<filters> <destinations>" of the Nats-Stream-Source header.
	hdrParts string
}

const mirrorKey = ""

func compileOrigin(src *jsapi.StreamSource, mirror bool) (*originSpec, error) {
	sp := &originSpec{mirror: mirror, src: *src}
	if len(src.SubjectTransforms) == 0 {
		if f := src.FilterSubject; f != "" && f != ">" {
			sp.filters, sp.trs = []string{f}, []*subjectTransform{nil}
		}
	} else {
		for _, t := range src.SubjectTransforms {
			tr, err := newSubjectTransform(t.Source, t.Destination)
			if err != nil {
				return nil, fmt.Errorf("transform %s -> %s: %w", t.Source, t.Destination, err)
			}
			f := t.Source
			if f == "" {
				f = ">"
			}
			sp.filters, sp.trs = append(sp.filters, f), append(sp.trs, tr)
		}
		if len(sp.filters) == 1 && sp.filters[0] == ">" {
			sp.filters = nil // everything: no filtered reads
		}
	}
	sp.hdrParts = originParts(src)
	sp.key = mirrorKey
	if !mirror {
		sp.key = sourceKey(src)
	}
	return sp, nil
}

// originParts is "<filters> <destinations>" as the reference writes them
// in an index name and a Nats-Stream-Source header.
func originParts(src *jsapi.StreamSource) string {
	if len(src.SubjectTransforms) == 0 {
		f := src.FilterSubject
		if f == "" {
			f = ">"
		}
		return f + " >"
	}
	var b strings.Builder
	for i, t := range src.SubjectTransforms {
		if i > 0 {
			b.WriteByte('\f')
		}
		b.WriteString(cmp.Or(t.Source, ">"))
	}
	b.WriteByte(' ')
	for i, t := range src.SubjectTransforms {
		if i > 0 {
			b.WriteByte('\f')
		}
		b.WriteString(cmp.Or(t.Destination, ">"))
	}
	return b.String()
}

// sourceKey is the progress key of a source.
func sourceKey(src *jsapi.StreamSource) string { return src.Name + " " + originParts(src) }

// transform returns the subject a copied message is stored under: the
// first transform whose source matches, or the subject unchanged.
func (sp *originSpec) transform(subject string) string {
	for _, tr := range sp.trs {
		if tr == nil {
			continue
		}
		if s, ok := tr.apply(subject); ok {
			return s
		}
	}
	return subject
}

// originSet is a destination stream's readers. mu guards readers; book,
// dirty and savedAt (the sources' progress, source.go) are guarded by the
// stream's mu, as they move with its data.
type originSet struct {
	mu      sync.Mutex
	readers map[string]*originReader

	book    map[string]sourceProgress
	dirty   int
	savedAt time.Time
}

// syncOrigins starts and stops readers so that they match cfg: at start,
// and after an update (sources added or removed, a mirror removed).
func (st *stream) syncOrigins(cfg *jsapi.StreamConfig) {
	want := make(map[string]*originSpec, len(cfg.Sources)+1)
	add := func(src *jsapi.StreamSource, mirror bool) {
		if src == nil || src.External != nil || src.Consumer != nil {
			return // refused by the configuration checks (see features.go)
		}
		sp, err := compileOrigin(src, mirror)
		if err != nil {
			st.js.host.Errorf("JetStream stream '%s': origin %s: %v", st.name, src.Name, err)
			return
		}
		want[sp.key] = sp
	}
	add(cfg.Mirror, true)
	for _, src := range cfg.Sources {
		add(src, false)
	}
	if st.isClosed() {
		return
	}

	o := &st.org
	o.mu.Lock()
	var stop, start []*originReader
	for k, r := range o.readers {
		if sp, ok := want[k]; !ok || !reflect.DeepEqual(sp.src, r.spec.src) {
			stop = append(stop, r)
			delete(o.readers, k)
		}
	}
	if o.readers == nil {
		o.readers = make(map[string]*originReader, len(want))
	}
	for k, sp := range want {
		if _, ok := o.readers[k]; !ok {
			r := newOriginReader(st, sp)
			o.readers[k] = r
			start = append(start, r)
		}
	}
	o.mu.Unlock()

	for _, r := range stop {
		r.stop()
	}
	if len(stop) > 0 {
		st.mu.Lock()
		st.forgetSourcesLocked(want)
		st.mu.Unlock()
	}
	for _, r := range start {
		go r.run()
	}
}

// stopAll stops every reader and waits for them.
func (o *originSet) stopAll() {
	o.mu.Lock()
	readers := o.readers
	o.readers = nil
	o.mu.Unlock()
	for _, r := range readers {
		r.stop()
	}
}

func (o *originSet) reader(key string) *originReader {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.readers[key]
}

// originReader copies one origin stream into its destination.
type originReader struct {
	st   *stream // the destination
	spec *originSpec
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	// What the stream info reports.
	last atomic.Int64 // unix nanoseconds of the last contact with the origin; 0 never
	lag  atomic.Uint64
	err  atomic.Pointer[jsapi.ApiError]

	// Used by the reader's goroutine only.
	ident    string                // the origin's identity (sources)
	dsubs    []*server.InternalSub // a mirror's subscriptions to its origin's direct gets
	heads    []lookahead
	hbuf     []byte
	retry    time.Duration
	warnedAt time.Time
}

// lookahead is the next message of one filter of a source with several.
type lookahead struct {
	sm   blockstore.StoreMsg
	have bool
}

func newOriginReader(st *stream, sp *originSpec) *originReader {
	return &originReader{st: st, spec: sp, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

func (r *originReader) stop() {
	close(r.quit)
	<-r.done
}

func (r *originReader) quitting() bool {
	select {
	case <-r.quit:
		return true
	default:
		return false
	}
}

func (r *originReader) touch() { r.last.Store(time.Now().UnixNano()) }

func (r *originReader) run() {
	defer close(r.done)
	defer r.dropMirrorDirect()
	for {
		o := r.awaitOrigin()
		if o == nil {
			return
		}
		r.follow(o)
		if r.quitting() {
			return
		}
	}
}

// awaitOrigin returns the origin stream once it exists (nil on stop).
func (r *originReader) awaitOrigin() *stream {
	js := r.st.js
	for {
		changed := js.origins.changes()
		if o, ok := js.lookup(r.spec.src.Name); ok && o != r.st && !o.isClosed() {
			return o
		}
		r.err.Store(jsapi.ErrStreamNotFound())
		r.lag.Store(0)
		select {
		case <-changed:
		case <-r.quit:
			return nil
		}
	}
}

// deliverResult says what became of a message offered to the destination.
type deliverResult int

const (
	delivered   deliverResult = iota // stored, or passed over for good
	retryLater                       // refused for now: offer it again after a pause
	stopReading                      // the destination has stopped
)

// follow copies from o until it stops (deleted) or the reader does.
func (r *originReader) follow(o *stream) {
	if !o.watch(r.wake) {
		return
	}
	defer o.unwatch(r.wake)
	r.err.Store(nil)
	r.touch()
	var next uint64
	if r.spec.mirror {
		next = r.resumeMirror(o)
	} else {
		next = r.resumeSource(o)
	}
	r.heads = r.heads[:0]
	r.noteLag(r.pending(o, next))
	hb := time.NewTicker(originHeartbeat)
	defer hb.Stop()
	for {
		for n := 1; !r.quitting(); n++ {
			m, ok := r.loadNext(o, next)
			if !ok {
				break
			}
			if n%lagEvery == 0 {
				r.noteLag(r.pending(o, m.Seq))
			}
			var res deliverResult
			if r.spec.mirror {
				res = r.deliverMirror(m)
			} else {
				res = r.deliverSource(m)
			}
			switch res {
			case delivered:
				next = m.Seq + 1
				r.retry = 0
				r.touch()
			case retryLater:
				if !r.pause() {
					return
				}
			case stopReading:
				return
			}
		}
		r.noteLag(r.pending(o, next))
		select {
		case <-r.wake:
		case <-hb.C:
			r.touch()
			if !r.spec.mirror {
				r.st.checkpointSources()
			}
		case <-r.quit:
			return
		}
		if o.isClosed() {
			return
		}
	}
}

// noteLag records how far behind the origin the copy is.
func (r *originReader) noteLag(pending uint64) {
	r.lag.Store(pending)
	if r.spec.mirror {
		r.mirrorDirect(pending)
	}
}

// pause waits before offering a refused message again; false on stop.
func (r *originReader) pause() bool {
	r.retry = min(max(2*r.retry, originRetryMin), originRetryMax)
	t := time.NewTimer(r.retry)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.quit:
		return false
	}
}

// warn logs a problem with the copy at most every few seconds.
func (r *originReader) warn(format string, args ...any) {
	if time.Since(r.warnedAt) < 5*time.Second {
		return
	}
	r.warnedAt = time.Now()
	r.st.js.host.Warnf(format, args...)
}

// startSeq is where reading starts without progress: opt_start_seq,
// opt_start_time, or the beginning.
func (r *originReader) startSeq(o *stream) uint64 {
	switch src := &r.spec.src; {
	case src.OptStartSeq > 0:
		return src.OptStartSeq
	case src.OptStartTime != nil:
		return o.store.SeqForTime(*src.OptStartTime)
	}
	return 1
}

// loadNext returns the first message at or after next that the origin
// spec reads. With several filters each keeps its next message, so a
// message is loaded once whatever the number of filters.
func (r *originReader) loadNext(o *stream, next uint64) (*blockstore.StoreMsg, bool) {
	if len(r.spec.filters) <= 1 {
		filter := ">"
		if len(r.spec.filters) == 1 {
			filter = r.spec.filters[0]
		}
		if len(r.heads) == 0 {
			r.heads = make([]lookahead, 1)
		}
		m, err := o.store.LoadNextMsg(filter, next, &r.heads[0].sm)
		return m, err == nil
	}
	if len(r.heads) != len(r.spec.filters) {
		r.heads = make([]lookahead, len(r.spec.filters))
	}
	best := -1
	for i := range r.heads {
		h := &r.heads[i]
		if !h.have || h.sm.Seq < next {
			_, err := o.store.LoadNextMsg(r.spec.filters[i], next, &h.sm)
			h.have = err == nil
		}
		if h.have && (best < 0 || h.sm.Seq < r.heads[best].sm.Seq) {
			best = i
		}
	}
	if best < 0 {
		return nil, false
	}
	return &r.heads[best].sm, true
}

// pending counts the origin's messages at or after next that the spec
// reads: the lag.
func (r *originReader) pending(o *stream, next uint64) uint64 {
	if len(r.spec.filters) == 0 {
		return o.store.NumPending(next, ">", false)
	}
	var n uint64
	for _, f := range r.spec.filters {
		n += o.store.NumPending(next, f, false)
	}
	return n
}

// fill completes the info of the origin with what the reader knows.
func (r *originReader) fill(si *jsapi.StreamSourceInfo) {
	si.Lag = r.lag.Load()
	if last := r.last.Load(); last > 0 {
		si.Active = time.Since(time.Unix(0, last))
	}
	if err := r.err.Load(); err != nil {
		e := *err
		si.Error = &e
	}
}

// originsInfo reports the mirror and the sources as the stream info shows
// them: what each reads, its lag, when it was last active, its error, and
// for a source the last origin sequence copied.
func (st *stream) originsInfo() (*jsapi.StreamSourceInfo, []*jsapi.StreamSourceInfo) {
	cfg := st.config()
	var mirror *jsapi.StreamSourceInfo
	if cfg.Mirror != nil {
		mirror = jsapi.NewStreamSourceInfo(cfg.Mirror)
		if r := st.org.reader(mirrorKey); r != nil {
			r.fill(mirror)
		}
	}
	if len(cfg.Sources) == 0 {
		return mirror, nil
	}
	sources := make([]*jsapi.StreamSourceInfo, 0, len(cfg.Sources))
	for _, src := range cfg.Sources {
		si := jsapi.NewStreamSourceInfo(src)
		key := sourceKey(src)
		if r := st.org.reader(key); r != nil {
			r.fill(si)
		}
		st.mu.Lock()
		si.Seq = st.org.book[key].Seq
		st.mu.Unlock()
		sources = append(sources, si)
	}
	return mirror, sources
}

// errorsIsClosed reports the destination having stopped under a copy.
func errorsIsClosed(err error) bool {
	return errors.Is(err, errStreamClosed) || errors.Is(err, blockstore.ErrClosed)
}
