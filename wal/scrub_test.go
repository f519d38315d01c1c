package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestScrub erases records in an older segment and in the tail: their bytes
// are gone from every file, even after tidwall rewrites the tail segment
// from its memory (TruncateFront), and the other records are untouched.
func TestScrub(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 4096}
	l := mustOpen(t, dir, o)
	secret := func(i uint64) []byte { return fmt.Appendf(nil, "SECRET-%04d-", i) }
	const n = 120
	for i := uint64(1); i <= n; i++ {
		if _, err := l.Append(append(secret(i), payload(i)...)); err != nil {
			t.Fatal(err)
		}
	}
	scrubbed := []uint64{5, 60, n - 1, n} // older segments and the tail
	for _, i := range scrubbed {
		if err := l.Scrub(i); err != nil {
			t.Fatalf("scrub %d: %v", i, err)
		}
	}
	if err := l.Scrub(n); err != nil {
		t.Fatalf("scrubbing twice: %v", err)
	}
	if err := l.Scrub(n + 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("scrub beyond the log: %v", err)
	}
	isScrubbed := func(i uint64) bool {
		for _, s := range scrubbed {
			if s == i {
				return true
			}
		}
		return false
	}
	check := func(l *Log) {
		t.Helper()
		files, _ := os.ReadDir(dir)
		var all []byte
		for _, f := range files {
			b, _ := os.ReadFile(filepath.Join(dir, f.Name()))
			all = append(all, b...)
		}
		for i := l.FirstIndex(); i <= n; i++ {
			onDisk := bytes.Contains(all, secret(i))
			data, err := l.Read(i, nil)
			if isScrubbed(i) {
				if onDisk || !errors.Is(err, ErrScrubbed) {
					t.Fatalf("record %d: on disk %v, read %v", i, onDisk, err)
				}
			} else if !onDisk || err != nil || !bytes.HasPrefix(data, secret(i)) {
				t.Fatalf("record %d: on disk %v, read %q %v", i, onDisk, data, err)
			}
		}
		var replayed, want int
		for i := l.FirstIndex(); i <= n; i++ {
			if !isScrubbed(i) {
				want++
			}
		}
		err := l.Replay(0, func(i uint64, _ []byte) error {
			if isScrubbed(i) {
				return fmt.Errorf("replay returned scrubbed record %d", i)
			}
			replayed++
			return nil
		})
		if err != nil || replayed != want {
			t.Fatalf("replayed %d of %d: %v", replayed, want, err)
		}
	}
	check(l)
	// TruncateFront rewrites the tail segment from tidwall's memory.
	if err := l.TruncateFront(l.starts[len(l.starts)-1] + 1); err != nil {
		t.Fatal(err)
	}
	check(l)
	l.Close()
	l = mustOpen(t, dir, o)
	defer l.Close()
	if l.Recovery().Records != n-l.FirstIndex()+1 || len(l.Recovery().Damaged) != 0 {
		t.Fatalf("reopen: %+v", l.Recovery())
	}
	check(l)
}
