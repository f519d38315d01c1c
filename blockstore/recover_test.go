package blockstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
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

// damagedStore writes 40 messages on subjects d.0..d.3 into blocks of
// about 1 KiB (the index checkpoint covers them all), then flips a byte in
// message seq's record. It returns the store folder.
func damagedStore(t *testing.T, seq uint64) string {
	t.Helper()
	dir := t.TempDir()
	e := openTestEngine(t, dir, Options{})
	s, _ := e.CreateStream(Config{Name: "D", BlockSize: 1 << 10})
	for i := 0; i < 40; i++ {
		s.Apply(&Command{Op: OpStore, Subject: fmt.Sprintf("d.%d", i%4), Data: bytes.Repeat([]byte{'p'}, 100), Time: baseTime + int64(i)})
	}
	e.Close()
	_, blocks := streamFiles(t, dir)
	for _, path := range blocks {
		raw, _ := os.ReadFile(path)
		if off, n := findRecord(raw, seq); off >= 0 {
			raw[off+int64(n)/2] ^= 0x5a
			os.WriteFile(path, raw, 0o640)
			return dir
		}
	}
	t.Fatalf("no record of message %d", seq)
	return ""
}

// scanState is what the stream's messages, read one by one, add up to.
func scanState(t *testing.T, s Stream) (msgs, bytes uint64, subjects map[string]SubjectState) {
	t.Helper()
	subjects = map[string]SubjectState{}
	var sm StoreMsg
	for q := uint64(0); ; q++ {
		m, err := s.LoadNextMsg(">", q, &sm)
		if errors.Is(err, ErrNotFound) {
			return msgs, bytes, subjects
		}
		if err != nil {
			t.Fatalf("scan from %d: %v", q, err)
		}
		msgs++
		bytes += fileMsgSize(len(m.Subject), len(m.Header), len(m.Data))
		ss := subjects[m.Subject]
		if ss.Msgs == 0 {
			ss.First = m.Seq
		}
		ss.Msgs++
		ss.Last = m.Seq
		subjects[m.Subject] = ss
		q = m.Seq
	}
}

// TestDamageFoundLaterIsAbsorbed: the index checkpoint counts a message
// whose record was damaged since. Reading its block finds it lost: it is
// reported, and the counts, subjects and bytes follow what can be read. A
// removal of it is still accepted once (as on a replica without the
// damage), and a restart keeps it reported.
func TestDamageFoundLaterIsAbsorbed(t *testing.T) {
	dir := damagedStore(t, 6)
	e := openTestEngine(t, dir, Options{})
	s, _ := e.Stream("D")
	if _, err := s.LoadMsg(6, nil); !errors.Is(err, ErrDeleted) {
		t.Fatalf("damaged message 6 loads: %v", err)
	}
	st := s.State()
	msgs, bytes, subjects := scanState(t, s)
	if st.Msgs != 39 || msgs != 39 || st.Bytes != bytes || st.NumDeleted != 1 {
		t.Errorf("state %+v, scan %d messages %d bytes", st, msgs, bytes)
	}
	if got := s.SubjectsState(">"); !maps.Equal(got, subjects) {
		t.Errorf("subjects %v, scan %v", got, subjects)
	}
	if d := e.Damaged(); len(d) != 1 || d[0].Seq != 6 {
		t.Errorf("damage reported %+v", d)
	}
	e.Close()

	e = openTestEngine(t, dir, Options{})
	defer e.Close()
	if d := e.Damaged(); len(d) != 1 || d[0].Seq != 6 {
		t.Errorf("after a restart, damage reported %+v", d)
	}
	s, _ = e.Stream("D")
	if r, err := s.Apply(&Command{Op: OpRemove, Seq: 6}); err != nil || r.Removed != 1 {
		t.Fatalf("remove the lost message: %+v %v", r, err)
	}
	if _, err := s.Apply(&Command{Op: OpRemove, Seq: 6}); !errors.Is(err, ErrDeleted) {
		t.Fatalf("second removal: %v", err)
	}
	if st := s.State(); st.Msgs != 39 {
		t.Fatalf("state after the removal %+v", st)
	}
}

// TestDamageFoundBySnapshot: the first to read a damaged block is a
// snapshot. It holds the readable messages and restores; the stream then
// absorbs the loss.
func TestDamageFoundBySnapshot(t *testing.T) {
	dir := damagedStore(t, 3)
	e := openTestEngine(t, dir, Options{})
	defer e.Close()
	s, _ := e.Stream("D")
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := RestoreMemoryStream("R", &buf)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if st := r.State(); st.Msgs != 39 {
		t.Errorf("restored %+v", st)
	}
	if st := s.State(); st.Msgs != 39 || st.FirstSeq != 1 {
		t.Errorf("stream after the snapshot %+v", st)
	}
}

// TestSnapshotCheckFindsDamage: a check-only snapshot reads every record
// and fails on damage, which it reports.
func TestSnapshotCheckFindsDamage(t *testing.T) {
	dir := damagedStore(t, 9)
	e := openTestEngine(t, dir, Options{})
	defer e.Close()
	s, _ := e.Stream("D")
	if _, err := s.SnapshotWith(nil, SnapshotOptions{CheckOnly: true}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("check of a damaged stream: %v", err)
	}
	if d := e.Damaged(); len(d) != 1 || d[0].Seq != 9 {
		t.Fatalf("damage reported %+v", d)
	}
	if st, err := s.SnapshotWith(nil, SnapshotOptions{CheckOnly: true}); err != nil || st.Msgs != 39 {
		t.Fatalf("check once the loss is absorbed: %+v %v", st, err)
	}
}

// TestDamageUnderLimitsAndPurges: retention limits, purges and compaction
// over a message lost to damage leave exact counts.
func TestDamageUnderLimitsAndPurges(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  Command
	}{
		{"max msgs", Command{Op: OpConfig, Config: &Config{Name: "D", MaxMsgs: 10}}},
		{"max per subject", Command{Op: OpConfig, Config: &Config{Name: "D", MaxMsgsPerSubject: 2}}},
		{"purge subject", Command{Op: OpPurge, Subject: "d.1"}},
		{"purge keep", Command{Op: OpPurge, Subject: "d.1", Keep: 3}},
		{"compact", Command{Op: OpCompact, Seq: 20}},
		{"truncate", Command{Op: OpTruncate, Seq: 4}},
		{"max age", Command{Op: OpExpire, Time: baseTime + 100}},
	} {
		cmd := tc.cmd
		t.Run(tc.name, func(t *testing.T) {
			dir := damagedStore(t, 2)
			e := openTestEngine(t, dir, Options{})
			defer e.Close()
			s, _ := e.Stream("D")
			if cmd.Op == OpExpire {
				s.Apply(&Command{Op: OpConfig, Config: &Config{Name: "D", MaxAge: 50}})
			}
			if _, err := s.Apply(&cmd); err != nil {
				t.Fatal(err)
			}
			st := s.State()
			msgs, bytes, subjects := scanState(t, s)
			if st.Msgs != msgs || st.Bytes != bytes || st.NumSubjects != len(subjects) ||
				(msgs > 0 && st.NumDeleted != int(st.LastSeq-st.FirstSeq+1-msgs)) {
				t.Errorf("state %+v, scan %d messages %d bytes %d subjects", st, msgs, bytes, len(subjects))
			}
			if got := s.SubjectsState(">"); !maps.Equal(got, subjects) {
				t.Errorf("subjects %v, scan %v", got, subjects)
			}
		})
	}
}

// TestLargeMessageDamageReported: large messages acknowledged from their
// block records and WAL pointers, with no checkpoint since; the record of
// one is then damaged. Recovery reports it by sequence and still applies
// its store, of a message that cannot be read: the commands after it do
// what they did (here a per-subject limit removing the oldest message), so
// the damage costs that message alone. (A bad record at the file's tail is
// what a power cut leaves of an unsynced write, never acknowledged: that
// one becomes a skip, only logged.)
func TestLargeMessageDamageReported(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, quietOpts())
	s, _ := e.CreateStream(Config{Name: "L", MaxMsgsPerSubject: 2})
	s.Apply(&Command{Op: OpStore, Subject: "s", Data: []byte("x"), Time: baseTime})
	if err := e.checkpoint(true); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("large message "), 400)
	r, err := s.Apply(&Command{Op: OpStore, Subject: "s", Data: big, Time: baseTime})
	if err != nil {
		t.Fatal(err)
	}
	// The limit of 2 on "s" removes message 1 here, because of message 2.
	s.Apply(&Command{Op: OpStore, Subject: "s", Data: []byte("y"), Time: baseTime})
	r2, err := s.Apply(&Command{Op: OpStore, Subject: "t", Data: bytes.Repeat([]byte("second "), 900), Time: baseTime})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sync(); err != nil || e.Durable() < r2.Ticket {
		t.Fatalf("sync: %v", err)
	}
	want := s.State()
	img := t.TempDir()
	copyQuiet(t, e, dir, img) // a kill now
	e.Close()
	_, blocks := streamFiles(t, img)
	raw, _ := os.ReadFile(blocks[len(blocks)-1])
	i := bytes.Index(raw, []byte("large message"))
	if i < 0 {
		t.Fatal("large record not found")
	}
	raw[i] ^= 0x20
	os.WriteFile(blocks[len(blocks)-1], raw, 0o640)

	for _, rebuild := range []bool{false, true} {
		if rebuild {
			sdir, _ := streamFiles(t, img)
			os.Remove(filepath.Join(sdir, indexFileName))
		}
		e = openTestEngine(t, img, quietOpts())
		s, _ = e.Stream("L")
		if _, err := s.LoadMsg(r.Seq, nil); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("rebuild=%v: damaged large message loads: %v", rebuild, err)
		}
		if d := e.Damaged(); len(d) != 1 || d[0].Seq != r.Seq {
			t.Fatalf("rebuild=%v: damage reported %+v, want message %d", rebuild, d, r.Seq)
		}
		if st := s.State(); st.Msgs != want.Msgs || st.FirstSeq != want.FirstSeq || st.LastSeq != want.LastSeq || st.Bytes != want.Bytes {
			t.Fatalf("rebuild=%v: state %+v, want %+v", rebuild, st, want)
		}
		if _, err := s.LoadMsg(1, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rebuild=%v: message 1, removed by the limit, is back: %v", rebuild, err)
		}
		e.Close()
	}
	e = openTestEngine(t, img, quietOpts())
	defer e.Close()
	s, _ = e.Stream("L")
	if res, err := s.Apply(&Command{Op: OpRemove, Seq: r.Seq}); err != nil || res.Removed != 1 {
		t.Fatalf("remove the lost message: %+v %v", res, err)
	}
	if st := s.State(); st.Msgs != want.Msgs-1 || st.NumSubjects != 2 {
		t.Fatalf("after removing it: %+v", st)
	}
}

// TestAbandonedBlockNeverRead: a kill leaves a block after the committed
// active one (here a tombstone's, starting past a skip). Recovery replays
// its commands into a new block that starts lower, and the state it
// commits names the old one dead. If the kill comes before the file is
// removed, the next recovery must not read it: it was never committed, and
// its range would hide the new block ("overlaps its predecessor").
func TestAbandonedBlockNeverRead(t *testing.T) {
	dir := t.TempDir()
	o := quietOpts()
	e := openTestEngine(t, dir, o)
	s, _ := e.CreateStream(Config{Name: "A", BlockSize: 4 << 10})
	for i := 0; i < 3; i++ {
		s.Apply(&Command{Op: OpStore, Subject: "a", Data: []byte("committed"), Time: baseTime})
	}
	if err := e.checkpoint(true); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("z"), 8<<10) // fills the block
	if _, err := s.Apply(&Command{Op: OpStore, Subject: "big", Data: big, Time: baseTime}); err != nil {
		t.Fatal(err)
	}
	s.Apply(&Command{Op: OpSkip, Seq: 6})
	if _, err := s.Apply(&Command{Op: OpRemove, Seq: 1}); err != nil { // a tombstone in a new block at 7
		t.Fatal(err)
	}
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	killed := t.TempDir()
	copyQuiet(t, e, dir, killed)
	e.Close()
	_, blocks := streamFiles(t, killed)
	if len(blocks) != 2 {
		t.Fatalf("blocks %v: want the committed one and one after it", blocks)
	}
	abandoned, _ := os.ReadFile(blocks[1])

	e = openTestEngine(t, killed, o) // recovery: commits a state naming block 2 dead
	again := t.TempDir()
	copyQuiet(t, e, killed, again)
	e.Close()
	// The kill again, before the dead block's file was removed.
	os.WriteFile(filepath.Join(again, "keel", "streams", filepath.Base(filepath.Dir(blocks[1])), filepath.Base(blocks[1])), abandoned, 0o640)

	e = openTestEngine(t, again, Options{Logger: testLogger{t}})
	defer e.Close()
	s, _ = e.Stream("A")
	sm, err := s.LoadMsg(4, nil)
	if err != nil || len(sm.Data) != len(big) {
		t.Fatalf("message 4: %v", err)
	}
	if st := s.State(); st.Msgs != 3 || st.FirstSeq != 2 || st.LastSeq != 6 {
		t.Fatalf("state %+v", st)
	}
}

// TestIndexNamesCompactedBlock: a kill between a checkpoint's state file
// and its index checkpoint leaves an index that counts messages of a block
// compacted since (the next generation), which a compaction of the stream
// (OpCompact, which writes no tombstone) then moved below the first
// sequence. Recovery removes the older generation, so the block the index
// names is gone: it must not go on counting those messages (they stayed
// in State.Msgs and the subject index, unreadable and below the first
// sequence: the crash harness's "State.Msgs 36, scan finds 35").
func TestIndexNamesCompactedBlock(t *testing.T) {
	defer func(v int64) { compactMinGarbage = v }(compactMinGarbage)
	compactMinGarbage = 256
	dir := t.TempDir()
	e := openTestEngine(t, dir, quietOpts())
	s, _ := e.CreateStream(Config{Name: "D", BlockSize: 1 << 10})
	for i := 0; i < 40; i++ {
		s.Apply(&Command{Op: OpStore, Subject: fmt.Sprintf("d.%d", i%4), Data: bytes.Repeat([]byte{'p'}, 100), Time: baseTime + int64(i)})
	}
	if err := e.checkpoint(true); err != nil { // the index counts 1 to 40
		t.Fatal(err)
	}
	stream, _ := streamFiles(t, dir)
	saved := map[string][]byte{}
	save := func(name string) {
		raw, err := os.ReadFile(filepath.Join(stream, name))
		if err != nil {
			t.Fatal(err)
		}
		saved[name] = raw
	}
	save(indexFileName)
	save(blockName(1, 0))
	for _, q := range []uint64{1, 2, 3, 4, 6, 7} { // the first block keeps 5 and 8
		if _, err := s.Apply(&Command{Op: OpRemove, Seq: q}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.checkpoint(false); err != nil {
		t.Fatal(err)
	}
	e.compactSome()
	save(blockName(1, 1))
	if _, err := s.Apply(&Command{Op: OpCompact, Seq: 12}); err != nil {
		t.Fatal(err)
	}
	if err := e.checkpoint(false); err != nil { // state and index
		t.Fatal(err)
	}
	killed := t.TempDir()
	copyQuiet(t, e, dir, killed)
	e.Close()
	// The kill came after the state file, before the index checkpoint and
	// the removal of the retired files.
	kstream, _ := streamFiles(t, killed)
	for name, raw := range saved {
		if err := os.WriteFile(filepath.Join(kstream, name), raw, 0o640); err != nil {
			t.Fatal(err)
		}
	}

	e = openTestEngine(t, killed, quietOpts())
	defer e.Close()
	s, _ = e.Stream("D")
	st := s.State()
	msgs, bytes, subjects := scanState(t, s)
	if st.Msgs != msgs || st.Bytes != bytes || st.FirstSeq != 12 || msgs != 29 {
		t.Errorf("state %+v, scan %d messages %d bytes", st, msgs, bytes)
	}
	if got := s.SubjectsState(">"); !maps.Equal(got, subjects) {
		t.Errorf("subjects %v, scan %v", got, subjects)
	}
}

// TestTornEraseIsNoDamage: a kill while a secure erase overwrites a
// record in its block file (many pages: the kernel may stop a write
// between pages for a fatal signal) leaves the record's first pages
// erased and the rest as it was. That is an erasure cut short, not
// damage: the removal is committed, and the message must neither be
// reported lost nor the record count as damaged.
func TestTornEraseIsNoDamage(t *testing.T) {
	dir := t.TempDir()
	e := openTestEngine(t, dir, quietOpts())
	s, _ := e.CreateStream(Config{Name: "D", BlockSize: 1 << 20})
	for i := 0; i < 8; i++ {
		s.Apply(&Command{Op: OpStore, Subject: "d.x", Data: bytes.Repeat([]byte{'a' + byte(i)}, 10<<10), Time: baseTime + int64(i)})
	}
	if err := e.checkpoint(true); err != nil {
		t.Fatal(err)
	}
	_, blocks := streamFiles(t, dir)
	before, _ := os.ReadFile(blocks[0])
	if _, err := s.Apply(&Command{Op: OpErase, Seq: 3}); err != nil {
		t.Fatal(err)
	}
	if err := e.checkpoint(true); err != nil { // commits the removal, then erases in the file
		t.Fatal(err)
	}
	e.Close()
	after, _ := os.ReadFile(blocks[0])
	off, n := findRecord(after, 3)
	if off < 0 || after[off+6] != kindErased {
		t.Fatalf("message 3 not erased in its block file")
	}
	// The kill came after the first page boundary inside the record.
	cut := (off/4096 + 1) * 4096
	if cut+4 >= off+int64(n) {
		t.Fatalf("record at %d+%d has no page boundary inside", off, n)
	}
	torn := append(append([]byte(nil), after[:cut]...), before[cut:]...)
	if err := os.WriteFile(blocks[0], torn, 0o640); err != nil {
		t.Fatal(err)
	}
	for _, rebuild := range []bool{false, true} {
		if rebuild {
			os.Remove(filepath.Join(filepath.Dir(blocks[0]), indexFileName))
		}
		e = openTestEngine(t, dir, quietOpts())
		s, _ = e.Stream("D")
		msgs, _, _ := scanState(t, s) // reads every block
		if st := s.State(); st.Msgs != 7 || msgs != 7 {
			t.Errorf("rebuild %v: state %+v, scan %d messages", rebuild, st, msgs)
		}
		if d := e.Damaged(); len(d) != 0 {
			t.Errorf("rebuild %v: damage reported %+v", rebuild, d)
		}
		e.Close()
	}
}

// TestCompactionReportsDamage: compaction is the first to read a block in
// which a message the index checkpoint counts was damaged since. The
// rewrite must not leave it out unnoticed (counted, never reported, not
// loadable): the stream absorbs and reports it first.
func TestCompactionReportsDamage(t *testing.T) {
	defer func(v int64) { compactMinGarbage = v }(compactMinGarbage)
	compactMinGarbage = 256
	dir := t.TempDir()
	e := openTestEngine(t, dir, quietOpts())
	s, _ := e.CreateStream(Config{Name: "D", BlockSize: 1 << 10})
	for i := 0; i < 40; i++ {
		s.Apply(&Command{Op: OpStore, Subject: fmt.Sprintf("d.%d", i%4), Data: bytes.Repeat([]byte{'p'}, 100), Time: baseTime + int64(i)})
	}
	for _, q := range []uint64{1, 2, 3, 4, 6} { // the first block keeps 5, 7 and 8
		if _, err := s.Apply(&Command{Op: OpRemove, Seq: q}); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	damageRecord(t, dir, 7)

	e = openTestEngine(t, dir, quietOpts())
	defer e.Close()
	for i := 0; i < 2; i++ { // absorbed, then compacted
		e.compactSome()
	}
	stream, _ := streamFiles(t, dir)
	if _, err := os.Stat(filepath.Join(stream, blockName(1, 1))); err != nil {
		t.Errorf("the first block was not compacted once the loss was absorbed: %v", err)
	}
	s, _ = e.Stream("D")
	st := s.State()
	msgs, bytes, _ := scanState(t, s)
	if st.Msgs != msgs || st.Bytes != bytes || msgs != 34 {
		t.Errorf("state %+v, scan %d messages %d bytes", st, msgs, bytes)
	}
	if d := e.Damaged(); len(d) != 1 || d[0].Seq != 7 {
		t.Errorf("damage reported %+v", d)
	}
}
