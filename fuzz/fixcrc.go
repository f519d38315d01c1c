package fuzz

import (
	"encoding/binary"
	"hash/crc32"
	"path/filepath"
	"strings"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fixChecksums recomputes the CRC32C fields of a store file after a fuzzer
// changed it, so that decoding reaches past the checksum into the fields
// behind it (a fuzzer cannot forge a CRC by itself). name is the file's
// path in the store; the formats are those of layout.go, and the files
// that end with a CRC32C of everything before it (stream state, index
// checkpoint, ENGINE, KEY, EPOCHS). Sealed content stays unforgeable.
func fixChecksums(name string, raw []byte) {
	base := filepath.Base(name)
	switch {
	case strings.HasSuffix(base, ".blk"):
		if len(raw) >= blkHeader {
			binary.LittleEndian.PutUint32(raw[76:], crc32.Checksum(raw[:76], castagnoli))
		}
		for _, r := range parseBlock(raw) {
			rec := raw[r.off : r.off+r.size]
			binary.LittleEndian.PutUint32(rec[len(rec)-4:], crc32.Checksum(rec[2:len(rec)-4], castagnoli))
		}
	case strings.Contains(name, "wal") && len(base) == 20:
		for _, e := range parseSegment(raw) {
			_, k := binary.Uvarint(raw[e.off:])
			f := raw[e.off+int64(k) : e.end]
			binary.LittleEndian.PutUint32(f, crc32.Checksum(f[4:], castagnoli))
		}
	default:
		if len(raw) >= 8 {
			n := len(raw) - 4
			binary.LittleEndian.PutUint32(raw[n:], crc32.Checksum(raw[:n], castagnoli))
		}
	}
}
