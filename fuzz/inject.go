package fuzz

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/seal"
)

// injection is what the parent did to the store after a kill.
type injection struct {
	kind  injectKind
	notes []string
	// torn lists, per stream, the sequences of block records a tear cut
	// or garbled. None was acknowledged nor claimed by a stream state, so
	// the WAL still holds their commands; but a large message lives only
	// in its block, and its store then replays as a skip (see model.go).
	torn    map[string]map[uint64]bool
	hits    []hit
	walHits []*walHit
}

// walHit is a WAL record damaged on purpose: the command it holds.
type walHit struct {
	stream  string
	idx     uint64 // the stream's command index
	index   uint64 // the WAL record index (the command's ticket)
	op      string
	where   string
	changed bool // recovery lost the command (the store shows it)
}

type injectKind int

const (
	injectNone   injectKind = iota
	injectTear              // unsynced tails torn: must lose nothing acknowledged
	injectDamage            // synced records damaged: must be reported and confined
)

func (k injectKind) String() string {
	return [...]string{"kill", "kill+tear", "kill+damage"}[k]
}

// hit is one record damaged on purpose.
type hit struct {
	stream string
	seq    uint64
	where  string
}

func (in *injection) note(format string, a ...any) {
	in.notes = append(in.notes, fmt.Sprintf(format, a...))
}

// tearFile cuts or garbles the bytes of path in [from, end): a power cut
// may lose what was written there since the last sync. It returns the
// range it destroyed.
func tearFile(r *rand.Rand, path string, from, end int64, in *injection) (int64, int64, error) {
	if end <= from {
		return 0, 0, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	at := from + r.Int64N(end-from)
	switch r.IntN(3) {
	case 0: // the tail never reached the disk
		in.note("truncated %s (synced to %d)", describe(path, at), from)
		return at, end, f.Truncate(at)
	case 1: // pages lost: zeros from a point on
		in.note("zeroed %s..%d (synced to %d)", describe(path, at), end, from)
		_, err := f.WriteAt(make([]byte, end-at), at)
		return at, end, err
	default: // a write torn part way: garbage from a point on
		b := make([]byte, end-at)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		in.note("garbled %s..%d (synced to %d)", describe(path, at), end, from)
		_, err := f.WriteAt(b, at)
		return at, end, err
	}
}

// tear tears the unsynced tail of the newest WAL segment and of each
// stream's newest block: everything after the last record an
// acknowledgement covers and the stream's state claims.
func (h *harness) tear(r *rand.Rand, in *injection) error {
	l := h.led
	if segs := walSegments(h.store); len(segs) > 0 {
		tail := segs[len(segs)-1]
		raw, err := os.ReadFile(tail)
		if err != nil {
			return err
		}
		ents := parseSegment(raw)
		dataEnd := int64(0)
		if len(ents) > 0 {
			dataEnd = ents[len(ents)-1].end
		}
		synced := syncedEnd(ents, 0, func(e walEntry) int64 { return e.end },
			func(e walEntry) bool { return e.index <= l.durable })
		if r.IntN(4) != 0 {
			if _, _, err := tearFile(r, tail, synced, dataEnd, in); err != nil {
				return err
			}
		}
	}
	var key *seal.Key
	if h.key != nil {
		// Without the key no state can be read, and every block is kept.
		if k, err := seal.OpenKeyFile(filepath.Join(h.store, "keel"), h.cipher, h.key); err == nil {
			key = k
		} else {
			return nil
		}
	}
	for _, sl := range l.streams {
		if sl.dir == "" || r.IntN(3) == 0 {
			continue
		}
		blocks := streamBlocks(filepath.Join(h.store, "keel", "streams", sl.dir))
		if len(blocks) == 0 {
			continue
		}
		b := blocks[len(blocks)-1]
		raw, err := os.ReadFile(b.path)
		if err != nil {
			return err
		}
		recs := parseBlock(raw)
		synced := syncedEnd(recs, 0, func(x blockRec) int64 { return x.off + x.size },
			func(x blockRec) bool { return x.seq <= sl.ackedSeq })
		// What the stream's state claims was synced before the state was
		// written, acknowledged or not.
		synced = max(synced, readClaim(filepath.Dir(b.path), key).claimedEnd(b, int64(len(raw))))
		at, end, err := tearFile(r, b.path, synced, int64(len(raw)), in)
		if err != nil {
			return err
		}
		for _, x := range recs {
			if x.off+x.size > at && x.off < end {
				if in.torn[sl.spec.Cfg.Name] == nil {
					in.torn[sl.spec.Cfg.Name] = make(map[uint64]bool)
				}
				in.torn[sl.spec.Cfg.Name][x.seq] = true
			}
		}
	}
	return nil
}

// damage flips one byte inside the records of a few acknowledged messages,
// in blocks written before the kill: bytes a sync had made durable (or that
// the WAL still holds), damaged after the fact.
func (h *harness) damage(r *rand.Rand, in *injection) error {
	if r.IntN(3) == 0 && h.damageWAL(r, in) {
		return nil
	}
	type cand struct {
		sl   *streamLedger
		path string
		rec  blockRec
	}
	var cands []cand
	for _, sl := range h.led.streams {
		if sl.dir == "" {
			continue
		}
		for _, b := range streamBlocks(filepath.Join(h.store, "keel", "streams", sl.dir)) {
			raw, err := os.ReadFile(b.path)
			if err != nil {
				return err
			}
			for _, x := range parseBlock(raw) {
				if _, ok := sl.acked[x.seq]; ok && x.kind&kindMaskBits == kindMessage {
					cands = append(cands, cand{sl, b.path, x})
				}
			}
		}
	}
	if len(cands) == 0 {
		in.note("damage: no acknowledged message in a block yet")
		return nil
	}
	for n := 1 + r.IntN(3); n > 0 && len(cands) > 0; n-- {
		i := r.IntN(len(cands))
		c := cands[i]
		cands = append(cands[:i], cands[i+1:]...)
		off := c.rec.off + r.Int64N(c.rec.size)
		if err := flipByte(c.path, off, byte(1+r.IntN(255))); err != nil {
			return err
		}
		where := describe(c.path, off)
		in.hits = append(in.hits, hit{stream: c.sl.spec.Cfg.Name, seq: c.rec.seq, where: where})
		in.note("damaged %s message %d at %s", c.sl.spec.Cfg.Name, c.rec.seq, where)
	}
	return nil
}

// damageWAL flips a byte inside one synced WAL record of a command this
// round's child applied; it reports false when there is none.
func (h *harness) damageWAL(r *rand.Rand, in *injection) bool {
	type owner struct {
		sl  *streamLedger
		idx uint64
		op  string
	}
	byTicket := map[uint64]owner{}
	for _, sl := range h.led.streams {
		for idx, p := range sl.pending {
			if p.applied && p.ticket > 0 {
				byTicket[p.ticket] = owner{sl, idx, opName(p.spec.Op)}
			}
		}
	}
	type cand struct {
		path string
		e    walEntry
		o    owner
	}
	var cands []cand
	for _, seg := range walSegments(h.store) {
		raw, err := os.ReadFile(seg)
		if err != nil {
			return false
		}
		for _, e := range parseSegment(raw) {
			if o, ok := byTicket[e.index]; ok && e.index <= h.led.durable {
				cands = append(cands, cand{seg, e, o})
			}
		}
	}
	if len(cands) == 0 {
		return false
	}
	c := cands[r.IntN(len(cands))]
	// Inside the frame, not tidwall's length prefix: the record is
	// damaged, the segment still frames.
	raw, _ := os.ReadFile(c.path)
	_, k := binary.Uvarint(raw[c.e.off:])
	off := c.e.off + int64(k) + r.Int64N(c.e.end-c.e.off-int64(k))
	if err := flipByte(c.path, off, byte(1+r.IntN(255))); err != nil {
		return false
	}
	w := &walHit{stream: c.o.sl.spec.Cfg.Name, idx: c.o.idx, index: c.e.index, op: c.o.op, where: describe(c.path, off)}
	in.walHits = append(in.walHits, w)
	in.note("damaged WAL record %d (%s command %d, %s) at %s", w.index, w.stream, w.idx, w.op, w.where)
	return true
}

func flipByte(path string, off int64, mask byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return err
	}
	b[0] ^= mask
	_, err = f.WriteAt(b[:], off)
	return err
}
