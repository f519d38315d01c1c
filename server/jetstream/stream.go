package jetstream

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// stream is one JetStream stream: an engine stream plus its configuration,
// subscriptions, duplicate window and pending acks.
//
// Locking: mu serializes every change to the engine stream (publishes,
// purges, deletes, expiry, configuration), so that the stream's own view
// (last sequence, last msg id, duplicate window) moves in step with the
// engine's. Reads of messages and state go to the engine directly, which
// has its own read lock. mu is never held while publishing a message (a
// reply or a republish may be delivered to another stream's callback).
// Lock order: mu, then acks.mu, then durability.mu.
type stream struct {
	js      *JetStream
	name    string
	store   blockstore.Stream
	storage jsapi.StorageType
	created time.Time

	cfg atomic.Pointer[jsapi.StreamConfig] // replaced whole on update

	mu      sync.Mutex
	lseq    uint64 // last sequence assigned (stored or skipped)
	lmsgID  []byte // Nats-Msg-Id of the last stored message
	dedup   *dedupWindow
	itr     *subjectTransform // subject_transform
	rpub    *subjectTransform // republish
	cmd     blockstore.Command
	sm      blockstore.StoreMsg // scratch for loads under mu
	exp     expiry
	closed  bool
	subs    []*server.InternalSub
	dsubs   []*server.InternalSub // direct get
	removed []removal             // collected during an expiry (delete markers)
	collect bool
	markers map[uint64]struct{} // sequences of delete markers written by this stream
	atomic  map[string]*atomicBatch
	fast    map[string]*fastBatch
	sched   *scheduler // with allow_msg_schedules

	// Interest, when set by the consumer layer, says whether a message on
	// subject has a consumer to go to; interest-retention streams store
	// nothing for which there is none. Nil means no consumers.
	interest func(subject string) bool

	acks         ackQueue
	pubAckPrefix []byte
	bytes        atomic.Int64 // last known stored bytes (usage accounting)

	// watchers are woken (without blocking) after every command applied
	// to the stream and when it stops: the readers of the mirrors and
	// sources that copy from it (origins.go). Guarded by mu.
	watchers []chan struct{}
	// org runs this stream's own mirror or sources (origins.go).
	org originSet
}

type removal struct {
	seq  uint64
	subj string
}

// storedStream is the aux record that keeps a stream's JetStream
// configuration in the engine (key streamConfigKey), so that a restart
// finds every stream again from the engine alone.
type storedStream struct {
	Config  jsapi.StreamConfig `json:"config"`
	Created time.Time          `json:"created"`
}

const streamConfigKey = "jetstream.stream"

// Config returns the stream's configuration (do not modify it).
func (st *stream) config() *jsapi.StreamConfig { return st.cfg.Load() }

// engineConfig is the part of a stream configuration the engine enforces.
func engineConfig(c *jsapi.StreamConfig) blockstore.Config {
	ec := blockstore.Config{
		Name:                 c.Name,
		MaxMsgs:              c.MaxMsgs,
		MaxBytes:             c.MaxBytes,
		MaxAge:               c.MaxAge,
		MaxMsgsPerSubject:    c.MaxMsgsPerSubject,
		MaxMsgSize:           c.MaxMsgSize,
		DiscardNewPerSubject: c.DiscardNewPerSubject,
		AllowMsgTTL:          c.AllowMsgTTL,
		FirstSeq:             c.FirstSeq,
	}
	if c.Storage == jsapi.MemoryStorage {
		ec.Storage = blockstore.MemoryStorage
	}
	if c.Discard == jsapi.DiscardNew {
		ec.Discard = blockstore.DiscardNew
	}
	if c.Compression == jsapi.S2Compression {
		ec.Compression = blockstore.S2Compression
	}
	return ec
}

// newStream wraps an engine stream; start makes it live.
func newStream(js *JetStream, cfg *jsapi.StreamConfig, store blockstore.Stream, created time.Time) *stream {
	st := &stream{js: js, name: cfg.Name, store: store, storage: cfg.Storage, created: created}
	st.cfg.Store(cfg)
	st.pubAckPrefix = jsapi.PubAckPrefix(cfg.Name, js.cfg.Domain)
	st.dedup = newDedupWindow(int64(cfg.DuplicateWindow), &dedupTotal)
	st.exp.st = st
	store.OnRemove(st.onRemove)
	return st
}

// dedupTotal counts the ids held by every stream's duplicate window, for
// the server-wide bound.
var dedupTotal atomic.Int64

// start rebuilds the in-memory state from the store (last sequence, last
// msg id, duplicate window, delete markers), subscribes, and arms expiry.
func (st *stream) start() error {
	cfg := st.config()
	st.mu.Lock()
	if err := st.applyConfigLocked(cfg); err != nil {
		st.mu.Unlock()
		return err
	}
	state := st.store.State()
	st.lseq = state.LastSeq
	st.bytes.Store(int64(state.Bytes))
	st.js.addUsage(st.storage, int64(state.Bytes))
	st.rebuildDedupLocked(state)
	st.rebuildMarkersLocked()
	st.rebuildSchedulesLocked()
	st.exp.armLocked(true)
	st.loadSourcesLocked()
	st.mu.Unlock()
	if err := st.subscribe(cfg); err != nil {
		return err
	}
	st.syncOrigins(cfg)
	return nil
}

// applyConfigLocked compiles what the configuration drives on the publish
// path. It does not touch subscriptions.
func (st *stream) applyConfigLocked(cfg *jsapi.StreamConfig) error {
	var err error
	st.itr = nil
	if t := cfg.SubjectTransform; t != nil && t.Destination != "" {
		if st.itr, err = newSubjectTransform(t.Source, t.Destination); err != nil {
			return fmt.Errorf("jetstream: stream %s: subject transform: %w", cfg.Name, err)
		}
	}
	st.rpub = nil
	if rp := cfg.RePublish; rp != nil && rp.Destination != "" {
		if st.rpub, err = newSubjectTransform(rp.Source, rp.Destination); err != nil {
			return fmt.Errorf("jetstream: stream %s: republish: %w", cfg.Name, err)
		}
	}
	if cfg.AllowMsgSchedules && st.sched == nil {
		st.sched = newScheduler()
	}
	if int64(cfg.DuplicateWindow) != st.dedup.window {
		st.dedup.window = int64(cfg.DuplicateWindow)
		if st.dedup.window <= 0 {
			st.dedup.reset()
		}
	}
	return nil
}

// subscribe listens on the stream's subjects and, with allow_direct, on
// the direct get subjects (in a queue group, so mirrors can share them).
func (st *stream) subscribe(cfg *jsapi.StreamConfig) error {
	h := st.js.host
	var subs, dsubs []*server.InternalSub
	fail := func(err error) error {
		for _, s := range append(subs, dsubs...) {
			h.UnsubscribeInternal(s)
		}
		return err
	}
	for _, subj := range cfg.Subjects {
		s, err := h.SubscribeInternal(subj, "", st.processInbound)
		if err != nil {
			return fail(fmt.Errorf("jetstream: stream %s: %w", cfg.Name, err))
		}
		subs = append(subs, s)
	}
	var direct []string
	if cfg.AllowDirect {
		direct = append(direct, cfg.Name)
	}
	// A mirror answers its origin's direct gets (mirror_direct) once it
	// has caught up: its reader subscribes then (mirror.go).
	for _, name := range direct {
		for _, pfx := range st.js.directPrefixes() {
			s1, err := h.SubscribeInternal(pfx+"."+name, directQueue, st.processDirectGet)
			if err != nil {
				return fail(fmt.Errorf("jetstream: stream %s: %w", cfg.Name, err))
			}
			dsubs = append(dsubs, s1)
			s2, err := h.SubscribeInternal(pfx+"."+name+".>", directQueue, st.processDirectGetLastBySubject)
			if err != nil {
				return fail(fmt.Errorf("jetstream: stream %s: %w", cfg.Name, err))
			}
			dsubs = append(dsubs, s2)
		}
	}
	st.mu.Lock()
	old := append(st.subs, st.dsubs...)
	st.subs, st.dsubs = subs, dsubs
	st.mu.Unlock()
	for _, s := range old {
		h.UnsubscribeInternal(s)
	}
	return nil
}

// directQueue is the queue group of direct get subscriptions.
const directQueue = "_dstrm"

// directPrefixes are the subjects direct gets arrive on, before
// ".<stream>": the local API and, with a domain, the domain's.
func (js *JetStream) directPrefixes() []string {
	p := []string{jsapi.APIDirectGetPrefix}
	if js.cfg.Domain != "" {
		p = append(p, "$JS."+js.cfg.Domain+".API.DIRECT.GET")
	}
	return p
}

// stop unsubscribes and stops timers; the store stays open.
func (st *stream) stop() {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	// Record where the sources are before anything else can be stored.
	st.saveSourcesLocked(true)
	st.closed = true
	st.wakeWatchersLocked()
	subs := append(st.subs, st.dsubs...)
	st.subs, st.dsubs = nil, nil
	st.exp.stopLocked()
	st.dedup.reset()
	for _, b := range st.atomic {
		st.dropAtomicLocked(b)
	}
	for _, b := range st.fast {
		st.dropFastLocked(b)
	}
	if st.sched != nil {
		st.sched.stop()
	}
	st.mu.Unlock()
	for _, s := range subs {
		st.js.host.UnsubscribeInternal(s)
	}
	st.org.stopAll()
}

// onRemove is the engine's removal callback; it runs inside Apply, so
// under st.mu. During an expiry it collects what was removed, for the
// delete markers.
func (st *stream) onRemove(seq uint64, subj string) {
	if st.collect && subj != "" {
		st.removed = append(st.removed, removal{seq: seq, subj: strings.Clone(subj)})
	}
}

// applyLocked applies a command built in st.cmd. Caller holds st.mu.
func (st *stream) applyLocked() (blockstore.Result, error) {
	r, err := st.store.Apply(&st.cmd)
	st.cmd = blockstore.Command{}
	if err == nil && len(st.watchers) > 0 {
		st.wakeWatchersLocked()
	}
	return r, err
}

// apply applies one non-publish command (purge, delete, config) and
// returns its result after refreshing the stream's own view.
func (st *stream) apply(cmd blockstore.Command) (blockstore.Result, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return blockstore.Result{}, errStreamClosed
	}
	st.cmd = cmd
	r, err := st.applyLocked()
	if err != nil {
		return r, err
	}
	st.afterChangeLocked()
	return r, nil
}

// afterChangeLocked follows a command that may have moved the last
// sequence (a purge past the end) or removed messages.
func (st *stream) afterChangeLocked() {
	if last := st.store.State().LastSeq; last > st.lseq {
		st.lseq = last
	}
	st.refreshUsage()
	st.exp.armLocked(true)
}

// refreshUsage resynchronizes the stream's byte count (and the server's
// totals) with the engine.
func (st *stream) refreshUsage() {
	b := int64(st.store.State().Bytes)
	old := st.bytes.Swap(b)
	st.js.addUsage(st.storage, b-old)
}

var errStreamClosed = fmt.Errorf("jetstream: stream closed")

// info builds the StreamInfo of a response. withDeleted lists interior
// deletes.
func (st *stream) info(withDeleted bool) *jsapi.StreamInfo {
	cfg := *st.config()
	info := &jsapi.StreamInfo{
		Config:    jsapi.WithDynamicStreamMetadata(cfg, st.js.cfg.ServerVersion, st.js.APILevel()),
		Created:   st.created.UTC(),
		State:     st.state(withDeleted),
		TimeStamp: time.Now().UTC(),
	}
	info.Mirror, info.Sources = st.originsInfo()
	return info
}

// state converts the engine's state into the API's.
func (st *stream) state(withDeleted bool) jsapi.StreamState {
	var s blockstore.State
	if withDeleted {
		s = st.store.StateWithDeleted()
	} else {
		s = st.store.State()
	}
	out := jsapi.StreamState{
		Msgs: s.Msgs, Bytes: s.Bytes, FirstSeq: s.FirstSeq, LastSeq: s.LastSeq,
		NumSubjects: s.NumSubjects, NumDeleted: s.NumDeleted, Consumers: st.numConsumers(),
	}
	if !s.FirstTime.IsZero() {
		out.FirstTime = s.FirstTime.UTC()
	}
	if !s.LastTime.IsZero() {
		out.LastTime = s.LastTime.UTC()
	}
	if withDeleted && len(s.Deleted) > 0 {
		out.Deleted = s.Deleted
	}
	if s.Msgs == 0 {
		// An empty stream reports its next sequence as first_seq (0 while
		// it has never had one), and no first time.
		out.FirstTime = time.Time{}
		if s.LastSeq == 0 {
			out.FirstSeq = 0
		}
	}
	if lost := st.js.lostFor(st.name); lost != nil {
		out.Lost = lost
	}
	return out
}

// numConsumers is filled by the consumer layer (none yet).
func (st *stream) numConsumers() int { return 0 }

func sortStreams(s []*stream) {
	slices.SortFunc(s, func(a, b *stream) int { return strings.Compare(a.name, b.name) })
}

// lostFor reports messages of stream name the engine found damaged.
func (js *JetStream) lostFor(name string) *jsapi.LostStreamData {
	if js.engine == nil {
		return nil
	}
	var lost *jsapi.LostStreamData
	for _, d := range js.engine.Damaged() {
		if d.Stream != name || d.Seq == 0 {
			continue
		}
		if lost == nil {
			lost = &jsapi.LostStreamData{}
		}
		lost.Msgs = append(lost.Msgs, d.Seq)
	}
	return lost
}
