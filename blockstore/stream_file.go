package blockstore

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/index"
)

// fileStream is a Stream kept in block files behind the engine's WAL.
type fileStream struct {
	e   *Engine
	id  uint64
	dir string

	mu     sync.RWMutex
	c      *core
	be     *fileBackend
	closed bool
	enc    []byte // command encoding scratch
	sub    []byte // a batch's command encoding scratch
	// extFiles are the block files holding large messages of the record
	// being logged: synced before it counts as durable.
	extFiles []*syncFile

	// WAL bookkeeping: the WAL index of the last command applied, and of
	// the first one applied since the last checkpoint captured this stream
	// (0: none), which holds back the WAL's truncation.
	walLast      uint64
	walUncovered uint64
	dirty        bool // changed since the last checkpoint
	indexDirty   bool // changed since the last index checkpoint
	forceIndex   bool // the next checkpoint writes the index (after a compaction)
	// committedActive is the active block id of the last state file known
	// durable: compaction stays below it.
	committedActive uint64
	committedFirst  uint64 // and its first sequence
	stateGen        uint64
	// indexSeq numbers the index checkpoints encoded, indexWritten is the
	// last one known on disk, lastIndex when it was encoded.
	indexSeq     uint64
	indexWritten uint64
	lastIndex    time.Time
	epoch        uint64 // bumped by truncation: older index checkpoints no longer apply

	replaying bool // applying WAL records at open: nothing goes to the WAL
	restoring bool // filling from a snapshot: nothing goes to the WAL

	eraseRequested bool      // an erase happened: the next checkpoint empties the WAL
	pendingErase   []erasure // records to overwrite after the next checkpoint
	snapshots      int       // snapshots in progress: files are not rewritten or removed
	deferredErase  []erasure // erasures waiting for snapshots to end

	// damageFound says that messages the stream counts were found lost to
	// damage and must be absorbed (damage.go). Readers set it under the
	// shared lock.
	damageFound atomic.Bool
}

type erasure struct {
	block *fblock
	seq   uint64
}

func newFileStream(e *Engine, id uint64, dir string, cfg Config) *fileStream {
	s := &fileStream{e: e, id: id, dir: dir}
	s.be = &fileBackend{s: s, nextID: 1, deleted: new(index.SeqSet)}
	s.c = newCore(cfg, s.be)
	s.c.settle = s.absorbDamage
	s.be.lastSeq, s.be.first = s.c.last, s.c.first
	return s
}

func (s *fileStream) failed() error {
	if s.be.werr != nil {
		return fmt.Errorf("blockstore: stream %s stopped after a write error: %w", s.c.cfg.Name, s.be.werr)
	}
	return nil
}

// Apply validates cmd, applies it and appends it to the WAL. The result's
// ticket is the WAL index: durable once the engine's watermark passes it.
func (s *fileStream) Apply(cmd *Command) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Result{}, ErrClosed
	}
	if err := s.failed(); err != nil {
		return Result{}, err
	}
	s.absorbDamage() // found by a reader meanwhile: check against exact counts
	if err := s.c.check(cmd); err != nil {
		return Result{}, err
	}
	s.be.ext = nil
	r := s.c.apply(cmd)
	if s.replaying || s.restoring {
		s.dirty, s.indexDirty = true, true
		return r, nil
	}
	// The WAL record carries what the command resolved (its sequence and
	// index), so replaying it gives the same result.
	wc := *cmd
	switch cmd.Op {
	case OpStore, OpSkip:
		wc.Seq = r.Seq
	}
	s.enc = encodeCommand(s.enc[:0], s.id, s.c.applied, &wc, s.be.ext)
	s.extFiles = s.extFiles[:0]
	if s.be.ext != nil {
		s.extFiles = append(s.extFiles, s.be.extFile)
	}
	idx, err := s.logRecord(s.expires(cmd))
	if err != nil {
		return r, err
	}
	r.Ticket = Ticket(idx)
	return r, nil
}

// expires reports whether cmd stores a message that can expire.
func (s *fileStream) expires(cmd *Command) bool {
	return cmd.Op == OpStore && (s.c.cfg.MaxAge > 0 || (cmd.TTL > 0 && s.c.cfg.AllowMsgTTL))
}

// logRecord appends the record in s.enc to the WAL (registering the block
// files of large messages in s.extFiles for syncing) and does the stream's
// bookkeeping; expires says whether to wake the expiry loop.
func (s *fileStream) logRecord(expires bool) (uint64, error) {
	var idx uint64
	var err error
	if len(s.extFiles) > 0 {
		idx, err = s.e.dur.appendLarge(s.enc, s.extFiles...)
	} else {
		idx, err = s.e.wal.Append(s.enc)
	}
	if err != nil {
		// The command is applied in memory but not logged: stop the stream
		// rather than diverge from what a restart would recover.
		s.be.fail(fmt.Errorf("blockstore: stream %s: wal append: %w", s.c.cfg.Name, err))
		return 0, s.failed()
	}
	s.walLast = idx
	if s.walUncovered == 0 {
		s.walUncovered = idx
	}
	s.dirty, s.indexDirty = true, true
	if n := s.e.walBytes.Add(int64(len(s.enc))); n > s.e.opts.CheckpointBytes || s.eraseRequested {
		signal(s.e.kick)
	}
	if s.e.opts.AutoExpire && expires {
		signal(s.e.expireKick)
	}
	return idx, nil
}

// ApplyBatch applies cmds all or none (see batch.go): checked as a whole,
// applied under one hold of the lock, logged as one WAL record.
func (s *fileStream) ApplyBatch(cmds []*Command) ([]Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := s.failed(); err != nil {
		return nil, err
	}
	s.absorbDamage()
	if err := s.c.checkBatch(cmds); err != nil {
		return nil, err
	}
	rs := make([]Result, len(cmds))
	s.enc = appendBatchHead(s.enc[:0], s.id, len(cmds))
	s.extFiles = s.extFiles[:0]
	s.be.ext = nil
	expires := false
	s.c.applyBatch(cmds, rs, func(i int, cmd *Command, r Result) {
		wc := *cmd
		if cmd.Op == OpStore {
			wc.Seq = r.Seq
		}
		s.sub = encodeCommand(s.sub[:0], s.id, s.c.applied, &wc, s.be.ext)
		s.enc = appendBytes(s.enc, s.sub)
		if s.be.ext != nil && !slices.Contains(s.extFiles, s.be.extFile) {
			s.extFiles = append(s.extFiles, s.be.extFile)
		}
		s.be.ext = nil
		expires = expires || s.expires(cmd)
	})
	if s.replaying || s.restoring {
		s.dirty, s.indexDirty = true, true
		return rs, nil
	}
	idx, err := s.logRecord(expires)
	if err != nil {
		return rs, err
	}
	for i := range rs {
		rs[i].Ticket = Ticket(idx)
	}
	return rs, nil
}

func (s *fileStream) LastApplied() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.applied
}
func (s *fileStream) Config() Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.cfg
}

// The readers run under the shared lock. One that comes across damage
// the stream still counts (damage.go) has it absorbed and reads again, so
// that what it returns agrees with what can be read.

func (s *fileStream) LoadMsg(seq uint64, sm *StoreMsg) (*StoreMsg, error) {
	for again := true; ; again = false {
		s.mu.RLock()
		m, err := s.c.loadMsg(seq, sm)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return m, err
		}
	}
}

func (s *fileStream) LoadNextMsg(filter string, start uint64, sm *StoreMsg) (*StoreMsg, error) {
	for again := true; ; again = false {
		s.mu.RLock()
		m, err := s.c.loadNext(filter, start, sm)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return m, err
		}
	}
}

func (s *fileStream) LoadLastMsg(filter string, sm *StoreMsg) (*StoreMsg, error) {
	for again := true; ; again = false {
		s.mu.RLock()
		m, err := s.c.loadLast(filter, sm)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return m, err
		}
	}
}

func (s *fileStream) LoadPrevMsg(start uint64, sm *StoreMsg) (*StoreMsg, error) {
	for again := true; ; again = false {
		s.mu.RLock()
		m, err := s.c.loadPrev(start, sm)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return m, err
		}
	}
}

func (s *fileStream) SeqForTime(t time.Time) uint64 {
	for again := true; ; again = false {
		s.mu.RLock()
		seq := s.c.seqForTime(t)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return seq
		}
	}
}

func (s *fileStream) State() State { return s.state(false) }

func (s *fileStream) StateWithDeleted() State { return s.state(true) }

func (s *fileStream) state(withDeleted bool) State {
	for again := true; ; again = false {
		s.mu.RLock()
		st := s.c.state(withDeleted)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return st
		}
	}
}

func (s *fileStream) FilteredState(start uint64, filter string) SimpleState {
	for again := true; ; again = false {
		s.mu.RLock()
		st := s.c.filtered(start, filter)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return st
		}
	}
}

func (s *fileStream) SubjectsState(filter string) map[string]SubjectState {
	for again := true; ; again = false {
		s.mu.RLock()
		m := s.c.subjectsState(filter)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return m
		}
	}
}

func (s *fileStream) SubjectsTotals(filter string) map[string]uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.subjectsTotals(filter) // the index alone: reads no block
}

func (s *fileStream) NumPending(start uint64, filter string, lastPerSubject bool) uint64 {
	for again := true; ; again = false {
		s.mu.RLock()
		n := s.c.numPending(start, filter, lastPerSubject)
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return n
		}
	}
}

func (s *fileStream) Aux(key string) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if v, ok := s.c.aux[key]; ok {
		return append([]byte(nil), v...)
	}
	return nil
}

func (s *fileStream) AuxKeys(prefix string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return auxKeys(s.c.aux, prefix)
}

func (s *fileStream) OnRemove(fn RemoveFunc) {
	s.mu.Lock()
	s.c.onRemove = fn
	s.mu.Unlock()
}

func (s *fileStream) NextExpiry() time.Time {
	for again := true; ; again = false {
		s.mu.RLock()
		t := s.c.nextExpiry()
		s.mu.RUnlock()
		if !again || !s.settleShared() {
			return t
		}
	}
}

// Snapshot writes the stream as it is now. The active block's records go
// to its file first; then the files are read without the lock while
// writes go on. Until the snapshot ends no file it reads is rewritten,
// cut or removed, and erasures wait.
func (s *fileStream) Snapshot(w io.Writer) error {
	_, err := s.SnapshotWith(w, SnapshotOptions{})
	return err
}

// SnapshotWith is Snapshot with options (see SnapshotOptions); a check
// reads every block as a snapshot does and writes nothing.
func (s *fileStream) SnapshotWith(w io.Writer, o SnapshotOptions) (State, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return State{}, ErrClosed
	}
	if b := s.be.active; b != nil {
		s.be.flush(b)
	}
	if err := s.failed(); err != nil {
		s.mu.Unlock()
		return State{}, err
	}
	s.absorbDamage()
	type span struct {
		id, gen, first, last uint64
		size                 int64
	}
	blocks := make([]span, len(s.be.blocks))
	for i, b := range s.be.blocks {
		blocks[i] = span{b.id, b.fgen, b.first, b.last, b.size}
	}
	deleted := s.be.deleted.Clone()
	img := &snapImage{meta: s.c.meta(), aux: s.c.auxCopy(), state: s.c.state(false), sizeOf: s.c.sizeOf}
	first, last, name := s.c.first, s.c.last, s.c.cfg.Name
	s.snapshots++
	s.mu.Unlock()
	defer s.endSnapshot()
	filterAux(img.aux, o.ExcludeAux)

	// lost counts the messages the stream counts whose records turn out
	// damaged: left out (the snapshot's end frame counts what it holds),
	// and absorbed by the stream at its next command or read.
	lost := 0
	img.each = func(fn func(*StoreMsg) error) error {
		var sm StoreMsg
		for _, b := range blocks {
			bf, err := readBlockFile(filepath.Join(s.dir, blockName(b.id, b.gen)), s.e.key, s.id, b.id, b.size)
			if err != nil && !isDamage(err) {
				return err
			}
			if err != nil || len(bf.damaged) > 0 {
				hi := min(b.last, last)
				for q := max(b.first, first); q <= hi; q++ {
					n, ok := deleted.NextAbsent(q)
					if !ok || n > hi {
						break
					}
					if q = n; err != nil || bf.data.pos(q) < 0 {
						lost++
					}
				}
				if lost > 0 {
					s.damageFound.Store(true)
				}
				if err != nil {
					continue
				}
			}
			for _, q := range bf.data.seqs {
				if q < first || q > last || deleted.Contains(q) {
					continue
				}
				m, err := bf.data.fill(q, &sm)
				if err != nil {
					continue // scrubbed: erased after the snapshot began
				}
				if err := fn(m); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if o.CheckOnly {
		w = io.Discard
	}
	if err := writeSnapshot(w, img); err != nil {
		return img.snapState(), err
	}
	if o.CheckOnly && lost > 0 {
		s.settleShared() // report and absorb what the check found
		return img.snapState(), fmt.Errorf("blockstore: check %s: %d messages lost to damage: %w", name, lost, ErrCorrupt)
	}
	return img.snapState(), nil
}

func (s *fileStream) endSnapshot() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshots--
	if s.snapshots > 0 {
		return
	}
	for _, er := range s.deferredErase {
		s.be.eraseFile(er.block, er.seq)
	}
	s.deferredErase = nil
}

// Close checkpoints the stream and closes it. Engine.Stream opens it again.
func (s *fileStream) Close() error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil
	}
	err := s.e.checkpointStreams([]*fileStream{s}, true)
	s.e.mu.Lock()
	if cur, ok := s.e.streams[s.c.cfg.Name]; ok && cur == s {
		delete(s.e.streams, s.c.cfg.Name)
	}
	s.e.mu.Unlock()
	s.shutdown(true)
	return err
}

// shutdown releases the stream's files and memory.
func (s *fileStream) shutdown(sync bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if sync {
		s.be.closeFiles()
	} else {
		if b := s.be.active; b != nil {
			s.be.closeFile(b, false)
		}
		for _, f := range s.be.unsynced {
			f.close()
		}
		s.be.unsynced = nil
	}
	s.e.cache.dropStream(s.id)
}
