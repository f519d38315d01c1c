package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/internal/fsutil"
	"github.com/keelhq/keel/seal"
)

// An epoch is one run of the log with a key: each Open draws a fresh salt,
// so the subkey differs from every earlier run and a record index written
// again after a crash cut the tail never meets the same nonce twice. The
// EPOCHS file keeps the salt of every epoch that still has records.
const epochsFile = "EPOCHS"

const (
	epochsVersion = 1
	epochsHeader  = 12
	epochEntry    = 4 + seal.SaltSize + 16
	maxEpochs     = 1 << 20
)

var epochsMagic = [4]byte{'K', 'W', 'E', 'P'}

type epochEntryT struct {
	id    uint32
	salt  [seal.SaltSize]byte
	check [16]byte
}

func encodeEpochs(c seal.Cipher, list []epochEntryT) []byte {
	b := make([]byte, epochsHeader, epochsHeader+len(list)*epochEntry+4)
	copy(b, epochsMagic[:])
	b[4] = epochsVersion
	b[5] = byte(c)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(list)))
	for _, e := range list {
		b = binary.LittleEndian.AppendUint32(b, e.id)
		b = append(b, e.salt[:]...)
		b = append(b, e.check[:]...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeEpochs(b []byte) (seal.Cipher, []epochEntryT, error) {
	if len(b) < epochsHeader+4 || [4]byte(b[:4]) != epochsMagic {
		return 0, nil, errors.New("not an epochs file")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return 0, nil, errors.New("checksum mismatch")
	}
	if b[4] != epochsVersion {
		return 0, nil, fmt.Errorf("version %d not supported", b[4])
	}
	n := binary.LittleEndian.Uint32(b[8:])
	if n > maxEpochs || uint64(len(body)-epochsHeader) != uint64(n)*epochEntry {
		return 0, nil, fmt.Errorf("bad entry count %d", n)
	}
	list := make([]epochEntryT, n)
	p := body[epochsHeader:]
	for i := range list {
		list[i].id = binary.LittleEndian.Uint32(p)
		copy(list[i].salt[:], p[4:])
		copy(list[i].check[:], p[4+seal.SaltSize:])
		p = p[epochEntry:]
	}
	return seal.Cipher(b[5]), list, nil
}

// openEpochs loads the sealers of the epochs that records still use (those
// from minUsed on) and, with a key, starts a new epoch for this run and
// persists it before any record uses it. used reports whether any sealed
// record exists.
func openEpochs(dir string, key *seal.Key, used bool, minUsed, maxUsed uint32) (
	sealers map[uint32]*seal.Sealer, cur uint32, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, epochsFile))
	var list []epochEntryT
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if used {
			return nil, 0, fmt.Errorf("wal: %s: sealed records but no %s file: %w", dir, epochsFile, ErrCorrupt)
		}
	case err != nil:
		return nil, 0, fmt.Errorf("wal: %s: %w", dir, err)
	default:
		var c seal.Cipher
		c, list, err = decodeEpochs(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("wal: %s: %s: %v: %w", dir, epochsFile, err, ErrCorrupt)
		}
		if key != nil && c != key.Cipher() && used {
			return nil, 0, fmt.Errorf("wal: %s: log sealed with %s, key is %s: %w", dir, c, key.Cipher(), seal.ErrCipherMismatch)
		}
	}
	if used && key == nil {
		return nil, 0, fmt.Errorf("wal: %s: %w", dir, ErrNoKey)
	}
	if key == nil {
		return nil, 0, nil
	}
	sealers = make(map[uint32]*seal.Sealer)
	var keep []epochEntryT
	var top uint32
	for _, e := range list {
		top = max(top, e.id)
		if !used || e.id < minUsed || e.id > maxUsed {
			continue // no record left uses it
		}
		s, err := key.FileSealer(e.salt[:])
		if err != nil {
			return nil, 0, fmt.Errorf("wal: %s: epoch %d: %w", dir, e.id, err)
		}
		if !s.VerifyCheck(e.check[:]) {
			return nil, 0, fmt.Errorf("wal: %s: epoch %d: %w", dir, e.id, seal.ErrBadKey)
		}
		sealers[e.id] = s
		keep = append(keep, e)
	}
	if used {
		for _, id := range []uint32{minUsed, maxUsed} {
			if sealers[id] == nil {
				return nil, 0, fmt.Errorf("wal: %s: records use epoch %d, missing from %s: %w", dir, id, epochsFile, ErrCorrupt)
			}
		}
	}
	cur = max(top, maxUsed) + 1
	salt, s := key.NewFileSealer()
	e := epochEntryT{id: cur}
	copy(e.salt[:], salt)
	copy(e.check[:], s.Check())
	keep = append(keep, e)
	if err := fsutil.WriteFileAtomic(dir, epochsFile, encodeEpochs(key.Cipher(), keep), 0o640); err != nil {
		return nil, 0, fmt.Errorf("wal: %s: write %s: %w", dir, epochsFile, err)
	}
	sealers[cur] = s
	return sealers, cur, nil
}
