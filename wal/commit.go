package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keelhq/keel/internal/fsutil"
)

// Group commit. Appenders fill l.pend under l.mu. The writer goroutine swaps
// it for an empty buffer, seals and checksums the frames, and hands them to
// tidwall/wal as one batch: one write(2). Under Always, the syncer goroutine
// then fdatasyncs the tail segment through its own descriptor, outside
// tidwall's mutex, while the writer already writes the next batch; a sync
// commits only what was written before it began. Under an interval policy the
// writer commits each batch once written and the syncer fsyncs on a timer.

func (l *Log) writer() {
	defer close(l.writerDone)
	for {
		<-l.wake
		for {
			l.mu.Lock()
			if len(l.pend) == 0 {
				closing := l.closing
				l.mu.Unlock()
				if closing {
					return
				}
				break
			}
			if l.holdBatch() {
				// A sync is running: nothing written now could commit
				// before the next one anyway. Gather until it ends or
				// enough has gathered to be worth writing meanwhile.
				l.mu.Unlock()
				break
			}
			buf := l.pend
			l.pend = l.spare[:0]
			last := l.last.Load()
			l.space.Broadcast()
			l.mu.Unlock()

			if l.failed() != nil {
				return // nothing written now could ever commit
			}
			if l.opts.BeforeWrite != nil {
				l.opts.BeforeWrite()
			}
			err := l.writeBatch(buf, last)
			l.spare = buf[:0]
			if err != nil {
				l.fail(err)
				return
			}
			// Outside wmu: subscribers may call back into the log.
			if l.opts.Sync.Always() {
				signal(l.kick)
			} else {
				l.commit(last)
			}
		}
	}
}

// writeAhead is how much the writer gathers while a sync runs before it
// writes anyway, so that large volumes overlap their write with the sync.
const writeAhead = 256 << 10

// holdBatch reports whether the writer should leave l.pend gathering; l.mu
// is held. The syncer wakes the writer when it finishes; Append wakes it
// when l.pend reaches writeAhead.
func (l *Log) holdBatch() bool {
	return l.syncing.Load() && len(l.pend) < writeAhead && !l.closing && l.opts.Sync.Always()
}

// writeBatch writes the frames in buf (records up to last) through tidwall.
// tidwall starts a new segment by itself inside WriteBatch; writeBatch
// predicts where with tidwall's own rule (a segment is full once its bytes
// reach SegmentSize, checked after each entry, and also before a batch), so
// that it knows which file to sync and when the directory needs an fsync.
// It ends a WriteBatch call at each segment boundary, to size the new
// segment's buffer before filling it (presizeTail). tidwall fsyncs a
// segment fully before leaving it.
func (l *Log) writeBatch(buf []byte, last uint64) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.opts.writeHook != nil {
		if err := l.opts.writeHook(); err != nil {
			return fmt.Errorf("wal: write %s: %w", l.dir, err)
		}
	}
	segSize := int64(l.opts.SegmentSize)
	size := l.tailSize
	cycled, first := false, true
	var bytes uint64
	for off := 0; off < len(buf); {
		f := buf[off : off+frameLen(buf[off:])]
		off += len(f)
		idx := frameIndex(f)
		if f[offKind] == kindSealed {
			pt := f[sealedADEnd : len(f)-tagSize]
			l.sealer.Seal(pt[:0], pt, idx, f[offKind:sealedADEnd])
		}
		finishFrame(f)
		l.batch.Write(idx, f)
		es := int64(entrySize(len(f)))
		bytes += uint64(es)
		if first && size > segSize { // only when SegmentSize shrank since the last run
			l.starts = append(l.starts, idx)
			size, cycled = 0, true
		}
		first = false
		size += es
		if size >= segSize {
			// tidwall starts the next segment right after this entry.
			if err := l.flushBatch(); err != nil {
				return err
			}
			l.starts = append(l.starts, idx+1)
			size, cycled, first = 0, true, true
			l.readMu.Lock()
			l.presizeTail()
			l.readMu.Unlock()
		}
	}
	if err := l.flushBatch(); err != nil {
		return err
	}
	l.tailSize = size
	l.st.bytes.Add(bytes)
	var tail *os.File
	if cycled {
		l.publishStarts()
		l.st.segments.Add(1)
		var err error
		path := filepath.Join(l.dir, segmentName(l.starts[len(l.starts)-1]))
		if tail, err = os.OpenFile(path, os.O_RDWR, 0); err != nil {
			return fmt.Errorf("wal: new segment: %w", err)
		}
		if fi, err := tail.Stat(); err != nil || fi.Size() != size {
			tail.Close()
			return fmt.Errorf("wal: new segment %s does not hold the %d bytes expected (%v): %w", path, size, err, ErrCorrupt)
		}
		if !l.opts.NoPrealloc {
			fsutil.Preallocate(tail, l.preallocSize())
		}
	}
	l.smu.Lock()
	l.written = last
	if tail != nil {
		l.retired = append(l.retired, l.syncF)
		l.syncF = tail
		l.dirDirty = true
	}
	l.scond.Broadcast()
	l.smu.Unlock()
	return nil
}

// flushBatch hands the entries gathered in l.batch to tidwall: one write.
func (l *Log) flushBatch() error {
	if err := l.tw.WriteBatch(&l.batch); err != nil {
		return fmt.Errorf("wal: write %s: %w", l.dir, err)
	}
	l.st.batches.Add(1)
	return nil
}

// syncer makes written records durable: on every kick under Always, on a
// timer (and on Sync) under an interval policy, and once more when the log
// closes.
func (l *Log) syncer() {
	defer close(l.syncerDone)
	var tick <-chan time.Time
	if d := l.opts.Sync.Interval(); d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		tick = t.C
	}
	for stopping := false; ; {
		select {
		case <-l.kick:
		case <-tick:
		case <-l.stop:
			stopping = true
		}
		if l.failed() != nil {
			return
		}
		l.smu.Lock()
		target, f, dirty, retired := l.written, l.syncF, l.dirDirty, l.retired
		l.dirDirty, l.retired = false, nil
		l.smu.Unlock()
		for _, r := range retired {
			r.Close()
		}
		if target > l.synced || dirty {
			if err := l.syncTo(f, dirty); err != nil {
				l.fail(err)
				return
			}
			l.smu.Lock()
			l.synced = target
			l.scond.Broadcast()
			l.smu.Unlock()
			if l.opts.Sync.Always() && target > l.committed.Load() {
				l.commit(target)
			}
		}
		if stopping {
			return
		}
	}
}

func (l *Log) syncTo(f *os.File, dirty bool) error {
	if dirty {
		if err := l.dirF.Sync(); err != nil {
			return fmt.Errorf("wal: sync dir %s: %w", l.dir, err)
		}
		l.st.dirSyncs.Add(1)
	}
	t0 := time.Now()
	l.syncing.Store(true)
	err := l.opts.syncFn(f)
	l.syncing.Store(false)
	signal(l.wake) // release what the writer held back
	if err != nil {
		return fmt.Errorf("wal: sync: %w", err)
	}
	l.st.syncNanos.Add(uint64(time.Since(t0)))
	l.st.syncs.Add(1)
	return nil
}

// commit advances the watermark, wakes the waiters it satisfies and tells
// the subscribers.
func (l *Log) commit(c uint64) {
	l.committed.Store(c)
	l.cmu.Lock()
	for len(l.waiters) > 0 && l.waiters[0].index <= c {
		l.waiters.pop().ch <- struct{}{}
	}
	l.cmu.Unlock()
	if subs := l.subs.Load(); subs != nil {
		for _, fn := range *subs {
			fn(c)
		}
	}
}

// fail puts the log in its failed state after a write or sync error: the
// outcome of records not yet committed is unknown (a failed fsync may have
// dropped dirty pages), so nothing more is acknowledged or accepted.
func (l *Log) fail(err error) {
	if l.setFailure(err) {
		l.log.Errorf("%v: the log is stopped and accepts no more records", err)
	}
}

func (l *Log) setFailure(err error) bool {
	if !l.failure.CompareAndSwap(nil, &err) {
		return false
	}
	l.mu.Lock()
	l.space.Broadcast()
	l.mu.Unlock()
	l.cmu.Lock()
	for len(l.waiters) > 0 {
		l.waiters.pop().ch <- struct{}{}
	}
	l.cmu.Unlock()
	l.smu.Lock()
	l.scond.Broadcast()
	l.smu.Unlock()
	return true
}

type waiter struct {
	index uint64
	ch    chan struct{}
}

// waitHeap is a min-heap of waiters by index (container/heap would box each
// push in an interface).
type waitHeap []waiter

func (h *waitHeap) push(w waiter) {
	*h = append(*h, w)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p].index <= s[i].index {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *waitHeap) pop() waiter {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = waiter{}
	s = s[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && s[c+1].index < s[c].index {
			c++
		}
		if s[i].index <= s[c].index {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*h = s
	return top
}
