package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// buildLog writes records 1..n with o and closes the log.
func buildLog(t *testing.T, o Options, n uint64) string {
	t.Helper()
	dir := t.TempDir()
	l := mustOpen(t, dir, o)
	appendN(t, l, 1, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTornTailEveryOffset cuts the newest segment at every byte offset of
// its last record: Open drops exactly that record, reports the bytes, and
// the log continues with the same index.
func TestTornTailEveryOffset(t *testing.T) {
	const n = 73 // payload(73) is short: fewer offsets to try
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			o := v.opts(t)
			src := buildLog(t, o, n)
			tail := filepath.Base(segments(t, src)[0])
			offs := entryOffsets(t, filepath.Join(src, tail))
			lastStart, size := offs[n-1], offs[n]
			for cut := lastStart; cut < size; cut++ {
				dir := copyDir(t, src)
				if err := os.Truncate(filepath.Join(dir, tail), int64(cut)); err != nil {
					t.Fatal(err)
				}
				log := &testLogger{}
				o.Logger = log
				l := mustOpen(t, dir, o)
				rec := l.Recovery()
				if l.LastIndex() != n-1 || rec.DroppedBytes() != int64(cut-lastStart) || len(rec.Damaged) != 0 {
					t.Fatalf("cut at %d: last %d, recovery %+v", cut, l.LastIndex(), rec)
				}
				if cut > lastStart && log.count("WRN") == 0 {
					t.Fatalf("cut at %d: torn tail not logged", cut)
				}
				appendN(t, l, n, n)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				l = mustOpen(t, dir, o)
				checkRecords(t, l, 1, n)
				l.Close()
			}
		})
	}
}

// TestFlipTail flips every byte of the last record: it is cut, never
// returned damaged.
func TestFlipTail(t *testing.T) {
	const n = 73
	src := buildLog(t, Options{}, n)
	tail := segments(t, src)[0]
	offs := entryOffsets(t, tail)
	for at := offs[n-1]; at < offs[n]; at++ {
		dir := copyDir(t, src)
		path := filepath.Join(dir, filepath.Base(tail))
		data, _ := os.ReadFile(path)
		data[at] ^= 0x40
		os.WriteFile(path, data, 0o640)
		l := mustOpen(t, dir, Options{})
		if l.LastIndex() != n-1 || len(l.Recovery().Cut) != 1 {
			t.Fatalf("flip at %d: last %d, recovery %+v", at, l.LastIndex(), l.Recovery())
		}
		checkRecords(t, l, 1, n-1)
		l.Close()
	}
}

// TestTailGarbage: bytes after the last record that look like nothing (a
// preallocated or zero-filled tail, random junk) are cut.
func TestTailGarbage(t *testing.T) {
	for name, junk := range map[string][]byte{
		"zeros":      make([]byte, 4096),
		"one zero":   {0},
		"junk":       bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 100),
		"big length": {0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3},
	} {
		t.Run(name, func(t *testing.T) {
			dir := buildLog(t, Options{}, 5)
			f, _ := os.OpenFile(segments(t, dir)[0], os.O_APPEND|os.O_WRONLY, 0)
			f.Write(junk)
			f.Close()
			l := mustOpen(t, dir, Options{})
			defer l.Close()
			if l.Recovery().DroppedBytes() != int64(len(junk)) {
				t.Fatalf("recovery %+v", l.Recovery())
			}
			checkRecords(t, l, 1, 5)
		})
	}
}

// TestDamageInTheMiddle damages one record followed by good ones, in every
// part of its entry: Open replaces it by a placeholder (or fails with
// FailOnDamage), reports it loudly, and keeps every other record.
func TestDamageInTheMiddle(t *testing.T) {
	const n, bad = 30, 12
	cases := []struct {
		name string
		off  func(entry int) int // byte to damage, from the entry start
	}{
		{"length prefix", func(int) int { return 0 }},
		{"crc", func(int) int { return 2 }},
		{"kind", func(int) int { return 1 + offKind }},
		{"body length", func(int) int { return 1 + offLen }},
		{"index", func(int) int { return 1 + offIndex }},
		{"body", func(int) int { return 1 + headerSize + 5 }},
	}
	for _, v := range variants[:2] {
		o := v.opts(t)
		src := buildLog(t, o, n)
		seg := filepath.Base(segments(t, src)[0])
		offs := entryOffsets(t, filepath.Join(src, seg))
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				damage := func() string {
					dir := copyDir(t, src)
					path := filepath.Join(dir, seg)
					data, _ := os.ReadFile(path)
					data[offs[bad-1]+tc.off(offs[bad-1])] ^= 0x5a
					os.WriteFile(path, data, 0o640)
					return dir
				}

				strict := o
				strict.FailOnDamage = true
				_, err := Open(damage(), strict)
				var ce *CorruptError
				if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.First > bad || ce.Last < bad {
					t.Fatalf("strict open: %v", err)
				}

				log := &testLogger{}
				o := o
				o.Logger = log
				dir := damage()
				l := mustOpen(t, dir, o)
				rec := l.Recovery()
				if len(rec.Damaged) != 1 || rec.Damaged[0].First != bad || rec.Damaged[0].Last != bad || len(rec.Cut) != 0 {
					t.Fatalf("recovery %+v", rec)
				}
				if log.count("ERR") == 0 {
					t.Fatal("damage not logged as an error")
				}
				assertDamagedOnly(t, l, n, bad)
				appendN(t, l, n+1, n+1)
				l.Close()

				// The placeholder is permanent and reported again.
				l = mustOpen(t, dir, o)
				defer l.Close()
				if l.Recovery().Placeholders != 1 || len(l.Recovery().Damaged) != 0 {
					t.Fatalf("reopen: %+v", l.Recovery())
				}
				assertDamagedOnly(t, l, n+1, bad)
			})
		}
	}
}

// assertDamagedOnly checks that record bad reads as ErrDamaged, Replay stops
// there with its index, and every other record of 1..last is intact.
func assertDamagedOnly(t *testing.T, l *Log, last, bad uint64) {
	t.Helper()
	var de *DamagedError
	if _, err := l.Read(bad, nil); !errors.As(err, &de) || de.Index != bad || !errors.Is(err, ErrDamaged) {
		t.Fatalf("read of the damaged record: %v", err)
	}
	var got []uint64
	collect := func(i uint64, data []byte) error {
		if !bytes.Equal(data, payload(i)) {
			t.Fatalf("record %d altered", i)
		}
		got = append(got, i)
		return nil
	}
	if err := l.Replay(1, collect); !errors.As(err, &de) || de.Index != bad {
		t.Fatalf("replay: %v", err)
	}
	if err := l.Replay(bad+1, collect); err != nil {
		t.Fatal(err)
	}
	if uint64(len(got)) != last-1 {
		t.Fatalf("replayed %d records, want %d", len(got), last-1)
	}
}

// TestDamageInOlderSegment: older segments were fully synced before the
// next one began, so damage there, even at their end, is never cut.
func TestDamageInOlderSegment(t *testing.T) {
	o := Options{SegmentSize: 2048}
	src := buildLog(t, o, 100)
	segs := segments(t, src)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	seg := filepath.Base(segs[1])
	offs := entryOffsets(t, segs[1])
	cases := []struct {
		name   string
		damage func(data []byte) []byte
		lost   int // records lost
	}{
		{"last record flipped", func(d []byte) []byte { d[offs[len(offs)-2]+5] ^= 1; return d }, 1},
		{"last two records cut off", func(d []byte) []byte { return d[:offs[len(offs)-3]] }, 2},
		{"first record flipped", func(d []byte) []byte { d[3] ^= 1; return d }, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, src)
			path := filepath.Join(dir, seg)
			data, _ := os.ReadFile(path)
			os.WriteFile(path, tc.damage(data), 0o640)
			l := mustOpen(t, dir, o)
			defer l.Close()
			rec := l.Recovery()
			if len(rec.Damaged) != 1 || int(rec.Damaged[0].Last-rec.Damaged[0].First+1) != tc.lost || len(rec.Cut) != 0 {
				t.Fatalf("recovery %+v", rec)
			}
			if l.LastIndex() != 100 {
				t.Fatalf("last %d", l.LastIndex())
			}
			for i := uint64(1); i <= 100; i++ {
				data, err := l.Read(i, nil)
				if i >= rec.Damaged[0].First && i <= rec.Damaged[0].Last {
					if !errors.Is(err, ErrDamaged) {
						t.Fatalf("record %d: %v", i, err)
					}
				} else if err != nil || !bytes.Equal(data, payload(i)) {
					t.Fatalf("record %d: %v", i, err)
				}
			}
		})
	}
}

// TestUnfinishedTruncation: a crash inside tidwall's TruncateFront leaves a
// .START file; Open finishes the truncation.
func TestUnfinishedTruncation(t *testing.T) {
	o := Options{SegmentSize: 2048}
	dir := buildLog(t, o, 100)
	segs := segments(t, dir)
	// tidwall wrote the START copy of the segment holding the new front,
	// then crashed before deleting the older segments.
	offs := entryOffsets(t, segs[1])
	data, _ := os.ReadFile(segs[1])
	start := segmentStart(t, segs[1]) + 2
	os.WriteFile(filepath.Join(dir, segmentName(start)+".START"), data[offs[2]:], 0o640)
	os.WriteFile(filepath.Join(dir, "EPOCHS.tmp"), []byte("junk"), 0o640)
	l := mustOpen(t, dir, o)
	defer l.Close()
	checkRecords(t, l, start, 100)
	if _, err := os.Stat(filepath.Join(dir, "EPOCHS.tmp")); !os.IsNotExist(err) {
		t.Fatal("temporary file left behind")
	}
}

func segmentStart(t *testing.T, path string) uint64 {
	t.Helper()
	starts, _ := listSegments(filepath.Dir(path), false)
	for _, s := range starts {
		if segmentName(s) == filepath.Base(path) {
			return s
		}
	}
	t.Fatalf("%s is not a segment", path)
	return 0
}

// TestOverlappingSegments: two segments claiming the same records is not
// something recovery guesses about.
func TestOverlappingSegments(t *testing.T) {
	o := Options{SegmentSize: 2048}
	dir := buildLog(t, o, 100)
	segs := segments(t, dir)
	// The third segment renamed one index earlier: its first record is
	// claimed by the second segment too.
	next := segmentStart(t, segs[2])
	os.Rename(segs[2], filepath.Join(dir, segmentName(next-1)))
	if _, err := Open(dir, o); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open: %v", err)
	}
}
