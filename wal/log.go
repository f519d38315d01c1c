package wal

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	twal "github.com/tidwall/wal"

	"github.com/keelhq/keel/internal/fsutil"
	"github.com/keelhq/keel/seal"
)

// maxFrameBody bounds the body length the decoder accepts, whatever the
// options: it is above any MaxRecordSize a log may be written with, so a log
// reopened with a smaller limit still reads its old records.
const maxFrameBody = 1<<30 + epochSize + tagSize

// Log is a write-ahead log shared by every stream of a store. It is safe for
// concurrent use.
type Log struct {
	dir      string
	opts     Options
	log      Logger
	tw       *twal.Log
	dirF     *os.File
	lock     *os.File // flock on LOCK while open
	recovery Recovery

	// sealer seals this run's records (nil: plaintext); sealers opens the
	// records of every epoch still in the log. Both are fixed after Open.
	sealer  *seal.Sealer
	epoch   uint32
	sealers map[uint32]*seal.Sealer

	// Append side.
	mu      sync.Mutex
	space   sync.Cond // appenders waiting for MaxPending to drain
	pend    []byte    // frames appended, not yet handed to the writer
	closing bool
	appends uint64
	payload uint64
	wake    chan struct{} // pend became non-empty, or closing

	// Writer side: the writer goroutine, and TruncateFront, hold wmu while
	// they touch tidwall's tail and the mirror of its segment layout.
	wmu    sync.Mutex
	spare  []byte
	batch  twal.Batch
	starts []uint64 // first index of each segment file
	// startsView is a copy of starts for readers that cannot take wmu.
	startsView atomic.Pointer[[]uint64]
	tailSize   int64 // bytes in the tail segment, as tidwall counts them

	// readMu serialises tidwall reads: loading an older segment into its
	// cache mutates shared state under a read lock.
	readMu sync.Mutex

	// Sync side, under smu. written is the last index handed to the
	// operating system, synced the last one an fdatasync has covered.
	smu      sync.Mutex
	scond    sync.Cond
	written  uint64
	synced   uint64
	syncF    *os.File   // the tail segment, through our own descriptor
	dirDirty bool       // a segment was created since the last directory fsync
	retired  []*os.File // former tail descriptors for the syncer to close
	kick     chan struct{}
	stop     chan struct{}
	syncing  atomic.Bool // an fdatasync is in flight

	last      atomic.Uint64 // last index appended
	first     atomic.Uint64
	committed atomic.Uint64
	failure   atomic.Pointer[error]

	cmu     sync.Mutex
	waiters waitHeap
	subs    atomic.Pointer[[]func(uint64)]

	st         counters
	writerDone chan struct{}
	syncerDone chan struct{}
}

// Open opens (creating if needed) the log in dir, recovering it first: a
// torn tail is cut back to the last whole record and damaged records in the
// middle are reported (see Recovery). Everything found on disk is made
// durable before Open returns, so Committed() starts at LastIndex().
func Open(dir string, o Options) (*Log, error) {
	o.withDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	l, err := open(dir, o, lock)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return l, nil
}

func open(dir string, o Options, lock *os.File) (*Log, error) {
	rec, err := recoverDir(dir, &o)
	if err != nil {
		return nil, err
	}
	sealers, epoch, err := openEpochs(dir, o.Key, rec.sealed, rec.minEpoch, rec.maxEpoch)
	if err != nil {
		return nil, err
	}
	if rec.plain > 0 && o.Key != nil {
		o.Logger.Warnf("wal: %s: %d records were written before encryption was enabled; they stay readable until truncated", dir, rec.plain)
	}
	tw, err := twal.Open(dir, &twal.Options{
		NoSync:           true, // the log syncs itself, once per batch
		SegmentSize:      o.SegmentSize,
		SegmentCacheSize: 2,
		NoCopy:           true, // Read copies into the caller's buffer
		AllowEmpty:       true,
		DirPerms:         0o750,
		FilePerms:        0o640,
	})
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	l := &Log{
		dir: dir, opts: o, log: o.Logger, tw: tw, lock: lock, recovery: rec.report,
		sealers: sealers, epoch: epoch, sealer: sealers[epoch],
		starts: rec.starts, tailSize: rec.tailSize,
		wake: make(chan struct{}, 1), kick: make(chan struct{}, 1), stop: make(chan struct{}),
		writerDone: make(chan struct{}), syncerDone: make(chan struct{}),
	}
	if err := l.start(rec); err != nil {
		tw.Close()
		if l.syncF != nil {
			l.syncF.Close()
		}
		if l.dirF != nil {
			l.dirF.Close()
		}
		return nil, err
	}
	return l, nil
}

func (l *Log) start(rec *recovered) error {
	first, err1 := l.tw.FirstIndex()
	last, err2 := l.tw.LastIndex()
	if err1 != nil || err2 != nil {
		return fmt.Errorf("wal: open %s: %v %v", l.dir, err1, err2)
	}
	if len(l.starts) == 0 {
		l.starts = []uint64{1} // tidwall created the first segment
	}
	if first != rec.first || last != rec.last || first != l.starts[0] {
		return fmt.Errorf("wal: open %s: tidwall sees records %d-%d, recovery %d-%d: %w",
			l.dir, first, last, rec.first, rec.last, ErrCorrupt)
	}
	var err error
	if l.dirF, err = os.Open(l.dir); err != nil {
		return fmt.Errorf("wal: open %s: %w", l.dir, err)
	}
	tail := filepath.Join(l.dir, segmentName(l.starts[len(l.starts)-1]))
	if l.syncF, err = os.OpenFile(tail, os.O_RDWR, 0); err != nil {
		return fmt.Errorf("wal: open %s: %w", l.dir, err)
	}
	// Records a killed process left in the page cache are made durable
	// before they count as committed.
	if err := l.syncF.Sync(); err != nil {
		return fmt.Errorf("wal: open %s: sync tail: %w", l.dir, err)
	}
	if err := l.dirF.Sync(); err != nil {
		return fmt.Errorf("wal: open %s: sync dir: %w", l.dir, err)
	}
	if !l.opts.NoPrealloc {
		fsutil.Preallocate(l.syncF, l.preallocSize())
	}
	l.publishStarts()
	l.presizeTail()
	l.space.L = &l.mu
	l.scond.L = &l.smu
	l.first.Store(first)
	l.last.Store(last)
	l.committed.Store(last)
	l.written, l.synced = last, last
	go l.writer()
	go l.syncer()
	return nil
}

func (l *Log) preallocSize() int64 { return int64(l.opts.SegmentSize) + int64(l.opts.SegmentSize)/8 }

// Recovery reports what Open found and repaired.
func (l *Log) Recovery() Recovery { return l.recovery }

func (l *Log) failed() error {
	if p := l.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Append copies data into the pending batch and returns its index at once;
// the record is durable once Committed() reaches that index (see Wait and
// Notify). Indexes are consecutive in the order Append calls return. Append
// blocks only while MaxPending bytes wait to be written. It fails once the
// log has failed or closed.
func (l *Log) Append(data []byte) (uint64, error) {
	if len(data) > l.opts.MaxRecordSize {
		return 0, fmt.Errorf("wal: append %d bytes, limit %d: %w", len(data), l.opts.MaxRecordSize, ErrTooLarge)
	}
	n := headerSize + len(data)
	if l.sealer != nil {
		n += epochSize + tagSize
	}
	l.mu.Lock()
	for len(l.pend) > 0 && len(l.pend)+n > l.opts.MaxPending && !l.closing && l.failure.Load() == nil {
		l.space.Wait()
	}
	if err := l.failed(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	if l.closing {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	idx := l.last.Load() + 1
	before := len(l.pend)
	if l.sealer == nil {
		l.pend = appendFrameHeader(l.pend, kindPlain, len(data), idx)
		l.pend = append(l.pend, data...)
	} else {
		// The writer seals in place: leave room for the tag.
		l.pend = appendFrameHeader(l.pend, kindSealed, epochSize+len(data)+tagSize, idx)
		l.pend = binary.LittleEndian.AppendUint32(l.pend, l.epoch)
		l.pend = append(l.pend, data...)
		l.pend = append(l.pend, zeroTag[:]...)
	}
	l.last.Store(idx)
	l.appends++
	l.payload += uint64(len(data))
	after := len(l.pend)
	l.mu.Unlock()
	if before == 0 || (before < writeAhead && after >= writeAhead) {
		signal(l.wake)
	}
	return idx, nil
}

var zeroTag [tagSize]byte

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Committed is the durable watermark: every record at or below it survives
// under the sync policy (Always: fsynced; interval: written to the operating
// system). It never goes back.
func (l *Log) Committed() uint64 { return l.committed.Load() }

// FirstIndex is the index of the oldest record; LastIndex+1 when empty.
func (l *Log) FirstIndex() uint64 { return l.first.Load() }

// LastIndex is the index of the newest record appended (committed or not);
// 0 for a log that never had one.
func (l *Log) LastIndex() uint64 { return l.last.Load() }

// Notify registers fn to run after each advance of the watermark, with the
// new value, on the goroutine that advanced it (the syncer under Always, the
// writer under an interval policy). fn must be quick; it may call Append,
// Committed and Read of committed records, but not Wait, Sync, Scrub,
// TruncateFront or Close, which wait for that goroutine.
func (l *Log) Notify(fn func(committed uint64)) {
	l.cmu.Lock()
	var subs []func(uint64)
	if old := l.subs.Load(); old != nil {
		subs = append(subs, *old...)
	}
	subs = append(subs, fn)
	l.subs.Store(&subs)
	l.cmu.Unlock()
}

var chans = sync.Pool{New: func() any { return make(chan struct{}, 1) }}

// Wait blocks until record index is committed, or returns the error that
// stopped the log first.
func (l *Log) Wait(index uint64) error {
	if l.committed.Load() >= index {
		return nil
	}
	if index > l.last.Load() {
		return fmt.Errorf("wal: wait for %d: last appended is %d: %w", index, l.last.Load(), ErrRange)
	}
	ch := chans.Get().(chan struct{})
	l.cmu.Lock()
	if l.committed.Load() >= index {
		l.cmu.Unlock()
		chans.Put(ch)
		return nil
	}
	if err := l.failed(); err != nil {
		l.cmu.Unlock()
		chans.Put(ch)
		return err
	}
	l.waiters.push(waiter{index: index, ch: ch})
	l.cmu.Unlock()
	<-ch
	chans.Put(ch)
	if l.committed.Load() >= index {
		return nil
	}
	return l.failed()
}

// Sync makes every record appended so far durable now, whatever the policy,
// and returns when it is (used before checkpoints and by Close).
func (l *Log) Sync() error {
	target := l.last.Load()
	if l.opts.Sync.Always() {
		return l.Wait(target)
	}
	l.smu.Lock()
	defer l.smu.Unlock()
	for l.synced < target {
		if err := l.failed(); err != nil {
			return err
		}
		if l.written > l.synced {
			signal(l.kick)
		}
		l.scond.Wait()
	}
	return nil
}

// Close writes and syncs everything appended, stops the log and releases
// its files. Later calls fail with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closing = true
	l.space.Broadcast()
	l.mu.Unlock()
	signal(l.wake)
	<-l.writerDone
	close(l.stop)
	<-l.syncerDone
	err := l.failed()
	l.setFailure(ErrClosed)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if cerr := l.tw.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("wal: close %s: %w", l.dir, cerr)
	}
	l.smu.Lock()
	for _, f := range append(l.retired, l.syncF) {
		f.Close()
	}
	l.retired, l.syncF = nil, nil
	l.smu.Unlock()
	l.dirF.Close()
	l.lock.Close() // releases the flock
	return err
}
