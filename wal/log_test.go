package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/keelhq/keel/internal/fsutil"
)

func TestAppendReadReopen(t *testing.T) {
	policies := []SyncPolicy{SyncAlways, SyncEvery(time.Hour)}
	for _, v := range variants {
		for _, p := range policies {
			t.Run(v.name+"/"+p.String(), func(t *testing.T) {
				dir := t.TempDir()
				o := v.opts(t)
				o.Sync = p
				l := mustOpen(t, dir, o)
				if l.FirstIndex() != 1 || l.LastIndex() != 0 {
					t.Fatalf("new log holds %d-%d", l.FirstIndex(), l.LastIndex())
				}
				appendN(t, l, 1, 200)
				if err := l.Wait(200); err != nil {
					t.Fatal(err)
				}
				got, err := l.Read(77, nil)
				if err != nil || !bytes.Equal(got, payload(77)) {
					t.Fatalf("read 77: %q %v", got, err)
				}
				checkRecords(t, l, 1, 200)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}

				l = mustOpen(t, dir, o)
				defer l.Close()
				if l.Committed() != 200 {
					t.Fatalf("reopened log committed %d, want 200", l.Committed())
				}
				checkRecords(t, l, 1, 200)
				appendN(t, l, 201, 250)
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
				checkRecords(t, l, 1, 250)
			})
		}
	}
}

func TestReadErrors(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	appendN(t, l, 1, 3)
	for _, i := range []uint64{0, 4, 100} {
		if _, err := l.Read(i, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("read %d: %v, want ErrNotFound", i, err)
		}
	}
	if err := l.Wait(9); !errors.Is(err, ErrRange) {
		t.Errorf("wait beyond last: %v", err)
	}
	if _, err := l.Append(make([]byte, DefaultMaxRecordSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized append: %v", err)
	}
	if err := l.Replay(0, func(uint64, []byte) error { return errors.New("stop") }); err == nil || err.Error() != "stop" {
		t.Errorf("replay did not return fn's error: %v", err)
	}
}

// TestConcurrentAppenders runs many appenders at once (run it with -race):
// indexes are dense and unique, each appender's indexes grow, and every
// record reads back as the appender wrote it.
func TestConcurrentAppenders(t *testing.T) {
	for _, v := range variants[:2] {
		t.Run(v.name, func(t *testing.T) {
			o := v.opts(t)
			o.SegmentSize = 64 << 10 // several segment changes under load
			l := mustOpen(t, t.TempDir(), o)
			defer l.Close()
			const writers, each = 16, 300
			got := make([][]uint64, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for j := range each {
						data := fmt.Appendf(nil, "w%d-%d", w, j)
						idx, err := l.Append(data)
						if err != nil {
							t.Error(err)
							return
						}
						got[w] = append(got[w], idx)
						if j%50 == 0 { // some writers wait like synchronous publishers
							if err := l.Wait(idx); err != nil {
								t.Error(err)
							}
						}
					}
				})
			}
			wg.Wait()
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			seen := make(map[uint64]bool)
			for w, idxs := range got {
				for j, idx := range idxs {
					if j > 0 && idx <= idxs[j-1] {
						t.Fatalf("writer %d: index %d after %d", w, idx, idxs[j-1])
					}
					seen[idx] = true
					data, err := l.Read(idx, nil)
					if err != nil || string(data) != fmt.Sprintf("w%d-%d", w, j) {
						t.Fatalf("record %d: %q %v", idx, data, err)
					}
				}
			}
			if len(seen) != writers*each || l.LastIndex() != writers*each || l.Committed() != writers*each {
				t.Fatalf("%d distinct indexes, last %d, committed %d", len(seen), l.LastIndex(), l.Committed())
			}
			if st := l.Stats(); st.Segments == 0 || st.Batches >= st.Appends {
				t.Fatalf("no segment change or no batching: %+v", st)
			}
		})
	}
}

// TestWatermark checks that under Always the watermark only passes records
// an fdatasync started after their write has covered, and that Notify sees
// it advance in order.
func TestWatermark(t *testing.T) {
	var l *Log
	var mu sync.Mutex
	var maxCovered uint64 // highest index written before a completed sync began
	o := Options{syncFn: func(f *os.File) error {
		l.smu.Lock()
		w := l.written
		l.smu.Unlock()
		err := fsutil.Fdatasync(f)
		mu.Lock()
		maxCovered = max(maxCovered, w)
		mu.Unlock()
		return err
	}}
	var err error
	if l, err = Open(t.TempDir(), o); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var seen []uint64
	l.Notify(func(c uint64) {
		mu.Lock()
		defer mu.Unlock()
		if c > maxCovered {
			t.Errorf("watermark %d passed the last synced record %d", c, maxCovered)
		}
		seen = append(seen, c)
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				idx, err := l.Append([]byte("x"))
				if err == nil {
					err = l.Wait(idx)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if l.Committed() < idx {
					t.Errorf("Wait(%d) returned at watermark %d", idx, l.Committed())
				}
			}
		})
	}
	wg.Wait()
	l.Close() // Wait returns before subscribers run; Close waits for them
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("watermark went %d -> %d", seen[i-1], seen[i])
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != 1600 {
		t.Fatalf("notifications %v", seen)
	}
}

// TestIntervalCommitsWithoutSync: under an interval policy the watermark
// follows writes, not fsyncs; Sync forces one.
func TestIntervalCommitsWithoutSync(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{Sync: SyncEvery(time.Hour)})
	defer l.Close()
	appendN(t, l, 1, 10)
	if err := l.Wait(10); err != nil {
		t.Fatal(err)
	}
	if n := l.Stats().Syncs; n != 0 {
		t.Fatalf("%d syncs before the interval", n)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := l.Stats().Syncs; n == 0 {
		t.Fatal("Sync did not sync")
	}
}

func TestFailedState(t *testing.T) {
	boom := errors.New("injected EIO")
	cases := []struct {
		name string
		opts Options
	}{
		{"sync fails", Options{syncFn: func(*os.File) error { return boom }}},
		{"write fails", Options{writeHook: func() error { return boom }}},
		{"interval write fails", Options{Sync: SyncEvery(time.Hour), writeHook: func() error { return boom }}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := &testLogger{}
			tc.opts.Logger = log
			l := mustOpen(t, t.TempDir(), tc.opts)
			idx, err := l.Append([]byte("doomed"))
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Wait(idx); !errors.Is(err, boom) {
				t.Fatalf("wait: %v, want the injected error", err)
			}
			if l.Committed() >= idx {
				t.Fatal("a record whose write or sync failed was committed")
			}
			if _, err := l.Append([]byte("more")); !errors.Is(err, boom) {
				t.Fatalf("append after failure: %v", err)
			}
			if err := l.Sync(); !errors.Is(err, boom) {
				t.Fatalf("sync after failure: %v", err)
			}
			if err := l.Close(); !errors.Is(err, boom) {
				t.Fatalf("close after failure: %v", err)
			}
			if log.count("ERR") == 0 {
				t.Fatal("failure not logged")
			}
		})
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Sync: SyncEvery(time.Hour)})
	appendN(t, l, 1, 100)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Committed() != 100 || l.Stats().Syncs == 0 {
		t.Fatalf("close left committed %d, %d syncs", l.Committed(), l.Stats().Syncs)
	}
	if _, err := l.Append(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkRecords(t, l, 1, 100)
}

// TestBackpressure: with a tiny MaxPending, appenders block and resume.
func TestBackpressure(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{MaxPending: 1024})
	defer l.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				if _, err := l.Append(make([]byte, 100)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := l.Sync(); err != nil || l.Committed() != 2000 {
		t.Fatalf("committed %d, %v", l.Committed(), err)
	}
}

func TestTruncateFront(t *testing.T) {
	const n = 400
	cases := []struct {
		name  string
		index func(l *Log, starts []uint64) uint64
	}{
		{"inside an older segment", func(_ *Log, s []uint64) uint64 { return s[1] + 3 }},
		{"at a segment start", func(_ *Log, s []uint64) uint64 { return s[2] }},
		{"inside the tail segment", func(_ *Log, s []uint64) uint64 { return s[len(s)-1] + 1 }},
		{"everything", func(l *Log, _ []uint64) uint64 { return l.LastIndex() + 1 }},
	}
	for _, v := range variants[:2] {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				o := v.opts(t)
				o.SegmentSize = 8 << 10
				l := mustOpen(t, dir, o)
				appendN(t, l, 1, n)
				if err := l.Wait(n); err != nil {
					t.Fatal(err)
				}
				if len(l.starts) < 4 {
					t.Fatalf("only %d segments", len(l.starts))
				}
				idx := tc.index(l, l.starts)
				if err := l.TruncateFront(idx); err != nil {
					t.Fatal(err)
				}
				if _, err := l.Read(idx-1, nil); !errors.Is(err, ErrNotFound) {
					t.Fatalf("read below the front: %v", err)
				}
				if err := l.Replay(idx-1, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrNotFound) {
					t.Fatalf("replay below the front: %v", err)
				}
				checkRecords(t, l, idx, n)
				// The log keeps working, in the same files when the tail moved.
				appendN(t, l, n+1, n+20)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				l = mustOpen(t, dir, o)
				defer l.Close()
				checkRecords(t, l, idx, n+20)
				if got := segments(t, dir); len(got) != len(l.starts) {
					t.Fatalf("%d segment files, log tracks %d", len(got), len(l.starts))
				}
			})
		}
	}
}

func TestTruncateFrontLimits(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{Sync: SyncEvery(time.Hour), writeHook: nil})
	defer l.Close()
	appendN(t, l, 1, 10)
	l.Wait(10)
	if err := l.TruncateFront(12); !errors.Is(err, ErrRange) {
		t.Fatalf("truncate beyond the watermark: %v", err)
	}
	if err := l.TruncateFront(5); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateFront(3); err != nil || l.FirstIndex() != 5 {
		t.Fatalf("truncating below the front: %v, first %d", err, l.FirstIndex())
	}
}

// TestAppendAllocs: Append allocates nothing once its buffers are warm.
func TestAppendAllocs(t *testing.T) {
	for _, v := range variants[:2] {
		l := mustOpen(t, t.TempDir(), v.opts(t))
		data := make([]byte, 128)
		for range 20000 {
			l.Append(data)
		}
		l.Sync()
		allocs := testing.AllocsPerRun(5000, func() {
			if _, err := l.Append(data); err != nil {
				t.Fatal(err)
			}
		})
		l.Close()
		if allocs > 0 {
			t.Errorf("%s: %.2f allocations per Append", v.name, allocs)
		}
	}
}

func TestOpenTwice(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	l.Close()
	l = mustOpen(t, dir, Options{})
	l.Close()
}

// TestBeforeWrite: the hook runs before every batch reaches the segment
// file, under both policies, so what it writes elsewhere is in the
// operating system before any record of the batch.
func TestBeforeWrite(t *testing.T) {
	for _, pol := range []SyncPolicy{SyncAlways, SyncEvery(time.Hour)} {
		t.Run(pol.String(), func(t *testing.T) {
			dir := t.TempDir()
			var mu sync.Mutex
			var seen []int64 // bytes in segment files at each call
			size := func() int64 {
				var n int64
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					if fi, err := e.Info(); err == nil && len(e.Name()) == 20 {
						n += fi.Size()
					}
				}
				return n
			}
			l := mustOpen(t, dir, Options{Sync: pol, NoPrealloc: true, BeforeWrite: func() {
				mu.Lock()
				seen = append(seen, size())
				mu.Unlock()
			}})
			defer l.Close()
			for i := uint64(1); i <= 3; i++ {
				before := size()
				appendN(t, l, i, i)
				if err := l.Wait(i); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				n, last := len(seen), seen[len(seen)-1]
				mu.Unlock()
				if n != int(i) || last != before {
					t.Fatalf("after record %d: %d hook calls, the last seeing %d bytes on disk, want %d calls seeing %d", i, n, last, i, before)
				}
			}
		})
	}
}
