package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"

	twal "github.com/tidwall/wal"
)

// Read returns record index, decrypted, in buf (grown if needed). A record
// not yet committed is waited for. Records before FirstIndex or after
// LastIndex are ErrNotFound; a record recovery found damaged is ErrDamaged.
func (l *Log) Read(index uint64, buf []byte) ([]byte, error) {
	if index == 0 || index < l.first.Load() || index > l.last.Load() {
		return buf[:0], fmt.Errorf("wal: read %d: %w", index, ErrNotFound)
	}
	if err := l.Wait(index); err != nil {
		return buf[:0], err
	}
	// raw aliases tidwall's segment memory, which Scrub may overwrite:
	// decode it under readMu.
	l.readMu.Lock()
	defer l.readMu.Unlock()
	raw, err := l.twRead(index)
	if err != nil {
		return buf[:0], err
	}
	return l.decode(index, raw, buf[:0])
}

func (l *Log) twRead(index uint64) ([]byte, error) {
	raw, err := l.tw.Read(index)
	switch err {
	case nil:
		return raw, nil
	case twal.ErrNotFound:
		return nil, fmt.Errorf("wal: read %d: %w", index, ErrNotFound)
	case twal.ErrClosed:
		return nil, ErrClosed
	}
	return nil, fmt.Errorf("wal: read %d: %w", index, err)
}

// decode checks a stored frame and appends its record to dst.
func (l *Log) decode(index uint64, raw, dst []byte) ([]byte, error) {
	f, ok := decodeFrame(raw, maxFrameBody)
	if !ok || f.index != index {
		return dst, &CorruptError{Segment: l.segmentOf(index), First: index, Last: index,
			Bytes: int64(len(raw)), Reason: "checksum or header mismatch"}
	}
	switch f.kind {
	case kindPlain:
		return append(dst, f.body...), nil
	case kindDamaged:
		return dst, &DamagedError{Index: index}
	case kindScrub:
		return dst, fmt.Errorf("wal: read %d: %w", index, ErrScrubbed)
	}
	s := l.sealers[binary.LittleEndian.Uint32(f.body)]
	if s == nil {
		if l.opts.Key == nil {
			return dst, fmt.Errorf("wal: read %d: %w", index, ErrNoKey)
		}
		return dst, &CorruptError{Segment: l.segmentOf(index), First: index, Last: index,
			Bytes: int64(len(raw)), Reason: "unknown epoch"}
	}
	out, err := s.Open(dst, f.body[epochSize:], index, raw[offKind:sealedADEnd])
	if err != nil {
		return dst, fmt.Errorf("wal: read %d: %w", index, err)
	}
	return out, nil
}

// segmentOf names the segment file holding index, for error reports. It
// takes no lock: readers call it while holding readMu.
func (l *Log) segmentOf(index uint64) string {
	starts := *l.startsView.Load()
	i := sort.Search(len(starts), func(i int) bool { return starts[i] > index }) - 1
	if i < 0 {
		return "?"
	}
	return segmentName(starts[i])
}

// publishStarts updates the lock-free copy of starts; wmu is held.
func (l *Log) publishStarts() {
	s := slices.Clone(l.starts)
	l.startsView.Store(&s)
}

// Replay calls fn for every record from index from (FirstIndex when from is
// 0) to the LastIndex at the time of the call, in order, with data valid
// only during the call. Scrubbed records are skipped: their owner erased
// them on purpose. It stops at the first error: fn's, or a damaged or
// corrupt record (a *DamagedError names its index; resume after it with
// Replay(index+1, fn) once the loss is handled).
func (l *Log) Replay(from uint64, fn func(index uint64, data []byte) error) error {
	first, last := l.first.Load(), l.last.Load()
	if from == 0 {
		from = first
	}
	if from < first {
		return fmt.Errorf("wal: replay from %d: log starts at %d: %w", from, first, ErrNotFound)
	}
	var buf []byte
	for i := from; i <= last; i++ {
		data, err := l.Read(i, buf)
		if errors.Is(err, ErrScrubbed) {
			continue
		}
		if err != nil {
			return err
		}
		buf = data
		if err := fn(i, data); err != nil {
			return err
		}
	}
	return nil
}
