package index

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// Benchmarks run short: go test ./index -bench . -benchmem -run '^$'
// The 1M-subject fixtures are built once and shared.

const benchSubjectCount = 1_000_000

var (
	benchOnce     sync.Once
	benchSubjs    []string // realistic subjects: orders.region<0-99>.customer<6 digits>
	benchPerm     []int    // a random order over benchSubjs
	benchTree     *Tree    // benchSubjs, one message each
	benchCkpt     *Checkpoint
	benchCkptData []byte
)

func benchFixtures(b *testing.B) {
	b.Helper()
	benchOnce.Do(func() {
		benchSubjs = make([]string, benchSubjectCount)
		buf := make([]byte, 0, 64)
		for i := range benchSubjs {
			buf = append(buf[:0], "orders.region"...)
			buf = strconv.AppendInt(buf, int64(i%100), 10)
			buf = append(buf, ".customer"...)
			// 10k distinct 6-digit customers per region, spread out.
			buf = strconv.AppendInt(buf, int64(100000+((i/100)*7919+12345)%900000), 10)
			benchSubjs[i] = string(buf)
		}
		benchPerm = rand.New(rand.NewPCG(1, 2)).Perm(len(benchSubjs))
		benchTree = new(Tree)
		for i, s := range benchSubjs {
			benchTree.AddMsg(s, uint64(i+1))
		}
		benchCkpt = benchCheckpoint(benchTree, 10*benchSubjectCount)
		benchCkptData, _ = benchCkpt.AppendBinary(nil)
	})
}

// benchCheckpoint wraps tree in the index of a stream of msgs messages in
// blocks of 50k, with 1% of them deleted at random.
func benchCheckpoint(tree *Tree, msgs int) *Checkpoint {
	c := &Checkpoint{LastApplied: uint64(msgs), Blocks: new(Blocks), Subjects: tree, Deleted: new(SeqSet)}
	const perBlock = 50_000
	for first := 1; first <= msgs; first += perBlock {
		c.Blocks.Append(BlockInfo{
			ID: uint64(first/perBlock + 1), First: uint64(first), Last: uint64(first + perBlock - 1),
			FirstTime: int64(first) * 1000, LastTime: int64(first+perBlock-1) * 1000,
			Msgs: perBlock, Bytes: perBlock * 100,
		})
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < msgs/100; i++ {
		c.Deleted.Add(1 + r.Uint64N(uint64(msgs)))
	}
	c.Totals = Totals{Msgs: uint64(msgs) - c.Deleted.Len(), FirstSeq: 1, LastSeq: uint64(msgs)}
	return c
}

func BenchmarkTreeInsert(b *testing.B) {
	benchFixtures(b)
	tr := new(Tree)
	i := 0
	for b.Loop() {
		if i == len(benchSubjs) {
			b.StopTimer()
			tr, i = new(Tree), 0
			b.StartTimer()
		}
		tr.AddMsg(benchSubjs[benchPerm[i]], uint64(i+1))
		i++
	}
}

// BenchmarkTreeAddMsgExisting is the store's hot path: a message on a
// subject the tree already holds, subjects in random order.
func BenchmarkTreeAddMsgExisting(b *testing.B) {
	benchFixtures(b)
	tr := new(Tree)
	for i, s := range benchSubjs {
		tr.AddMsg(s, uint64(i+1))
	}
	seq := uint64(len(benchSubjs))
	i := 0
	for b.Loop() {
		seq++
		tr.AddMsg(benchSubjs[benchPerm[i%len(benchPerm)]], seq)
		i++
	}
}

func BenchmarkTreeLookup(b *testing.B) {
	benchFixtures(b)
	i := 0
	for b.Loop() {
		if benchTree.Lookup(benchSubjs[benchPerm[i%len(benchPerm)]]) == nil {
			b.Fatal("missing subject")
		}
		i++
	}
}

func BenchmarkTreeDelete(b *testing.B) {
	benchFixtures(b)
	var tr *Tree
	i := len(benchSubjs)
	for b.Loop() {
		if i == len(benchSubjs) {
			b.StopTimer()
			tr = new(Tree)
			for k, s := range benchSubjs {
				tr.AddMsg(s, uint64(k+1))
			}
			i = 0
			b.StartTimer()
		}
		tr.Delete(benchSubjs[benchPerm[i]])
		i++
	}
}

func BenchmarkTreeMatch(b *testing.B) {
	benchFixtures(b)
	tests := []struct {
		name, filter string
	}{
		{"literal", "orders.region42.customer512345"},
		{"region.star", "orders.region42.*"},         // 10k of 1M subjects
		{"star.customer", "orders.*.customer112345"}, // visits each region once
		{"all", "orders.>"},                          // every subject
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = 0
				benchTree.Match(tc.filter, func([]byte, *SubjectState) bool { n++; return true })
			}
			b.ReportMetric(float64(n), "subjects/op")
		})
	}
}

// BenchmarkTreeFirstMatch asks which of 10k matching subjects has the
// first message after a position, where no subject spans it: a full walk
// of the matching part.
func BenchmarkTreeFirstMatch(b *testing.B) {
	benchFixtures(b)
	for b.Loop() {
		benchTree.FirstMatch("orders.region7.*", 500_000)
	}
	b.ReportMetric(10_000, "subjects/op")
}

// BenchmarkTreeMemory reports what 1M distinct subjects cost, state
// included, measured from the heap.
func BenchmarkTreeMemory(b *testing.B) {
	benchFixtures(b)
	var perSubject float64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		tr := new(Tree)
		for i, s := range benchSubjs {
			tr.AddMsg(s, uint64(i+1))
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		perSubject = float64(m1.HeapAlloc-m0.HeapAlloc) / float64(len(benchSubjs))
		runtime.KeepAlive(tr)
	}
	b.ReportMetric(perSubject, "bytes/subject")
}

// BenchmarkIndexMemory reports the memory of a whole stream index: 10M
// messages over 1M subjects, blocks of 50k messages, 1% deleted.
func BenchmarkIndexMemory(b *testing.B) {
	benchFixtures(b)
	const msgs = 10 * benchSubjectCount
	var perMsg, perSubject float64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		tr := new(Tree)
		for seq := 1; seq <= msgs; seq++ {
			tr.AddMsg(benchSubjs[(seq-1)%len(benchSubjs)], uint64(seq))
		}
		c := benchCheckpoint(tr, msgs)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		total := float64(m1.HeapAlloc - m0.HeapAlloc)
		perMsg = total / msgs
		perSubject = total / float64(tr.Len())
		runtime.KeepAlive(c)
	}
	b.ReportMetric(perMsg, "bytes/msg")
	b.ReportMetric(perSubject, "bytes/subject")
}

func BenchmarkBlocksSearch(b *testing.B) {
	c := benchCheckpoint(new(Tree), 10_000_000) // 200 blocks
	r := rand.New(rand.NewPCG(5, 6))
	seqs := make([]uint64, 4096)
	for i := range seqs {
		seqs[i] = 1 + r.Uint64N(10_000_000)
	}
	i := 0
	for b.Loop() {
		if _, ok := c.Blocks.Find(seqs[i%len(seqs)]); !ok {
			b.Fatal("seq not found")
		}
		i++
	}
}

func BenchmarkBlocksSearchTime(b *testing.B) {
	c := benchCheckpoint(new(Tree), 10_000_000)
	i := int64(0)
	for b.Loop() {
		c.Blocks.SearchTime(i * 7919 % 10_000_000_000)
		i++
	}
}

func BenchmarkSeqSetAdd(b *testing.B) {
	var s SeqSet
	r := rand.New(rand.NewPCG(7, 8))
	for b.Loop() {
		s.Add(r.Uint64N(100_000_000))
	}
}

func BenchmarkSeqSetContains(b *testing.B) {
	c := benchCheckpoint(new(Tree), 10_000_000)
	i := uint64(0)
	for b.Loop() {
		c.Deleted.Contains(i * 7919 % 10_000_000)
		i++
	}
}

// BenchmarkSeqSetMemory reports bytes per deleted sequence for scattered
// deletes (1% of 10M) and for one run of 10M.
func BenchmarkSeqSetMemory(b *testing.B) {
	var scattered, run float64
	for b.Loop() {
		c := benchCheckpoint(new(Tree), 10_000_000)
		scattered = float64(c.Deleted.MemoryBytes()) / float64(c.Deleted.Len())
		var s SeqSet
		s.AddRange(1, 10_000_000)
		run = float64(s.MemoryBytes()) / float64(s.Len())
	}
	b.ReportMetric(scattered, "bytes/scattered-delete")
	b.ReportMetric(run, "bytes/run-delete")
}

// BenchmarkCheckpointEncode encodes the index of 10M messages over 1M
// subjects.
func BenchmarkCheckpointEncode(b *testing.B) {
	benchFixtures(b)
	b.SetBytes(int64(len(benchCkptData)))
	buf := make([]byte, 0, len(benchCkptData)+1024)
	for b.Loop() {
		var err error
		if buf, err = benchCkpt.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(benchCkptData))/benchSubjectCount, "file-bytes/subject")
}

// BenchmarkCheckpointDecode decodes the index of 10M messages over 1M
// subjects: the index's share of opening such a store.
func BenchmarkCheckpointDecode(b *testing.B) {
	benchFixtures(b)
	b.SetBytes(int64(len(benchCkptData)))
	for b.Loop() {
		if _, err := Decode(benchCkptData, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckpointDecodeSealed(b *testing.B) {
	benchFixtures(b)
	keys := &testKeys{}
	data, err := benchCkpt.Encode(nil, keys, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data, keys, nil); err != nil {
			b.Fatal(err)
		}
	}
}
