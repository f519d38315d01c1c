package blockstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"

	"github.com/keelhq/keel/internal/fsutil"
	"github.com/keelhq/keel/seal"
)

// The stream state file is the commit point of a checkpoint: once it is
// durable, every command up to Applied is in the stream's blocks (up to the
// position it names) and the WAL before them may go. It is written to two
// slots, STATE.a and STATE.b, alternately; a reader takes the valid slot
// with the higher generation, so a torn write loses nothing. Version 1:
//
//	0   4  magic "KSTA"
//	4   1  version (1)
//	5   1  flags (1: body sealed)
//	6   2  reserved (0)
//	8   8  generation
//	16  16 salt of the body's subkey (sealed; zero otherwise)
//	32  4  body length n
//	36  n  body; sealed: AEAD output, counter 0, bytes 0..36 as associated data
//	36+n 4 CRC32C of bytes 0..36+n
//
// Body (all integers little-endian u64 unless noted):
//
//	stream id, name (uvarint length + bytes), config encoding,
//	applied, first, last, last time, active block id, its valid end,
//	next block id, epoch,
//	dead blocks (uvarint count, then id and file generation each),
//	cuts (uvarint count, then id, file generation and end each),
//	aux records (uvarint count, then key and value, each uvarint length + bytes),
//	(version 2) abandoned blocks (uvarint count, then id and file generation
//	each): dead blocks never part of a committed state, never read
//
// Blocks with an id below the active block's are whole; the active block
// is valid up to its end; blocks above it hold only records of commands
// after Applied (replayed from the WAL, or never acknowledged). Dead
// blocks and cuts are removals recorded but perhaps not yet done on disk.
// Version 1 (no abandoned blocks) is still read.

const (
	stateVersion    = 2
	stateHeaderSize = 36
	stateFlagSealed = 1
)

var (
	stateMagic = [4]byte{'K', 'S', 'T', 'A'}
	stateSlots = [2]string{"STATE.a", "STATE.b"}
	errState   = errors.New("blockstore: bad stream state file")
)

// streamState is what a state file holds.
type streamState struct {
	gen         uint64
	id          uint64
	name        string
	cfg         Config
	applied     uint64
	first, last uint64
	lastTs      int64
	activeID    uint64
	activeEnd   int64
	nextID      uint64
	epoch       uint64
	dead        []deadBlock
	cuts        []blockCut
	aux         map[string][]byte
}

func (st *streamState) encodeBody(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, st.id)
	b = appendString(b, st.name)
	b = encodeConfig(b, &st.cfg)
	for _, v := range []uint64{st.applied, st.first, st.last, uint64(st.lastTs), st.activeID,
		uint64(st.activeEnd), st.nextID, st.epoch} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	var dead, abandoned []deadBlock
	for _, d := range st.dead {
		if d.abandoned {
			abandoned = append(abandoned, d)
		} else {
			dead = append(dead, d)
		}
	}
	b = appendDead(b, dead)
	b = appendUvarint(b, uint64(len(st.cuts)))
	for _, c := range st.cuts {
		b = binary.LittleEndian.AppendUint64(b, c.id)
		b = binary.LittleEndian.AppendUint64(b, c.gen)
		b = binary.LittleEndian.AppendUint64(b, uint64(c.end))
	}
	keys := make([]string, 0, len(st.aux))
	for k := range st.aux {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = appendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendBytes(b, st.aux[k])
	}
	return appendDead(b, abandoned)
}

func appendDead(b []byte, list []deadBlock) []byte {
	b = appendUvarint(b, uint64(len(list)))
	for _, d := range list {
		b = binary.LittleEndian.AppendUint64(b, d.id)
		b = binary.LittleEndian.AppendUint64(b, d.gen)
	}
	return b
}

func decodeDead(d *decoder, abandoned bool, list []deadBlock) ([]deadBlock, error) {
	n := d.uvarint()
	if n > uint64(len(d.b))/16 {
		return list, fmt.Errorf("%w: dead block count", errState)
	}
	for i := uint64(0); i < n; i++ {
		list = append(list, deadBlock{id: d.u64(), gen: d.u64(), abandoned: abandoned})
	}
	return list, nil
}

func decodeStateBody(body []byte, st *streamState, version byte) error {
	d := decoder{b: body}
	st.id = d.u64()
	st.name = d.str()
	if err := decodeConfig(&d, &st.cfg); err != nil {
		return err
	}
	st.applied, st.first, st.last = d.u64(), d.u64(), d.u64()
	st.lastTs = int64(d.u64())
	st.activeID, st.activeEnd = d.u64(), int64(d.u64())
	st.nextID, st.epoch = d.u64(), d.u64()
	var err error
	if st.dead, err = decodeDead(&d, false, nil); err != nil {
		return err
	}
	n := d.uvarint()
	if n > uint64(len(d.b))/24 {
		return fmt.Errorf("%w: cut count", errState)
	}
	for i := uint64(0); i < n; i++ {
		st.cuts = append(st.cuts, blockCut{id: d.u64(), gen: d.u64(), end: int64(d.u64())})
	}
	n = d.uvarint()
	if n > uint64(len(d.b))/2 {
		return fmt.Errorf("%w: aux count", errState)
	}
	st.aux = make(map[string][]byte, n)
	for i := uint64(0); i < n; i++ {
		k := d.str()
		v := d.bytes()
		if d.err != nil {
			break
		}
		st.aux[k] = append([]byte(nil), v...)
	}
	if version >= 2 {
		if st.dead, err = decodeDead(&d, true, st.dead); err != nil {
			return err
		}
	}
	if d.err != nil {
		return fmt.Errorf("%w: %v", errState, d.err)
	}
	if len(d.b) != 0 || st.first == 0 || st.first > st.last+1 || st.activeEnd < 0 {
		return fmt.Errorf("%w: inconsistent fields", errState)
	}
	return nil
}

// encodeStateFile returns the file image of st, sealed under a fresh
// subkey when key is set.
func encodeStateFile(st *streamState, key *seal.Key) []byte {
	b := make([]byte, stateHeaderSize, 256)
	copy(b, stateMagic[:])
	b[4] = stateVersion
	binary.LittleEndian.PutUint64(b[8:], st.gen)
	body := st.encodeBody(nil)
	if key != nil {
		salt, s := key.NewFileSealer()
		b[5] = stateFlagSealed
		copy(b[16:32], salt)
		binary.LittleEndian.PutUint32(b[32:], uint32(len(body)+s.Overhead()))
		b = s.Seal(b, body, 0, b[:stateHeaderSize])
	} else {
		binary.LittleEndian.PutUint32(b[32:], uint32(len(body)))
		b = append(b, body...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeStateFile parses a state file image.
func decodeStateFile(raw []byte, key *seal.Key) (*streamState, error) {
	if len(raw) < stateHeaderSize+4 || !bytes.Equal(raw[:4], stateMagic[:]) {
		return nil, fmt.Errorf("%w: not a state file", errState)
	}
	n := binary.LittleEndian.Uint32(raw[32:])
	if uint64(n) != uint64(len(raw)-stateHeaderSize-4) {
		return nil, fmt.Errorf("%w: length", errState)
	}
	if binary.LittleEndian.Uint32(raw[len(raw)-4:]) != crc32.Checksum(raw[:len(raw)-4], castagnoli) {
		return nil, fmt.Errorf("%w: checksum", errState)
	}
	if raw[4] != 1 && raw[4] != stateVersion {
		return nil, fmt.Errorf("%w: version %d not supported", errState, raw[4])
	}
	st := &streamState{gen: binary.LittleEndian.Uint64(raw[8:])}
	body := raw[stateHeaderSize : len(raw)-4]
	switch {
	case raw[5] == stateFlagSealed:
		if key == nil {
			return nil, fmt.Errorf("blockstore: stream state is encrypted and no key is configured: %w", ErrBadKey)
		}
		s, err := key.FileSealer(raw[16:32])
		if err != nil {
			return nil, err
		}
		if body, err = s.Open(nil, body, 0, raw[:stateHeaderSize]); err != nil {
			return nil, fmt.Errorf("blockstore: stream state: %w", ErrBadKey)
		}
	case raw[5] != 0:
		return nil, fmt.Errorf("%w: flags %#x", errState, raw[5])
	}
	if err := decodeStateBody(body, st, raw[4]); err != nil {
		return nil, err
	}
	return st, nil
}

// readState returns the newest valid state of the stream in dir.
func readState(dir string, key *seal.Key) (*streamState, error) {
	var best *streamState
	var errs []error
	for _, name := range stateSlots {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		st, err := decodeStateFile(raw, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if best == nil || st.gen > best.gen {
			best = st
		}
	}
	if best == nil {
		if len(errs) == 0 {
			errs = append(errs, os.ErrNotExist)
		}
		return nil, fmt.Errorf("blockstore: stream state in %s: %w", dir, errors.Join(errs...))
	}
	return best, nil
}

// writeState writes st (with the next generation) to the older slot and
// syncs it.
func writeState(dir string, st *streamState, key *seal.Key) error {
	path := filepath.Join(dir, stateSlots[st.gen%2])
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("blockstore: write state %s: %w", path, err)
	}
	_, err = f.Write(encodeStateFile(st, key))
	if err == nil {
		err = fsutil.Fdatasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blockstore: write state %s: %w", path, err)
	}
	return nil
}
