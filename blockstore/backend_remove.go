package blockstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/keelhq/keel/internal/fsutil"
)

// Removals in the file backend: tombstones, erasure, range drops below the
// first sequence, truncation, and retiring blocks.

// deadBlock is a block file to be removed. An index checkpoint written
// before the block was retired may still count its messages (a front drop
// writes no tombstones), and recovery reads the block to take them out; so
// the file stays until an index checkpoint numbered needIndex or later is
// on disk (0: no index refers to it).
type deadBlock struct {
	id, gen   uint64
	needIndex uint64
	// first and last are the block's range while its file is on disk
	// (memory only: zero when read back from a state file, meaning unknown).
	first, last uint64
	// abandoned: never part of a committed state (recovery found it after
	// the state's active block, written by commands the WAL then replayed
	// elsewhere). Its records count for nothing: it is never read again.
	abandoned bool
}

// blockCut is a block file to be truncated to end (OpTruncate).
type blockCut struct {
	id, gen uint64
	end     int64
}

func (be *fileBackend) remove(m *msgMeta, erase bool) {
	seq := m.seq
	be.deleted.Add(seq)
	b := be.find(seq)
	if b != nil {
		b.msgs--
		b.bytes -= fileMsgSize(len(m.subj), m.hlen, m.dlen)
		b.garbage += int64(recMinSize + 8 + varintLen(m.ttl) + uvarintLen(uint64(len(m.subj))) + len(m.subj) +
			uvarintLen(uint64(m.hlen)) + m.hlen + m.dlen)
	}
	// The removal must outlive a restart even without a checkpoint: a
	// tombstone in the active block, carrying what recovery needs to keep
	// the counts exact without reading the message.
	a := be.writable(be.lastSeq + 1)
	a.data.reserve(recMinSize+30+len(m.subj), be.blockSize()+64<<10)
	a.data.buf = appendTombRecord(a.data.buf, seq, m.subj, m.hlen, m.dlen)
	a.tombs++
	if erase && b != nil {
		be.erase(b, seq)
	}
}

// erase overwrites message seq of block b wherever it lies. Memory is
// scrubbed now; a record not yet in the file is written as an erased
// record; a record in the file is overwritten by the next checkpoint, once
// the state file it commits records the removal, so that recovery never
// needs a message whose bytes are gone. That checkpoint, which the stream
// requests now, also drops the WAL records holding the message.
func (be *fileBackend) erase(b *fblock, seq uint64) {
	be.s.eraseRequested = true
	if b.data != nil {
		i := b.data.pos(seq)
		if i < 0 || b.data.offs[i] == 0 {
			return
		}
		off := int(b.data.offs[i] - 1)
		b.data.scrub(seq)
		if off >= b.flushed {
			if b.erased == nil {
				b.erased = make(map[uint64]struct{})
			}
			b.erased[seq] = struct{}{}
			return
		}
	} else if d := be.s.e.cache.get(be.s.id, b.id); d != nil {
		d.scrub(seq)
	}
	be.s.pendingErase = append(be.s.pendingErase, erasure{block: b, seq: seq})
}

func (be *fileBackend) eraseFile(b *fblock, seq uint64) {
	path := filepath.Join(be.s.dir, b.name())
	found, err := eraseInFile(path, seq)
	if err == nil && found {
		err = fsutil.SyncPath(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		return // the block went meanwhile, and the record with it
	}
	if err != nil {
		be.fail(fmt.Errorf("blockstore: erase %d in block %d: %w", seq, b.id, err))
	}
	b.mods++
}

// hasCut reports whether block id has a cut not yet done on disk.
func (be *fileBackend) hasCut(id uint64) bool {
	for _, c := range be.cuts {
		if c.id == id {
			return true
		}
	}
	return false
}

func (be *fileBackend) findID(id uint64) *fblock {
	for _, b := range be.blocks {
		if b.id == id {
			return b
		}
	}
	return nil
}

func (be *fileBackend) skip(from, to uint64, gap bool) {
	if gap && from <= to {
		be.deleted.AddRange(from, to)
	}
	if to > be.lastSeq {
		be.lastSeq = to
	}
}

// trim forgets what lies below the stream's first sequence: deleted
// entries, and sealed blocks wholly below it (their files go after the
// next checkpoint). The active block stays the write target even when all
// its messages are gone (a drained work queue must not start a file per
// message); it goes once sealed.
func (be *fileBackend) trim(first uint64) {
	be.first = first
	if first > 1 {
		be.deleted.RemoveRange(0, first-1)
		be.lostSeqs.RemoveRange(0, first-1)
	}
	n := 0
	for _, b := range be.blocks {
		if b.last >= first || b == be.active {
			break
		}
		n++
	}
	if n == 0 {
		return
	}
	for _, b := range be.blocks[:n] {
		be.retire(b)
	}
	be.blocks = append(be.blocks[:0], be.blocks[n:]...)
}

// retire schedules a block's file for deletion.
func (be *fileBackend) retire(b *fblock) {
	be.closeFile(b, false)
	be.s.e.cache.drop(be.s.id, b.id)
	for i, d := range be.dead {
		if d.id == b.id && d.gen == b.fgen {
			be.dead[i].needIndex = max(d.needIndex, be.s.indexSeq+1)
			return
		}
	}
	be.dead = append(be.dead, deadBlock{id: b.id, gen: b.fgen, needIndex: be.s.indexSeq + 1, first: b.first, last: b.last})
}

// forget takes a message about to be dropped out of its block's counts.
func (be *fileBackend) forget(m *msgMeta) {
	if b := be.find(m.seq); b != nil {
		b.msgs--
		b.bytes -= fileMsgSize(len(m.subj), m.hlen, m.dlen)
	}
}

// dropRange forgets [from, to], which now lies below the first sequence;
// trim, called next, removes the blocks. The block holding to+1 keeps its
// file: its records below are skipped by range.
func (be *fileBackend) dropRange(from, to uint64) { be.deleted.RemoveRange(from, to) }

// truncate removes every message from seq from on (OpTruncate). Those
// sequences will be stored again, so their records must leave the files:
// blocks wholly at or after from die, the block holding from is cut at its
// first record from there on, both after the next checkpoint has recorded
// it. Tombstones past the cut that remove earlier messages are written
// again to a new block, so no earlier removal is undone.
func (be *fileBackend) truncate(from uint64) {
	if from > be.lastSeq {
		return
	}
	be.deleted.RemoveRange(from, ^uint64(0))
	be.lostSeqs.RemoveRange(from, ^uint64(0))
	be.lastSeq = from - 1
	i := sort.Search(len(be.blocks), func(i int) bool { return be.blocks[i].last >= from || be.blocks[i] == be.active })
	if i == len(be.blocks) {
		return
	}
	if be.active != nil {
		be.seal(be.active)
	}
	var keep []byte
	kept := 0
	e := be.s.e
	n := i
	for _, b := range be.blocks[i:] {
		e.cache.drop(be.s.id, b.id)
		bf, err := readBlockFile(filepath.Join(be.s.dir, b.name()), e.key, be.s.id, b.id, b.size)
		if err != nil {
			be.fail(err)
			continue
		}
		cut := int64(-1)
		if b.first >= from {
			cut = blkHeaderSize
		}
		last := b.first - 1 // the last message record kept, as a rebuild would find
		for _, r := range bf.records {
			if cut < 0 && r.kind != kindTomb && r.seq >= from {
				cut = r.off
			}
			if cut < 0 && r.kind != kindTomb {
				last = r.seq
			}
			if cut >= 0 && r.off >= cut && r.kind == kindTomb && r.seq < from {
				rec := bf.data.buf[r.mem:]
				keep = append(keep, rec[:binary.LittleEndian.Uint32(rec[2:])+6]...)
				kept++
			}
		}
		if b.first >= from {
			be.retire(b)
			continue
		}
		if cut >= 0 {
			be.cuts = append(be.cuts, blockCut{id: b.id, gen: b.fgen, end: cut})
			b.size = cut
			b.mods++
		}
		b.last = last
		n++
	}
	be.blocks = be.blocks[:n]
	if kept > 0 {
		a := be.startBlock(from)
		a.data.buf = append(a.data.buf, keep...)
		a.tombs += kept
	}
	be.s.epoch++ // an index checkpoint no longer matches the files
}
