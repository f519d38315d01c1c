package blockstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/keelhq/keel/seal"
	"github.com/klauspost/compress/s2"
)

// Block file format, version 1 (see doc.go for the whole picture).
//
// Header, 80 bytes:
//
//	0   4  magic "KBLK"
//	4   1  version (1)
//	5   1  flags: 1 records may be sealed, 2 records may be S2-compressed
//	6   2  reserved (0)
//	8   8  stream id
//	16  8  block id
//	24  8  first sequence the block covers
//	32  16 salt of the block's subkey (zero when not encrypted)
//	48  16 key check (seal.Sealer.Check; zero when not encrypted)
//	64  12 reserved (0)
//	76  4  CRC32C of bytes 0..76
//
// Then records, back to back, each framed so that a reader can resynchronise
// after damage:
//
//	0   2  sync marker 0xB1 0x0C
//	2   4  n: length of everything after this field (kind..crc)
//	6   1  kind (low 4 bits: 1 message, 2 tombstone, 3 erased, 5 lost) | 0x10 S2 | 0x20 sealed
//	7   8  sequence (of the message; of the removed message for a tombstone)
//	15  .. body
//	end 4  CRC32C of bytes 2..end-4 (length, kind, sequence, body as stored)
//
// A message body is: i64 time, varint ttl, uvarint subject length, subject,
// uvarint header length, header, data. A tombstone body is the removed
// message's subject (uvarint length + bytes) and its header and data
// lengths (uvarints), so replaying it keeps the counts exact without
// reading the message. An erased record is zeros where a message was: it
// has the length of the record it replaced and is never sealed.
//
// With S2 the body is s2-compressed (only when that saves space and expands
// at most maxS2Ratio times on decoding). Sealed, the (compressed) body is
// the AEAD output under the block's subkey with the record's file offset as
// the counter and bytes 2..15 as associated data: a record cannot be moved
// or re-labelled, and no offset of one file is sealed twice (blocks are
// never appended to after a restart, and rewrites take a fresh salt).
//
// In memory the same framing is used with plaintext bodies and no flags.

const (
	blkVersion    = 1
	blkHeaderSize = 80
	blkFlagSealed = 1
	blkFlagS2     = 2

	recHeadSize = 15
	recMinSize  = recHeadSize + 4
	recMarker0  = 0xB1
	recMarker1  = 0x0C

	kindMsg    = 1
	kindTomb   = 2
	kindErased = 3
	// kindStub exists only in memory, in the active block: a large message
	// whose record went straight to the file. Its body is u64 file offset,
	// u32 record length, then the message body without header and data
	// (time, ttl, subject) and uvarint header and data lengths.
	kindStub = 4
	// kindLost is a message whose payload was lost to damage while its
	// command survived (a large message's block record that no longer
	// checks out, its WAL pointer intact): it counts as a message, as it
	// did for every command applied after it, and cannot be loaded. Its
	// body is the message body's time, ttl and subject, then uvarint header
	// and data lengths.
	kindLost  = 5
	kindMask  = 0x0F
	recS2     = 0x10
	recSealed = 0x20

	// maxRecord bounds one record's length field; a message is at most
	// maxPayload of header and of data plus a subject.
	maxRecord = 2*maxPayload + 1<<17
	// minS2 is the smallest body worth compressing; maxS2Ratio bounds the
	// expansion a reader accepts, so damaged input cannot make it allocate
	// more than that multiple of what it read.
	minS2      = 256
	maxS2Ratio = 256
)

var blkMagic = [4]byte{'K', 'B', 'L', 'K'}

// errBlock wraps every block decoding failure.
var errBlock = errors.New("blockstore: bad block data")

type blockHeader struct {
	flags  byte
	stream uint64
	block  uint64
	first  uint64
	salt   [seal.SaltSize]byte
	check  [16]byte
}

func (h *blockHeader) encode() []byte {
	b := make([]byte, blkHeaderSize)
	copy(b, blkMagic[:])
	b[4] = blkVersion
	b[5] = h.flags
	binary.LittleEndian.PutUint64(b[8:], h.stream)
	binary.LittleEndian.PutUint64(b[16:], h.block)
	binary.LittleEndian.PutUint64(b[24:], h.first)
	copy(b[32:48], h.salt[:])
	copy(b[48:64], h.check[:])
	binary.LittleEndian.PutUint32(b[76:], crc32.Checksum(b[:76], castagnoli))
	return b
}

func decodeBlockHeader(b []byte) (blockHeader, error) {
	var h blockHeader
	if len(b) < blkHeaderSize || !bytes.Equal(b[:4], blkMagic[:]) {
		return h, fmt.Errorf("%w: not a block file", errBlock)
	}
	if binary.LittleEndian.Uint32(b[76:]) != crc32.Checksum(b[:76], castagnoli) {
		return h, fmt.Errorf("%w: header checksum", errBlock)
	}
	if b[4] != blkVersion {
		return h, fmt.Errorf("%w: block version %d not supported", errBlock, b[4])
	}
	h.flags = b[5]
	h.stream = binary.LittleEndian.Uint64(b[8:])
	h.block = binary.LittleEndian.Uint64(b[16:])
	h.first = binary.LittleEndian.Uint64(b[24:])
	copy(h.salt[:], b[32:48])
	copy(h.check[:], b[48:64])
	if h.flags&^(blkFlagSealed|blkFlagS2) != 0 {
		return h, fmt.Errorf("%w: unknown block flags %#x", errBlock, h.flags)
	}
	return h, nil
}

// recHead starts a record of kind with body length n; the caller appends
// the body and then calls finishRec.
func recHead(b []byte, kind byte, seq uint64, n int) []byte {
	b = append(b, recMarker0, recMarker1)
	b = binary.LittleEndian.AppendUint32(b, uint32(1+8+n+4))
	b = append(b, kind)
	return binary.LittleEndian.AppendUint64(b, seq)
}

// finishRec appends the CRC of the record starting at start.
func finishRec(b []byte, start int) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start+2:], castagnoli))
}

func msgBodyLen(ttl int64, subj string, hdr, data []byte) int {
	return 8 + varintLen(ttl) + uvarintLen(uint64(len(subj))) + len(subj) +
		uvarintLen(uint64(len(hdr))) + len(hdr) + len(data)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}

// appendMsgRecord appends a plaintext message record.
func appendMsgRecord(b []byte, seq uint64, ts, ttl int64, subj string, hdr, data []byte) []byte {
	start := len(b)
	b = recHead(b, kindMsg, seq, msgBodyLen(ttl, subj, hdr, data))
	b = binary.LittleEndian.AppendUint64(b, uint64(ts))
	b = binary.AppendVarint(b, ttl)
	b = appendString(b, subj)
	b = appendBytes(b, hdr)
	b = append(b, data...)
	return finishRec(b, start)
}

// appendStubRecord appends the in-memory stub of a large message written
// to the block file at foff as a record of n bytes.
func appendStubRecord(b []byte, seq uint64, foff int64, n int, ts, ttl int64, subj string, hlen, dlen int) []byte {
	start := len(b)
	body := 12 + 8 + varintLen(ttl) + uvarintLen(uint64(len(subj))) + len(subj) +
		uvarintLen(uint64(hlen)) + uvarintLen(uint64(dlen))
	b = recHead(b, kindStub, seq, body)
	b = binary.LittleEndian.AppendUint64(b, uint64(foff))
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint64(b, uint64(ts))
	b = binary.AppendVarint(b, ttl)
	b = appendString(b, subj)
	b = appendUvarint(b, uint64(hlen))
	b = appendUvarint(b, uint64(dlen))
	return finishRec(b, start)
}

// appendLostRecord appends the record of a message lost to damage.
func appendLostRecord(b []byte, seq uint64, ts, ttl int64, subj string, hlen, dlen int) []byte {
	start := len(b)
	body := 8 + varintLen(ttl) + uvarintLen(uint64(len(subj))) + len(subj) +
		uvarintLen(uint64(hlen)) + uvarintLen(uint64(dlen))
	b = recHead(b, kindLost, seq, body)
	b = binary.LittleEndian.AppendUint64(b, uint64(ts))
	b = binary.AppendVarint(b, ttl)
	b = appendString(b, subj)
	b = appendUvarint(b, uint64(hlen))
	b = appendUvarint(b, uint64(dlen))
	return finishRec(b, start)
}

// lostView is a decoded lost-message body.
type lostView struct {
	ts, ttl    int64
	subj       []byte
	hlen, dlen int
}

func decodeLostBody(body []byte) (lostView, error) {
	d := decoder{b: body}
	v := lostView{ts: int64(d.u64()), ttl: d.varint(), subj: d.bytes()}
	h, l := d.uvarint(), d.uvarint()
	if d.err != nil || len(d.b) != 0 || len(v.subj) == 0 || h > maxPayload || l > maxPayload {
		return v, fmt.Errorf("%w: lost message body", errBlock)
	}
	v.hlen, v.dlen = int(h), int(l)
	return v, nil
}

// stubView is a decoded stub body.
type stubView struct {
	foff       int64
	n          int
	ts, ttl    int64
	subj       []byte
	hlen, dlen int
}

func decodeStubBody(body []byte) (stubView, error) {
	d := decoder{b: body}
	v := stubView{foff: int64(d.u64()), n: int(d.u32()), ts: int64(d.u64()), ttl: d.varint(), subj: d.bytes()}
	v.hlen, v.dlen = int(d.uvarint()), int(d.uvarint())
	if d.err != nil || v.foff < 0 || v.n < recMinSize || v.hlen > maxPayload || v.dlen > maxPayload {
		return v, fmt.Errorf("%w: stub", errBlock)
	}
	return v, nil
}

// appendTombRecord appends a plaintext tombstone for message seq.
func appendTombRecord(b []byte, seq uint64, subj string, hlen, dlen int) []byte {
	start := len(b)
	n := uvarintLen(uint64(len(subj))) + len(subj) + uvarintLen(uint64(hlen)) + uvarintLen(uint64(dlen))
	b = recHead(b, kindTomb, seq, n)
	b = appendString(b, subj)
	b = appendUvarint(b, uint64(hlen))
	b = appendUvarint(b, uint64(dlen))
	return finishRec(b, start)
}

// eraseRecord overwrites the record rec (in memory or read from a file)
// with an erased record of the same length.
func eraseRecord(rec []byte) {
	seq := binary.LittleEndian.Uint64(rec[7:])
	clear(rec[recHeadSize:])
	rec[6] = kindErased
	binary.LittleEndian.PutUint64(rec[7:], seq)
	binary.LittleEndian.PutUint32(rec[len(rec)-4:], crc32.Checksum(rec[2:len(rec)-4], castagnoli))
}

// record is a parsed record frame.
type record struct {
	kind byte // with flags
	seq  uint64
	body []byte
	size int // whole record
}

// parseRecord checks the record frame at b[off:]: marker, length within
// bounds and CRC. It does not open or decompress the body.
func parseRecord(b []byte, off int) (record, error) {
	if off < 0 || off+recMinSize > len(b) {
		return record{}, fmt.Errorf("%w: short record", errBlock)
	}
	r := b[off:]
	if r[0] != recMarker0 || r[1] != recMarker1 {
		return record{}, fmt.Errorf("%w: no record marker", errBlock)
	}
	n := binary.LittleEndian.Uint32(r[2:])
	if n < recMinSize-6 || uint64(n) > maxRecord || int(n)+6 > len(r) {
		return record{}, fmt.Errorf("%w: record length %d", errBlock, n)
	}
	size := int(n) + 6
	if binary.LittleEndian.Uint32(r[size-4:]) != crc32.Checksum(r[2:size-4], castagnoli) {
		return record{}, fmt.Errorf("%w: record checksum", errBlock)
	}
	kind := r[6]
	if k := kind & kindMask; k < kindMsg || (k > kindErased && k != kindLost) || kind&^(kindMask|recS2|recSealed) != 0 {
		return record{}, fmt.Errorf("%w: record kind %#x", errBlock, kind)
	}
	return record{kind: kind, seq: binary.LittleEndian.Uint64(r[7:]), body: r[recHeadSize : size-4], size: size}, nil
}

// erasePage is the unit in which a write can be cut short: the kernel
// copies a write into the page cache a page at a time and stops between
// pages when the process is killed. (Larger pages are multiples of it.)
const erasePage = 4096

// tornErase recognises the record frame at b[off:] as a secure erase cut
// short by a kill (eraseInFile overwrites a committed record in place, and
// a large one spans many pages): its first pages as erased (the kind byte
// erased, zeros after the sequence) up to a page boundary past the kind
// byte, the rest, checksum included, as it was. It reads as the erased
// record it was becoming, since the committed state already records the
// removal; damage to a message record does not leave that shape.
func tornErase(b []byte, off int) (record, bool) {
	if off < 0 || off+recMinSize > len(b) {
		return record{}, false
	}
	r := b[off:]
	if r[0] != recMarker0 || r[1] != recMarker1 || r[6] != kindErased {
		return record{}, false
	}
	n := binary.LittleEndian.Uint32(r[2:])
	if n < recMinSize-6 || uint64(n) > maxRecord || int(n)+6 > len(r) {
		return record{}, false
	}
	size := int(n) + 6
	z := recHeadSize // the erased bytes run up to z at least
	for z < size-4 && r[z] == 0 {
		z++
	}
	if page := (off + z) &^ (erasePage - 1); page <= off+6 {
		return record{}, false // no page boundary between the kind byte and z
	}
	return record{kind: kindErased, seq: binary.LittleEndian.Uint64(r[7:]), body: r[recHeadSize : size-4], size: size}, true
}

// msgView is a decoded plaintext message body, aliasing the record.
type msgView struct {
	ts, ttl int64
	subj    []byte
	hdr     []byte
	data    []byte
}

func decodeMsgBody(body []byte) (msgView, error) {
	var m msgView
	d := decoder{b: body}
	m.ts = int64(d.u64())
	m.ttl = d.varint()
	m.subj = d.bytes()
	m.hdr = d.bytes()
	m.data = d.b
	if d.err != nil || len(m.subj) == 0 {
		return m, fmt.Errorf("%w: message body", errBlock)
	}
	return m, nil
}

// tombView is a decoded tombstone body.
type tombView struct {
	subj       []byte
	hlen, dlen int
}

func decodeTombBody(body []byte) (tombView, error) {
	d := decoder{b: body}
	t := tombView{subj: d.bytes()}
	h, l := d.uvarint(), d.uvarint()
	if d.err != nil || len(d.b) != 0 || h > maxPayload || l > maxPayload {
		return t, fmt.Errorf("%w: tombstone body", errBlock)
	}
	t.hlen, t.dlen = int(h), int(l)
	return t, nil
}

// recCodec turns plaintext records into their on-disk form and back for
// one block file: compression by the stream's choice, sealing under the
// block's subkey.
type recCodec struct {
	sealer   *seal.Sealer
	compress bool
	tmp      []byte
	out      []byte // flush buffer
}

// encode appends the on-disk form of the plaintext record rec, to be
// written at file offset foff, to dst.
func (rc *recCodec) encode(dst, rec []byte, foff uint64) []byte {
	kind := rec[6]
	if rc.sealer == nil && (!rc.compress || kind != kindMsg) {
		return append(dst, rec...)
	}
	seq := binary.LittleEndian.Uint64(rec[7:])
	body := rec[recHeadSize : len(rec)-4]
	if rc.compress && kind == kindMsg && len(body) >= minS2 {
		rc.tmp = s2.Encode(rc.tmp[:cap(rc.tmp)], body)
		if len(rc.tmp) < len(body) && len(body) <= maxS2Ratio*len(rc.tmp) {
			body, kind = rc.tmp, kind|recS2
		}
	}
	n := len(body)
	if rc.sealer != nil && kind&kindMask != kindErased {
		n += rc.sealer.Overhead()
		kind |= recSealed
	}
	start := len(dst)
	dst = recHead(dst, kind, seq, n)
	if kind&recSealed != 0 {
		ad := dst[start+2 : start+recHeadSize]
		dst = rc.sealer.Seal(dst, body, foff, ad)
	} else {
		dst = append(dst, body...)
	}
	return finishRec(dst, start)
}

// decode appends the plaintext form of the on-disk record r, read at file
// offset foff, to dst. Damage shows as an error, never a panic, and the
// output is bounded by maxS2Ratio times the input.
func (rc *recCodec) decode(dst []byte, raw []byte, r record, foff uint64) ([]byte, error) {
	kind := r.kind
	if kind&(recSealed|recS2) == 0 {
		return append(dst, raw[:r.size]...), nil
	}
	body := r.body
	var err error
	if kind&recSealed != 0 {
		if rc.sealer == nil {
			return dst, fmt.Errorf("%w: sealed record in a block without a key", errBlock)
		}
		rc.tmp, err = rc.sealer.Open(rc.tmp[:0], body, foff, raw[2:recHeadSize])
		if err != nil {
			return dst, fmt.Errorf("%w: record %d: %v", errBlock, r.seq, err)
		}
		body = rc.tmp
	}
	if kind&recS2 != 0 {
		n, err := s2.DecodedLen(body)
		if err != nil || n > maxS2Ratio*len(body) || n > maxRecord {
			return dst, fmt.Errorf("%w: record %d: bad compressed length", errBlock, r.seq)
		}
		start := len(dst)
		dst = recHead(dst, kind&kindMask, r.seq, n)
		dst = append(dst, make([]byte, n)...)
		if _, err := s2.Decode(dst[start+recHeadSize:], body); err != nil {
			return dst[:start], fmt.Errorf("%w: record %d: %v", errBlock, r.seq, err)
		}
		return finishRec(dst, start), nil
	}
	start := len(dst)
	dst = recHead(dst, kind&kindMask, r.seq, len(body))
	dst = append(dst, body...)
	return finishRec(dst, start), nil
}

// nextMarker returns the offset of the next record marker at or after off,
// or -1: where a reader resumes after a damaged record.
func nextMarker(b []byte, off int) int {
	for off < len(b)-1 {
		i := bytes.IndexByte(b[off:], recMarker0)
		if i < 0 {
			return -1
		}
		off += i
		if off+1 < len(b) && b[off+1] == recMarker1 {
			return off
		}
		off++
	}
	return -1
}
