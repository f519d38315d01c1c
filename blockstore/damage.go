package blockstore

import (
	"errors"
	"path/filepath"
	"unsafe"

	"github.com/keelhq/keel/index"
)

// Damage: bytes of a block file that no longer check out. A damaged record
// costs its own message and nothing else, and every message lost is
// reported by sequence (Engine.Damaged).
//
// Where the damage is found decides what must be done about it:
//
//   - when recovery replays a block (an index rebuild, or the blocks after
//     the index checkpoint's position), a message whose record is damaged
//     is simply never counted: its sequence becomes a gap;
//   - when a block the index checkpoint already counts is read later (a
//     load, a scan, a removal peeking at a message), the index counts
//     messages that cannot be read. They are "absorbed": the stream takes
//     them out of its counts, subject index and block table, and their
//     sequences become deleted ones, so that everything the stream reports
//     matches what can be read, and removals, purges and limits that target
//     them just see them gone.
//
// Absorbing needs each lost message's subject, which only its damaged
// record held, so it recounts the stream from its readable records (what a
// rebuild does, without the disk layout work): damage is rare and the
// recount is exact. It needs the stream's lock exclusively, so damage found
// under the shared lock only raises damageFound, and the read that found it
// takes the lock afterwards and reads again; commands absorb at their
// start, when a removal meets a damaged message, and at their end.
// Absorbing writes nothing: a later index checkpoint records the result;
// an older one is corrected again the same way when its damaged blocks are
// read.
//
// A command that decides by counts while damage is pending (recovery
// replays commands over damage it has just found; a purge may find it
// itself) decides as it did without the damage: a purge keeping the
// newest messages and a subject limit let a lost message take its own
// place among those removed (core.keepOverDamage, enforceSubjectLimit),
// so that the damage costs that message and nothing else.

// isDamage reports whether err says that stored bytes do not decode (as
// opposed to an I/O failure, which says nothing about the data).
func isDamage(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, errBlock)
}

// reportLoadDamage records what a damaged block read for a load cost: the
// sequences the stream counts as live in the block that have no valid
// record. The stream then absorbs them.
func (s *fileStream) reportLoadDamage(b *fblock, bf *blockFile) {
	path := filepath.Join(s.dir, b.name())
	be := s.be
	lost := 0
	for q := be.nextLive(max(b.first, s.c.first), b.last); q != 0; q = be.nextLive(q+1, b.last) {
		if bf.data.pos(q) < 0 {
			s.e.addDamage(Damage{Stream: s.c.cfg.Name, Seq: q, Block: path, Offset: damageOffset(bf, q)})
			lost++
		}
		if q == b.last {
			break
		}
	}
	if lost > 0 {
		s.damageFound.Store(true)
		return
	}
	for _, off := range bf.damaged {
		s.e.addDamage(Damage{Stream: s.c.cfg.Name, Block: path, Offset: off})
	}
}

// reportReplayDamage records what a damaged block replayed at recovery
// cost: the sequences between the message records around each damaged
// region (a gap there could be a skip, which is reported too: better one
// false alarm than a silent loss). Damage after the block's last record
// costs the sequences up to hi, the last one the block may hold. Only
// records before end (where the block's committed records end) count;
// damage before counted hit messages the index checkpoint counts, which
// the stream must then absorb.
func (s *fileStream) reportReplayDamage(b *fblock, bf *blockFile, hi uint64, counted, end int64) {
	path := filepath.Join(s.dir, b.name())
	for _, d := range bf.damaged {
		if d >= end {
			continue
		}
		prev, next := bf.hdr.first-1, hi+1
		for _, r := range bf.records {
			if r.kind == kindTomb || r.off >= end {
				continue
			}
			if r.off < d {
				prev = r.seq
			} else {
				next = r.seq
				break
			}
		}
		if !s.reportLost(path, prev+1, next-1, d) {
			s.e.addDamage(Damage{Stream: s.c.cfg.Name, Block: path, Offset: d})
		} else if d < counted {
			s.damageFound.Store(true)
		}
	}
}

// maxLostReport bounds the sequences one damaged region reports one by one.
const maxLostReport = 1 << 20

// reportLost reports the sequences [lo, hi] lost to damage at offset off of
// the block file at path; false when the range is empty.
func (s *fileStream) reportLost(path string, lo, hi uint64, off int64) bool {
	if lo > hi || lo == 0 {
		return false
	}
	if hi-lo >= maxLostReport {
		s.e.log.Errorf("blockstore: stream %s: messages %d to %d lost to damage in %s; reporting the first %d",
			s.c.cfg.Name, lo, hi, path, maxLostReport)
		hi = lo + maxLostReport - 1
	}
	for q := lo; q <= hi; q++ {
		s.e.addDamage(Damage{Stream: s.c.cfg.Name, Seq: q, Block: path, Offset: off})
	}
	s.be.lostSeqs.AddRange(lo, hi)
	return true
}

// reportLostSeqs reports the messages an index checkpoint records as lost
// to damage, so that every open tells about them.
func (s *fileStream) reportLostSeqs() {
	n := 0
	s.be.lostSeqs.Ascend(0, func(q uint64) bool {
		s.e.addDamage(Damage{Stream: s.c.cfg.Name, Seq: q, Offset: -1})
		n++
		return n < maxLostReport
	})
}

// damageOffset is where the damage that cost seq starts: the last damaged
// offset before the first valid record after seq.
func damageOffset(bf *blockFile, seq uint64) int64 {
	var after int64 = bf.end
	for _, r := range bf.records {
		if r.kind == kindMsg && r.seq > seq {
			after = r.off
			break
		}
	}
	off := int64(-1)
	for _, d := range bf.damaged {
		if d < after {
			off = d
		}
	}
	return off
}

// recMeta fills m with what the core needs of the plaintext message or
// stub record rec of message seq; false when rec is nil or does not
// decode. The subject aliases rec.
func recMeta(rec []byte, seq uint64, m *msgMeta) bool {
	if rec == nil {
		return false
	}
	body := rec[recHeadSize : len(rec)-4]
	switch rec[6] {
	case kindStub:
		v, err := decodeStubBody(body)
		if err != nil {
			return false
		}
		*m = msgMeta{seq: seq, subj: unsafe.String(unsafe.SliceData(v.subj), len(v.subj)), hlen: v.hlen, dlen: v.dlen, ts: v.ts, ttl: v.ttl}
		return true
	case kindLost:
		v, err := decodeLostBody(body)
		if err != nil {
			return false
		}
		*m = msgMeta{seq: seq, subj: unsafe.String(unsafe.SliceData(v.subj), len(v.subj)), hlen: v.hlen, dlen: v.dlen, ts: v.ts, ttl: v.ttl}
		return true
	}
	v, err := decodeMsgBody(body)
	if err != nil {
		return false
	}
	*m = msgMeta{seq: seq, subj: unsafe.String(unsafe.SliceData(v.subj), len(v.subj)), hlen: len(v.hdr), dlen: len(v.data), ts: v.ts, ttl: v.ttl}
	return true
}

// settleShared absorbs pending damage for a reader that ran under the
// shared lock; true when the reader should read again.
func (s *fileStream) settleShared() bool {
	if !s.damageFound.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	return s.absorbDamage()
}

// absorbDamage takes the messages lost to damage out of the stream (see
// the top of this file); s.mu must be held. It reports whether damage was
// pending.
func (s *fileStream) absorbDamage() bool {
	if !s.damageFound.Load() {
		return false
	}
	c, be := s.c, s.be
	type counts struct{ msgs, bytes uint64 }
	per := make([]counts, len(be.blocks))
	tree := new(index.Tree)
	var msgs, bytes uint64
	var lost []uint64
	var lostIn []*fblock
	var (
		bi  int
		cur *fblock
		d   *blockData
		m   msgMeta
	)
	for q := be.nextLive(c.first, c.last); q != 0; {
		for bi < len(be.blocks) && be.blocks[bi].last < q {
			bi++
		}
		var b *fblock
		if bi < len(be.blocks) && be.blocks[bi].contains(q) {
			b = be.blocks[bi]
		}
		if b != cur {
			cur, d = b, nil
			if b != nil {
				var err error
				if d, err = be.data(b); err != nil && !isDamage(err) {
					// An I/O failure says nothing about the data: count
					// nothing as lost, try again when damage shows next.
					s.e.log.Errorf("blockstore: stream %s: recount after damage: %v", c.cfg.Name, err)
					s.damageFound.Store(false)
					return true
				}
			}
		}
		if d != nil && recMeta(d.record(q), q, &m) {
			size := fileMsgSize(len(m.subj), m.hlen, m.dlen)
			msgs++
			bytes += size
			tree.AddMsg(m.subj, q)
			per[bi].msgs++
			per[bi].bytes += size
		} else {
			lost = append(lost, q)
			lostIn = append(lostIn, b)
		}
		if q >= c.last {
			break
		}
		q = be.nextLive(q+1, c.last)
	}
	s.damageFound.Store(false)
	for i, q := range lost {
		be.deleted.Add(q)
		be.lostSeqs.Add(q)
		path := ""
		if b := lostIn[i]; b != nil {
			path = filepath.Join(s.dir, b.name())
		}
		s.e.addDamage(Damage{Stream: c.cfg.Name, Seq: q, Block: path, Offset: -1})
	}
	for i, b := range be.blocks {
		b.msgs, b.bytes = per[i].msgs, per[i].bytes
	}
	if msgs != c.msgs || bytes != c.bytes || len(lost) > 0 {
		s.e.log.Warnf("blockstore: stream %s: %d messages lost to damage taken out of the counts (%d messages, %d bytes before; %d, %d now)",
			c.cfg.Name, len(lost), c.msgs, c.bytes, msgs, bytes)
	}
	c.subjs, c.msgs, c.bytes = tree, msgs, bytes
	c.first = c.nextFirst(c.first)
	be.trim(c.first)
	c.dropDeadTTLs()
	s.dirty, s.indexDirty, s.forceIndex = true, true, true
	return true
}
