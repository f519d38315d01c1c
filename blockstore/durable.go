package blockstore

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/keelhq/keel/internal/fsutil"
)

// durability computes the engine's durable watermark. A command is durable
// when the WAL has committed its record and, for a large message written
// straight into a block file, that file has been synced since the write.
// The WAL offers no hook before it commits a batch, so the engine syncs
// those block files itself, concurrently with the WAL's own fsync, and
// holds the watermark below the oldest large write not yet synced.
//
// Under an interval policy the WAL commits on write, and so does this:
// block writes reach the operating system before their WAL record does.
type durability struct {
	e         *Engine
	always    bool
	mu        sync.Mutex // orders WAL appends of large writes with pending
	pending   []pendingLarge
	wake      chan struct{}
	watermark atomic.Uint64
	subs      atomic.Pointer[[]func(Ticket)]
	subMu     sync.Mutex
	syncMu    sync.Mutex    // one syncNow at a time
	syncs     atomic.Uint64 // block file fdatasyncs (benchmarks report them)

	pendMu    sync.Mutex  // the two below
	pendFiles []*syncFile // files with pending bytes (see syncFile)
	pendSpare []*syncFile
}

type pendingLarge struct {
	ticket uint64
	f      *syncFile
}

// syncFile is a block file that the durability syncer may sync while its
// stream writes to it or closes it.
//
// Under the always policy a large message's record is not written by
// itself: Apply appends it to pend, and whoever comes first writes what is
// pending in one write: the appender once pendingWrite bytes have gathered
// (so that writing overlaps the syncer's fdatasync), the WAL's writer just
// before it writes a batch (wal.Options.BeforeWrite: a pointer record
// never reaches the operating system before the bytes it points at, so a
// killed process leaves no pointer to bytes never written), or the syncer
// just before its fdatasync (the stream's own flushes, reads and closes do
// the same, so that the file is whole whenever something looks at it). One
// write for many messages instead of one each keeps the per-message cost a
// memory copy. Pending bytes are always the file's tail and are written in
// order (wmu).
type syncFile struct {
	mu    sync.RWMutex // the file's lifetime: writes and syncs share, close excludes
	f     *os.File     // nil once closed
	dir   string       // the folder holding the file
	fresh atomic.Bool  // created since dir was last synced

	wmu     sync.Mutex // orders writes of pending bytes
	pmu     sync.Mutex // the fields below
	pend    []byte     // records not yet written, from file offset pendOff
	spare   []byte
	pendOff int64
	listed  bool  // in the engine's list of files with pending bytes
	werr    error // a failed write: the file can no longer be trusted
}

// pendingWrite is how many pending bytes the appender writes itself.
const pendingWrite = 256 << 10

// appendPending appends a record built by fn at file offset off (the end
// of the file, pending bytes included) and returns the record as appended.
// The file is listed for the WAL writer before the caller appends the
// record pointing at it.
func (d *durability) appendPending(t *syncFile, off int64, fn func(dst []byte) []byte) ([]byte, error) {
	t.pmu.Lock()
	if t.werr != nil {
		t.pmu.Unlock()
		return nil, t.werr
	}
	if len(t.pend) == 0 {
		t.pendOff = off
	} else if t.pendOff+int64(len(t.pend)) != off {
		t.pmu.Unlock()
		return nil, fmt.Errorf("blockstore: pending write at %d, file ends at %d", off, t.pendOff+int64(len(t.pend)))
	}
	if t.pend == nil {
		t.pend = make([]byte, 0, pendingWrite+64<<10)
	}
	start := len(t.pend)
	t.pend = fn(t.pend)
	rec := t.pend[start:]
	full := len(t.pend) >= pendingWrite
	list := !t.listed
	t.listed = true
	t.pmu.Unlock()
	if list {
		d.pendMu.Lock()
		d.pendFiles = append(d.pendFiles, t)
		d.pendMu.Unlock()
	}
	if full {
		if err := t.writePending(); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// beforeWALWrite writes the pending bytes of every listed file: it runs
// on the WAL's writer before each batch (wal.Options.BeforeWrite). A write
// error stays with its file, whose syncs then fail: the watermark never
// passes its records.
func (d *durability) beforeWALWrite() {
	d.pendMu.Lock()
	files := d.pendFiles
	d.pendFiles = d.pendSpare[:0]
	d.pendMu.Unlock()
	for i, t := range files {
		t.writePending()
		files[i] = nil
	}
	d.pendMu.Lock()
	d.pendSpare = files[:0]
	d.pendMu.Unlock()
}

// writePending writes the pending bytes to the file.
func (t *syncFile) writePending() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.pmu.Lock()
	buf, off, err := t.pend, t.pendOff, t.werr
	t.listed = false // anything appended from now on lists the file again
	if len(buf) == 0 || err != nil {
		t.pmu.Unlock()
		return err
	}
	t.pend, t.spare = t.spare[:0], nil
	t.pendOff += int64(len(buf))
	t.pmu.Unlock()

	t.mu.RLock()
	if t.f == nil {
		err = errors.New("blockstore: pending write to a closed block file")
	} else if _, err = t.f.WriteAt(buf, off); err != nil {
		err = fmt.Errorf("blockstore: write block file: %w", err)
	}
	t.mu.RUnlock()
	t.pmu.Lock()
	if err != nil && t.werr == nil {
		t.werr = err
	}
	if t.spare == nil && cap(buf) <= 4*pendingWrite {
		t.spare = buf[:0]
	}
	t.pmu.Unlock()
	return err
}

// takeBuffers returns t's write buffers for the next block's file once
// nothing is pending, so that a stream filling blocks reuses them.
func (t *syncFile) takeBuffers() (pend, spare []byte) {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	if len(t.pend) > 0 {
		return nil, nil
	}
	pend, spare = t.pend, t.spare
	t.pend, t.spare = nil, nil
	return pend, spare
}

// sync writes what is pending and makes the file durable, its directory
// entry included the first time.
func (t *syncFile) sync() error {
	if err := t.writePending(); err != nil {
		return err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.f == nil {
		return nil // closed, and synced before closing
	}
	if err := fsutil.Fdatasync(t.f); err != nil {
		return err
	}
	return t.syncEntry()
}

// syncEntry fsyncs the file's folder once after the file's creation, so
// that a record synced into it is reachable after a power cut.
func (t *syncFile) syncEntry() error {
	if !t.fresh.Load() || t.dir == "" {
		return nil
	}
	if err := fsutil.SyncDir(t.dir); err != nil {
		return err
	}
	t.fresh.Store(false)
	return nil
}

// close writes what is pending, syncs and closes the file.
func (t *syncFile) close() error {
	werr := t.writePending()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return werr
	}
	err := fsutil.Fdatasync(t.f)
	if err == nil {
		err = t.syncEntry()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.f = nil
	if werr != nil {
		return werr
	}
	return err
}

// abandon writes what is pending and closes the file without syncing it
// (its content no longer matters, or the process is going away).
func (t *syncFile) abandon() error {
	werr := t.writePending()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return werr
	}
	err := t.f.Close()
	t.f = nil
	if werr != nil {
		return werr
	}
	return err
}

func (d *durability) init(e *Engine) {
	d.e = e
	d.always = e.opts.SyncInterval <= 0
	d.wake = make(chan struct{}, 1)
	d.watermark.Store(e.wal.Committed())
	e.wal.Notify(func(uint64) { d.update() })
}

// appendLarge appends a WAL record that points into files and registers
// it, atomically with respect to update: no watermark computed in between
// can pass the record before the files are synced.
func (d *durability) appendLarge(rec []byte, files ...*syncFile) (uint64, error) {
	if !d.always {
		return d.e.wal.Append(rec)
	}
	d.mu.Lock()
	idx, err := d.e.wal.Append(rec)
	if err == nil {
		for _, f := range files {
			d.pending = append(d.pending, pendingLarge{ticket: idx, f: f})
		}
	}
	d.mu.Unlock()
	signal(d.wake)
	return idx, err
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// update recomputes the watermark and tells the subscribers.
func (d *durability) update() {
	c := d.e.wal.Committed()
	d.mu.Lock()
	if len(d.pending) > 0 && d.pending[0].ticket <= c {
		c = d.pending[0].ticket - 1
	}
	d.mu.Unlock()
	for {
		old := d.watermark.Load()
		if c <= old {
			return
		}
		if d.watermark.CompareAndSwap(old, c) {
			break
		}
	}
	if subs := d.subs.Load(); subs != nil {
		for _, fn := range *subs {
			fn(Ticket(c))
		}
	}
}

func (d *durability) subscribe(fn func(Ticket)) {
	d.subMu.Lock()
	var subs []func(Ticket)
	if old := d.subs.Load(); old != nil {
		subs = append(subs, *old...)
	}
	subs = append(subs, fn)
	d.subs.Store(&subs)
	d.subMu.Unlock()
}

// syncLoop syncs the block files of pending large writes, batching every
// write registered while the previous sync ran.
func (d *durability) syncLoop() {
	defer d.e.wg.Done()
	for {
		select {
		case <-d.wake:
		case <-d.e.stop:
			d.syncNow()
			return
		}
		d.syncNow()
	}
}

// syncNow syncs the files of every large write registered so far.
func (d *durability) syncNow() error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.mu.Lock()
	n := len(d.pending)
	batch := append([]pendingLarge(nil), d.pending...)
	d.mu.Unlock()
	if n == 0 {
		// Another syncNow may have synced this caller's writes and
		// computed the watermark before the WAL committed them (the WAL
		// tells its subscribers after its Sync returns): compute it again,
		// so that Engine.Sync returns with the watermark past them.
		d.update()
		return nil
	}
	var first error
	done := make(map[*syncFile]bool, 2)
	for _, p := range batch {
		if done[p.f] {
			continue
		}
		done[p.f] = true
		d.syncs.Add(1)
		if err := p.f.sync(); err != nil && first == nil {
			first = err
			d.e.log.Errorf("blockstore: sync block file: %v", err)
		}
	}
	if first != nil {
		return first // the watermark stays: these writes are not durable
	}
	d.mu.Lock()
	d.pending = append(d.pending[:0], d.pending[n:]...)
	d.mu.Unlock()
	d.update()
	return nil
}

func (d *durability) close() {}
