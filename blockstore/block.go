package blockstore

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/keelhq/keel/seal"
)

// blockData is a block's records in plaintext (the in-memory framing of
// block_format.go) with a sequence → record table. The active block's
// blockData is its write buffer; older blocks' are decoded on demand and
// kept in the engine's cache. Bytes are never rewritten once appended
// except that erasing scrubs a message's header and data (not its subject,
// which loads hand out as strings aliasing this memory).
type blockData struct {
	buf   []byte
	first uint64
	// seqs and offs list the message records in order: offs[i] is the
	// offset in buf of the record of message seqs[i], plus one (0: scrubbed).
	// Sequences may have gaps (skips, compaction), so look-ups try the dense
	// position first and fall back to a binary search.
	seqs []uint64
	offs []uint32
}

// An active block's buffer grows with its stream's writes instead of
// being sized for a whole block up front, so that an idle stream (a KV
// bucket with a few keys) costs little; it doubles, so the copies cost at
// most the bytes the block ends up holding.
const (
	minBlockBuf = 512      // first allocation
	trimSlack   = 64 << 10 // spare capacity an idle stream may keep
)

// reserve makes room for n more bytes in d.buf, growing it to at most
// limit unless n alone needs more.
func (d *blockData) reserve(n, limit int) {
	if cap(d.buf)-len(d.buf) >= n {
		return
	}
	need := len(d.buf) + n
	c := min(max(2*cap(d.buf), need, minBlockBuf), max(limit, need))
	nb := make([]byte, len(d.buf), c)
	copy(nb, d.buf)
	d.buf = nb
}

// trim gives back the spare capacity of d.buf when it exceeds what the
// buffer holds (and trimSlack): a buffer sized for a whole block by a busy
// stream gone idle. A buffer grown by reserve never has that much spare.
func (d *blockData) trim() {
	if cap(d.buf)-len(d.buf) <= len(d.buf)+trimSlack {
		return
	}
	nb := make([]byte, len(d.buf))
	copy(nb, d.buf)
	d.buf = nb
}

func (d *blockData) memSize() int64 {
	return int64(cap(d.buf)) + int64(12*cap(d.offs)) + 64
}

// pos returns the position of seq in seqs, or -1.
func (d *blockData) pos(seq uint64) int {
	if seq < d.first {
		return -1
	}
	if i := seq - d.first; i < uint64(len(d.seqs)) && d.seqs[i] == seq {
		return int(i)
	}
	if i := searchSeqs(d.seqs, seq); i < len(d.seqs) && d.seqs[i] == seq {
		return i
	}
	return -1
}

// searchSeqs is sort.Search over a sorted slice of sequences, without the
// closure (a look-up must not allocate).
func searchSeqs(seqs []uint64, seq uint64) int {
	lo, hi := 0, len(seqs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if seqs[m] < seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// record returns the plaintext record of message seq, or nil.
func (d *blockData) record(seq uint64) []byte {
	i := d.pos(seq)
	if i < 0 || d.offs[i] == 0 {
		return nil
	}
	off := int(d.offs[i] - 1)
	n := int(binary.LittleEndian.Uint32(d.buf[off+2:])) + 6
	return d.buf[off : off+n]
}

// add notes that the record of message seq (above every other) starts at
// offset off of buf.
func (d *blockData) add(seq uint64, off int) {
	d.seqs = append(d.seqs, seq)
	d.offs = append(d.offs, uint32(off)+1)
}

// fill copies message seq into sm; the subject aliases the block's memory.
func (d *blockData) fill(seq uint64, sm *StoreMsg) (*StoreMsg, error) {
	rec := d.record(seq)
	if rec == nil {
		return nil, ErrDeleted
	}
	if rec[6] == kindLost {
		return nil, fmt.Errorf("blockstore: message %d lost to damage: %w", seq, ErrCorrupt)
	}
	m, err := decodeMsgBody(rec[recHeadSize : len(rec)-4])
	if err != nil {
		return nil, fmt.Errorf("blockstore: message %d: %w", seq, ErrCorrupt)
	}
	if sm == nil {
		sm = new(StoreMsg)
	}
	sm.Buf = append(append(sm.Buf[:0], m.hdr...), m.data...)
	sm.Header = sm.Buf[:len(m.hdr):len(m.hdr)]
	if len(m.hdr) == 0 {
		sm.Header = nil
	}
	sm.Data = sm.Buf[len(m.hdr):]
	sm.Subject = unsafe.String(unsafe.SliceData(m.subj), len(m.subj))
	sm.Seq, sm.Time, sm.TTL = seq, m.ts, m.ttl
	return sm, nil
}

// scrub zeroes message seq's header and data in memory and forgets it.
func (d *blockData) scrub(seq uint64) {
	rec := d.record(seq)
	if rec == nil {
		return
	}
	if rec[6] == kindMsg {
		if m, err := decodeMsgBody(rec[recHeadSize : len(rec)-4]); err == nil {
			clear(m.hdr)
			clear(m.data)
		}
	}
	d.offs[d.pos(seq)] = 0
}

// fblock is one block of a file stream.
type fblock struct {
	id      uint64
	first   uint64 // first sequence the block covers
	last    uint64 // last message stored in it (first-1 when none)
	firstTs int64
	lastTs  int64
	msgs    uint64 // live messages
	bytes   uint64 // accounting bytes of live messages
	size    int64  // bytes in the file (header and records written)
	garbage int64  // bytes of records of removed messages
	tombs   int    // tombstones written in the block
	fgen    uint64 // file generation: bumped when compaction rewrites the file
	mods    uint64 // bumped when the file is modified in place (erase, cut)

	// Only for the active block: its write buffer, how much of it is in the
	// file, the open file and the record codec.
	data        *blockData
	flushed     int
	f           *os.File  // for writing
	sf          *syncFile // the same file, for syncing and closing
	codec       recCodec
	erased      map[uint64]struct{} // unflushed messages erased: flushed as erased records
	pendingBig  bool                // the file has writes not yet synced
	hasStubs    bool                // data holds stubs: not to be cached as is
	skipCompact bool                // compacted to nothing worth another rewrite
}

func (b *fblock) contains(seq uint64) bool { return seq >= b.first && seq <= b.last }

// blockName is the file name of generation gen of block id. Compaction
// writes the next generation and then removes the old one, so a name never
// holds two different contents.
func blockName(id, gen uint64) string { return fmt.Sprintf("%016x.%x.blk", id, gen) }

func (b *fblock) name() string { return blockName(b.id, b.fgen) }

// blockFile reads a whole block file and decodes it into plaintext. Damaged
// records are skipped (the reader resynchronises on the next record marker)
// and returned as the offsets where damage starts; the caller works out which
// messages they cost from the sequences it expected.
type blockFile struct {
	hdr     blockHeader
	data    *blockData
	damaged []int64
	// records lists every valid record's kind, sequence and file offset
	// (recovery replays them in order).
	records []recRef
	end     int64 // offset after the last valid record
}

type recRef struct {
	kind byte
	seq  uint64
	off  int64 // file offset
	mem  int   // offset in data.buf of the plaintext record
}

// readBlockFile loads path. key is the engine's key (nil: none); limit, when
// positive, ignores bytes beyond it (a tail not yet committed).
func readBlockFile(path string, key *seal.Key, stream, id uint64, limit int64) (*blockFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("blockstore: read block %s: %w", path, err)
	}
	if limit > 0 && int64(len(raw)) > limit {
		raw = raw[:limit]
	}
	return decodeBlockFile(raw, key, stream, id)
}

// decodeBlockFile decodes a block file image (FuzzBlock drives it).
func decodeBlockFile(raw []byte, key *seal.Key, stream, id uint64) (*blockFile, error) {
	h, err := decodeBlockHeader(raw)
	if err != nil {
		return nil, err
	}
	if h.stream != stream || h.block != id {
		return nil, fmt.Errorf("%w: block %d of stream %d found where %d of %d belongs", errBlock, h.block, h.stream, id, stream)
	}
	codec, err := blockCodec(&h, key)
	if err != nil {
		return nil, err
	}
	// A block without sealing or compression holds records exactly in
	// their in-memory form: its image becomes the buffer, no copy. (The
	// image must then not be reused by the caller.)
	plain := h.flags&(blkFlagSealed|blkFlagS2) == 0
	bf := &blockFile{hdr: h, data: &blockData{first: h.first}, end: blkHeaderSize}
	if plain {
		bf.data.buf = raw
	} else {
		bf.data.buf = make([]byte, 0, len(raw))
	}
	lastMsg := h.first - 1
	for off := blkHeaderSize; off < len(raw); {
		r, err := parseRecord(raw, off)
		if err != nil {
			if t, ok := tornErase(raw, off); ok {
				r, err = t, nil // an erasure a kill cut short: erased
			}
		}
		isMsg := r.kind&kindMask == kindMsg || r.kind&kindMask == kindLost
		if err == nil && isMsg && r.seq <= lastMsg {
			err = fmt.Errorf("%w: message %d out of order", errBlock, r.seq)
		}
		var mem int
		if err == nil && plain {
			if r.kind&(recSealed|recS2) != 0 {
				err = fmt.Errorf("%w: sealed or compressed record in a plain block", errBlock)
			}
			mem = off
		} else if err == nil {
			mem = len(bf.data.buf)
			bf.data.buf, err = codec.decode(bf.data.buf, raw[off:], r, uint64(off))
		}
		if err == nil && isMsg {
			// The plaintext record's own length, not the stored one: a
			// sealed or compressed record decodes to another size.
			rec := bf.data.buf[mem:]
			body := rec[recHeadSize : 6+int(recLen(rec))-4]
			if r.kind&kindMask == kindLost {
				_, err = decodeLostBody(body)
			} else {
				_, err = decodeMsgBody(body)
			}
			if err != nil && !plain {
				bf.data.buf = bf.data.buf[:mem]
			}
		}
		if err != nil {
			// A record that fails is skipped: resume at the next marker
			// that starts a valid record.
			bf.damaged = append(bf.damaged, int64(off))
			next := nextMarker(raw, off+1)
			if next < 0 {
				break
			}
			off = next
			continue
		}
		k := r.kind & kindMask
		if isMsg {
			bf.data.add(r.seq, mem)
			lastMsg = r.seq
		} else if k == kindErased {
			if !plain {
				bf.data.buf = bf.data.buf[:mem] // nothing to keep
			}
			if r.seq > lastMsg {
				lastMsg = r.seq
			}
		}
		bf.records = append(bf.records, recRef{kind: k, seq: r.seq, off: int64(off), mem: mem})
		off += r.size
		bf.end = int64(off)
	}
	return bf, nil
}

// blockCodec returns the record codec for a block with header h.
func blockCodec(h *blockHeader, key *seal.Key) (*recCodec, error) {
	rc := &recCodec{compress: h.flags&blkFlagS2 != 0}
	if h.flags&blkFlagSealed == 0 {
		return rc, nil
	}
	if key == nil {
		return nil, fmt.Errorf("blockstore: block %d is encrypted and no key is configured: %w", h.block, ErrBadKey)
	}
	s, err := key.FileSealer(h.salt[:])
	if err != nil {
		return nil, fmt.Errorf("blockstore: block %d: %w", h.block, err)
	}
	if !s.VerifyCheck(h.check[:]) {
		return nil, fmt.Errorf("blockstore: block %d: %w", h.block, ErrBadKey)
	}
	rc.sealer = s
	return rc, nil
}

// newBlockHeader returns the header of a new block and the codec of its
// records: with a key, a fresh salt (so a fresh subkey and nonces).
func newBlockHeader(key *seal.Key, compress bool, stream, id, first uint64) (blockHeader, recCodec) {
	h := blockHeader{stream: stream, block: id, first: first}
	rc := recCodec{compress: compress}
	if compress {
		h.flags |= blkFlagS2
	}
	if key != nil {
		salt, s := key.NewFileSealer()
		copy(h.salt[:], salt)
		copy(h.check[:], s.Check())
		h.flags |= blkFlagSealed
		rc.sealer = s
	}
	return h, rc
}

// createBlockFile creates a new block file with a fresh salt and writes
// its header.
func createBlockFile(dir string, key *seal.Key, compress bool, stream, id, first uint64) (*os.File, recCodec, error) {
	h, rc := newBlockHeader(key, compress, stream, id, first)
	path := filepath.Join(dir, blockName(id, 0))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o640)
	if err != nil {
		return nil, rc, fmt.Errorf("blockstore: create block %s: %w", path, err)
	}
	if _, err := f.Write(h.encode()); err != nil {
		f.Close()
		return nil, rc, fmt.Errorf("blockstore: write block header %s: %w", path, err)
	}
	return f, rc, nil
}

// findRecord locates message (or erased record) seq in a block file image
// by walking record frames, without opening bodies. It returns the file
// offset and size, or -1.
func findRecord(raw []byte, seq uint64) (int64, int) {
	for off := blkHeaderSize; off < len(raw); {
		r, err := parseRecord(raw, off)
		if err != nil {
			next := nextMarker(raw, off+1)
			if next < 0 {
				return -1, 0
			}
			off = next
			continue
		}
		if k := r.kind & kindMask; (k == kindMsg || k == kindErased) && r.seq == seq {
			return int64(off), r.size
		}
		off += r.size
	}
	return -1, 0
}

// eraseInFile overwrites message seq in the block file at path with an
// erased record of the same length. It reports whether it found it.
func eraseInFile(path string, seq uint64) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return false, err
	}
	off, n := findRecord(raw, seq)
	if off < 0 {
		return false, nil
	}
	rec := raw[off : off+int64(n)]
	if rec[6]&kindMask == kindErased {
		return true, nil
	}
	eraseRecord(rec)
	if _, err := f.WriteAt(rec, off); err != nil {
		return false, err
	}
	return true, nil
}
