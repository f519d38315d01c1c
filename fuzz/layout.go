package fuzz

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The injector needs to know where records lie in the engine's files. It
// reads only the framing the formats keep in the clear even when the store
// is encrypted (ARCHITECTURE.md, wal/doc.go, blockstore/block_format.go):
//
//   - a WAL segment (keel/wal/<20-digit first index>) is tidwall/wal
//     entries, uvarint length + frame; a frame starts with CRC32C (4), kind
//     (1), body length (4) and the record index (8); a segment may be
//     preallocated with zeros after its last entry;
//   - a block file (keel/streams/<id>/<16-hex id>.<hex gen>.blk) starts
//     with an 80-byte header; each record is marker 0xB1 0x0C, u32 length n
//     of what follows, kind (1), sequence (8), body, CRC32C (4).

const (
	walFrameHeader = 17
	blkHeader      = 80
	recMarker0     = 0xB1
	recMarker1     = 0x0C
	recMin         = 19 // marker, length, kind, sequence, CRC
	kindMessage    = 1
	kindMaskBits   = 0x0F
)

// walEntry is one record of a WAL segment.
type walEntry struct {
	off, end int64 // the entry (length prefix included) in the file
	index    uint64
}

// walSegments returns the segment files of the store at dir, oldest first.
func walSegments(dir string) []string {
	wd := filepath.Join(dir, "keel", "wal")
	ents, _ := os.ReadDir(wd)
	var out []string
	for _, e := range ents {
		n := e.Name()
		if len(n) == 20 && strings.Trim(n, "0123456789") == "" {
			out = append(out, filepath.Join(wd, n))
		}
	}
	slices.Sort(out)
	return out
}

// parseSegment walks a segment's entries up to the first that does not
// frame (the end of the data, or damage).
func parseSegment(raw []byte) []walEntry {
	var out []walEntry
	for off := 0; off < len(raw); {
		n, k := binary.Uvarint(raw[off:])
		if k <= 0 || n < walFrameHeader || n > uint64(len(raw)-off-k) {
			break
		}
		f := raw[off+k : off+k+int(n)]
		if uint64(binary.LittleEndian.Uint32(f[5:])) != n-walFrameHeader {
			break
		}
		end := off + k + int(n)
		out = append(out, walEntry{off: int64(off), end: int64(end), index: binary.LittleEndian.Uint64(f[9:])})
		off = end
	}
	return out
}

// blockRec is one record of a block file.
type blockRec struct {
	off, size int64
	kind      byte
	seq       uint64
}

// blockFile is the newest generation of one block of a stream.
type blockFile struct {
	id, gen uint64
	path    string
}

// streamBlocks returns the newest generation of every block of the stream
// folder sdir, by block id.
func streamBlocks(sdir string) []blockFile {
	ents, _ := os.ReadDir(sdir)
	newest := map[uint64]blockFile{}
	for _, e := range ents {
		parts := strings.Split(e.Name(), ".")
		if len(parts) != 3 || parts[2] != "blk" || len(parts[0]) != 16 {
			continue
		}
		id, err1 := strconv.ParseUint(parts[0], 16, 64)
		gen, err2 := strconv.ParseUint(parts[1], 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if b, ok := newest[id]; !ok || gen > b.gen {
			newest[id] = blockFile{id: id, gen: gen, path: filepath.Join(sdir, e.Name())}
		}
	}
	out := make([]blockFile, 0, len(newest))
	for _, b := range newest {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b blockFile) int { return compareU64(a.id, b.id) })
	return out
}

// parseBlock walks a block file's record frames (without checking CRCs)
// up to the first that does not frame.
func parseBlock(raw []byte) []blockRec {
	var out []blockRec
	for off := blkHeader; off+recMin <= len(raw); {
		if raw[off] != recMarker0 || raw[off+1] != recMarker1 {
			break
		}
		n := int64(binary.LittleEndian.Uint32(raw[off+2:]))
		if n < recMin-6 || n+6 > int64(len(raw)-off) {
			break
		}
		out = append(out, blockRec{off: int64(off), size: n + 6, kind: raw[off+6],
			seq: binary.LittleEndian.Uint64(raw[off+7:])})
		off += int(n + 6)
	}
	return out
}

// syncedEnd returns the end of the last record of recs that a durable
// acknowledgement covers (covered), or start when none does.
func syncedEnd[T any](recs []T, start int64, end func(T) int64, covered func(T) bool) int64 {
	b := start
	for _, r := range recs {
		if covered(r) {
			b = max(b, end(r))
		}
	}
	return b
}

func describe(path string, off int64) string {
	return fmt.Sprintf("%s@%d", filepath.Base(path), off)
}
