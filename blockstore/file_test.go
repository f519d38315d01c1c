package blockstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/keelhq/keel/index"
	"github.com/keelhq/keel/seal"
)

// File-store behaviour the memory store has no counterpart for.

// fillStream applies a mixed workload: messages (some large), removals,
// an erase, a filtered purge, aux records and a skip.
func fillStream(t testing.TB, s Stream, n int, seed int64) {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	now := baseTime
	for i := 0; i < n; i++ {
		now += int64(time.Millisecond)
		size := 20 + r.Intn(200)
		if i%50 == 7 {
			size = 9000 + r.Intn(3000) // the large-message path
		}
		data := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		cmd := Command{Op: OpStore, Subject: fmt.Sprintf("fill.%d.%d", i%7, i%3), Data: data, Time: now}
		if _, err := s.Apply(&cmd); err != nil {
			t.Fatal(err)
		}
		if i%9 == 4 {
			if _, err := s.Apply(&Command{Op: OpRemove, Seq: uint64(i - 2)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, cmd := range []Command{
		{Op: OpErase, Seq: uint64(n / 2)},
		{Op: OpPurge, Subject: "fill.3.*", Keep: 2},
		{Op: OpSetAux, Key: "consumer/x", Data: []byte("floor=17")},
		{Op: OpSkip},
	} {
		if _, err := s.Apply(&cmd); err != nil && !errors.Is(err, ErrDeleted) {
			t.Fatalf("%v: %v", cmd.Op, err)
		}
	}
}

func TestFileRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, Options{})
	s, err := e.CreateStream(Config{Name: "R", BlockSize: 32 << 10, AllowMsgTTL: true})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.CreateStream(Config{Name: "other"})
	fillStream(t, s, 600, 1)
	fillStream(t, m, 50, 2)
	want, wantOther := dump(t, s), dump(t, m)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, rebuild := range []bool{false, true} {
		if rebuild {
			// Without index checkpoints the index is rebuilt from blocks.
			matches, _ := filepath.Glob(filepath.Join(dir, "keel", "streams", "*", indexFileName))
			if len(matches) == 0 {
				t.Fatal("no index checkpoint written at close")
			}
			for _, p := range matches {
				os.Remove(p)
			}
		}
		e = openTestEngine(t, dir, Options{})
		names := []string{}
		for _, st := range e.Streams() {
			names = append(names, st.Config().Name)
		}
		if fmt.Sprint(names) != "[R other]" {
			t.Fatalf("streams after restart: %v", names)
		}
		s, _ = e.Stream("R")
		m, _ = e.Stream("other")
		if got := dump(t, s); got != want {
			t.Fatalf("rebuild=%v: stream differs after restart: %s", rebuild, firstDiff(got, want))
		}
		if got := dump(t, m); got != wantOther {
			t.Fatalf("rebuild=%v: other stream differs: %s", rebuild, firstDiff(got, wantOther))
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFileKillKeepsDurable runs concurrent publishers on several streams
// (small and large messages), takes a copy of the folder at a random
// moment as a power cut would leave it, and requires every message whose
// ticket the engine had declared durable to be in the copy, intact.
func TestFileKillKeepsDurable(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, Options{CheckpointInterval: 20 * time.Millisecond})
	defer e.Close()
	const streams, writers = 3, 4
	type acked struct {
		stream string
		seq    uint64
		ticket Ticket
		data   []byte
	}
	var mu sync.Mutex
	var log []acked
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < streams; i++ {
		s, err := e.CreateStream(Config{Name: fmt.Sprint("K", i), BlockSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(s Stream, w int) {
				defer wg.Done()
				r := rand.New(rand.NewSource(int64(w)))
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					data := make([]byte, 50+r.Intn(100))
					if n%10 == 0 {
						data = make([]byte, 9000)
					}
					r.Read(data)
					res, err := s.Apply(&Command{Op: OpStore, Subject: fmt.Sprint("k.", w), Data: data, Time: time.Now().UnixNano()})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					log = append(log, acked{s.Config().Name, res.Seq, res.Ticket, data})
					mu.Unlock()
				}
			}(s, w)
		}
	}
	time.Sleep(150 * time.Millisecond) // let the load run: what is measured is the copy below
	durable := e.Durable()
	cp := t.TempDir()
	copyQuiet(t, e, dir, cp)
	close(stop)
	wg.Wait()
	e2 := openTestEngine(t, cp, Options{})
	defer e2.Close()
	checked := 0
	mu.Lock()
	defer mu.Unlock()
	for _, a := range log {
		if a.ticket > durable {
			continue
		}
		s, ok := e2.Stream(a.stream)
		if !ok {
			t.Fatalf("stream %s lost", a.stream)
		}
		sm, err := s.LoadMsg(a.seq, nil)
		if err != nil || !bytes.Equal(sm.Data, a.data) {
			t.Fatalf("durable message %s/%d (ticket %d <= %d) lost: %v", a.stream, a.seq, a.ticket, durable, err)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("nothing was durable before the copy")
	}
	t.Logf("%d durable messages of %d checked", checked, len(log))
}

func TestFileCorruptRecordCostsOnlyIt(t *testing.T) {
	for _, rebuild := range []bool{false, true} {
		t.Run(fmt.Sprint("rebuild=", rebuild), func(t *testing.T) {
			dir := t.TempDir()
			e := openTestEngine(t, dir, Options{})
			s, _ := e.CreateStream(Config{Name: "C"})
			for i := 1; i <= 100; i++ {
				s.Apply(&Command{Op: OpStore, Subject: "c", Data: []byte(fmt.Sprintf("payload-%03d", i)), Time: int64(i)})
			}
			e.Close()
			// Flip a byte inside message 42's record.
			blocks, _ := filepath.Glob(filepath.Join(dir, "keel", "streams", "*", "*.blk"))
			sort.Strings(blocks)
			raw, _ := os.ReadFile(blocks[0])
			i := bytes.Index(raw, []byte("payload-042"))
			if i < 0 {
				t.Fatal("record not found")
			}
			raw[i+3] ^= 0x40
			os.WriteFile(blocks[0], raw, 0o640)
			if rebuild {
				os.Remove(filepath.Join(filepath.Dir(blocks[0]), indexFileName))
			}
			e = openTestEngine(t, dir, Options{})
			defer e.Close()
			s, _ = e.Stream("C")
			for q := uint64(1); q <= 100; q++ {
				sm, err := s.LoadMsg(q, nil)
				if q == 42 {
					if err == nil {
						t.Fatal("damaged message loaded")
					}
					continue
				}
				if err != nil || string(sm.Data) != fmt.Sprintf("payload-%03d", q) {
					t.Fatalf("message %d: %v", q, err)
				}
			}
			d := e.Damaged()
			if len(d) != 1 || d[0].Seq != 42 || d[0].Stream != "C" {
				t.Fatalf("damage report %+v", d)
			}
		})
	}
}

// indexOf returns the index checkpoint a stream would write now.
func indexOf(t testing.TB, st Stream) *index.Checkpoint {
	t.Helper()
	s := st.(*fileStream)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Stale subject bounds are resolved: a rebuild has exact ones.
	s.c.subjs.Match("", func(subj []byte, ss *index.SubjectState) bool {
		ss.First, ss.Last = s.c.exactFirst(string(subj), ss), s.c.exactLast(string(subj), ss)
		ss.FirstStale, ss.LastStale = false, false
		return true
	})
	ck, _ := s.checkpointOf(s.stateLocked())
	ck.Extra = nil
	return ck
}

func TestFileCheckpointEqualsRebuild(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, Options{})
	s, _ := e.CreateStream(Config{Name: "I", BlockSize: 16 << 10, MaxMsgsPerSubject: 40})
	fillStream(t, s, 800, 3)
	s.Apply(&Command{Op: OpCompact, Seq: 100})
	live := indexOf(t, s)
	e.Close()
	e = openTestEngine(t, dir, Options{})
	s, _ = e.Stream("I")
	fromCkpt := indexOf(t, s)
	e.Close()
	os.Remove(filepath.Join(dir, "keel", "streams", fmt.Sprintf("%016x", 1), indexFileName))
	e = openTestEngine(t, dir, Options{})
	defer e.Close()
	s, _ = e.Stream("I")
	rebuilt := indexOf(t, s)
	for name, ck := range map[string]*index.Checkpoint{"checkpoint": fromCkpt, "rebuild": rebuilt} {
		if ck.Totals != live.Totals || !ck.Subjects.Equal(live.Subjects) || !ck.Deleted.Equal(live.Deleted) ||
			!ck.Blocks.Equal(live.Blocks) || ck.LastApplied != live.LastApplied {
			t.Errorf("%s differs from the live index: totals %+v vs %+v, subjects %v, deleted %v, blocks %v",
				name, ck.Totals, live.Totals, ck.Subjects.Equal(live.Subjects), ck.Deleted.Equal(live.Deleted), ck.Blocks.Equal(live.Blocks))
		}
	}
}

func TestFileEncryptionAtRest(t *testing.T) {
	dir := t.TempDir()
	secret := []byte("correct horse battery staple, 32+ bytes of it")
	for _, c := range []seal.Cipher{seal.AES, seal.ChaCha} {
		t.Run(c.String(), func(t *testing.T) {
			dir := filepath.Join(dir, c.String())
			o := Options{Key: secret, Cipher: c}
			e := openTestEngine(t, dir, o)
			s, _ := e.CreateStream(Config{Name: "secret-stream", Compression: S2Compression})
			marker := []byte("TOP-SECRET-PAYLOAD")
			for i := 0; i < 300; i++ {
				data := append(append([]byte(nil), marker...), bytes.Repeat([]byte("x"), i*40)...)
				s.Apply(&Command{Op: OpStore, Subject: "orders.confidential", Data: data, Time: int64(i + 1)})
			}
			s.Apply(&Command{Op: OpSetAux, Key: "consumer/c", Data: []byte("TOP-SECRET-AUX")})
			e.checkpoint(true)
			for _, needle := range []string{"TOP-SECRET", "orders.confidential", "secret-stream"} {
				if hits := grepDir(t, dir, []byte(needle)); len(hits) > 0 {
					t.Fatalf("%q readable on disk in %v", needle, hits)
				}
			}
			e.Close()
			if hits := grepDir(t, dir, marker); len(hits) > 0 {
				t.Fatalf("payload readable on disk after close in %v", hits)
			}
			e = openTestEngine(t, dir, o)
			s, _ = e.Stream("secret-stream")
			if sm, err := s.LoadMsg(300, nil); err != nil || !bytes.HasPrefix(sm.Data, marker) {
				t.Fatalf("reopened: %v", err)
			}
			e.Close()
			for _, bad := range []Options{{Key: []byte("another secret entirely, also long"), Cipher: c}, {}} {
				if _, err := Open(dir, bad); !errors.Is(err, ErrBadKey) {
					t.Fatalf("open with key %q: %v, want ErrBadKey", bad.Key, err)
				}
			}
		})
	}
}

func TestFileEraseScrubsEverywhere(t *testing.T) {
	for _, size := range []int{100, 20000} { // WAL path and large-message path
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := t.TempDir()
			e := openTestEngine(t, dir, quietOpts())
			defer e.Close()
			s, _ := e.CreateStream(Config{Name: "E"})
			marker := []byte("ERASE-ME-PLEASE")
			for i := 0; i < 5; i++ {
				data := bytes.Repeat([]byte("k"), size)
				if i == 2 {
					copy(data, marker)
				}
				s.Apply(&Command{Op: OpStore, Subject: "e", Data: data, Time: int64(i + 1)})
			}
			if err := e.Sync(); err != nil {
				t.Fatal(err)
			}
			if len(grepDir(t, dir, marker)) == 0 {
				t.Fatal("marker not on disk before the erase: the test proves nothing")
			}
			if _, err := s.Apply(&Command{Op: OpErase, Seq: 3}); err != nil {
				t.Fatal(err)
			}
			if err := e.checkpoint(false); err != nil {
				t.Fatal(err)
			}
			if hits := grepDir(t, dir, marker); len(hits) > 0 {
				t.Fatalf("erased payload still on disk in %v", hits)
			}
			if st := s.State(); st.Msgs != 4 {
				t.Fatalf("state %+v", st)
			}
		})
	}
}

func TestFileDeterministicApply(t *testing.T) {
	var cmds []Command
	r := rand.New(rand.NewSource(9))
	now := baseTime
	mem, _ := NewMemoryStream(Config{Name: "D"})
	for i := 0; i < 1500; i++ {
		c := randomCommand(r, mem.State(), &now)
		mc := c
		mem.Apply(&mc)
		cmds = append(cmds, c)
	}
	var dumps []string
	var files []map[string][]byte
	for run := 0; run < 2; run++ {
		dir := t.TempDir()
		o := quietOpts()
		o.CheckpointInterval = time.Duration(run+1) * 3 * time.Millisecond // different timing, same result
		e := openTestEngine(t, dir, o)
		s, _ := e.CreateStream(Config{Name: "D", BlockSize: 8 << 10})
		for i := range cmds {
			c := cmds[i]
			s.Apply(&c)
		}
		dumps = append(dumps, dump(t, s))
		e.Close()
		got := map[string][]byte{}
		blocks, _ := filepath.Glob(filepath.Join(dir, "keel", "streams", "*", "*.blk"))
		for _, b := range blocks {
			raw, _ := os.ReadFile(b)
			got[filepath.Base(b)] = raw
		}
		files = append(files, got)
	}
	if dumps[0] != dumps[1] {
		t.Fatalf("same commands, different streams: %s", firstDiff(dumps[0], dumps[1]))
	}
	if len(files[0]) != len(files[1]) {
		t.Fatalf("block files %d vs %d", len(files[0]), len(files[1]))
	}
	for name, raw := range files[0] {
		if !bytes.Equal(raw, files[1][name]) {
			t.Fatalf("block %s differs between runs", name)
		}
	}
}

func TestFileStreamLifecycle(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, Options{})
	a, err := e.CreateStream(Config{Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateStream(Config{Name: "A"}); !errors.Is(err, ErrStreamExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	a.Apply(&Command{Op: OpStore, Subject: "a", Data: []byte("1"), Time: 1})
	a.Apply(&Command{Op: OpSetAux, Key: "config", Data: []byte(`{"name":"A"}`)})
	// Close detaches; Engine.Stream opens it again.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(&Command{Op: OpStore, Subject: "a", Time: 2}); !errors.Is(err, ErrClosed) {
		t.Fatalf("apply after close: %v", err)
	}
	a, ok := e.Stream("A")
	if !ok || a.State().Msgs != 1 || string(a.Aux("config")) != `{"name":"A"}` {
		t.Fatalf("reopened stream: %v", ok)
	}
	b, _ := e.CreateStream(Config{Name: "B"})
	b.Apply(&Command{Op: OpStore, Subject: "b", Data: []byte("2"), Time: 1})
	if err := e.DeleteStream("B"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteStream("B"); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// A new stream of the same name starts empty, after a restart too.
	b, _ = e.CreateStream(Config{Name: "B"})
	e.Close()
	e = openTestEngine(t, dir, Options{})
	defer e.Close()
	b, _ = e.Stream("B")
	if st := b.State(); st.Msgs != 0 || st.LastSeq != 0 {
		t.Fatalf("recreated stream inherited %+v", st)
	}
	if len(e.Streams()) != 2 {
		t.Fatalf("streams %d", len(e.Streams()))
	}
}

func TestFileTicketsBecomeDurable(t *testing.T) {
	for _, interval := range []time.Duration{0, 5 * time.Millisecond} {
		e := openTestEngine(t, t.TempDir(), Options{SyncInterval: interval})
		s, _ := e.CreateStream(Config{Name: "T"})
		done := make(chan Ticket, 16)
		e.Notify(func(tk Ticket) {
			select {
			case done <- tk:
			default:
			}
		})
		var last Ticket
		for i := 0; i < 20; i++ {
			size := 10
			if i%5 == 0 {
				size = 20000
			}
			r, err := s.Apply(&Command{Op: OpStore, Subject: "t", Data: make([]byte, size), Time: int64(i + 1)})
			if err != nil || r.Ticket <= last {
				t.Fatalf("ticket %d after %d: %v", r.Ticket, last, err)
			}
			last = r.Ticket
		}
		for e.Durable() < last {
			<-done
		}
		e.Close()
	}
}

func TestFileCompaction(t *testing.T) {
	defer func(v int64) { compactMinGarbage = v }(compactMinGarbage)
	compactMinGarbage = 4 << 10
	for _, tc := range []struct {
		name string
		key  []byte
		comp Compression
		// erase: removals are erasures, leaving erased records, which a
		// decoded (compressed) block keeps no plaintext of.
		erase bool
	}{
		{"encrypted", []byte("a secret for the compaction test, long enough"), NoCompression, false},
		{"s2 erased", nil, S2Compression, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testCompaction(t, tc.key, tc.comp, tc.erase) })
	}
}

func testCompaction(t *testing.T, key []byte, comp Compression, erase bool) {
	dir := t.TempDir()
	o := quietOpts()
	o.Key = key
	e := openTestEngine(t, dir, o)
	s, _ := e.CreateStream(Config{Name: "C", BlockSize: 32 << 10, Compression: comp})
	for i := 1; i <= 2000; i++ {
		s.Apply(&Command{Op: OpStore, Subject: fmt.Sprint("c.", i%10), Data: bytes.Repeat([]byte{byte('a' + i%26)}, 100), Time: int64(i)})
	}
	op := OpRemove
	if erase {
		op = OpErase
	}
	// An erasure kicks the engine's checkpoint loop, which compacts after
	// its checkpoint: held off (by the checkpoint lock) until the size
	// before compaction is measured.
	e.ckptMu.Lock()
	for i := 1; i <= 2000; i++ {
		if i%10 != 0 { // keep one in ten
			s.Apply(&Command{Op: op, Seq: uint64(i)})
		}
	}
	for i := 0; i < 2; i++ { // the second puts the erasures in the files
		if err := e.checkpointLocked([]*fileStream{s.(*fileStream)}, false); err != nil {
			t.Fatal(err)
		}
		if err := e.truncateWAL(); err != nil {
			t.Fatal(err)
		}
	}
	blockDir := filepath.Join(dir, "keel", "streams", fmt.Sprintf("%016x", 1))
	size := func() (n int64) {
		blocks, _ := filepath.Glob(filepath.Join(blockDir, "*.blk"))
		for _, b := range blocks {
			fi, _ := os.Stat(b)
			n += fi.Size()
		}
		return n
	}
	salts := map[string]string{}
	collectSalts := func() {
		if key == nil {
			return // no salts
		}
		blocks, _ := filepath.Glob(filepath.Join(blockDir, "*.blk"))
		for _, b := range blocks {
			raw, _ := os.ReadFile(b)
			h, err := decodeBlockHeader(raw)
			if err != nil {
				t.Fatal(err)
			}
			key := string(h.salt[:])
			if prev, dup := salts[key]; dup && prev != filepath.Base(b) {
				t.Fatalf("salt of %s reused by %s: a (key, nonce) pair would repeat", prev, filepath.Base(b))
			}
			salts[key] = filepath.Base(b)
		}
	}
	collectSalts()
	before := size()
	e.ckptMu.Unlock()
	want := dump(t, s)
	for i := 0; i < 20; i++ {
		e.compactSome()
	}
	e.checkpoint(false) // writes the index, then the old generations go
	collectSalts()
	after := size()
	if after*3 > before && !(erase && after*2 < before) { // compressed, the garbage is smaller
		t.Fatalf("compaction left %d of %d bytes", after, before)
	}
	if got := dump(t, s); got != want {
		t.Fatalf("compaction changed the stream: %s", firstDiff(got, want))
	}
	e.Close()
	for _, rebuild := range []bool{false, true} {
		if rebuild {
			os.Remove(filepath.Join(blockDir, indexFileName))
		}
		e = openTestEngine(t, dir, o)
		s, _ = e.Stream("C")
		if got := dump(t, s); got != want {
			t.Fatalf("rebuild=%v after compaction: %s", rebuild, firstDiff(got, want))
		}
		collectSalts()
		e.Close()
	}
	t.Logf("blocks %d -> %d bytes, %d distinct salts", before, after, len(salts))
}

func TestFileAutoExpire(t *testing.T) {
	e := openTestEngine(t, t.TempDir(), Options{AutoExpire: true})
	defer e.Close()
	s, _ := e.CreateStream(Config{Name: "X", MaxAge: time.Hour, AllowMsgTTL: true})
	removed := make(chan uint64, 4)
	s.OnRemove(func(seq uint64, _ string) { removed <- seq })
	now := time.Now().UnixNano()
	s.Apply(&Command{Op: OpStore, Subject: "x", Data: []byte("keep"), Time: now})
	s.Apply(&Command{Op: OpStore, Subject: "x", Data: []byte("ttl"), Time: now, TTL: int64(50 * time.Millisecond)})
	select {
	case seq := <-removed:
		if seq != 2 {
			t.Fatalf("expired %d, want 2", seq)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the engine did not expire the TTL message")
	}
	if st := s.State(); st.Msgs != 1 || st.FirstSeq != 1 {
		t.Fatalf("state %+v", st)
	}
}

// TestFileWorkQueueReclaims publishes and acknowledges (removes) messages
// the way a work queue does: the disk usage must fall back near zero.
func TestFileWorkQueueReclaims(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, quietOpts())
	defer e.Close()
	s, _ := e.CreateStream(Config{Name: "WQ", BlockSize: 64 << 10})
	data := make([]byte, 200)
	for round := 0; round < 20; round++ {
		for i := 0; i < 2000; i++ {
			r, err := s.Apply(&Command{Op: OpStore, Subject: "jobs", Data: data, Time: int64(round*2000 + i + 1)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Apply(&Command{Op: OpRemove, Seq: r.Seq}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.checkpoint(round%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	e.checkpoint(true)
	var total int64
	filepath.WalkDir(filepath.Join(dir, "keel"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			total += fi.Size()
		}
		return nil
	})
	// 40000 messages of 200 bytes went through (8 MB); what stays is one
	// active block, the WAL's current segment and small files.
	if total > 6<<20 {
		t.Fatalf("%d bytes left on disk after the queue drained", total)
	}
	if st := s.State(); st.Msgs != 0 || st.FirstSeq != 40001 {
		t.Fatalf("state %+v", st)
	}
}

// TestFileSnapshotWhileWriting takes a snapshot while publishers keep
// writing: the image restores to a consistent prefix of the stream.
func TestFileSnapshotWhileWriting(t *testing.T) {
	e := openTestEngine(t, t.TempDir(), Options{})
	defer e.Close()
	s, _ := e.CreateStream(Config{Name: "SW", BlockSize: 16 << 10})
	for i := 0; i < 3000; i++ {
		s.Apply(&Command{Op: OpStore, Subject: fmt.Sprint("sw.", i%5), Data: []byte(fmt.Sprint(i)), Time: int64(i + 1)})
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 3000; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.Apply(&Command{Op: OpStore, Subject: fmt.Sprint("sw.", i%5), Data: []byte(fmt.Sprint(i)), Time: int64(i + 1)})
			if i%7 == 0 {
				s.Apply(&Command{Op: OpErase, Seq: uint64(i - 2500)})
			}
		}
	}()
	var buf bytes.Buffer
	err := s.Snapshot(&buf)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	r, err := RestoreMemoryStream("SW", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	st := r.State()
	if st.LastSeq < 3000 {
		t.Fatalf("restored last %d", st.LastSeq)
	}
	for q := uint64(1); q <= st.LastSeq; q++ {
		m, err := r.LoadMsg(q, nil)
		if err != nil {
			continue // erased before the snapshot began
		}
		if string(m.Data) != fmt.Sprint(q-1) {
			t.Fatalf("message %d restored as %q", q, m.Data)
		}
	}
}
