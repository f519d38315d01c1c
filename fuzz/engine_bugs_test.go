package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keelhq/keel/blockstore"
)

// Minimal reproductions of engine bugs the crash harness found. Each
// builds, through the public API and the documented block format, the
// state a kill leaves behind.

// TestRebuildIgnoresRecordsBeyondCommittedEnd: a large message is written
// straight into the active block before its WAL record; a kill in between
// leaves a record of the next sequence in the block beyond the end the
// stream's state committed. Recovery rightly ignores it, and the next
// message takes that sequence in a new block. But the stale record stays in
// the old block's file, and a later index rebuild (a missing or damaged
// INDEX) reads the old block to its end: the new block "overlaps its
// predecessor" and is skipped, so an acknowledged message is replaced by
// the stale bytes and everything in the new block is lost.
func TestRebuildIgnoresRecordsBeyondCommittedEnd(t *testing.T) {
	dir := t.TempDir()
	e, err := blockstore.Open(dir, blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.CreateStream(blockstore.Config{Name: "S"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.Apply(&blockstore.Command{Op: blockstore.OpStore, Subject: "a", Data: []byte("committed")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	// What the kill left: the record of message 4, written to the block
	// after the state's committed end, whose WAL record never followed.
	sdir := filepath.Join(dir, "keel", "streams", streamDirs(dir)[0])
	blocks := streamBlocks(sdir)
	path := blocks[len(blocks)-1].path
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseBlock(raw)
	last := recs[len(recs)-1]
	stale := bytes.Clone(raw[last.off : last.off+last.size])
	binary.LittleEndian.PutUint64(stale[7:], 4)
	binary.LittleEndian.PutUint32(stale[len(stale)-4:], crc32.Checksum(stale[2:len(stale)-4], crc32.MakeTable(crc32.Castagnoli)))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(stale)
	f.Close()

	e, err = blockstore.Open(dir, blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ = e.Stream("S")
	if st := s.State(); st.LastSeq != 3 {
		t.Fatalf("recovery took the unacknowledged record: last %d", st.LastSeq)
	}
	res, err := s.Apply(&blockstore.Command{Op: blockstore.OpStore, Subject: "b", Data: []byte("acknowledged")})
	if err != nil || res.Seq != 4 {
		t.Fatalf("store: %+v %v", res, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(sdir, "INDEX"))

	e, err = blockstore.Open(dir, blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, _ = e.Stream("S")
	m, err := s.LoadMsg(4, nil)
	if err != nil || m.Subject != "b" || string(m.Data) != "acknowledged" {
		t.Fatalf("after an index rebuild, message 4 is %v %v, want the acknowledged one on subject b", m, err)
	}
}

// damageMessage flips a byte in the body of message seq's record in the
// stream's block files (the first stream of the store at dir).
func damageMessage(t *testing.T, dir string, seq uint64) {
	t.Helper()
	sdir := filepath.Join(dir, "keel", "streams", streamDirs(dir)[0])
	for _, b := range streamBlocks(sdir) {
		raw, err := os.ReadFile(b.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range parseBlock(raw) {
			if r.seq == seq && r.kind&kindMaskBits == kindMessage {
				if err := flipByte(b.path, r.off+r.size/2, 0x55); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
	t.Fatalf("no record of message %d", seq)
}

// storeN stores n messages on subjects s.0, s.1, ... and closes the engine
// (so the index checkpoint covers them).
func storeN(t *testing.T, dir string, cfg blockstore.Config, n int) {
	t.Helper()
	e, err := blockstore.Open(dir, blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.CreateStream(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		subj := "s." + string(rune('0'+i%10))
		if _, err := s.Apply(&blockstore.Command{Op: blockstore.OpStore, Subject: subj, Data: bytes.Repeat([]byte{'x'}, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

// consistent fails unless the stream's State and SubjectsState agree with
// what its messages can be read.
func consistent(t *testing.T, s blockstore.Stream, what string) {
	t.Helper()
	sc := scanStream(s)
	for _, p := range checkScan(s, sc, "s") {
		t.Errorf("%s: %s", what, p)
	}
	for _, p := range sc.problems {
		t.Errorf("%s: %s", what, p)
	}
}

// TestDamagedMessageCanBeRemoved: a damaged message that the index
// checkpoint counts cannot be loaded, and every removal path loads a
// message before taking it out of the counts (core.removeMsg,
// core.dropWalk). So a compaction, a purge or a retention limit over it
// leaves it counted for ever: State.Msgs, NumDeleted and the subject
// index stay wrong, the first sequence can fall to 0, a snapshot no longer
// restores ("counts do not match", even with no removal at all), and a stream at its message limit can
// no longer remove its oldest message. Damage spreads beyond the record
// it hit.
func TestDamagedMessageCanBeRemoved(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  blockstore.Command
	}{
		{"nothing", blockstore.Command{}},
		{"compact", blockstore.Command{Op: blockstore.OpCompact, Seq: 4}},
		{"purge subject", blockstore.Command{Op: blockstore.OpPurge, Subject: "s.1"}},
		{"remove", blockstore.Command{Op: blockstore.OpRemove, Seq: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			storeN(t, dir, blockstore.Config{Name: "S"}, 5)
			damageMessage(t, dir, 2)
			e, err := blockstore.Open(dir, blockstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			s, _ := e.Stream("S")
			if tc.cmd.Op != 0 {
				cmd := tc.cmd
				if _, err := s.Apply(&cmd); err != nil {
					t.Fatalf("apply: %v", err)
				}
				if m, err := s.LoadMsg(2, nil); err == nil || errors.Is(err, blockstore.ErrCorrupt) {
					t.Errorf("after %s, message 2 still counts (%v, %v)", tc.name, m, err)
				}
			}
			consistent(t, s, tc.name+" over a damaged message")
			var buf bytes.Buffer
			if err := s.Snapshot(&buf); err != nil {
				t.Fatal(err)
			}
			if _, err := blockstore.RestoreMemoryStream("S", &buf); err != nil {
				t.Errorf("snapshot after %s: %v", tc.name, err)
			}
		})
	}
	t.Run("limit", func(t *testing.T) {
		dir := t.TempDir()
		storeN(t, dir, blockstore.Config{Name: "S", MaxMsgs: 3}, 3)
		damageMessage(t, dir, 1)
		e, err := blockstore.Open(dir, blockstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		s, _ := e.Stream("S")
		for i := 0; i < 5; i++ {
			if _, err := s.Apply(&blockstore.Command{Op: blockstore.OpStore, Subject: "s.9", Data: []byte("new")}); err != nil {
				t.Fatal(err)
			}
		}
		if st := s.State(); st.Msgs > 3 {
			t.Errorf("MaxMsgs 3, the stream holds %d: the damaged first message blocks the limit", st.Msgs)
		}
		consistent(t, s, "limit over a damaged message")
	})
}

// TestCompressedLargeMessageReadBack: a large message (written straight to
// its block, kept in memory as a stub) in a stream with S2 compression
// loads back with the compressed bytes instead of the payload while its
// block is active: an acknowledged message reads wrong with no crash at
// all. The crash harness saw it as "acknowledged message differs".
func TestCompressedLargeMessageReadBack(t *testing.T) {
	e, err := blockstore.Open(t.TempDir(), blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.CreateStream(blockstore.Config{Name: "S", Compression: blockstore.S2Compression})
	if err != nil {
		t.Fatal(err)
	}
	// Above the 8 KiB large-message size, and compressing about 6 to 1
	// (a payload that compresses more than 256 to 1 is stored as is).
	data := payload(2, 12300)
	res, err := s.Apply(&blockstore.Command{Op: blockstore.OpStore, Subject: "a", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.LoadMsg(res.Seq, nil)
	if err != nil || !bytes.Equal(m.Data, data) {
		t.Fatalf("load: %v, %d bytes, want the %d stored", err, len(seqData(m)), len(data))
	}
}

func seqData(m *blockstore.StoreMsg) []byte {
	if m == nil {
		return nil
	}
	return m.Data
}

// TestDamageReportsLastMessageOfBlock: damage to the record of the last
// message of a block costs that message, but Engine.Damaged reports it
// with sequence 0 ("damaged record (no message)"): the stream's range is
// derived from the records found, so the lost message is not counted as
// expected in the block. Clarification 15 wants every damaged record
// reported by sequence.
func TestDamageReportsLastMessageOfBlock(t *testing.T) {
	for _, seq := range []uint64{2, 3} { // the middle one is reported; the last is not
		t.Run(fmt.Sprint("message ", seq), func(t *testing.T) {
			dir := t.TempDir()
			storeN(t, dir, blockstore.Config{Name: "S"}, 3)
			os.Remove(filepath.Join(dir, "keel", "streams", streamDirs(dir)[0], "INDEX")) // read the block at open
			damageMessage(t, dir, seq)
			e, err := blockstore.Open(dir, blockstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			s, _ := e.Stream("S")
			if m, err := s.LoadMsg(seq, nil); err == nil {
				t.Fatalf("damaged message %d loads: %v", seq, m)
			}
			for _, d := range e.Damaged() {
				if d.Seq == seq {
					return
				}
			}
			t.Errorf("message %d lost to damage, reported as %+v", seq, e.Damaged())
		})
	}
}

// TestDamageCostsNoCommandIndex: a removal is acknowledged, its command
// still only in the WAL, when the message it removed is lost to damage in
// its block. Recovery replays the removal, finds the message gone and
// refuses it ("wal record N not applied: message deleted"), so
// LastApplied stays below a command that was acknowledged: the consensus
// layer would take the command as never applied. The damage should cost
// the message, not the command's place in the log.
func TestDamageCostsNoCommandIndex(t *testing.T) {
	dir := t.TempDir()
	storeN(t, dir, blockstore.Config{Name: "S"}, 3)
	o := blockstore.Options{CheckpointInterval: time.Hour, CheckpointBytes: 1 << 40, IndexInterval: time.Hour}
	e, err := blockstore.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.Stream("S")
	res, err := s.Apply(&blockstore.Command{Op: blockstore.OpRemove, Seq: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sync(); err != nil || e.Durable() < res.Ticket {
		t.Fatalf("sync: %v", err)
	}
	applied := s.LastApplied()
	// A kill now: the folder as it is (no checkpoint runs), then damage to
	// message 2's record and no index checkpoint, so recovery reads the
	// block.
	img := filepath.Join(t.TempDir(), "img")
	if err := copyTree(dir, img); err != nil {
		t.Fatal(err)
	}
	e.Close()
	damageMessage(t, img, 2)
	os.Remove(filepath.Join(img, "keel", "streams", streamDirs(img)[0], "INDEX"))
	e, err = blockstore.Open(img, o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, _ = e.Stream("S")
	if got := s.LastApplied(); got != applied {
		t.Errorf("LastApplied %d after recovery, the acknowledged removal was command %d", got, applied)
	}
}
