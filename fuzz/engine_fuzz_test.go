package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/seal"
)

// fuzzStore is a small real store, as a process killed while running left
// it: index checkpoints and sealed blocks from a clean close, then an
// active block and WAL records written since.
type fuzzStore struct {
	dir   string
	files []string // paths relative to dir, sorted
	opts  blockstore.Options
}

func fuzzOptions(key []byte) blockstore.Options {
	return blockstore.Options{Key: key, Cipher: seal.ChaCha, WALSegmentSize: 16 << 10, LargeMessage: 1 << 10,
		CacheBytes: 1 << 20, CheckpointInterval: time.Hour, CheckpointBytes: 1 << 40, IndexInterval: time.Hour}
}

// buildFuzzStore writes the template store into dir.
func buildFuzzStore(dir string, key []byte) (*fuzzStore, error) {
	live := filepath.Join(dir, "live")
	o := fuzzOptions(key)
	e, err := blockstore.Open(live, o)
	if err != nil {
		return nil, err
	}
	cfgs := []blockstore.Config{
		{Name: "A", BlockSize: 4 << 10, AllowMsgTTL: true},
		{Name: "B", BlockSize: 4 << 10, Compression: blockstore.S2Compression, MaxMsgsPerSubject: 3},
	}
	work := func(s blockstore.Stream, round, n int) error {
		for i := 0; i < n; i++ {
			seed := uint64(round*1000 + i)
			cmd := &blockstore.Command{Op: blockstore.OpStore, Subject: fmt.Sprintf("f.%d.%d", i%3, i%7),
				Header: header(seed, i%4 == 0), Data: payload(seed, (i*397)%3000), Time: baseTime + int64(seed)*1e6}
			if i%5 == 0 {
				cmd.TTL = int64(time.Hour)
			}
			if _, err := s.Apply(cmd); err != nil {
				return err
			}
		}
		st := s.State()
		for _, cmd := range []blockstore.Command{
			{Op: blockstore.OpRemove, Seq: st.FirstSeq + 2},
			{Op: blockstore.OpErase, Seq: st.FirstSeq + 4},
			{Op: blockstore.OpPurge, Subject: "f.1.*", Keep: 1},
			{Op: blockstore.OpSetAux, Key: "c", Data: []byte{byte(round)}},
		} {
			if _, err := s.Apply(&cmd); err != nil && !errors.Is(err, blockstore.ErrDeleted) {
				return err
			}
		}
		return nil
	}
	for _, cfg := range cfgs {
		s, err := e.CreateStream(cfg)
		if err != nil {
			return nil, err
		}
		if err := work(s, 0, 40); err != nil {
			return nil, err
		}
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	if e, err = blockstore.Open(live, o); err != nil {
		return nil, err
	}
	defer e.Close()
	for _, s := range e.Streams() {
		if err := work(s, 1, 12); err != nil {
			return nil, err
		}
	}
	if err := e.Sync(); err != nil {
		return nil, err
	}
	// No checkpoint runs (the intervals are an hour): the copy is what a
	// kill would leave.
	img := &fuzzStore{dir: filepath.Join(dir, "image"), opts: o}
	if err := copyTree(live, img.dir); err != nil {
		return nil, err
	}
	err = filepath.WalkDir(img.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && d.Name() != "LOCK" {
			rel, _ := filepath.Rel(img.dir, p)
			img.files = append(img.files, rel)
		}
		return err
	})
	slices.Sort(img.files)
	return img, err
}

// fuzzTemplates builds the plain and the encrypted template store in the
// fuzz test's temporary folder.
func fuzzTemplates(tb testing.TB) [2]*fuzzStore {
	var out [2]*fuzzStore
	dir := tb.TempDir()
	for i, key := range [][]byte{nil, bytes.Repeat([]byte("k"), 32)} {
		st, err := buildFuzzStore(filepath.Join(dir, fmt.Sprint(i)), key)
		if err != nil {
			tb.Fatalf("build the fuzz store: %v", err)
		}
		out[i] = st
	}
	return out
}

// representative picks, among a store's files, one of each kind: the first
// and last block of each stream, every other file.
func representative(files []string, i int) bool {
	name := files[i]
	if filepath.Ext(name) != ".blk" {
		return true
	}
	dir := filepath.Dir(name)
	first := i == 0 || filepath.Dir(files[i-1]) != dir || filepath.Ext(files[i-1]) != ".blk"
	last := i == len(files)-1 || filepath.Dir(files[i+1]) != dir || filepath.Ext(files[i+1]) != ".blk"
	return first || last
}

// mutate applies a fuzzer's patch to a file image: mode&3 is 0 replace, 1
// overwrite at, 2 cut at and append, 3 insert at.
func mutate(raw []byte, mode uint8, at uint32, patch []byte) []byte {
	if len(raw) == 0 {
		return append(raw, patch...)
	}
	off := int(at % uint32(len(raw)+1))
	switch mode & 3 {
	case 0:
		return append([]byte(nil), patch...)
	case 1:
		out := append([]byte(nil), raw...)
		for i, b := range patch {
			if off+i < len(out) {
				out[off+i] ^= b
			} else {
				out = append(out, b)
			}
		}
		return out
	case 2:
		return append(append([]byte(nil), raw[:off]...), patch...)
	default:
		return slices.Concat(raw[:off], patch, raw[off:])
	}
}

// allocBudget bounds what opening and reading a damaged store may
// allocate: the store is under 1 MiB and an intact one costs about 4 MiB,
// so anything near this means a length read from disk was trusted.
const allocBudget = 64 << 20

var fuzzAllocMu sync.Mutex

// FuzzEngineOpen damages one file of a small store (a block, a WAL
// segment, a stream state, an index checkpoint, the engine, key or epoch
// file) and opens it: the engine must fail with an error or recover, and
// never panic, hang or allocate without bound. With mode&0x80 the file's
// checksums are recomputed after the change, so the fuzzer reaches the
// fields behind them.
func FuzzEngineOpen(f *testing.F) {
	stores := fuzzTemplates(f)
	// Seeds: each kind of file (the first and the last block of each
	// stream, the state slots, the index checkpoints, the WAL segments,
	// the engine file) damaged in a few ways.
	for i := range stores[0].files {
		if !representative(stores[0].files, i) {
			continue
		}
		for _, m := range []struct {
			mode  uint8
			at    uint32
			patch []byte
		}{
			{0, 0, nil},                     // empty file
			{1, 90, []byte{0xff}},           // a flipped byte
			{0x81, 100, []byte{0x01, 0x80}}, // flipped bytes, checksums fixed
			{2, 150, nil},                   // cut short
			{0x83, 85, []byte{0xb1, 0x0c, 0xff, 0xff, 0xff, 0x0f}}, // a record frame claiming 256 MiB, checksums fixed
		} {
			f.Add(uint8(i), false, m.mode, m.at, m.patch)
		}
	}
	for i := range stores[1].files {
		if representative(stores[1].files, i) {
			f.Add(uint8(i), true, uint8(0x81), uint32(60), []byte{0x10})
		}
	}
	f.Fuzz(func(t *testing.T, file uint8, sealed bool, mode uint8, at uint32, patch []byte) {
		st := stores[0]
		if sealed {
			st = stores[1]
		}
		dir := t.TempDir()
		if err := copyTree(st.dir, dir); err != nil {
			t.Fatal(err)
		}
		name := st.files[int(file)%len(st.files)]
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw = mutate(raw, mode, at, patch)
		if mode&0x80 != 0 {
			fixChecksums(name, raw)
		}
		if err := os.WriteFile(path, raw, 0o640); err != nil {
			t.Fatal(err)
		}
		fuzzAllocMu.Lock()
		defer fuzzAllocMu.Unlock()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		exerciseStore(t, dir, st.opts)
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > allocBudget {
			t.Fatalf("%s damaged (mode %#x at %d, %d bytes): opening allocated %d MiB", name, mode, at, len(patch), n>>20)
		}
	})
}

// exerciseStore opens the store at dir and uses every stream a little: it
// must not panic, and errors are fine.
func exerciseStore(t *testing.T, dir string, o blockstore.Options) {
	e, err := blockstore.Open(dir, o)
	if err != nil {
		return
	}
	defer e.Close()
	for _, s := range e.Streams() {
		st := s.State()
		var sm blockstore.StoreMsg
		next := uint64(0)
		for i := 0; i < 1000; i++ {
			m, err := s.LoadNextMsg(">", next, &sm)
			if err != nil {
				break
			}
			next = m.Seq + 1
		}
		s.LoadMsg(st.FirstSeq, &sm)
		s.LoadLastMsg("f.1.*", &sm)
		s.LoadPrevMsg(st.LastSeq, &sm)
		s.SubjectsState(">")
		s.FilteredState(st.FirstSeq, "f.*.3")
		s.NumPending(st.FirstSeq, ">", true)
		s.Snapshot(io.Discard)
		s.Apply(&blockstore.Command{Op: blockstore.OpStore, Subject: "f.new", Data: []byte("after")})
		s.Apply(&blockstore.Command{Op: blockstore.OpCompact, Seq: st.FirstSeq + 1})
	}
	e.Damaged()
}

var restoreSeq atomic.Uint64

// FuzzSnapshotRestore feeds snapshot images (what nats stream restore
// uploads) to the memory and file restores: an error or a stream, never a
// panic or an unbounded allocation.
func FuzzSnapshotRestore(f *testing.F) {
	stores := fuzzTemplates(f)
	e, err := blockstore.Open(f.TempDir(), fuzzOptions(nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	srcDir := filepath.Join(f.TempDir(), "src")
	if err := copyTree(stores[0].dir, srcDir); err != nil {
		f.Fatal(err)
	}
	src, err := blockstore.Open(srcDir, stores[0].opts)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range src.Streams() {
		var buf bytes.Buffer
		if err := s.Snapshot(&buf); err != nil {
			f.Fatal(err)
		}
		img := buf.Bytes()
		f.Add(img)
		f.Add(img[:len(img)/2])
		f.Add(append(img[:20:20], 0xff, 0xff, 0xff, 0x7f))
	}
	src.Close()
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, img []byte) {
		fuzzAllocMu.Lock()
		defer fuzzAllocMu.Unlock()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := blockstore.RestoreMemoryStream("R", bytes.NewReader(img))
		if err == nil {
			m.State()
			m.SubjectsState(">")
			// Both restores read the same format; the file one costs
			// syncs, so only images the memory one took go there (the
			// fuzzer's minimizer runs many inputs).
			name := fmt.Sprintf("R%d", restoreSeq.Add(1))
			if s, err := e.RestoreStream(name, bytes.NewReader(img)); err == nil {
				s.State()
				e.DeleteStream(name)
			}
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > allocBudget+uint64(64*len(img)) {
			t.Fatalf("restoring %d bytes allocated %d MiB", len(img), n>>20)
		}
	})
}
