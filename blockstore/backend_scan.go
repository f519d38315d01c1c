package blockstore

import (
	"encoding/binary"
	"unsafe"
)

// The read side of the file backend: liveness from the deleted set, and
// scans by subject that decode each block once and copy no payload.

// subject returns message seq's subject without copying its payload.
func (be *fileBackend) subject(seq uint64) string {
	if seq < be.first || seq > be.lastSeq || be.deleted.Contains(seq) {
		return ""
	}
	b := be.find(seq)
	if b == nil {
		return ""
	}
	d, err := be.data(b)
	if err != nil {
		return ""
	}
	return recSubject(d.record(seq))
}

// recSubject returns the subject of a plaintext message or stub record,
// aliasing it ("" when rec is nil or damaged). The body starts with the
// time, the TTL, then the subject; a stub's after its file position.
func recSubject(rec []byte) string {
	if rec == nil {
		return ""
	}
	body := rec[recHeadSize : len(rec)-4]
	if rec[6] == kindStub {
		if len(body) < 12 {
			return ""
		}
		body = body[12:]
	}
	if len(body) < 8 {
		return ""
	}
	dec := decoder{b: body[8:]}
	dec.varint()
	subj := dec.bytes()
	if dec.err != nil {
		return ""
	}
	return unsafe.String(unsafe.SliceData(subj), len(subj))
}

// scan walks the blocks covering [from, to], each decoded once.
func (be *fileBackend) scan(from, to uint64, fn func(uint64, string) bool) {
	from = max(from, be.first)
	to = min(to, be.lastSeq)
	for from <= to {
		b := be.find(from)
		if b == nil {
			b = be.next(from)
			if b == nil || b.first > to {
				return
			}
			from = b.first
		}
		d, err := be.data(b)
		if err == nil {
			for i := searchSeqs(d.seqs, from); i < len(d.seqs); i++ {
				seq := d.seqs[i]
				if seq > to {
					return
				}
				if d.offs[i] == 0 || be.deleted.Contains(seq) {
					continue
				}
				off := int(d.offs[i] - 1)
				n := int(binary.LittleEndian.Uint32(d.buf[off+2:])) + 6
				if !fn(seq, recSubject(d.buf[off:off+n])) {
					return
				}
			}
		}
		if b.last >= to {
			return
		}
		from = b.last + 1
	}
}

// findSubject is scan with the match inline (no closure: read paths must
// not allocate).
func (be *fileBackend) findSubject(from, to uint64, filter string, literal bool, limit uint64) (uint64, uint64) {
	from = max(from, be.first)
	to = min(to, be.lastSeq)
	var n, last uint64
	for from <= to {
		b := be.find1(from)
		if b == nil {
			return 0, last
		}
		from = max(from, b.first)
		d, err := be.data(b)
		if err == nil {
			for i := searchSeqs(d.seqs, from); i < len(d.seqs); i++ {
				seq := d.seqs[i]
				if seq > to {
					return 0, last
				}
				if d.offs[i] == 0 || be.deleted.Contains(seq) {
					continue
				}
				off := int(d.offs[i] - 1)
				subj := recSubject(d.buf[off : off+int(binary.LittleEndian.Uint32(d.buf[off+2:]))+6])
				if (literal && subj == filter) || (!literal && subjectMatches(subj, filter)) {
					return seq, seq
				}
				last = seq
				if n++; limit > 0 && n >= limit {
					return 0, last
				}
			}
		}
		if b.last >= to {
			break
		}
		from = b.last + 1
	}
	return 0, last
}

// find1 returns the block holding seq, or the first one after it.
func (be *fileBackend) find1(seq uint64) *fblock {
	if b := be.find(seq); b != nil {
		return b
	}
	return be.next(seq)
}

// next returns the first block starting after seq, or nil.
func (be *fileBackend) next(seq uint64) *fblock {
	for _, b := range be.blocks {
		if b.first > seq {
			return b
		}
	}
	return nil
}

func (be *fileBackend) liveIn(from, to uint64) uint64 {
	if from > to {
		return 0
	}
	return to - from + 1 - be.deleted.CountRange(from, to)
}

// nextLive and prevLive step over deleted runs a chunk at a time, so a
// gap of any length (a skip to a far sequence) costs next to nothing.
func (be *fileBackend) nextLive(seq, last uint64) uint64 {
	seq = max(seq, be.first)
	if seq > last {
		return 0
	}
	next, ok := be.deleted.NextAbsent(seq)
	if !ok || next > last {
		return 0
	}
	return next
}

func (be *fileBackend) prevLive(seq, first uint64) uint64 {
	first = max(first, be.first)
	if seq < first || seq == 0 {
		return 0
	}
	prev, ok := be.deleted.PrevAbsent(seq)
	if !ok || prev < first || prev == 0 {
		return 0
	}
	return prev
}

func (be *fileBackend) liveBetween(from, to uint64) uint64 { return be.liveIn(from, to) }

func (be *fileBackend) skipFor(seq uint64, _ string) uint64 { return seq }

func (be *fileBackend) lost(seq uint64) bool {
	return seq >= be.first && seq <= be.lastSeq && be.lostSeqs.Contains(seq)
}

func (be *fileBackend) takeLost(seq uint64) bool {
	return be.lost(seq) && be.lostSeqs.Remove(seq)
}

func (be *fileBackend) damaged() bool { return be.s.damageFound.Load() }
