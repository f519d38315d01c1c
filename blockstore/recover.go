package blockstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/keelhq/keel/index"
)

// Opening a file stream rebuilds exactly the state its last checkpoint
// committed, then replays the WAL records after it:
//
//  1. the state file (newest valid slot) gives the applied index, the
//     sequence range, config, aux records and the block position P up to
//     which the blocks hold exactly those commands' effects;
//  2. dead blocks and cuts it names are removed/cut (again: idempotent);
//  3. the index checkpoint, if it matches, gives subjects, block table,
//     deleted sequences and TTLs as of an earlier position P_i; otherwise
//     everything starts empty at the first block (a rebuild);
//  4. block records between P_i and P are replayed: messages counted,
//     tombstones and erased records removing;
//  5. WAL records of the stream with a command index above the applied
//     one are applied again, large messages read back from the block
//     position their record names (one that does not check out was never
//     acknowledged: its sequence is skipped).
//
// Blocks beyond P hold only records of such later commands; they are read
// for large messages and then removed. No block is ever appended to again
// after a restart (new records go to a new block with a fresh salt).

var errSkipStream = errors.New("blockstore: not a stream")

func (e *Engine) recoverAll() error {
	root := filepath.Join(e.root, "streams")
	ents, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("blockstore: open %s: %w", e.root, err)
	}
	byID := make(map[uint64]*fileStream)
	for _, ent := range ents {
		name := ent.Name()
		path := filepath.Join(root, name)
		if strings.HasSuffix(name, ".deleted") {
			os.RemoveAll(path) // a delete interrupted by a crash
			continue
		}
		id, err := strconv.ParseUint(name, 16, 64)
		if err != nil || !ent.IsDir() {
			e.log.Warnf("blockstore: ignoring %s in the stream folder", path)
			continue
		}
		if id >= e.nextStream {
			e.nextStream = id + 1
		}
		s, err := e.loadStream(id, path)
		if errors.Is(err, errSkipStream) {
			continue
		}
		if err != nil {
			if errors.Is(err, ErrBadKey) {
				return err
			}
			e.log.Errorf("blockstore: stream in %s not opened: %v", path, err)
			continue
		}
		byID[id] = s
		e.ids[id] = s.c.cfg.Name
		e.streams[s.c.cfg.Name] = s
	}
	if err := e.replayWAL(byID); err != nil {
		return err
	}
	list := make([]*fileStream, 0, len(byID))
	for _, s := range byID {
		s.replaying = false
		s.dirty = true
		s.absorbDamage() // what the index checkpoint counts and recovery found lost
		list = append(list, s)
	}
	if err := e.checkpointStreams(list, false); err != nil {
		return fmt.Errorf("blockstore: open %s: %w", e.root, err)
	}
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	return e.truncateWAL()
}

// loadStream recovers one stream from its folder (steps 1-4).
func (e *Engine) loadStream(id uint64, dir string) (*fileStream, error) {
	st, err := readState(dir, e.key)
	if err != nil {
		if errors.Is(err, ErrBadKey) {
			return nil, err
		}
		if blocks, _ := filepath.Glob(filepath.Join(dir, "*.blk")); len(blocks) == 0 {
			// Created, never committed: a crash inside CreateStream.
			os.RemoveAll(dir)
			return nil, errSkipStream
		}
		return nil, err
	}
	if st.id != id {
		return nil, fmt.Errorf("blockstore: %s holds stream id %d: %w", dir, st.id, ErrCorrupt)
	}
	s := newFileStream(e, id, dir, st.cfg)
	s.be.first = 0 // finish sets it once the range is known
	s.replaying = true
	s.stateGen, s.epoch = st.gen, st.epoch
	// Dead blocks stay on disk until an index checkpoint no longer needs
	// them: the one on disk may still count their messages, which recovery
	// takes out by reading them. They are never replayed.
	_, ierr := os.Stat(filepath.Join(dir, indexFileName))
	type fileKey struct{ id, gen uint64 }
	dead := make(map[fileKey]deadBlock, len(st.dead))
	for _, d := range st.dead {
		dead[fileKey{d.id, d.gen}] = d
		if ierr == nil {
			d.needIndex = 1
		}
		s.be.dead = append(s.be.dead, d)
	}
	for _, c := range st.cuts {
		if err := cutBlock(filepath.Join(dir, blockName(c.id, c.gen)), c.end); err != nil {
			return nil, fmt.Errorf("blockstore: cut block: %w", err)
		}
	}
	files, err := listBlocks(dir)
	if err != nil {
		return nil, err
	}
	pos, err := s.loadIndex(st, files)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			e.log.Warnf("blockstore: stream %s: index checkpoint not used (%v): rebuilding from blocks", st.name, err)
		}
		s.c = newCore(st.cfg, s.be)
		s.c.settle = s.absorbDamage
		s.be.blocks, s.be.deleted, s.be.lastSeq, s.be.first = nil, new(index.SeqSet), 0, 0
		pos = indexPos{}
	}
	ids := make([]uint64, 0, len(files))
	for bid := range files {
		ids = append(ids, bid)
	}
	slices.Sort(ids)
	// First the blocks to read, in order; then each is read knowing where
	// the next one begins.
	var reads []blockRead
	for _, bid := range ids {
		gen := files[bid]
		b := s.be.findID(bid)
		d, isDead := dead[fileKey{bid, gen}]
		switch {
		case isDead && d.abandoned:
			continue // never committed: nothing in it counts
		case isDead && (bid < pos.blockID || pos.blockID == 0):
			// A dead block matters only to an index checkpoint older than
			// its retirement: its tombstones may remove messages the index
			// still counts. A rebuild never reads it.
			continue
		case bid > st.activeID:
			// Records of commands after the state: the WAL replays them
			// (large messages are read from here first) into a new block;
			// then this one goes. Once a later state names that new block
			// active, this one lies below it, so the state must say that
			// it is abandoned, not retired.
			s.be.dead = append(s.be.dead, deadBlock{id: bid, gen: gen, abandoned: true})
			continue
		case b == nil && bid < pos.blockID:
			// Not in the index table: removed after being emptied.
			s.be.dead = append(s.be.dead, deadBlock{id: bid, gen: gen})
			continue
		case b != nil && bid < pos.blockID:
			continue // the index checkpoint covers it
		}
		r := blockRead{b: b, id: bid, gen: gen, start: blkHeaderSize}
		if bid == st.activeID {
			r.limit = st.activeEnd
			s.cutCommittedTail(r)
		}
		if bid == pos.blockID && b != nil {
			r.start = int64(pos.end)
		}
		reads = append(reads, r)
	}
	rp := replayer{s: s, first: st.first, last: st.last, seen: s.c.last}
	for i, r := range reads {
		// A block's records end where the next block begins: a new block
		// starts past every sequence committed before it, so a message of
		// an earlier block at or beyond that start was never committed
		// there (the tail of a block that was active at a kill, a store
		// that never reached the WAL, or a command the WAL replayed into
		// the new block).
		end := ^uint64(0)
		if i+1 < len(reads) {
			if first, ok := blockFirst(filepath.Join(dir, blockName(reads[i+1].id, reads[i+1].gen))); ok {
				end = first
			}
		}
		path := filepath.Join(dir, blockName(r.id, r.gen))
		bf, err := readBlockFile(path, e.key, id, r.id, r.limit)
		if err != nil {
			if errors.Is(err, ErrBadKey) {
				return nil, err
			}
			e.log.Errorf("blockstore: stream %s: block %s unreadable, its messages are lost: %v", st.name, blockName(r.id, r.gen), err)
			if r.b == nil && isDamage(err) {
				// What it held lies between what the blocks before it
				// hold and where the next one begins.
				s.reportLost(path, rp.seen+1, min(end-1, st.last), 0)
			} else if r.b != nil {
				s.damageFound.Store(true) // the index checkpoint counts them
			}
			continue
		}
		rp.block(r.b, bf, r.id, r.gen, r.start, end)
	}
	if err := rp.finish(st, pos.ttls || pos.blockID == 0); err != nil {
		return nil, err
	}
	return s, nil
}

// blockRead is a block file recovery replays: records at or after start,
// the file read up to limit (0: whole).
type blockRead struct {
	b            *fblock // the index checkpoint's entry, or nil
	id, gen      uint64
	start, limit int64
}

// cutCommittedTail schedules the cut of the records the committed active
// block holds past the state's end. They are stores never acknowledged
// (a large message written before its WAL record) or records of commands
// after the state, which the WAL replays into a new block. Recovery reads
// the block only up to the end, but once a later state names a newer
// active block this one counts as whole: the tail must be gone by then.
// The cut is recorded in the state that recovery's checkpoint writes
// (after the WAL replay has read any large message from the tail) and
// done right after it; a recovery that finds it in a state does it first.
func (s *fileStream) cutCommittedTail(r blockRead) {
	fi, err := os.Stat(filepath.Join(s.dir, blockName(r.id, r.gen)))
	if err != nil || fi.Size() <= r.limit {
		return
	}
	s.e.log.Noticef("blockstore: stream %s: block %s holds %d bytes past the committed end %d; cut after recovery",
		s.c.cfg.Name, blockName(r.id, r.gen), fi.Size()-r.limit, r.limit)
	s.be.cuts = append(s.be.cuts, blockCut{id: r.id, gen: r.gen, end: r.limit})
}

// blockFirst reads the first sequence a block file's header names.
func blockFirst(path string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	hb := make([]byte, blkHeaderSize)
	if _, err := f.ReadAt(hb, 0); err != nil {
		return 0, false
	}
	h, err := decodeBlockHeader(hb)
	if err != nil {
		return 0, false
	}
	return h.first, true
}

// listBlocks returns the newest file generation of every block in dir,
// removing older generations and temporary files (a compaction cut short).
func listBlocks(dir string) (map[uint64]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blockstore: list %s: %w", dir, err)
	}
	files := make(map[uint64]uint64)
	var stale []string
	for _, ent := range ents {
		name := ent.Name()
		if strings.HasSuffix(name, ".tmp") {
			stale = append(stale, name)
			continue
		}
		var id, gen uint64
		if _, err := fmt.Sscanf(name, "%016x.%x.blk", &id, &gen); err != nil || blockName(id, gen) != name {
			continue
		}
		if old, ok := files[id]; ok {
			stale = append(stale, blockName(id, min(old, gen)))
			gen = max(old, gen)
		}
		files[id] = gen
	}
	for _, name := range stale {
		os.Remove(filepath.Join(dir, name))
	}
	return files, nil
}

// replayer applies block records to a stream being opened.
type replayer struct {
	s     *fileStream
	first uint64 // the state's first sequence: records below are gone
	last  uint64 // the state's last sequence: the blocks hold none above
	seen  uint64 // highest sequence accounted for, message or gap
}

// block replays the records of bf at or after offset start. b is the
// block's table entry when the index checkpoint has one. Messages (and
// erased records) at or after end, where the next block begins, are not
// the block's: they are skipped.
func (rp *replayer) block(b *fblock, bf *blockFile, id, gen uint64, start int64, end uint64) {
	s := rp.s
	be := s.be
	if b == nil {
		b = &fblock{id: id, fgen: gen, first: bf.hdr.first, last: bf.hdr.first - 1}
		if n := len(be.blocks); n > 0 && b.first <= be.blocks[n-1].last {
			s.e.log.Errorf("blockstore: stream %s: block %d overlaps its predecessor; skipped", s.c.cfg.Name, id)
			return
		}
		be.blocks = append(be.blocks, b)
	}
	b.size = bf.end
	committed := int64(math.MaxInt64) // where the block's committed records end
	for _, r := range bf.records {
		if r.off < start {
			continue
		}
		if r.kind != kindTomb && r.seq >= end {
			// Written after the next block began: never committed, and
			// neither is anything after it. It goes from the file too.
			s.e.log.Warnf("blockstore: stream %s: block %d holds message %d at offset %d, past the start of the next block; cut there",
				s.c.cfg.Name, id, r.seq, r.off)
			b.size, committed = r.off, r.off
			be.cuts = append(be.cuts, blockCut{id: id, gen: gen, end: r.off})
			end = r.seq // (for the damage report below)
			break
		}
		switch r.kind {
		case kindMsg:
			rec := bf.data.buf[r.mem:]
			m, _ := decodeMsgBody(rec[recHeadSize : 6+int(recLen(rec))-4])
			rp.msg(b, r.seq, lostView{ts: m.ts, ttl: m.ttl, subj: m.subj, hlen: len(m.hdr), dlen: len(m.data)})
		case kindLost:
			rec := bf.data.buf[r.mem:]
			m, _ := decodeLostBody(rec[recHeadSize : 6+int(recLen(rec))-4])
			rp.msg(b, r.seq, m)
			if r.seq >= rp.first {
				s.e.addDamage(Damage{Stream: s.c.cfg.Name, Seq: r.seq, Block: filepath.Join(s.dir, blockName(id, gen)), Offset: r.off})
			}
		case kindTomb:
			rec := bf.data.buf[r.mem:]
			t, err := decodeTombBody(rec[recHeadSize : 6+int(recLen(rec))-4])
			if err == nil {
				rp.tomb(r.seq, t)
				b.tombs++
			}
		case kindErased:
			if r.seq > b.last {
				b.last = r.seq
			}
			if r.seq > rp.seen {
				be.deleted.AddRange(rp.seen+1, r.seq)
				rp.seen = r.seq
			}
		}
	}
	if len(bf.damaged) > 0 {
		// Damage after the last record may have cost messages up to where
		// the next block begins (or the state's last sequence).
		s.reportReplayDamage(b, bf, min(end-1, rp.last), start, committed)
	}
}

// recLen is the length field of a record frame (bytes after it).
func recLen(rec []byte) uint32 { return binary.LittleEndian.Uint32(rec[2:]) }

// msg replays the record of message seq: its time, TTL, subject and
// header and data lengths.
func (rp *replayer) msg(b *fblock, seq uint64, m lostView) {
	if seq > b.last {
		b.last, b.lastTs = seq, m.ts
		if b.firstTs == 0 {
			b.firstTs = m.ts
		}
	}
	if seq <= rp.seen {
		return
	}
	c := rp.s.c
	be := rp.s.be
	if seq > rp.seen+1 {
		be.deleted.AddRange(rp.seen+1, seq-1) // a gap (skip); finish trims what lies below first
	}
	rp.seen = seq
	if seq < rp.first {
		be.deleted.Add(seq) // gone since (compact, purge): never counted
		return
	}
	size := fileMsgSize(len(m.subj), m.hlen, m.dlen)
	if c.msgs == 0 {
		c.first = seq
	}
	c.msgs++
	c.bytes += size
	c.last, c.lastTs = seq, m.ts
	c.subjs.AddMsgBytes(m.subj, seq)
	if m.ttl > 0 && c.cfg.AllowMsgTTL {
		c.ttls.push(m.ts+m.ttl, seq)
	}
	b.msgs++
	b.bytes += size
}

func (rp *replayer) tomb(seq uint64, t tombView) {
	c := rp.s.c
	be := rp.s.be
	// No check against the state's first sequence: an index checkpoint
	// may count a message below it that only this tombstone removes.
	if seq > rp.seen || c.msgs == 0 || seq < c.first || be.deleted.Contains(seq) {
		return
	}
	be.deleted.Add(seq)
	size := fileMsgSize(len(t.subj), t.hlen, t.dlen)
	c.msgs--
	c.bytes -= size
	c.subjs.RemoveMsgBytes(t.subj, seq)
	if b := be.find(seq); b != nil {
		b.msgs--
		b.bytes -= size
		b.garbage += int64(recMinSize + t.hlen + t.dlen + len(t.subj) + 16)
	}
	if c.msgs == 0 {
		c.first = rp.seen + 1
	} else if seq == c.first {
		if n := be.nextLive(seq+1, rp.seen); n != 0 {
			c.first = n
		} else {
			c.first = rp.seen + 1
		}
	}
}

// finish applies the state file's stream-level values. ttlsComplete says
// whether the TTL entries loaded with the index cover its messages.
func (rp *replayer) finish(st *streamState, ttlsComplete bool) error {
	s := rp.s
	c, be := s.c, s.be
	if rp.seen > st.last {
		return fmt.Errorf("blockstore: stream %s: blocks hold sequence %d beyond the state's last %d: %w",
			st.name, rp.seen, st.last, ErrCorrupt)
	}
	c.cfg = st.cfg
	c.applied = st.applied
	c.aux = st.aux
	if st.last > rp.seen {
		be.deleted.AddRange(rp.seen+1, st.last)
	}
	c.last, c.lastTs = st.last, st.lastTs
	be.lastSeq = st.last
	if c.msgs > 0 && c.first < st.first {
		c.dropWalk(c.first, st.first-1, true)
	}
	if c.msgs == 0 {
		c.first = c.last + 1
	} else if n := be.nextLive(max(c.first, st.first), c.last); n != 0 {
		c.first = n
	}
	be.trim(c.first)
	// The TTL index must be what applying the commands gave: empty when TTLs
	// are not allowed now, complete when they are (the index checkpoint may
	// predate a change of the setting).
	switch {
	case !c.cfg.AllowMsgTTL:
		c.ttls.reset()
	case !ttlsComplete:
		c.indexTTLs()
	}
	be.nextID = max(be.nextID, st.nextID)
	for _, b := range be.blocks {
		be.nextID = max(be.nextID, b.id+1)
	}
	for _, d := range be.dead {
		be.nextID = max(be.nextID, d.id+1)
	}
	be.active = nil
	return nil
}

// reopen opens a closed stream again (Engine.Stream). The caller holds e.mu.
func (e *Engine) reopen(id uint64) (*fileStream, error) {
	s, err := e.loadStream(id, e.streamDir(id))
	if err != nil {
		return nil, err
	}
	if err := e.replayWAL(map[uint64]*fileStream{id: s}); err != nil {
		return nil, err
	}
	s.replaying = false
	s.absorbDamage()
	e.streams[s.c.cfg.Name] = s
	return s, nil
}
