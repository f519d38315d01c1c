package blockstore

import (
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
	syncMu    sync.Mutex // one syncNow at a time
}

type pendingLarge struct {
	ticket uint64
	f      *syncFile
}

// syncFile is a block file that the durability syncer may sync while its
// stream writes to it or closes it.
type syncFile struct {
	mu sync.Mutex
	f  *os.File // nil once closed
}

func (t *syncFile) sync() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return nil // closed, and synced before closing
	}
	return fsutil.Fdatasync(t.f)
}

// close syncs and closes the file.
func (t *syncFile) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return nil
	}
	err := fsutil.Fdatasync(t.f)
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.f = nil
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
		return nil
	}
	var first error
	done := make(map[*syncFile]bool, 2)
	for _, p := range batch {
		if done[p.f] {
			continue
		}
		done[p.f] = true
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
