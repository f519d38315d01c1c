package blockstore

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"unsafe"

	"github.com/keelhq/keel/index"
)

// fileBackend keeps a file stream's messages in its blocks. The stream's
// lock covers everything here; the engine's cache has its own.
//
// Liveness is answered from memory without touching blocks: deleted holds
// every sequence in the stream's range that has no live message (removed,
// skipped, lost to damage), so a sequence in range and not in it is live.
type fileBackend struct {
	s       *fileStream
	blocks  []*fblock // by sequence; the active block, when there is one, is last
	active  *fblock
	deleted *index.SeqSet
	// lostSeqs are the deleted sequences whose message was lost to damage
	// (and not removed by a command since): a removal of one is accepted.
	lostSeqs index.SeqSet
	first    uint64 // the stream's first sequence (trim keeps it)
	lastSeq  uint64 // highest sequence stored (or skipped to) so far
	nextID   uint64 // id of the next block file

	// unsynced are files of sealed blocks the next checkpoint syncs and
	// closes.
	unsynced []*syncFile
	plain    []byte // scratch for large records

	// ext is set by store when the message went straight into the block
	// file (large messages): the stream puts it in the WAL record.
	ext     *extRef
	extBuf  extRef
	extFile *syncFile
	// lostStore makes the next store a message lost to damage (recovery,
	// see replayCommand): a lost record, counted, never loadable.
	lostStore bool

	// dead blocks and cuts are removed from the table at once and from the
	// disk after the next checkpoint has recorded it (see checkpoint.go).
	dead     []deadBlock
	cuts     []blockCut
	newFiles bool // files created since the stream's directory was synced
	werr     error
}

func (be *fileBackend) blockSize() int {
	if n := be.s.c.cfg.BlockSize; n > 0 {
		return int(min(n, maxBlockSize))
	}
	return defaultBlockSize
}

const (
	defaultBlockSize = 8 << 20
	maxBlockSize     = 256 << 20
)

// find returns the block holding seq in its range, or nil.
func (be *fileBackend) find(seq uint64) *fblock {
	lo, hi := 0, len(be.blocks) // first block whose last >= seq
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if be.blocks[m].last < seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if i := lo; i < len(be.blocks) && be.blocks[i].contains(seq) {
		return be.blocks[i]
	}
	return nil
}

// data returns the decoded records of b: the active block's buffer, the
// cached copy, or the file read now (and cached).
func (be *fileBackend) data(b *fblock) (*blockData, error) {
	if b.data != nil {
		return b.data, nil
	}
	e := be.s.e
	if d := e.cache.get(be.s.id, b.id); d != nil {
		return d, nil
	}
	bf, err := readBlockFile(filepath.Join(be.s.dir, b.name()), e.key, be.s.id, b.id, b.size)
	if err != nil {
		return nil, err
	}
	if len(bf.damaged) > 0 {
		be.s.reportLoadDamage(b, bf)
	}
	e.cache.put(be.s.id, b.id, bf.data)
	return bf.data, nil
}

func (be *fileBackend) store(seq uint64, ts, ttl int64, subj string, hdr, data []byte) {
	be.ext = nil
	b := be.writable(seq)
	d := b.data
	if b.msgs == 0 && b.last < b.first || b.firstTs == 0 {
		b.firstTs = ts
	}
	b.last, b.lastTs = seq, ts
	b.msgs++
	b.bytes += fileMsgSize(len(subj), len(hdr), len(data))
	be.lastSeq = seq
	// Room for the record (a stub's or lost record's fits in a message's).
	d.reserve(recMinSize+40+len(subj)+len(hdr)+len(data), be.blockSize()+64<<10)
	if be.lostStore {
		off := len(d.buf)
		d.buf = appendLostRecord(d.buf, seq, ts, ttl, subj, len(hdr), len(data))
		d.add(seq, off)
		return
	}
	if len(hdr)+len(data) < be.s.e.opts.LargeMessage || be.s.restoring || b.f == nil {
		off := len(d.buf)
		d.buf = appendMsgRecord(d.buf, seq, ts, ttl, subj, hdr, data)
		d.add(seq, off)
		return
	}
	// A large message is written once, straight into the block file; the
	// WAL gets only a pointer, and the engine syncs the file before the WAL
	// batch holding that pointer counts as durable. Memory keeps a stub.
	// Under the always policy the record waits in the file's pending
	// bytes for the syncer's single write (see syncFile); under an
	// interval policy durability means written, so it is written now, as
	// it is in recovery (which registers nothing for the syncer).
	be.flushRecords(b)
	foff := b.size
	c := &b.codec
	build := func(dst []byte) []byte {
		if c.sealer == nil && !c.compress {
			return appendMsgRecord(dst, seq, ts, ttl, subj, hdr, data)
		}
		be.plain = appendMsgRecord(be.plain[:0], seq, ts, ttl, subj, hdr, data)
		return c.encode(dst, be.plain, uint64(foff))
	}
	var rec []byte
	if be.s.e.dur.always && !be.s.replaying {
		var err error
		if rec, err = be.s.e.dur.appendPending(b.sf, foff, build); err != nil {
			be.fail(fmt.Errorf("blockstore: write block %d: %w", b.id, err))
			return
		}
	} else {
		c.out = build(c.out[:0])
		rec = c.out
		if _, err := b.f.WriteAt(rec, foff); err != nil {
			be.fail(fmt.Errorf("blockstore: write block %d: %w", b.id, err))
			return
		}
	}
	n := len(rec)
	b.size += int64(n)
	off := len(d.buf)
	d.buf = appendStubRecord(d.buf, seq, foff, n, ts, ttl, subj, len(hdr), len(data))
	d.add(seq, off)
	b.flushed = len(d.buf)
	b.hasStubs, b.pendingBig = true, true
	be.extBuf = extRef{block: b.id, offset: uint64(foff), length: uint64(n), crc: binary.LittleEndian.Uint32(rec[n-4:]),
		hlen: len(hdr), dlen: len(data)}
	be.ext, be.extFile = &be.extBuf, b.sf
}

// loadStub reads a large message of the active block back from its file;
// the subject comes from the stub, in memory.
func (be *fileBackend) loadStub(b *fblock, rec []byte, sm *StoreMsg) (*StoreMsg, error) {
	v, err := decodeStubBody(rec[recHeadSize : len(rec)-4])
	if err != nil {
		return nil, err
	}
	if sm == nil {
		sm = new(StoreMsg)
	}
	raw := sm.Buf[:0]
	if cap(raw) < v.n {
		raw = make([]byte, v.n)
	}
	raw = raw[:v.n]
	if b.sf != nil {
		if err := b.sf.writePending(); err != nil {
			return nil, fmt.Errorf("blockstore: read block %d: %w", b.id, err)
		}
	}
	if _, err := b.f.ReadAt(raw, v.foff); err != nil {
		return nil, fmt.Errorf("blockstore: read block %d: %w", b.id, err)
	}
	r, err := parseRecord(raw, 0)
	if err != nil {
		return nil, err
	}
	body := r.body
	if r.kind != kindMsg {
		rc := recCodec{sealer: b.codec.sealer, compress: b.codec.compress}
		plain, err := rc.decode(nil, raw, r, uint64(v.foff))
		if err != nil {
			return nil, err
		}
		body = plain[recHeadSize : len(plain)-4]
	}
	m, err := decodeMsgBody(body)
	if err != nil {
		return nil, err
	}
	// Header then data move to the front of the buffer. Read as stored,
	// they lie inside raw and only move backwards; decoded (decompressed
	// or opened) they are elsewhere and may well exceed the record's size
	// on disk, so the buffer grows to hold them.
	need := len(m.hdr) + len(m.data)
	if cap(raw) < need {
		raw = make([]byte, need)
	}
	raw = raw[:need]
	n := copy(raw, m.hdr)
	n += copy(raw[n:], m.data)
	sm.Buf = raw[:n]
	sm.Header = sm.Buf[:len(m.hdr):len(m.hdr)]
	if len(m.hdr) == 0 {
		sm.Header = nil
	}
	sm.Data = sm.Buf[len(m.hdr):n]
	sm.Subject = unsafe.String(unsafe.SliceData(v.subj), len(v.subj))
	sm.Seq, sm.Time, sm.TTL = r.seq, v.ts, v.ttl
	return sm, nil
}

// writable returns the active block, starting a new one when there is none
// or it is full. seq is the first sequence a new block would cover.
func (be *fileBackend) writable(seq uint64) *fblock {
	b := be.active
	if b != nil && (int(b.size)+len(b.data.buf)-b.flushed < be.blockSize() || len(b.data.seqs) == 0) {
		return b
	}
	full := b != nil
	prev := 0 // what the previous block's buffer came to hold
	var pend, spare []byte
	if b != nil {
		if b.data != nil {
			prev = len(b.data.buf)
		}
		be.seal(b)
		if sf := be.unsyncedLast(); sf != nil {
			pend, spare = sf.takeBuffers()
		}
	}
	nb := be.startBlock(seq)
	if nb.sf != nil {
		nb.sf.pend, nb.sf.spare = pend, spare
	}
	if full && nb.data != nil {
		// The stream fills blocks: size the buffer for what the last one
		// held (a block of large messages holds only their stubs) rather
		// than copying it while it doubles.
		nb.data.buf = make([]byte, 0, min(prev+prev/8+4<<10, be.blockSize()+64<<10))
	}
	return nb
}

// trimIdle gives back the scratch memory of a stream idle since its last
// checkpoint: with many streams (every KV bucket is one) most are idle,
// and their buffers, sized by their last burst, would add up. The next
// write grows them again.
func (s *fileStream) trimIdle() {
	shrink := func(b []byte) []byte {
		if cap(b) > trimSlack {
			return nil
		}
		return b
	}
	s.enc, s.sub = shrink(s.enc), shrink(s.sub)
	be := s.be
	be.plain = shrink(be.plain)
	if b := be.active; b != nil {
		if b.data != nil {
			b.data.trim()
		}
		b.codec.out, b.codec.tmp = shrink(b.codec.out), shrink(b.codec.tmp)
		if b.sf != nil {
			b.sf.takeBuffers() // dropped, unless records are pending
		}
	}
}

// unsyncedLast is the file of the block sealed last, if not yet closed.
func (be *fileBackend) unsyncedLast() *syncFile {
	if n := len(be.unsynced); n > 0 {
		return be.unsynced[n-1]
	}
	return nil
}

func (be *fileBackend) startBlock(first uint64) *fblock {
	if n := len(be.blocks); n > 0 && first <= be.blocks[n-1].last {
		first = be.blocks[n-1].last + 1
	}
	id := be.nextID
	be.nextID++
	b := &fblock{id: id, first: first, last: first - 1, size: blkHeaderSize,
		data: &blockData{first: first}}
	f, codec, err := createBlockFile(be.s.dir, be.s.e.key, be.s.c.cfg.Compression == S2Compression, be.s.id, id, first)
	if err != nil {
		be.fail(err)
	}
	b.f, b.codec = f, codec
	b.sf = &syncFile{f: f, dir: be.s.dir}
	b.sf.fresh.Store(true)
	be.newFiles = true
	be.blocks = append(be.blocks, b)
	be.active = b
	return b
}

// seal ends the active block: its last records go to the file, whose sync
// and close the next checkpoint does (large writes in it are synced sooner
// by the durability syncer); its records move to the cache.
func (be *fileBackend) seal(b *fblock) {
	be.flush(b)
	if b.sf != nil {
		be.unsynced = append(be.unsynced, b.sf)
	}
	b.f, b.sf = nil, nil
	b.pendingBig = false
	if len(b.data.seqs) > 0 && !b.hasStubs {
		be.s.e.cache.put(be.s.id, b.id, b.data)
	}
	b.data, b.erased, b.hasStubs = nil, nil, false
	b.codec = recCodec{}
	if be.active == b {
		be.active = nil
	}
}

func (be *fileBackend) fail(err error) {
	if be.werr == nil {
		be.werr = err
		be.s.e.log.Errorf("%v", err)
	}
}

// flush writes everything of b not yet in its file, so that the file can
// be read whole.
func (be *fileBackend) flush(b *fblock) {
	be.writePending(b)
	be.flushRecords(b)
}

// writePending writes b's pending large records (see syncFile).
func (be *fileBackend) writePending(b *fblock) {
	if b.sf == nil {
		return
	}
	if err := b.sf.writePending(); err != nil {
		be.fail(fmt.Errorf("blockstore: write block %d: %w", b.id, err))
	}
}

// flushRecords writes b's records from memory not yet in its file (its
// small messages and tombstones), after its pending large records: the
// file grows in order.
func (be *fileBackend) flushRecords(b *fblock) {
	d := b.data
	if d == nil || b.flushed == len(d.buf) || b.f == nil {
		return
	}
	be.writePending(b)
	c := &b.codec
	var out []byte
	if c.sealer == nil && !c.compress && len(b.erased) == 0 {
		out = d.buf[b.flushed:] // the in-memory framing is the file's
	} else {
		out = c.out[:0]
		for off := b.flushed; off < len(d.buf); {
			n := int(binary.LittleEndian.Uint32(d.buf[off+2:])) + 6
			rec := d.buf[off : off+n]
			start := len(out)
			if rec[6] == kindMsg {
				if _, gone := b.erased[binary.LittleEndian.Uint64(rec[7:])]; gone {
					out = append(out, rec...)
					eraseRecord(out[start:])
					off += n
					continue
				}
			}
			out = c.encode(out, rec, uint64(b.size)+uint64(start))
			off += n
		}
		c.out = out
		clear(b.erased)
	}
	if _, err := b.f.WriteAt(out, b.size); err != nil {
		be.fail(fmt.Errorf("blockstore: write block %d: %w", b.id, err))
		return
	}
	b.size += int64(len(out))
	b.flushed = len(d.buf)
}

func (be *fileBackend) load(seq uint64, sm *StoreMsg) (*StoreMsg, error) {
	// Records of removed messages stay in their blocks until compaction:
	// only the range and the deleted set say what is live.
	if seq < be.first || seq > be.lastSeq {
		return nil, ErrNotFound
	}
	if be.deleted.Contains(seq) {
		return nil, ErrDeleted
	}
	b := be.find(seq)
	if b == nil {
		return nil, ErrDeleted
	}
	d, err := be.data(b)
	if err != nil {
		return nil, fmt.Errorf("blockstore: load %d: %w", seq, err)
	}
	if b.hasStubs && b.data != nil {
		if rec := d.record(seq); rec != nil && rec[6] == kindStub {
			return be.loadStub(b, rec, sm)
		}
	}
	sm, err = d.fill(seq, sm)
	if err == ErrDeleted {
		// In range, not deleted, but no record: lost to damage.
		return nil, fmt.Errorf("blockstore: message %d unreadable: %w", seq, ErrCorrupt)
	}
	return sm, err
}

// peek reads what the core needs of message seq from its block's record
// in memory, without copying the payload (nor reading a large one back).
func (be *fileBackend) peek(seq uint64, m *msgMeta) error {
	if seq < be.first || seq > be.lastSeq {
		return ErrNotFound
	}
	if be.deleted.Contains(seq) {
		return ErrDeleted
	}
	b := be.find(seq)
	if b == nil {
		return ErrDeleted
	}
	d, err := be.data(b)
	if err != nil {
		return fmt.Errorf("blockstore: peek %d: %w", seq, err)
	}
	if !recMeta(d.record(seq), seq, m) {
		return fmt.Errorf("blockstore: message %d unreadable: %w", seq, ErrCorrupt)
	}
	return nil
}

// closeFile closes the active block's file, syncing it first when its
// content matters.
func (be *fileBackend) closeFile(b *fblock, sync bool) {
	if b.sf == nil {
		return
	}
	var err error
	if sync {
		err = b.sf.close()
	} else {
		err = b.sf.abandon()
	}
	if err != nil {
		be.fail(fmt.Errorf("blockstore: close block %d: %w", b.id, err))
	}
	b.f, b.sf = nil, nil
}

// closeFiles flushes, syncs and closes every open block file.
func (be *fileBackend) closeFiles() {
	if b := be.active; b != nil {
		be.flush(b)
		be.closeFile(b, true)
	}
	for _, f := range be.unsynced {
		if err := f.close(); err != nil {
			be.fail(fmt.Errorf("blockstore: close block: %w", err))
		}
	}
	be.unsynced = nil
}
