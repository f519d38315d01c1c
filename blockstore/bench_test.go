package blockstore

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keelhq/keel/internal/fsutil"
)

// Benchmarks: go test ./blockstore -bench . -benchmem -run '^$' -benchtime 2s
//
// Every figure that has a physical limit is also reported as a fraction of
// the machine's own ceiling, measured in the same run (ceiling()).

var benchLarge = flag.Bool("bench.large", false, "include the 10M-message open benchmarks")

// ---- machine ceiling ----

type machineCeiling struct {
	writeMBps float64 // sequential writes, an fdatasync every 8 MiB
	fsyncs    float64 // fdatasyncs per second after a small write
}

var (
	ceilOnce sync.Once
	ceil     machineCeiling
)

// ceiling measures the disk under the benchmark folder the way the
// engine would use it at best: durable sequential write bandwidth (an
// fdatasync every 8 MiB, the best of 16 KiB writes, one per message, and
// 256 KiB writes, one per batch) and the fdatasync rate after a small
// write. The machine is shared, so each is the best of three tries.
func ceiling(b *testing.B) machineCeiling {
	ceilOnce.Do(func() {
		dir := b.TempDir()
		rec := make([]byte, 256<<10)
		rand.Read(rec)
		for try := 0; try < 6; try++ {
			f, err := os.Create(filepath.Join(dir, fmt.Sprint("ceiling", try)))
			if err != nil {
				b.Fatal(err)
			}
			w := rec[:16<<10]
			if try%2 == 1 {
				w = rec
			}
			const total = 128 << 20
			start := time.Now()
			for n := 0; n < total; n += len(w) {
				f.Write(w)
				if (n+len(w))%(8<<20) == 0 {
					fsutil.Fdatasync(f)
				}
			}
			ceil.writeMBps = max(ceil.writeMBps, float64(total)/(1<<20)/time.Since(start).Seconds())
			if try%2 == 0 {
				small := make([]byte, 128)
				const syncs = 300
				start = time.Now()
				for i := 0; i < syncs; i++ {
					f.Write(small)
					fsutil.Fdatasync(f)
				}
				ceil.fsyncs = max(ceil.fsyncs, syncs/time.Since(start).Seconds())
			}
			f.Close()
			os.Remove(f.Name())
		}
	})
	return ceil
}

func BenchmarkCeiling(b *testing.B) {
	c := ceiling(b)
	for i := 0; i < b.N; i++ {
	}
	b.ReportMetric(c.writeMBps, "MB/s-durable-write")
	b.ReportMetric(c.fsyncs, "fdatasync/s")
}

// writtenBytes is what this process has passed to write calls so far
// (/proc/self/io wchar): the numerator of write amplification.
func writtenBytes() int64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// ---- appends ----

// publisher applies stores to s, keeping at most window commands beyond
// the durable watermark (an asynchronous publisher waiting for its acks).
func publish(b *testing.B, e *Engine, s Stream, n, size, window int, subj string) {
	data := make([]byte, size)
	rand.Read(data)
	cmd := Command{Op: OpStore, Subject: subj, Data: data}
	var inflight []Ticket
	for i := 0; i < n; i++ {
		cmd.Time = int64(i + 1)
		cmd.Seq = 0
		r, err := s.Apply(&cmd)
		if err != nil {
			b.Error(err)
			return
		}
		if e != nil {
			inflight = append(inflight, r.Ticket)
			if len(inflight) >= window {
				waitDurable(e, inflight[len(inflight)/2])
				inflight = inflight[len(inflight)/2+1:]
			}
		}
	}
	if e != nil && len(inflight) > 0 {
		waitDurable(e, inflight[len(inflight)-1])
	}
}

func waitDurable(e *Engine, t Ticket) {
	for e.Durable() < t {
		time.Sleep(20 * time.Microsecond)
	}
}

type appendCase struct {
	size     int
	interval time.Duration
}

func (c appendCase) name() string {
	pol := "always"
	if c.interval > 0 {
		pol = "interval"
	}
	return fmt.Sprintf("%dB/%s", c.size, pol)
}

var appendCases = []appendCase{
	{128, 0}, {1024, 0}, {16 << 10, 0},
	{128, 100 * time.Millisecond}, {1024, 100 * time.Millisecond}, {16 << 10, 100 * time.Millisecond},
}

// BenchmarkAppend: one stream, publishers applying concurrently with a
// window of unacknowledged messages each; the time includes waiting until
// everything is durable, and write amplification counts every byte the
// engine writes, the final checkpoint's included.
func BenchmarkAppend(b *testing.B) {
	for _, c := range appendCases {
		b.Run(c.name(), func(b *testing.B) { benchAppend(b, c, 1, 4) })
	}
}

// BenchmarkAppendStreams compares 100 streams with one under the same
// concurrent load (clarification 9: the ratio must stay at or above 0.8).
func BenchmarkAppendStreams(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("128B/%dstreams", n), func(b *testing.B) { benchAppend(b, appendCase{128, 0}, n, 100) })
	}
}

func benchAppend(b *testing.B, c appendCase, streams, writers int) {
	ceil := ceiling(b)
	dir := b.TempDir()
	e, err := Open(dir, Options{SyncInterval: c.interval})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ss := make([]Stream, streams)
	for i := range ss {
		if ss[i], err = e.CreateStream(Config{Name: fmt.Sprint("B", i)}); err != nil {
			b.Fatal(err)
		}
	}
	window := 4096
	if c.size > 4096 {
		window = 512
	}
	b.SetBytes(int64(c.size))
	b.ReportAllocs()
	w0 := writtenBytes()
	walSyncs0, blockSyncs0 := e.wal.Stats().Syncs, e.dur.syncs.Load()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / writers
	for w := 0; w < writers; w++ {
		n := per
		if w == 0 {
			n += b.N - per*writers
		}
		wg.Add(1)
		go func(s Stream, n, w int) {
			defer wg.Done()
			publish(b, e, s, n, c.size, window, fmt.Sprint("bench.", w))
		}(ss[w%streams], n, w)
	}
	wg.Wait()
	// Throughput is appends made durable; the checkpoint that moves the
	// last second of the WAL into blocks is an end effect (in steady state
	// checkpoints run in the background, inside the measured time), so it
	// runs untimed but its bytes count in the write amplification.
	el := b.Elapsed()
	b.StopTimer()
	if err := e.checkpoint(false); err != nil {
		b.Fatal(err)
	}
	written := writtenBytes() - w0
	walSyncs, blockSyncs := e.wal.Stats().Syncs-walSyncs0, e.dur.syncs.Load()-blockSyncs0
	payload := float64(b.N) * float64(c.size)
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(written)/payload, "wamp")
	b.ReportMetric(float64(b.N)/float64(max(walSyncs, 1)), "msgs/wal-sync")
	if blockSyncs > 0 {
		b.ReportMetric(float64(b.N)/float64(blockSyncs), "msgs/block-sync")
	}
	if c.size >= 16<<10 {
		b.ReportMetric(payload/(1<<20)/el.Seconds()/ceil.writeMBps, "frac-of-ceiling")
	}
}

// ---- loads ----

func buildStream(b *testing.B, dir string, o Options, cfg Config, n int, subj func(i int) string, size int) (*Engine, Stream) {
	b.Helper()
	e, err := Open(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	s, ok := e.Stream(cfg.Name)
	if ok {
		return e, s
	}
	if s, err = e.CreateStream(cfg); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	cmd := Command{Op: OpStore, Data: data}
	for i := 0; i < n; i++ {
		cmd.Subject, cmd.Time = subj(i), int64(i+1)
		if _, err := s.Apply(&cmd); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.Sync(); err != nil {
		b.Fatal(err)
	}
	return e, s
}

func BenchmarkLoadMsg(b *testing.B) {
	const n = 200_000
	for _, cold := range []bool{false, true} {
		name := "cached"
		o := Options{}
		if cold {
			name, o.CacheBytes = "cold", 1 // every older block is read from its file
		}
		b.Run(name, func(b *testing.B) {
			e, s := buildStream(b, b.TempDir(), o, Config{Name: "L", BlockSize: 1 << 20}, n,
				func(i int) string { return "load.subject" }, 128)
			defer e.Close()
			e.checkpoint(false)
			r := rand.New(rand.NewSource(1))
			var sm StoreMsg
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.LoadMsg(uint64(1+r.Intn(n)), &sm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLoadNextFilter(b *testing.B) {
	const subjects = 1_000_000
	dir := b.TempDir()
	e, s := buildStream(b, dir, Options{}, Config{Name: "F"}, subjects,
		func(i int) string { return fmt.Sprintf("orders.%d.%d", i%1000, i) }, 32)
	defer e.Close()
	r := rand.New(rand.NewSource(1))
	var lits, wilds []string
	var starts []uint64
	for i := 0; i < 4096; i++ {
		k := r.Intn(subjects - 5000)
		lits = append(lits, fmt.Sprintf("orders.%d.%d", k%1000, k))
		wilds = append(wilds, fmt.Sprintf("orders.%d.*", k%1000))
		starts = append(starts, uint64(k))
	}
	var sm StoreMsg
	b.Run("literal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := s.LoadNextMsg(lits[i%len(lits)], 0, &sm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wildcard", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := s.LoadNextMsg(wilds[i%len(wilds)], starts[i%len(starts)], &sm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ---- open ----

func BenchmarkOpen(b *testing.B) {
	sizes := []int{1_000_000}
	if *benchLarge {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		dir := b.TempDir()
		// Ten messages per subject: 10M messages over 1M subjects, the
		// store issue 3 sizes the checkpoint for.
		subjects := n / 10
		e, _ := buildStream(b, dir, Options{}, Config{Name: "O"}, n,
			func(i int) string { return fmt.Sprintf("open.%d", i%subjects) }, 64)
		e.Close()
		for _, ckpt := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dM/checkpoint=%v", n/1_000_000, ckpt), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if !ckpt {
						os.Remove(filepath.Join(dir, "keel", "streams", fmt.Sprintf("%016x", 1), indexFileName))
					}
					start := time.Now()
					e, err := Open(dir, Options{})
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(time.Since(start).Seconds(), "s/open")
					if s, _ := e.Stream("O"); s.State().Msgs != uint64(n) {
						b.Fatalf("opened %d messages", s.State().Msgs)
					}
					e.Close() // writes the index checkpoint again
				}
			})
		}
	}
}

// ---- memory ----

// BenchmarkMemoryPerMessage reports the heap a file stream holds per message
// and per distinct subject once its blocks are out of the cache: the growth
// between n and 2n messages (so the fixed cost of a stream — active block
// buffer, one cached block, the WAL's tail segment — is not counted), and the
// subject index's own size per subject.
func BenchmarkMemoryPerMessage(b *testing.B) {
	const n = 500_000
	for _, subjects := range []int{1, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dsubjects", subjects), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				e, err := Open(b.TempDir(), Options{CacheBytes: 1})
				if err != nil {
					b.Fatal(err)
				}
				s, _ := e.CreateStream(Config{Name: "M"})
				cmd := Command{Op: OpStore, Data: make([]byte, 64)}
				heap := func() float64 {
					e.checkpoint(false)
					runtime.GC()
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					return float64(m.HeapAlloc)
				}
				var h [2]float64
				for round := 0; round < 2; round++ {
					for j := round * n; j < (round+1)*n; j++ {
						cmd.Subject, cmd.Time = fmt.Sprintf("mem.%d", j%subjects), int64(j+1)
						if _, err := s.Apply(&cmd); err != nil {
							b.Fatal(err)
						}
					}
					h[round] = heap()
				}
				b.ReportMetric((h[1]-h[0])/n, "B/msg")
				fs := s.(*fileStream)
				fs.mu.RLock()
				b.ReportMetric(float64(fs.c.subjs.MemoryBytes())/float64(fs.c.subjs.Len()), "index-B/subject")
				fs.mu.RUnlock()
				e.Close()
			}
		})
	}
}

// BenchmarkMemoryPerStream reports what an idle stream costs: 1000
// streams (1000 KV buckets) with one 128-byte message each, after their
// first checkpoint. heap-B/stream is the growth of the live heap after a
// GC; rss-B/stream the growth of the resident set, which counts only the
// pages touched (it is noisier: the runtime returns freed pages lazily).
func BenchmarkMemoryPerStream(b *testing.B) {
	const streams = 1000
	for i := 0; i < b.N; i++ {
		e, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		heap0, rss0 := liveHeap(), residentBytes()
		ss := make([]Stream, streams)
		data := make([]byte, 128)
		for j := range ss {
			if ss[j], err = e.CreateStream(Config{Name: fmt.Sprint("KV_bucket", j)}); err != nil {
				b.Fatal(err)
			}
			if _, err := ss[j].Apply(&Command{Op: OpStore, Subject: "$KV.bucket.key", Data: data, Time: 1}); err != nil {
				b.Fatal(err)
			}
		}
		if err := e.checkpoint(false); err != nil {
			b.Fatal(err)
		}
		heap, rss := liveHeap(), residentBytes()
		b.ReportMetric((heap-heap0)/streams, "heap-B/stream")
		b.ReportMetric((rss-rss0)/streams, "rss-B/stream")
		runtime.KeepAlive(ss)
		e.Close()
	}
}

func liveHeap() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// residentBytes is the process's resident set (/proc/self/statm).
func residentBytes() float64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}

// BenchmarkIndexCheckpoint measures encoding a stream's index checkpoint
// (1M messages on 1M subjects), which holds the stream's lock: the pause a
// periodic index checkpoint costs writers.
func BenchmarkIndexCheckpoint(b *testing.B) {
	e, s := buildStream(b, b.TempDir(), Options{}, Config{Name: "X"}, 1_000_000,
		func(i int) string { return fmt.Sprintf("idx.%d", i) }, 16)
	defer e.Close()
	fs := s.(*fileStream)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fs.mu.Lock()
		raw, err := fs.encodeIndex(fs.stateLocked())
		fs.mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(raw)))
	}
}
