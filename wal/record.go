package wal

import (
	"encoding/binary"
	"hash/crc32"
)

// Record frame, version 1 (see the package doc for the layout). tidwall/wal
// stores each frame as one entry, prefixed with its uvarint length.
const (
	kindPlain   = 0x01 // body is the record
	kindSealed  = 0x02 // body is epoch u32 + AEAD(record)
	kindDamaged = 0x03 // placeholder written by recovery for a record lost to damage
	kindScrub   = 0x04 // record overwritten by Scrub: zero body of the original length

	offCRC     = 0
	offKind    = 4
	offLen     = 5
	offIndex   = 9
	headerSize = 17

	epochSize = 4
	tagSize   = 16
	// sealedAD is how much of a sealed frame, from offKind, is authenticated
	// as associated data: kind, body length, index and epoch.
	sealedADEnd = headerSize + epochSize

	// minEntry is the smallest entry a segment can hold: a one-byte length
	// and a header with an empty body.
	minEntry = 1 + headerSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frame is a decoded record header with its body.
type frame struct {
	kind  byte
	index uint64
	body  []byte
}

// appendFrameHeader appends a header with the given kind, body length and
// index, and a zero CRC that finishFrame fills in.
func appendFrameHeader(dst []byte, kind byte, bodyLen int, index uint64) []byte {
	var h [headerSize]byte
	h[offKind] = kind
	binary.LittleEndian.PutUint32(h[offLen:], uint32(bodyLen))
	binary.LittleEndian.PutUint64(h[offIndex:], index)
	return append(dst, h[:]...)
}

// finishFrame stores the CRC of a complete frame.
func finishFrame(f []byte) {
	binary.LittleEndian.PutUint32(f[offCRC:], crc32.Checksum(f[offKind:], castagnoli))
}

// frameLen returns the total length of the frame starting at f (header plus
// body) from its header; f must hold at least a header.
func frameLen(f []byte) int {
	return headerSize + int(binary.LittleEndian.Uint32(f[offLen:]))
}

func frameIndex(f []byte) uint64 { return binary.LittleEndian.Uint64(f[offIndex:]) }

// decodeFrame checks one frame as stored in a tidwall entry: the body length
// must match the entry, the kind must be known and the checksum must hold.
// It never allocates and never reads outside f.
func decodeFrame(f []byte, maxBody int) (frame, bool) {
	if len(f) < headerSize {
		return frame{}, false
	}
	n := binary.LittleEndian.Uint32(f[offLen:])
	if uint64(n) != uint64(len(f)-headerSize) || uint64(n) > uint64(maxBody) {
		return frame{}, false
	}
	kind := f[offKind]
	switch kind {
	case kindPlain:
	case kindSealed:
		if n < epochSize+tagSize {
			return frame{}, false
		}
	case kindDamaged:
		if n != 0 {
			return frame{}, false
		}
	case kindScrub:
	default:
		return frame{}, false
	}
	if binary.LittleEndian.Uint32(f[offCRC:]) != crc32.Checksum(f[offKind:], castagnoli) {
		return frame{}, false
	}
	return frame{kind: kind, index: frameIndex(f), body: f[headerSize:]}, true
}

// entryAt parses the tidwall entry at data[pos:] (uvarint length, then the
// frame) and decodes its frame. next is the offset after the entry.
func entryAt(data []byte, pos, maxBody int) (f frame, next int, ok bool) {
	size, n := binary.Uvarint(data[pos:])
	if n <= 0 || size < headerSize || size > uint64(len(data)-pos-n) {
		return frame{}, 0, false
	}
	start := pos + n
	end := start + int(size)
	// Cheap rejections first: resynchronisation calls this at every offset.
	if k := data[start+offKind]; k < kindPlain || k > kindScrub {
		return frame{}, 0, false
	}
	f, ok = decodeFrame(data[start:end], maxBody)
	if !ok {
		return frame{}, 0, false
	}
	return f, end, true
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// entrySize is how many bytes tidwall/wal writes for a frame of n bytes.
func entrySize(n int) int { return uvarintLen(uint64(n)) + n }

// hole is a run of damaged bytes inside a segment that valid records follow.
// It stands for the records first..last (none when last < first: bytes that
// belong to no record).
type hole struct {
	first, last uint64
	off, end    int
}

// segScan is what scanSegment learned about one segment file.
type segScan struct {
	start    uint64 // index of the first record (from the file name)
	count    uint64 // records found, holes included: the next index is start+count
	end      int    // offset after the last valid record; bytes beyond are torn
	size     int    // bytes in the file
	holes    []hole
	sealed   int    // sealed records
	plain    int    // plaintext records
	damaged  int    // placeholders left by an earlier recovery
	scrubbed int    // records overwritten by Scrub
	minEpoch uint32 // smallest epoch of a sealed record
	maxEpoch uint32
}

// scanSegment walks a segment's bytes. Valid records must carry consecutive
// indexes from start. At a record that fails, it looks for the next valid
// record further on: if there is one, the bytes in between are a hole
// (damage in the middle, never skipped silently); if not, everything from the
// failure on is a torn tail. scanSegment never allocates in proportion to a
// length read from data.
func scanSegment(data []byte, start uint64, maxBody int) segScan {
	s := segScan{start: start, size: len(data), minEpoch: ^uint32(0)}
	pos, idx := 0, start
	for pos < len(data) {
		f, next, ok := entryAt(data, pos, maxBody)
		if ok && f.index == idx {
			s.note(f)
			pos, idx = next, idx+1
			continue
		}
		q, qidx, found := resync(data, pos, idx, maxBody)
		if !found {
			break
		}
		s.holes = append(s.holes, hole{first: idx, last: qidx - 1, off: pos, end: q})
		pos, idx = q, qidx
	}
	s.end = pos
	s.count = idx - start
	return s
}

func (s *segScan) note(f frame) {
	switch f.kind {
	case kindPlain:
		s.plain++
	case kindDamaged:
		s.damaged++
	case kindScrub:
		s.scrubbed++
	case kindSealed:
		s.sealed++
		e := binary.LittleEndian.Uint32(f.body)
		s.minEpoch = min(s.minEpoch, e)
		s.maxEpoch = max(s.maxEpoch, e)
	}
}

// resync finds the first offset after pos where a valid record with an index
// of at least idx begins. The index may not run ahead of what the skipped
// bytes could have held, which keeps a stray match inside a payload from
// passing for a record far in the future.
func resync(data []byte, pos int, idx uint64, maxBody int) (int, uint64, bool) {
	for q := pos + 1; q+minEntry <= len(data); q++ {
		f, _, ok := entryAt(data, q, maxBody)
		if ok && f.index >= idx && f.index-idx <= uint64((q-pos)/minEntry) {
			return q, f.index, true
		}
	}
	return 0, 0, false
}

// appendPlaceholders appends damaged-record placeholders for first..last.
func appendPlaceholders(dst []byte, first, last uint64) []byte {
	for i := first; i <= last && i >= first; i++ {
		dst = append(dst, byte(headerSize))
		at := len(dst)
		dst = appendFrameHeader(dst, kindDamaged, 0, i)
		finishFrame(dst[at:])
	}
	return dst
}
