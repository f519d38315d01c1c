package wal

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/keelhq/keel/internal/fsutil"
	"github.com/keelhq/keel/seal"
)

// Benchmarks write to a directory on the real disk: KEEL_BENCH_DIR, or the
// system temporary directory (check that it is not a tmpfs: fsync there
// costs nothing and the figures would mean nothing).
//
//	go test ./wal -run '^$' -bench . -benchmem -benchtime 1s
//
// BenchmarkCeiling measures the machine's limits with the same bytes: the
// rate of small write+fdatasync pairs, and durable sequential write
// bandwidth (4 MiB writes, each followed by fdatasync). Compare Append's
// msgs/s and MB/s with them.

func benchDir(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp(os.Getenv("KEEL_BENCH_DIR"), "keel-wal-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

var benchSizes = []int{128, 1024, 16 * 1024}

// BenchmarkAppend appends records of each size under each policy.
// Writers: "1" is one goroutine appending without waiting (a pipelined
// publisher; the run ends when the last record is committed); "100" is a
// hundred such goroutines (a hundred streams sharing the log); "256sync" is
// 256 goroutines that each wait for their record before appending the next
// (synchronous publishers); "1sync" is one such goroutine, whose rate is
// the inverse of the append-to-durable latency.
func BenchmarkAppend(b *testing.B) {
	policies := []SyncPolicy{SyncAlways, SyncEvery(100 * time.Millisecond)}
	writers := []string{"1", "100", "256sync", "1sync"}
	for _, p := range policies {
		for _, size := range benchSizes {
			for _, w := range writers {
				b.Run(fmt.Sprintf("%s/%dB/w%s", p, size, w), func(b *testing.B) {
					benchAppend(b, Options{Sync: p}, size, w)
				})
			}
		}
	}
}

// BenchmarkAppendSealed is BenchmarkAppend's 128 B and 16 KB runs with
// AES-256-GCM encryption.
func BenchmarkAppendSealed(b *testing.B) {
	k, err := seal.OpenKeyFile(b.TempDir(), seal.AES, []byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{128, 16 * 1024} {
		b.Run(fmt.Sprintf("always/%dB/w100", size), func(b *testing.B) {
			benchAppend(b, Options{Key: k}, size, "100")
		})
	}
}

// BenchmarkAppendNoPrealloc is the w1 runs under Always without
// preallocating segment files, to compare with BenchmarkAppend.
func BenchmarkAppendNoPrealloc(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("always/%dB/w1", size), func(b *testing.B) {
			benchAppend(b, Options{NoPrealloc: true}, size, "1")
		})
	}
}

func benchAppend(b *testing.B, o Options, size int, writers string) {
	l, err := Open(benchDir(b), o)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	switch writers {
	case "1":
		appendLoop(b, l, data, b.N, false)
	case "100":
		parallel(100, b.N, func(n int) { appendLoop(b, l, data, n, false) })
	case "256sync":
		parallel(256, b.N, func(n int) { appendLoop(b, l, data, n, true) })
	case "1sync":
		appendLoop(b, l, data, b.N, true)
	}
	if err := l.Wait(l.LastIndex()); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	st := l.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(st.WriteAmplification(), "wamp")
	if st.Batches > 0 {
		b.ReportMetric(float64(st.Appends)/float64(st.Batches), "recs/batch")
	}
	if st.Syncs > 0 {
		b.ReportMetric(float64(st.Appends)/float64(st.Syncs), "recs/sync")
		b.ReportMetric(float64(st.SyncTime.Microseconds())/float64(st.Syncs), "us/sync")
	}
}

func appendLoop(b *testing.B, l *Log, data []byte, n int, wait bool) {
	for range n {
		idx, err := l.Append(data)
		if err == nil && wait {
			err = l.Wait(idx)
		}
		if err != nil {
			b.Error(err)
			return
		}
	}
}

// parallel splits n operations over g goroutines.
func parallel(g, n int, fn func(n int)) {
	var wg sync.WaitGroup
	for i := range g {
		share := n / g
		if i < n%g {
			share++
		}
		wg.Go(func() { fn(share) })
	}
	wg.Wait()
}

// BenchmarkCeiling measures the disk: "fdatasync" is one 128 B append and
// one fdatasync per op (the most syncs per second a log can do); "seq/N"
// writes N-byte records in 4 MiB chunks with an fdatasync after each (the
// durable sequential bandwidth the same bytes could reach).
func BenchmarkCeiling(b *testing.B) {
	b.Run("fdatasync", func(b *testing.B) {
		f := benchFile(b)
		rec := make([]byte, 128)
		b.ResetTimer()
		for b.Loop() {
			if _, err := f.Write(rec); err != nil {
				b.Fatal(err)
			}
			if err := fsutil.Fdatasync(f); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "syncs/s")
	})
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("seq/%dB", size), func(b *testing.B) {
			f := benchFile(b)
			// 4 MiB writes into a preallocated file: the best durable
			// sequential bandwidth found for this disk.
			const chunk = 4 << 20
			fsutil.Preallocate(f, int64(b.N)*int64(size)+chunk)
			buf := make([]byte, 0, chunk)
			rec := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			flush := func() {
				if _, err := f.Write(buf); err != nil {
					b.Fatal(err)
				}
				if err := fsutil.Fdatasync(f); err != nil {
					b.Fatal(err)
				}
				buf = buf[:0]
			}
			for range b.N {
				if len(buf)+size > chunk {
					flush()
				}
				buf = append(buf, rec...)
			}
			flush()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

func benchFile(b *testing.B) *os.File {
	f, err := os.Create(benchDir(b) + "/ceiling")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}
