package blockstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/index"
	"github.com/keelhq/keel/seal"
)

// A stream's index checkpoint (file INDEX) is an index.Checkpoint: subject
// tree, block table, deleted sequences, totals and the applied index,
// sealed when the engine has a key. Its Extra section is blockstore's own,
// version 2 (version 1, without the lost sequences, is still read):
//
//	u8  version (2)
//	u8  flags (1: the stream allowed message TTLs: the TTL entries are complete)
//	u64 epoch (must equal the state file's: truncation invalidates it)
//	u64 block id and u64 end offset the checkpoint reflects the files up to
//	u64 last sequence stored or skipped (the backend's), u64 next block id
//	uvarint block count, then per block of the table, in order:
//	    u64 file generation, u64 file size, u64 garbage bytes, uvarint tombstones
//	uvarint TTL entry count, then per entry: i64 expiry, u64 sequence
//	uvarint count of runs of sequences lost to damage, then per run:
//	    uvarint start minus the previous run's end, uvarint length - 1
//
// Opening a stream loads it and replays only the block records written
// after that position; a missing, damaged or stale one is ignored and the
// index is rebuilt from all blocks, with an identical result.

const indexFileName = "INDEX"

// indexKeys adapts the engine key to the index package's Keys.
type indexKeys struct{ k *seal.Key }

func (x indexKeys) NewSealer() ([]byte, index.Sealer) {
	salt, s := x.k.NewFileSealer()
	return salt, s
}

func (x indexKeys) Sealer(salt []byte) (index.Sealer, error) {
	s, err := x.k.FileSealer(salt)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return s, nil
}

func (e *Engine) indexKeys() index.Keys {
	if e.key == nil {
		return nil
	}
	return indexKeys{e.key}
}

func streamAD(id uint64) []byte { return binary.LittleEndian.AppendUint64([]byte("keel stream "), id) }

// indexPos is where in the block files an index checkpoint stands.
type indexPos struct {
	epoch           uint64
	blockID, end    uint64
	lastSeq, nextID uint64
	ttls            bool // the TTL entries cover every message (AllowMsgTTL was on)
}

// checkpointOf builds the index checkpoint of the stream's current state.
func (s *fileStream) checkpointOf(st *streamState) (*index.Checkpoint, []byte) {
	be := s.be
	var blocks index.Blocks
	x := []byte{2, 0}
	if s.c.cfg.AllowMsgTTL {
		x[1] = 1
	}
	for _, v := range []uint64{s.epoch, st.activeID, uint64(st.activeEnd), be.lastSeq, be.nextID} {
		x = binary.LittleEndian.AppendUint64(x, v)
	}
	x = appendUvarint(x, uint64(len(be.blocks)))
	for _, b := range be.blocks {
		blocks.Append(index.BlockInfo{ID: b.id, First: b.first, Last: b.last, FirstTime: b.firstTs,
			LastTime: b.lastTs, Msgs: b.msgs, Bytes: b.bytes})
		x = binary.LittleEndian.AppendUint64(x, b.fgen)
		x = binary.LittleEndian.AppendUint64(x, uint64(b.size))
		x = binary.LittleEndian.AppendUint64(x, uint64(b.garbage))
		x = appendUvarint(x, uint64(b.tombs))
	}
	x = appendUvarint(x, uint64(len(s.c.ttls.items)))
	for _, t := range s.c.ttls.items {
		x = binary.LittleEndian.AppendUint64(x, uint64(t.at))
		x = binary.LittleEndian.AppendUint64(x, t.seq)
	}
	x = appendRuns(x, &be.lostSeqs)
	ck := &index.Checkpoint{
		LastApplied: s.c.applied,
		Totals: index.Totals{Msgs: s.c.msgs, Bytes: s.c.bytes, FirstSeq: s.c.first, LastSeq: s.c.last,
			LastTime: s.c.lastTs},
		Blocks:   &blocks,
		Subjects: s.c.subjs,
		Deleted:  be.deleted,
		Extra:    x,
	}
	return ck, x
}

func (s *fileStream) encodeIndex(st *streamState) ([]byte, error) {
	ck, _ := s.checkpointOf(st)
	return ck.Encode(nil, s.e.indexKeys(), streamAD(s.id))
}

// loadIndex reads the stream's index checkpoint and installs it, returning
// the position it stands at. Any problem means "rebuild": the caller then
// starts from empty.
func (s *fileStream) loadIndex(st *streamState, files map[uint64]uint64) (indexPos, error) {
	var pos indexPos
	raw, err := os.ReadFile(filepath.Join(s.dir, indexFileName))
	if err != nil {
		return pos, err
	}
	ck, err := index.Decode(raw, s.e.indexKeys(), streamAD(s.id))
	if err != nil {
		return pos, err
	}
	d := decoder{b: ck.Extra}
	version := d.u8()
	if d.err == nil && version != 1 && version != 2 {
		return pos, fmt.Errorf("index extra version %d", version)
	}
	flags := d.u8()
	pos = indexPos{epoch: d.u64(), blockID: d.u64(), end: d.u64(), lastSeq: d.u64(), nextID: d.u64(), ttls: flags&1 != 0}
	n := d.uvarint()
	if d.err != nil || n != uint64(ck.Blocks.Len()) {
		return pos, errors.New("index extra: block count")
	}
	if pos.epoch != st.epoch || ck.LastApplied > st.applied || pos.blockID > st.activeID ||
		(pos.blockID == st.activeID && pos.end > uint64(st.activeEnd)) {
		return pos, errors.New("index checkpoint does not match the stream state")
	}
	blocks := make([]*fblock, 0, n)
	for i := 0; i < int(n); i++ {
		bi := ck.Blocks.At(i)
		b := &fblock{id: bi.ID, first: bi.First, last: bi.Last, firstTs: bi.FirstTime, lastTs: bi.LastTime,
			msgs: bi.Msgs, bytes: bi.Bytes}
		b.fgen, b.size, b.garbage = d.u64(), int64(d.u64()), int64(d.u64())
		b.tombs = int(d.uvarint())
		if d.err != nil {
			return pos, d.err
		}
		if gen, ok := files[b.id]; !ok || gen != b.fgen {
			// Below the first sequence it was removed since, as it should
			// be, unless the index still counts messages in it: then the
			// file it names is a generation compaction replaced (a kill
			// came between a state file and its index checkpoint), and
			// recovery could not read those messages to take them out of
			// the counts and subjects (finish drops what lies below the
			// first sequence by reading it). A rebuild counts exactly.
			if b.last >= st.first || b.msgs > 0 {
				return pos, fmt.Errorf("index names block %s, not on disk", b.name())
			}
			continue
		}
		blocks = append(blocks, b)
	}
	nt := d.uvarint()
	if d.err != nil || nt > uint64(len(d.b))/16 {
		return pos, errors.New("index extra: ttl count")
	}
	ttls := make([]ttlEntry, nt)
	for i := range ttls {
		ttls[i] = ttlEntry{at: int64(d.u64()), seq: d.u64()}
	}
	var lost index.SeqSet
	if version >= 2 {
		if err := decodeRuns(&d, &lost, pos.lastSeq); err != nil {
			return pos, err
		}
	}
	if d.err != nil || len(d.b) != 0 {
		return pos, errors.New("index extra: trailing bytes")
	}
	c := s.c
	c.subjs = ck.Subjects
	s.be.deleted = ck.Deleted
	s.be.blocks = blocks
	c.msgs, c.bytes = ck.Totals.Msgs, ck.Totals.Bytes
	c.first, c.last, c.lastTs = ck.Totals.FirstSeq, ck.Totals.LastSeq, ck.Totals.LastTime
	c.applied = ck.LastApplied
	c.ttls.items = ttls
	c.ttls.init()
	s.be.lastSeq = pos.lastSeq
	s.be.first = 0 // recovery sets it once the range is known
	s.be.lostSeqs = lost
	s.reportLostSeqs()
	return pos, nil
}

// appendRuns appends the runs of set: a count, then each run's start as
// the distance from the previous run's end and its length less one.
func appendRuns(b []byte, set *index.SeqSet) []byte {
	var runs [][2]uint64
	for lo, ok := set.Min(); ok; {
		hi := ^uint64(0)
		if next, ok := set.NextAbsent(lo); ok {
			hi = next - 1
		}
		runs = append(runs, [2]uint64{lo, hi})
		if hi == ^uint64(0) {
			break
		}
		ok = false
		set.Ascend(hi+1, func(q uint64) bool { lo, ok = q, true; return false })
	}
	b = appendUvarint(b, uint64(len(runs)))
	prev := uint64(0)
	for _, r := range runs {
		b = appendUvarint(b, r[0]-prev)
		b = appendUvarint(b, r[1]-r[0])
		prev = r[1]
	}
	return b
}

// decodeRuns reads what appendRuns wrote. Runs are bounded (in length and
// by last) so that damaged input cannot make the set allocate without end.
func decodeRuns(d *decoder, set *index.SeqSet, last uint64) error {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b))/2 {
		return errors.New("index extra: run count")
	}
	prev := uint64(0)
	for i := uint64(0); i < n; i++ {
		lo := prev + d.uvarint()
		hi := lo + d.uvarint()
		if d.err != nil || lo < prev || hi < lo || (i > 0 && lo <= prev) || hi-lo >= maxLostReport || hi > last {
			return errors.New("index extra: bad run")
		}
		set.AddRange(lo, hi)
		prev = hi
	}
	return nil
}
