package blockstore

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// memMsg is one message of a memory stream. buf holds header then data.
type memMsg struct {
	subj    string
	buf     []byte
	hlen    int
	ts, ttl int64
}

// memBackend keeps messages in a slice ordered by sequence (sequences only
// grow), with a live bitmap over slice positions. Removed entries are
// compacted away once they are a third of the slice, so memory follows
// the live messages and skipped sequence ranges cost nothing.
type memBackend struct {
	seqs []uint64
	msgs []*memMsg
	live bitmap
	dead int
}

// pos is the slice position of seq, or the position where it would be.
func (b *memBackend) pos(seq uint64) int {
	return searchSeqs(b.seqs, seq)
}

func (b *memBackend) store(seq uint64, ts, ttl int64, subj string, hdr, data []byte) {
	// The subject is copied: callers may pass strings aliasing their
	// buffers, and loads hand this one out.
	m := &memMsg{subj: strings.Clone(subj), hlen: len(hdr), ts: ts, ttl: ttl}
	m.buf = make([]byte, 0, len(hdr)+len(data))
	m.buf = append(append(m.buf, hdr...), data...)
	b.live.set(uint64(len(b.seqs)))
	b.seqs = append(b.seqs, seq)
	b.msgs = append(b.msgs, m)
}

func (b *memBackend) load(seq uint64, sm *StoreMsg) (*StoreMsg, error) {
	i := b.pos(seq)
	if i == len(b.seqs) || b.seqs[i] != seq || !b.live.has(uint64(i)) {
		return nil, ErrDeleted
	}
	m := b.msgs[i]
	if sm == nil {
		sm = new(StoreMsg)
	}
	sm.Buf = append(sm.Buf[:0], m.buf...)
	sm.Subject = m.subj
	sm.Header = sm.Buf[:m.hlen:m.hlen]
	if m.hlen == 0 {
		sm.Header = nil
	}
	sm.Data = sm.Buf[m.hlen:]
	sm.Seq, sm.Time, sm.TTL = seq, m.ts, m.ttl
	return sm, nil
}

func (b *memBackend) subject(seq uint64) string {
	i := b.pos(seq)
	if i == len(b.seqs) || b.seqs[i] != seq || !b.live.has(uint64(i)) {
		return ""
	}
	return b.msgs[i].subj
}

func (b *memBackend) scan(from, to uint64, fn func(uint64, string) bool) {
	for i := b.live.next(uint64(b.pos(from))); i >= 0; i = b.live.next(uint64(i) + 1) {
		if b.seqs[i] > to || !fn(b.seqs[i], b.msgs[i].subj) {
			return
		}
	}
}

func (b *memBackend) peek(seq uint64, m *msgMeta) error {
	i := b.pos(seq)
	if i == len(b.seqs) || b.seqs[i] != seq || !b.live.has(uint64(i)) {
		return ErrDeleted
	}
	x := b.msgs[i]
	*m = msgMeta{seq: seq, subj: x.subj, hlen: x.hlen, dlen: len(x.buf) - x.hlen, ts: x.ts, ttl: x.ttl}
	return nil
}

func (b *memBackend) findSubject(from, to uint64, filter string, literal bool, limit uint64) (uint64, uint64) {
	var n, last uint64
	for i := b.live.next(uint64(b.pos(from))); i >= 0; i = b.live.next(uint64(i) + 1) {
		seq := b.seqs[i]
		if seq > to {
			break
		}
		if subj := b.msgs[i].subj; (literal && subj == filter) || (!literal && subjectMatches(subj, filter)) {
			return seq, seq
		}
		last = seq
		if n++; limit > 0 && n >= limit {
			break
		}
	}
	return 0, last
}

func (b *memBackend) remove(m *msgMeta, erase bool) {
	seq := m.seq
	i := b.pos(seq)
	if i == len(b.seqs) || b.seqs[i] != seq {
		return
	}
	if erase {
		clear(b.msgs[i].buf)
	}
	b.msgs[i] = nil
	b.live.clear(uint64(i))
	b.dead++
	b.maybeCompact()
}

func (b *memBackend) dropRange(from, to uint64) {
	i, j := b.pos(from), b.pos(to+1)
	for k := i; k < j; k++ {
		if b.live.has(uint64(k)) {
			b.live.clear(uint64(k))
			b.msgs[k] = nil
			b.dead++
		}
	}
	b.maybeCompact()
}

// truncate cuts the slices: the sequences from on will be stored again.
func (b *memBackend) truncate(from uint64) {
	i := b.pos(from)
	for k := i; k < len(b.seqs); k++ {
		if b.live.has(uint64(k)) {
			b.live.clear(uint64(k))
		} else {
			b.dead--
		}
	}
	clear(b.msgs[i:])
	b.seqs, b.msgs = b.seqs[:i], b.msgs[:i]
}

func (b *memBackend) skip(from, to uint64, gap bool) {}

func (b *memBackend) trim(first uint64) {}

func (b *memBackend) forget(*msgMeta) {}

func (b *memBackend) maybeCompact() {
	if b.dead < 64 || b.dead*3 < len(b.seqs) {
		return
	}
	n := len(b.seqs) - b.dead
	seqs, msgs := make([]uint64, 0, n), make([]*memMsg, 0, n)
	live := make(bitmap, (n+63)/64)
	for k := range b.seqs {
		if b.live.has(uint64(k)) {
			live.set(uint64(len(seqs)))
			seqs = append(seqs, b.seqs[k])
			msgs = append(msgs, b.msgs[k])
		}
	}
	b.seqs, b.msgs, b.live, b.dead = seqs, msgs, live, 0
}

func (b *memBackend) nextLive(seq, last uint64) uint64 {
	i := b.live.next(uint64(b.pos(seq)))
	if i < 0 || b.seqs[i] > last {
		return 0
	}
	return b.seqs[i]
}

func (b *memBackend) prevLive(seq, first uint64) uint64 {
	p := b.pos(seq + 1) // first position above seq
	if p == 0 {
		return 0
	}
	i := b.live.prev(uint64(p - 1))
	if i < 0 || b.seqs[i] < first {
		return 0
	}
	return b.seqs[i]
}

func (b *memBackend) liveBetween(from, to uint64) uint64 {
	i, j := b.pos(from), b.pos(to+1)
	if j == 0 || i >= j {
		return 0
	}
	return b.live.count(uint64(i), uint64(j-1))
}

func (b *memBackend) skipFor(seq uint64, _ string) uint64 { return seq }

// Memory holds no damage.
func (b *memBackend) lost(uint64) bool     { return false }
func (b *memBackend) takeLost(uint64) bool { return false }
func (b *memBackend) damaged() bool        { return false }

// memStream is a Stream held entirely in memory. Its tickets are durable
// at once (always zero).
type memStream struct {
	mu     sync.RWMutex
	c      *core
	closed bool
}

// NewMemoryStream returns an empty memory stream.
func NewMemoryStream(cfg Config) (Stream, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("blockstore: memory stream needs a name")
	}
	cfg.Storage = MemoryStorage
	return &memStream{c: newCore(cfg, &memBackend{})}, nil
}

// RestoreMemoryStream builds a memory stream named name from a snapshot
// written by any stream's Snapshot.
func RestoreMemoryStream(name string, r io.Reader) (Stream, error) {
	c := newCore(Config{Name: name, Storage: MemoryStorage}, &memBackend{})
	if err := readSnapshot(r, &coreSink{c: c}); err != nil {
		return nil, fmt.Errorf("blockstore: restore %s: %w", name, err)
	}
	c.finishRestore()
	return &memStream{c: c}, nil
}

func (s *memStream) Apply(cmd *Command) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Result{}, ErrClosed
	}
	if err := s.c.check(cmd); err != nil {
		return Result{}, err
	}
	return s.c.apply(cmd), nil
}

func (s *memStream) ApplyBatch(cmds []*Command) ([]Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := s.c.checkBatch(cmds); err != nil {
		return nil, err
	}
	rs := make([]Result, len(cmds))
	s.c.applyBatch(cmds, rs, nil)
	return rs, nil
}

func (s *memStream) LastApplied() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.applied
}
func (s *memStream) Config() Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.cfg
}

func (s *memStream) LoadMsg(seq uint64, sm *StoreMsg) (*StoreMsg, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.loadMsg(seq, sm)
}

func (s *memStream) LoadNextMsg(filter string, start uint64, sm *StoreMsg) (*StoreMsg, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.loadNext(filter, start, sm)
}

func (s *memStream) LoadLastMsg(filter string, sm *StoreMsg) (*StoreMsg, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.loadLast(filter, sm)
}

func (s *memStream) LoadPrevMsg(start uint64, sm *StoreMsg) (*StoreMsg, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.loadPrev(start, sm)
}

func (s *memStream) SeqForTime(t time.Time) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.seqForTime(t)
}
func (s *memStream) State() State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.state(false)
}
func (s *memStream) StateWithDeleted() State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.state(true)
}

func (s *memStream) FilteredState(start uint64, filter string) SimpleState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.filtered(start, filter)
}

func (s *memStream) SubjectsState(filter string) map[string]SubjectState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.subjectsState(filter)
}

func (s *memStream) SubjectsTotals(filter string) map[string]uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.subjectsTotals(filter)
}

func (s *memStream) NumPending(start uint64, filter string, lastPerSubject bool) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.numPending(start, filter, lastPerSubject)
}

func (s *memStream) Aux(key string) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if v, ok := s.c.aux[key]; ok {
		return append([]byte(nil), v...)
	}
	return nil
}

func (s *memStream) AuxKeys(prefix string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return auxKeys(s.c.aux, prefix)
}

func (s *memStream) Snapshot(w io.Writer) error {
	_, err := s.SnapshotWith(w, SnapshotOptions{})
	return err
}

func (s *memStream) SnapshotWith(w io.Writer, o SnapshotOptions) (State, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return State{}, ErrClosed
	}
	// Memory messages are immutable once stored, so a copy of the
	// references is a consistent image and writes can resume at once.
	img := s.c.image()
	s.mu.RUnlock()
	filterAux(img.aux, o.ExcludeAux)
	if o.CheckOnly {
		w = io.Discard
	}
	err := writeSnapshot(w, img)
	return img.snapState(), err
}

func (s *memStream) OnRemove(fn RemoveFunc) {
	s.mu.Lock()
	s.c.onRemove = fn
	s.mu.Unlock()
}

func (s *memStream) NextExpiry() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.nextExpiry()
}

func (s *memStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func auxKeys(aux map[string][]byte, prefix string) []string {
	var keys []string
	for k := range aux {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			keys = append(keys, k)
		}
	}
	sortStrings(keys)
	return keys
}
