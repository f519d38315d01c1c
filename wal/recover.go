package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	twal "github.com/tidwall/wal"

	"github.com/keelhq/keel/internal/fsutil"
)

// Recovery is what Open found and did.
type Recovery struct {
	Segments int    // segment files
	Records  uint64 // records in the log after recovery, placeholders included
	// Cut lists torn tails cut back to the last whole record.
	Cut []CorruptError
	// Damaged lists records lost to damage in the middle of the log, now
	// placeholders that Read and Replay report as ErrDamaged, and stray
	// bytes removed between valid records.
	Damaged []CorruptError
	// Placeholders counts damaged records left by earlier recoveries.
	Placeholders int
	// Scrubbed counts records erased by Scrub.
	Scrubbed int
}

// DroppedBytes is the total number of torn-tail bytes cut.
func (r Recovery) DroppedBytes() int64 {
	var n int64
	for _, c := range r.Cut {
		n += c.Bytes
	}
	return n
}

// recovered is the state of the directory after recovery, before tidwall
// opens it.
type recovered struct {
	report   Recovery
	starts   []uint64 // first index of each segment, ascending
	first    uint64
	last     uint64
	tailSize int64
	sealed   bool
	plain    int
	minEpoch uint32
	maxEpoch uint32
}

func segmentName(index uint64) string { return fmt.Sprintf("%020d", index) }

// recoverDir validates every segment, cuts a torn tail back to the last
// whole record, and replaces damaged records in the middle with placeholders
// (or fails, with FailOnDamage), so that tidwall/wal can open the directory.
func recoverDir(dir string, o *Options) (*recovered, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	starts, err := listSegments(dir, true)
	if err != nil {
		return nil, err
	}
	r := &recovered{starts: starts, minEpoch: ^uint32(0)}
	r.report.Segments = len(starts)
	if len(starts) == 0 {
		r.first, r.last = 1, 0
		return r, nil
	}
	for i, start := range starts {
		name := segmentName(start)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("wal: open %s: %w", dir, err)
		}
		sc := scanSegment(data, start, o.MaxRecordSize)
		tail := i == len(starts)-1
		damaged, cut, err := classify(name, &sc, starts, i)
		if err != nil {
			return nil, err
		}
		if len(damaged) > 0 && o.FailOnDamage {
			return nil, &damaged[0]
		}
		for _, d := range damaged {
			if d.Last >= d.First {
				o.Logger.Errorf("%v: replaced by placeholders; reads of them fail with ErrDamaged", &d)
			} else {
				o.Logger.Warnf("%v: removed", &d)
			}
		}
		if cut != nil {
			o.Logger.Warnf("wal: %s: torn tail: cut %d bytes at offset %d after record %d",
				name, cut.Bytes, cut.Offset, cut.First-1)
		}
		r.report.Damaged = append(r.report.Damaged, damaged...)
		if cut != nil {
			r.report.Cut = append(r.report.Cut, *cut)
		}
		size := int64(sc.size)
		switch {
		case len(sc.holes) > 0:
			if size, err = repairSegment(dir, name, data, &sc); err != nil {
				return nil, err
			}
		case cut != nil:
			if err := os.Truncate(filepath.Join(dir, name), int64(sc.end)); err != nil {
				return nil, fmt.Errorf("wal: cut %s: %w", name, err)
			}
			if err := fsutil.SyncPath(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("wal: cut %s: %w", name, err)
			}
			size = int64(sc.end)
		}
		if tail {
			r.tailSize = size
			r.last = start + sc.count - 1
		}
		r.report.Records += sc.count
		r.report.Placeholders += sc.damaged
		r.report.Scrubbed += sc.scrubbed
		r.plain += sc.plain
		if sc.sealed > 0 {
			r.sealed = true
			r.minEpoch = min(r.minEpoch, sc.minEpoch)
			r.maxEpoch = max(r.maxEpoch, sc.maxEpoch)
		}
	}
	r.first = starts[0]
	return r, nil
}

// classify turns a segment scan into damage reports. Bytes after the last
// valid record of the tail are a torn write: cut. Anywhere else, missing
// records are damage to data that was synced (tidwall fsyncs a segment
// before starting the next), so they become holes to fill with placeholders.
func classify(name string, sc *segScan, starts []uint64, i int) (damaged []CorruptError, cut *CorruptError, err error) {
	tail := i == len(starts)-1
	if !tail {
		next := starts[i+1]
		have := sc.start + sc.count
		switch {
		case have > next:
			return nil, nil, &CorruptError{Segment: name, Offset: int64(sc.end), First: next, Last: have - 1,
				Reason: "records overlap the next segment"}
		case have < next || sc.end < sc.size:
			// Records the next segment says must exist are missing, or
			// bytes trail the segment: fold them into one final hole.
			sc.holes = append(sc.holes, hole{first: have, last: next - 1, off: sc.end, end: sc.size})
			sc.count = next - sc.start
			sc.end = sc.size
		}
	}
	for _, h := range sc.holes {
		reason := "damaged records"
		if h.last < h.first {
			reason = "stray bytes between records"
		}
		damaged = append(damaged, CorruptError{Segment: name, Offset: int64(h.off), Bytes: int64(h.end - h.off),
			First: h.first, Last: h.last, Reason: reason})
	}
	if tail && sc.end < sc.size {
		next := sc.start + sc.count
		cut = &CorruptError{Segment: name, Offset: int64(sc.end), Bytes: int64(sc.size - sc.end),
			First: next, Last: next - 1, Reason: "torn tail"}
	}
	return damaged, cut, nil
}

// repairSegment rewrites a segment with its holes replaced by placeholder
// records (and any torn tail left out). Sealed records are copied as they
// are: nothing is encrypted again, so no nonce is reused.
func repairSegment(dir, name string, data []byte, sc *segScan) (int64, error) {
	out := make([]byte, 0, sc.end+len(sc.holes)*minEntry)
	pos := 0
	for _, h := range sc.holes {
		out = append(out, data[pos:h.off]...)
		out = appendPlaceholders(out, h.first, h.last)
		pos = h.end
	}
	out = append(out, data[pos:sc.end]...)
	if err := fsutil.WriteFileAtomic(dir, name, out, 0o640); err != nil {
		return 0, fmt.Errorf("wal: repair %s: %w", name, err)
	}
	return int64(len(out)), nil
}

// listSegments returns the first index of every segment, ascending, after
// letting tidwall/wal finish an interrupted truncation and removing the
// temporary files of interrupted rewrites.
func listSegments(dir string, finish bool) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	pending := false
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, ".START"), strings.HasSuffix(n, ".END"):
			pending = true
		case strings.HasSuffix(n, ".TEMP"), strings.HasSuffix(n, fsutil.TmpSuffix):
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return nil, fmt.Errorf("wal: open %s: %w", dir, err)
			}
		}
	}
	if pending && !finish {
		return nil, fmt.Errorf("wal: open %s: unfinished truncation files remain: %w", dir, ErrCorrupt)
	}
	if pending {
		// tidwall resolves .START/.END files while it loads; its tail check
		// may then fail on a torn tail, which the scan below repairs.
		if l, err := twal.Open(dir, &twal.Options{NoSync: true, AllowEmpty: true}); err == nil {
			l.Close()
		} else if !errors.Is(err, twal.ErrCorrupt) {
			return nil, fmt.Errorf("wal: open %s: finish truncation: %w", dir, err)
		}
		return listSegments(dir, false)
	}
	var starts []uint64
	for _, e := range ents {
		n := e.Name()
		if len(n) != 20 || e.IsDir() {
			continue
		}
		idx, err := strconv.ParseUint(n, 10, 64)
		if err != nil || idx == 0 {
			continue
		}
		starts = append(starts, idx)
	}
	slices.Sort(starts)
	return starts, nil
}
