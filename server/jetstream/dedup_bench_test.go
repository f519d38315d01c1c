package jetstream

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDedupWindow measures the duplicate window at the size of
// clarification 13's example (a 2-minute window at 100k msgs/s holds 12
// million ids; -benchtime 12000000x reproduces it): the cost of adding an
// id and looking one up, and the heap it holds per id.
//
//	go test ./server/jetstream -run '^$' -bench DedupWindow -benchtime 12000000x
func BenchmarkDedupWindow(b *testing.B) {
	var total atomic.Int64
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d := newDedupWindow(int64(2*time.Minute), &total)
	id := make([]byte, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id = strconv.AppendInt(append(id[:0], "order-"...), int64(i), 10)
		h := hashID(id)
		if d.find(h, func(uint64) bool { return true }) {
			b.Fatalf("id %d found before it was added", i)
		}
		// 100k ids a second: all of them stay within the window.
		d.add(h, uint64(i+1), int64(i)*int64(10*time.Microsecond), 1<<30)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-B/id")
	b.ReportMetric(float64(d.memory())/float64(b.N), "counted-B/id")
	runtime.KeepAlive(d)
}
