package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/keelhq/keel/internal/fsutil"
)

// Scrub and TruncateFront change segments already written; both hold wmu
// (no batch in flight) and readMu (no reader inside tidwall's memory).

// Scrub overwrites record index where it lies, on disk and in tidwall's
// memory, with a scrubbed frame of the same length: kind 4, zero body, so
// the records after it keep their places. Read then fails with ErrScrubbed
// and Replay skips it. It is how a secure-erase delete reaches the log; the
// record must be committed (Scrub waits for it).
//
// Scrub overwrites the bytes of the live file only: copies the file system
// freed earlier (a segment that TruncateFront or recovery rewrote) are out
// of its reach, which encryption at rest covers.
func (l *Log) Scrub(index uint64) error {
	if index == 0 || index < l.first.Load() || index > l.last.Load() {
		return fmt.Errorf("wal: scrub %d: %w", index, ErrNotFound)
	}
	if err := l.Wait(index); err != nil {
		return err
	}
	// wmu keeps the writer from growing (and so copying) tidwall's tail
	// buffer while it is overwritten; readMu keeps readers off it.
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.readMu.Lock()
	defer l.readMu.Unlock()
	if err := l.failed(); err != nil {
		return err
	}
	raw, err := l.twRead(index) // aliases tidwall's copy of the segment
	if err != nil {
		return err
	}
	if f, ok := decodeFrame(raw, maxFrameBody); !ok || f.index != index {
		return &CorruptError{Segment: l.segmentOf(index), First: index, Last: index,
			Bytes: int64(len(raw)), Reason: "checksum or header mismatch"}
	} else if f.kind == kindScrub {
		return nil
	}
	name := l.segmentOf(index)
	path := filepath.Join(l.dir, name)
	off, err := frameOffset(path, index)
	if err != nil {
		return fmt.Errorf("wal: scrub %d in %s: %w", index, name, err)
	}
	clear(raw[headerSize:])
	raw[offKind] = kindScrub
	finishFrame(raw)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("wal: scrub %d: %w", index, err)
	}
	defer f.Close()
	if _, err := f.WriteAt(raw, off); err != nil {
		err = fmt.Errorf("wal: scrub %d: %w", index, err)
		l.fail(err)
		return err
	}
	if err := l.opts.syncFn(f); err != nil {
		err = fmt.Errorf("wal: scrub %d: %w", index, err)
		l.fail(err)
		return err
	}
	return nil
}

// frameOffset finds where record index's frame starts in a segment file.
func frameOffset(path string, index uint64) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for pos := 0; pos < len(data); {
		f, next, ok := entryAt(data, pos, maxFrameBody)
		if !ok {
			break
		}
		if f.index == index {
			return int64(next - headerSize - len(f.body)), nil
		}
		pos = next
	}
	return 0, fmt.Errorf("record not found in the file: %w", ErrCorrupt)
}

// TruncateFront drops every record before index, once the caller has made
// them durable elsewhere. index may be at most Committed()+1 (which empties
// the log). tidwall/wal rewrites the segment that holds index, so call it
// about once per segment's worth of records, not per record.
func (l *Log) TruncateFront(index uint64) error {
	if err := l.failed(); err != nil {
		return err
	}
	if index <= l.first.Load() {
		return nil
	}
	if c := l.committed.Load(); index > c+1 {
		return fmt.Errorf("wal: truncate front to %d: committed is %d: %w", index, c, ErrRange)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.readMu.Lock()
	defer l.readMu.Unlock()
	i := sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > index }) - 1
	tailHit := i == len(l.starts)-1
	if err := l.tw.TruncateFront(index); err != nil {
		err = fmt.Errorf("wal: truncate front to %d: %w", index, err)
		l.fail(err) // tidwall may be half-way: it needs a reopen
		return err
	}
	path := filepath.Join(l.dir, segmentName(index))
	fi, err := os.Stat(path)
	if err != nil {
		err = fmt.Errorf("wal: truncate front to %d: %w", index, err)
		l.fail(err)
		return err
	}
	l.st.bytes.Add(uint64(fi.Size()))
	l.starts = append([]uint64{index}, l.starts[i+1:]...)
	l.publishStarts()
	l.first.Store(index)
	if tailHit {
		// tidwall replaced the tail file: sync through the new one.
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			err = fmt.Errorf("wal: truncate front to %d: %w", index, err)
			l.fail(err)
			return err
		}
		if !l.opts.NoPrealloc {
			fsutil.Preallocate(f, l.preallocSize())
		}
		l.tailSize = fi.Size()
		l.presizeTail()
		l.smu.Lock()
		l.retired = append(l.retired, l.syncF)
		l.syncF = f
		l.dirDirty = true
		l.smu.Unlock()
	}
	if err := l.dirF.Sync(); err != nil {
		err = fmt.Errorf("wal: truncate front to %d: sync dir: %w", index, err)
		l.fail(err)
		return err
	}
	return nil
}
