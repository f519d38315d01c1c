package blockstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/index"
	"github.com/keelhq/keel/internal/fsutil"
)

// Compaction rewrites a sealed block whose records are mostly removed
// messages. The new file is the next generation of the same block id,
// written with a fresh salt (so no nonce of the old file is reused), holding
// the messages still live and the tombstones a rebuild could still need:
// those whose message may still be on disk, that is whose sequence a block
// of the table still covers.
//
// The rewrite reads and writes without the stream's lock and swaps under
// it, giving up when the block changed meanwhile (erased in place, cut,
// removed) or a snapshot is reading the files. The old generation is removed
// once an index checkpoint written after the swap is on disk; an older index
// checkpoint no longer matches the block's generation, so a recovery that
// finds one rebuilds instead.

// compactMinGarbage is the garbage that makes a block worth rewriting
// (with more than half of it garbage); a variable so tests can lower it.
var compactMinGarbage int64 = 256 << 10

const compactPerRound = 4

// compactSome compacts up to compactPerRound blocks across the streams. It
// runs between checkpoints (it holds the checkpoint lock): file removals
// and renames stay in one place at a time.
func (e *Engine) compactSome() {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	e.mu.Lock()
	list := make([]*fileStream, 0, len(e.streams))
	for _, s := range e.streams {
		list = append(list, s)
	}
	e.mu.Unlock()
	done := 0
	for _, s := range list {
		for done < compactPerRound {
			b := s.compactCandidate()
			if b == nil {
				break
			}
			if err := s.compactBlock(b); err != nil {
				e.log.Warnf("blockstore: stream %s: compact block %d: %v", s.c.cfg.Name, b.id, err)
				break
			}
			done++
		}
	}
}

// compactCandidate returns the sealed block with the most garbage worth a
// rewrite, or nil.
func (s *fileStream) compactCandidate() *fblock {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed || s.snapshots > 0 {
		return nil
	}
	var best *fblock
	for _, b := range s.be.blocks {
		// Only blocks wholly before the position of the last committed
		// state: recovery reads the one at that position up to an offset,
		// and the ones after it not at all.
		if b.id >= s.committedActive || b.garbage < compactMinGarbage || 2*b.garbage < b.size || b.skipCompact {
			continue
		}
		// A block with a pending cut (a truncation not yet committed) is
		// still whole for the last committed state: leave it alone.
		if s.be.hasCut(b.id) {
			continue
		}
		if best == nil || b.garbage > best.garbage {
			best = b
		}
	}
	return best
}

// errLiveDamage stops the rewrite of a block in which messages the stream
// counts have no valid record.
var errLiveDamage = errors.New("blockstore: block holds messages lost to damage")

// compactPlan is what the rewrite of a block needs from the stream.
type compactPlan struct {
	b       *fblock
	id, gen uint64
	size    int64
	mods    uint64
	first   uint64 // the stream's first sequence: messages below are gone
	// tombFirst is the first sequence of the last committed state: a
	// tombstone below it is never needed again. (Below the live first but
	// not the committed one, a rebuild would still count the message
	// until the WAL replays what moved first.)
	tombFirst uint64
	last      uint64        // the block's last message
	deleted   *index.SeqSet // removed messages (a copy of the stream's set)
	covered   func(seq uint64) bool
	compress  bool
	streamDir string
}

func (s *fileStream) compactBlock(b *fblock) error {
	s.mu.RLock()
	p := compactPlan{b: b, id: b.id, gen: b.fgen, size: b.size, mods: b.mods, first: s.c.first, tombFirst: s.committedFirst, last: b.last,
		compress: s.c.cfg.Compression == S2Compression, streamDir: s.dir, deleted: s.be.deleted.Clone()}
	// Ranges of every block file still on disk, to keep tombstones whose
	// message may be in one: the table's, and retired ones not yet removed
	// (the last committed state may still count them as live).
	ranges := make([][2]uint64, 0, len(s.be.blocks)+len(s.be.dead))
	for _, x := range s.be.blocks {
		ranges = append(ranges, [2]uint64{x.first, x.last})
	}
	for _, d := range s.be.dead {
		if d.first == 0 && d.last == 0 {
			ranges = append(ranges, [2]uint64{0, ^uint64(0)}) // unknown
		} else {
			ranges = append(ranges, [2]uint64{d.first, d.last})
		}
	}
	s.mu.RUnlock()
	p.covered = func(seq uint64) bool {
		for _, r := range ranges {
			if seq >= r[0] && seq <= r[1] {
				return true
			}
		}
		return false
	}
	tmp, kept, tombs, err := s.rewriteBlock(&p)
	if errors.Is(err, errLiveDamage) {
		// Messages the stream counts are lost to damage in this block,
		// and nothing has read it since: a rewrite would leave them out
		// without a trace (counted, never reported, unreadable). Absorb
		// them now, reading the file (not a copy cached before the
		// damage): they are reported and gone, and a later round
		// compacts the block.
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed {
			s.e.cache.drop(s.id, b.id)
			s.damageFound.Store(true)
			s.absorbDamage()
		}
		return nil
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.be.findID(p.id)
	if cur != b || b.fgen != p.gen || b.mods != p.mods || b.size != p.size || s.snapshots > 0 || s.closed {
		os.Remove(tmp)
		return nil // changed meanwhile: another round will see it
	}
	name := blockName(p.id, p.gen+1)
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := fsutil.SyncDir(s.dir); err != nil {
		return err
	}
	old := deadBlock{id: b.id, gen: b.fgen, needIndex: s.indexSeq + 1}
	s.be.dead = append(s.be.dead, old)
	s.e.cache.drop(s.id, b.id)
	b.fgen, b.size, b.garbage, b.tombs = p.gen+1, kept, 0, tombs
	if kept <= blkHeaderSize {
		b.skipCompact = true
	}
	s.dirty, s.indexDirty, s.forceIndex = true, true, true
	return nil
}

// rewriteBlock writes the compacted next generation of a block to a
// temporary file, synced, and returns its path and size.
func (s *fileStream) rewriteBlock(p *compactPlan) (string, int64, int, error) {
	bf, err := readBlockFile(filepath.Join(p.streamDir, blockName(p.id, p.gen)), s.e.key, s.id, p.id, p.size)
	if err != nil {
		return "", 0, 0, err
	}
	if len(bf.damaged) > 0 {
		for q := max(bf.hdr.first, p.first); q <= p.last; q++ {
			n, ok := p.deleted.NextAbsent(q)
			if !ok || n > p.last {
				break
			}
			if q = n; bf.data.pos(q) < 0 {
				return "", 0, 0, errLiveDamage
			}
		}
	}
	// A rewrite takes a fresh salt: its records never reuse a nonce.
	h, rc := newBlockHeader(s.e.key, p.compress, s.id, p.id, bf.hdr.first)
	out := h.encode()
	tombs := 0
	for _, r := range bf.records {
		switch r.kind {
		case kindMsg, kindLost:
			if r.seq < p.first || p.deleted.Contains(r.seq) {
				continue
			}
		case kindTomb:
			if r.seq < p.tombFirst || !p.covered(r.seq) {
				continue
			}
			tombs++
		default:
			// Erased records: their removal is recorded elsewhere (and a
			// decoded block keeps no plaintext of them to slice).
			continue
		}
		rec := bf.data.buf[r.mem:]
		rec = rec[:binary.LittleEndian.Uint32(rec[2:])+6]
		out = rc.encode(out, rec, uint64(len(out)))
	}
	tmp := filepath.Join(p.streamDir, blockName(p.id, p.gen+1)+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return "", 0, 0, err
	}
	_, err = f.Write(out)
	if err == nil {
		err = fsutil.Fdatasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", 0, 0, fmt.Errorf("write %s: %w", tmp, err)
	}
	return tmp, int64(len(out)), tombs, nil
}
