package blockstore

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Recovery from what a kill leaves in block files: records past the
// committed end of a block, found again by a later rebuild.

// streamFiles returns the stream folder of the only stream in dir and its
// block files in id order.
func streamFiles(t testing.TB, dir string) (string, []string) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(dir, "keel", "streams", "*"))
	if len(dirs) != 1 {
		t.Fatalf("stream folders %v", dirs)
	}
	blocks, _ := filepath.Glob(filepath.Join(dirs[0], "*.blk"))
	sort.Strings(blocks)
	return dirs[0], blocks
}

// appendOrphan appends to the block file at path a copy of its last
// message record renumbered as seq: what a kill leaves when a large
// message reached its block but its WAL record never followed.
func appendOrphan(t testing.TB, path string, seq uint64) int64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bf, err := decodeBlockFile(bytes.Clone(raw), nil, 1, blockIDOf(t, raw))
	if err != nil {
		t.Fatal(err)
	}
	var last recRef
	for _, r := range bf.records {
		if r.kind == kindMsg {
			last = r
		}
	}
	n := int64(binary.LittleEndian.Uint32(raw[last.off+2:])) + 6
	rec := bytes.Clone(raw[last.off : last.off+n])
	binary.LittleEndian.PutUint64(rec[7:], seq)
	binary.LittleEndian.PutUint32(rec[len(rec)-4:], crc32.Checksum(rec[2:len(rec)-4], castagnoli))
	if err := os.WriteFile(path, append(raw, rec...), 0o640); err != nil {
		t.Fatal(err)
	}
	return int64(len(raw))
}

func blockIDOf(t testing.TB, raw []byte) uint64 {
	h, err := decodeBlockHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	return h.block
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestRecoveryCutsUncommittedTail: the active block holds a record past
// the state's end. Recovery ignores it and cuts it from the file, so a
// later rebuild, when a newer block holds the sequence, cannot read it.
func TestRecoveryCutsUncommittedTail(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, Options{})
	s, _ := e.CreateStream(Config{Name: "T"})
	for i := 0; i < 3; i++ {
		s.Apply(&Command{Op: OpStore, Subject: "a", Data: []byte("committed"), Time: baseTime})
	}
	e.Close()
	sdir, blocks := streamFiles(t, dir)
	end := appendOrphan(t, blocks[0], 4)

	e = openTestEngine(t, dir, Options{Logger: testLogger{t}})
	if got := fileSize(t, blocks[0]); got != end {
		t.Errorf("after recovery the block is %d bytes, committed end %d", got, end)
	}
	s, _ = e.Stream("T")
	if r, err := s.Apply(&Command{Op: OpStore, Subject: "b", Data: []byte("new"), Time: baseTime}); err != nil || r.Seq != 4 {
		t.Fatalf("store: %+v %v", r, err)
	}
	e.Close()
	os.Remove(filepath.Join(sdir, indexFileName))
	e = openTestEngine(t, dir, Options{Logger: testLogger{t}})
	defer e.Close()
	s, _ = e.Stream("T")
	sm, err := s.LoadMsg(4, nil)
	if err != nil || sm.Subject != "b" || string(sm.Data) != "new" {
		t.Fatalf("message 4 after a rebuild: %+v %v", sm, err)
	}
}

// TestRebuildStopsAtNextBlock: a block that is no longer the active one
// holds a record past its committed end (a store from before recovery
// cut such tails). A rebuild takes the next block's first sequence as the
// end of the block's records, so the newer block wins, and the tail is
// cut.
func TestRebuildStopsAtNextBlock(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, Options{})
	s, _ := e.CreateStream(Config{Name: "T", BlockSize: 1 << 10})
	data := bytes.Repeat([]byte("x"), 600)
	for i := 0; i < 4; i++ {
		s.Apply(&Command{Op: OpStore, Subject: "a", Data: data, Time: baseTime})
	}
	want := dump(t, s)
	e.Close()
	sdir, blocks := streamFiles(t, dir)
	if len(blocks) < 2 {
		t.Fatalf("blocks %v: want two or more", blocks)
	}
	raw, _ := os.ReadFile(blocks[1])
	h, _ := decodeBlockHeader(raw)
	end := appendOrphan(t, blocks[0], h.first)
	os.Remove(filepath.Join(sdir, indexFileName))

	e = openTestEngine(t, dir, Options{Logger: testLogger{t}})
	s, _ = e.Stream("T")
	if got := dump(t, s); got != want {
		t.Fatalf("after a rebuild: %s", firstDiff(got, want))
	}
	e.Close()
	if got := fileSize(t, blocks[0]); got != end {
		t.Errorf("the block is %d bytes after recovery, its records end at %d", got, end)
	}
}
