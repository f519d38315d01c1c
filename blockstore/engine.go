package blockstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/internal/fsutil"
	"github.com/keelhq/keel/seal"
	"github.com/keelhq/keel/wal"
)

// Logger is what the engine logs through; server/logger.Logger satisfies it.
type Logger interface {
	Noticef(format string, v ...any)
	Warnf(format string, v ...any)
	Errorf(format string, v ...any)
	Debugf(format string, v ...any)
}

type nopLogger struct{}

func (nopLogger) Noticef(string, ...any) {}
func (nopLogger) Warnf(string, ...any)   {}
func (nopLogger) Errorf(string, ...any)  {}
func (nopLogger) Debugf(string, ...any)  {}

// Options configure an Engine. The zero value is usable: sync always, no
// encryption, a 256 MiB block cache.
type Options struct {
	// SyncInterval zero (the default) makes a ticket durable only after an
	// fsync that covers it, so what is acknowledged survives a power cut.
	// A positive value fsyncs every SyncInterval instead; tickets are then
	// durable once written to the operating system.
	SyncInterval time.Duration
	// Key, when set, encrypts everything the engine writes with Cipher
	// (default AES-256-GCM). The first Open records a key check; a later
	// Open with another key, or without one, fails with ErrBadKey. A key
	// is accepted only by a store created with it or holding nothing yet:
	// one written without encryption fails with ErrNotEncrypted.
	Key    []byte
	Cipher seal.Cipher
	// CacheBytes bounds the memory of decoded older blocks (default 256 MiB).
	CacheBytes int64
	// Logger receives recovery notices and errors (default: discarded).
	Logger Logger
	// AutoExpire makes the engine apply OpExpire itself when a stream's
	// NextExpiry is due (single-replica use); otherwise the owner does.
	AutoExpire bool

	// CheckpointInterval is how often buffered messages move from the WAL
	// into blocks and the WAL is truncated (default 1s; sooner when the
	// WAL grows past CheckpointBytes, default 64 MiB).
	CheckpointInterval time.Duration
	CheckpointBytes    int64
	// IndexInterval is how often each changed stream's index checkpoint
	// is rewritten (default 1 minute; always at Close).
	IndexInterval time.Duration
	// LargeMessage is the header+payload size from which a message is
	// written once, straight into its block file, with only a pointer in
	// the WAL (default 8 KiB).
	LargeMessage int
	// WALSegmentSize is the WAL's segment size (default: the WAL's).
	WALSegmentSize int
}

func (o *Options) withDefaults() {
	if o.CacheBytes <= 0 {
		o.CacheBytes = 256 << 20
	}
	if o.Logger == nil {
		o.Logger = nopLogger{}
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Second
	}
	if o.CheckpointBytes <= 0 {
		o.CheckpointBytes = 64 << 20
	}
	if o.IndexInterval <= 0 {
		o.IndexInterval = time.Minute
	}
	if o.LargeMessage <= 0 {
		o.LargeMessage = 8 << 10
	}
	if o.Cipher == 0 {
		o.Cipher = seal.AES
	}
}

// Damage is a message lost to damaged bytes on disk, found at recovery or
// when its block was read.
type Damage struct {
	Stream string
	Seq    uint64 // 0 when the damage hit no message (a tombstone, padding)
	Block  string // the file
	Offset int64
}

// Engine is the file storage of one store folder: every stream in it, one
// shared WAL, one block cache. It is safe for concurrent use.
type Engine struct {
	root  string // <dir>/keel
	opts  Options
	log   Logger
	key   *seal.Key
	wal   *wal.Log
	cache *blockCache
	dur   durability

	mu         sync.Mutex
	streams    map[string]*fileStream // open streams by name
	ids        map[uint64]string      // every stream on disk, open or closed
	nextStream uint64
	idCeiling  uint64 // the ENGINE file's id: no id below it may be given again
	closed     bool

	damageMu sync.Mutex
	damage   []Damage

	ckptMu      sync.Mutex // one checkpoint at a time
	walBytes    atomic.Int64
	kick        chan struct{}
	expireKick  chan struct{}
	stop        chan struct{}
	wg          sync.WaitGroup
	lastIndexAt time.Time
}

const engineDirName = "keel"

// Open opens (creating when needed) the engine in the store folder dir;
// it owns dir/keel. Streams found there are recovered: their last state
// file, index checkpoint (or a rebuild from their blocks) and the WAL's
// tail.
func Open(dir string, o Options) (*Engine, error) {
	o.withDefaults()
	e := &Engine{
		root: filepath.Join(dir, engineDirName), opts: o, log: o.Logger,
		cache:   newBlockCache(o.CacheBytes),
		streams: make(map[string]*fileStream), ids: make(map[uint64]string),
		kick: make(chan struct{}, 1), expireKick: make(chan struct{}, 1), stop: make(chan struct{}),
		lastIndexAt: time.Now(),
	}
	for _, d := range []string{e.root, filepath.Join(e.root, "streams")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blockstore: open %s: %w", dir, err)
		}
	}
	if err := e.openKey(); err != nil {
		return nil, err
	}
	if err := e.readMeta(); err != nil {
		return nil, err
	}
	w, err := wal.Open(filepath.Join(e.root, "wal"), wal.Options{
		Sync: wal.SyncEvery(o.SyncInterval), Key: e.key, Logger: o.Logger, SegmentSize: o.WALSegmentSize,
		BeforeWrite: e.dur.beforeWALWrite,
	})
	if err != nil {
		return nil, fmt.Errorf("blockstore: open %s: %w", dir, err)
	}
	e.wal = w
	e.dur.init(e)
	if err := e.recoverAll(); err != nil {
		e.wal.Close()
		return nil, err
	}
	e.wg.Add(2)
	go e.checkpointLoop()
	go e.dur.syncLoop()
	if o.AutoExpire {
		e.wg.Add(1)
		go e.expireLoop()
	}
	return e, nil
}

// The ENGINE file records a stream id no stream has yet, so ids are never
// reused (the WAL may still hold records of a deleted stream). Ids are
// reserved idReserve at a time, so that most stream creations do not
// rewrite it; a restart starts at the recorded id, skipping what the last
// run reserved but did not use. Version 1, 20 bytes: magic "KENG", u8
// version, 3 reserved, u64 next stream id, u32 CRC32C.
var engineMagic = [4]byte{'K', 'E', 'N', 'G'}

func (e *Engine) readMeta() error {
	raw, err := os.ReadFile(filepath.Join(e.root, "ENGINE"))
	if errors.Is(err, os.ErrNotExist) {
		e.nextStream = 1
		return nil
	}
	if err != nil {
		return fmt.Errorf("blockstore: open %s: %w", e.root, err)
	}
	if len(raw) != 20 || !bytes.Equal(raw[:4], engineMagic[:]) || raw[4] != 1 ||
		binary.LittleEndian.Uint32(raw[16:]) != crc32.Checksum(raw[:16], castagnoli) {
		return fmt.Errorf("blockstore: open %s: ENGINE file damaged: %w", e.root, ErrCorrupt)
	}
	e.nextStream = binary.LittleEndian.Uint64(raw[8:])
	e.idCeiling = e.nextStream
	return nil
}

// idReserve is how many stream ids one write of the ENGINE file reserves.
const idReserve = 64

func (e *Engine) writeMeta() error {
	b := make([]byte, 16, 20)
	copy(b, engineMagic[:])
	b[4] = 1
	binary.LittleEndian.PutUint64(b[8:], e.idCeiling)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if err := fsutil.WriteFileAtomic(e.root, "ENGINE", b, 0o640); err != nil {
		return fmt.Errorf("blockstore: write engine file: %w", err)
	}
	return nil
}

func (e *Engine) streamDir(id uint64) string {
	return filepath.Join(e.root, "streams", fmt.Sprintf("%016x", id))
}

// CreateStream creates an empty file stream.
func (e *Engine) CreateStream(cfg Config) (Stream, error) {
	if cfg.Name == "" {
		return nil, errors.New("blockstore: stream needs a name")
	}
	cfg.Storage = FileStorage
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if e.nameTaken(cfg.Name) {
		return nil, fmt.Errorf("blockstore: create %s: %w", cfg.Name, ErrStreamExists)
	}
	s, err := e.newStream(cfg)
	if err != nil {
		return nil, err
	}
	e.streams[cfg.Name] = s
	return s, nil
}

func (e *Engine) nameTaken(name string) bool {
	for _, n := range e.ids {
		if n == name {
			return true
		}
	}
	return false
}

// newStream allocates an id and writes an empty stream to disk.
func (e *Engine) newStream(cfg Config) (*fileStream, error) {
	id := e.nextStream
	if id >= e.idCeiling {
		e.idCeiling = id + idReserve
		if err := e.writeMeta(); err != nil {
			e.idCeiling = id
			return nil, err
		}
	}
	e.nextStream++
	dir := e.streamDir(id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("blockstore: create %s: %w", cfg.Name, err)
	}
	s := newFileStream(e, id, dir, cfg)
	st := s.stateLocked()
	for gen := uint64(0); gen < 2; gen++ {
		st.gen = gen
		if err := writeState(dir, st, e.key); err != nil {
			return nil, err
		}
	}
	s.stateGen = 1
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := fsutil.SyncDir(d); err != nil {
			return nil, fmt.Errorf("blockstore: create %s: %w", cfg.Name, err)
		}
	}
	e.ids[id] = cfg.Name
	return s, nil
}

// Stream returns the stream named name, opening it again if it was closed.
func (e *Engine) Stream(name string) (Stream, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.streams[name]; ok {
		return s, true
	}
	if e.closed {
		return nil, false
	}
	for id, n := range e.ids {
		if n == name {
			s, err := e.reopen(id)
			if err != nil {
				e.log.Errorf("blockstore: reopen stream %s: %v", name, err)
				return nil, false
			}
			return s, true
		}
	}
	return nil, false
}

// Streams returns every open stream, by name.
func (e *Engine) Streams() []Stream {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.streams))
	for n := range e.streams {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Stream, 0, len(names))
	for _, n := range names {
		out = append(out, e.streams[n])
	}
	return out
}

// DeleteStream removes a stream and its files.
func (e *Engine) DeleteStream(name string) error {
	e.ckptMu.Lock() // no checkpoint is writing into the folder meanwhile
	defer e.ckptMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	var id uint64
	found := false
	for i, n := range e.ids {
		if n == name {
			id, found = i, true
		}
	}
	if !found {
		return fmt.Errorf("blockstore: delete %s: %w", name, ErrStreamNotFound)
	}
	if s, ok := e.streams[name]; ok {
		s.shutdown(false)
		delete(e.streams, name)
	}
	delete(e.ids, id)
	e.cache.dropStream(id)
	dir := e.streamDir(id)
	// Rename first so a crash never leaves half a stream that looks whole.
	gone := dir + ".deleted"
	if err := os.Rename(dir, gone); err != nil {
		return fmt.Errorf("blockstore: delete %s: %w", name, err)
	}
	fsutil.SyncDir(filepath.Dir(dir))
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("blockstore: delete %s: %w", name, err)
	}
	return nil
}

// RestoreStream creates stream name from a snapshot written by Snapshot.
func (e *Engine) RestoreStream(name string, r io.Reader) (Stream, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if e.nameTaken(name) {
		e.mu.Unlock()
		return nil, fmt.Errorf("blockstore: restore %s: %w", name, ErrStreamExists)
	}
	s, err := e.newStream(Config{Name: name, Storage: FileStorage})
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	e.mu.Unlock()
	fail := func(err error) (Stream, error) {
		e.mu.Lock()
		delete(e.ids, s.id)
		e.mu.Unlock()
		s.shutdown(false)
		os.RemoveAll(s.dir)
		return nil, fmt.Errorf("blockstore: restore %s: %w", name, err)
	}
	s.mu.Lock()
	s.restoring = true
	err = readSnapshot(r, &coreSink{c: s.c})
	if err == nil {
		s.c.finishRestore()
		s.be.lastSeq = s.c.last
		s.restoring = false
		s.dirty = true
	}
	s.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	if err := e.checkpointStreams([]*fileStream{s}, true); err != nil {
		return fail(err)
	}
	e.mu.Lock()
	e.streams[name] = s
	e.mu.Unlock()
	return s, nil
}

// Durable is the engine's durable watermark: every command whose ticket is
// at or below it survives under the sync policy.
func (e *Engine) Durable() Ticket { return Ticket(e.dur.watermark.Load()) }

// Notify registers fn to run after each advance of the durable watermark,
// with the new value. fn runs on the engine's commit path: it must be
// quick and must not call back into the engine.
func (e *Engine) Notify(fn func(Ticket)) { e.dur.subscribe(fn) }

// Sync makes everything applied so far durable now, whatever the policy.
func (e *Engine) Sync() error {
	if err := e.wal.Sync(); err != nil {
		return err
	}
	return e.dur.syncNow()
}

// Damaged lists the messages found damaged since Open.
func (e *Engine) Damaged() []Damage {
	e.damageMu.Lock()
	defer e.damageMu.Unlock()
	return append([]Damage(nil), e.damage...)
}

func (e *Engine) addDamage(d Damage) {
	e.damageMu.Lock()
	for _, x := range e.damage {
		if x == d || (d.Seq != 0 && x.Stream == d.Stream && x.Seq == d.Seq) ||
			(d.Seq == 0 && x.Block == d.Block && x.Offset == d.Offset) {
			e.damageMu.Unlock()
			return
		}
	}
	e.damage = append(e.damage, d)
	e.damageMu.Unlock()
	if d.Seq != 0 {
		e.log.Errorf("blockstore: stream %s: message %d lost to damage in %s at offset %d", d.Stream, d.Seq, d.Block, d.Offset)
	} else {
		e.log.Warnf("blockstore: stream %s: damaged record (no message) in %s at offset %d", d.Stream, d.Block, d.Offset)
	}
}

// Close checkpoints every stream (index included), stops the engine and
// releases its files.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.closed = true
	e.mu.Unlock()
	close(e.stop)
	e.wg.Wait()
	err := e.checkpoint(true)
	e.mu.Lock()
	for _, s := range e.streams {
		s.shutdown(false)
	}
	e.streams = map[string]*fileStream{}
	e.mu.Unlock()
	e.dur.close()
	if werr := e.wal.Close(); err == nil {
		err = werr
	}
	return err
}
