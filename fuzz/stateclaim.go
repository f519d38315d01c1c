package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/seal"
)

// A stream's state file (blockstore/state.go, version 1) is the commit
// point of its checkpoints: the blocks below its active block are whole
// and the active block is valid up to the end it names. Recovery relies on
// those bytes without the WAL, which has let them go: a sync preceded the
// state, so no power cut can tear them. The injector reads the state the
// way recovery will (the valid slot of the higher generation) so that it
// tears only what no state claims.
//
//	0   4  magic "KSTA", 4 version, 5 flags (1 sealed), 8 generation,
//	16  16 salt, 32 body length, 36 body, then CRC32C of all before
//	body: u64 stream id, name (uvarint + bytes), config (see
//	blockstore.encodeConfig), then u64 applied, first, last, last time,
//	active block id, its valid end, ...

// claim is what a stream's newest state says about its blocks.
type claim struct {
	ok        bool
	activeID  uint64
	activeEnd int64
}

// readClaim returns the claim of the stream folder sdir; key opens sealed
// states (nil: plaintext store).
func readClaim(sdir string, key *seal.Key) claim {
	var best claim
	bestGen := uint64(0)
	for _, slot := range []string{"STATE.a", "STATE.b"} {
		raw, err := os.ReadFile(filepath.Join(sdir, slot))
		if err != nil {
			continue
		}
		gen, c, err := decodeClaim(raw, key)
		if err == nil && (!best.ok || gen > bestGen) {
			best, bestGen = c, gen
		}
	}
	return best
}

var errClaim = errors.New("fuzz: state file")

func decodeClaim(raw []byte, key *seal.Key) (uint64, claim, error) {
	if len(raw) < 40 || !bytes.Equal(raw[:4], []byte("KSTA")) || raw[4] != 1 ||
		binary.LittleEndian.Uint32(raw[len(raw)-4:]) != crc32.Checksum(raw[:len(raw)-4], castagnoli) ||
		uint64(binary.LittleEndian.Uint32(raw[32:])) != uint64(len(raw)-40) {
		return 0, claim{}, errClaim
	}
	gen := binary.LittleEndian.Uint64(raw[8:])
	body := raw[36 : len(raw)-4]
	if raw[5]&1 != 0 {
		if key == nil {
			return 0, claim{}, errClaim
		}
		s, err := key.FileSealer(raw[16:32])
		if err != nil {
			return 0, claim{}, err
		}
		if body, err = s.Open(nil, body, 0, raw[:36]); err != nil {
			return 0, claim{}, err
		}
	}
	d := reader{b: body}
	d.skip(8)      // stream id
	d.skip(d.uv()) // name
	d.skip(1)      // config version
	d.skip(d.uv()) // config name
	d.uv()         // storage
	for range 5 {  // max msgs, bytes, age, per subject, msg size
		d.uv()
	}
	for range 4 { // discard, flags, compression, first seq
		d.uv()
	}
	d.uv()     // block size
	d.skip(32) // applied, first, last, last time
	c := claim{activeID: d.u64(), activeEnd: int64(d.u64())}
	if d.bad {
		return 0, claim{}, errClaim
	}
	c.ok = true
	return gen, c, nil
}

// reader reads the primitive fields of a state body; a failure sticks.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) skip(n uint64) {
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return
	}
	r.b = r.b[n:]
}

// uv reads a uvarint (varints are read the same way: only their length
// matters here).
func (r *reader) uv() uint64 {
	if r.bad {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u64() uint64 {
	if r.bad || len(r.b) < 8 {
		r.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// claimedEnd is how much of block b the claim protects: all of a block
// below the active one, the active block up to its end, nothing of a
// block after it.
func (c claim) claimedEnd(b blockFile, size int64) int64 {
	switch {
	case !c.ok || b.id < c.activeID:
		return size
	case b.id == c.activeID:
		return min(size, c.activeEnd)
	}
	return 0
}
