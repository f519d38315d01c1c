package index

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Errors returned when decoding a checkpoint. Callers test them with
// errors.Is; either one means "rebuild the index from the blocks".
var (
	ErrCorrupt = errors.New("index: corrupt checkpoint")
	ErrVersion = errors.New("index: unsupported checkpoint version")
)

// Sealer encrypts and authenticates a checkpoint body (an AEAD under one
// file's subkey). Seal appends the sealed form of plaintext to dst; Open
// appends the plaintext of ct to dst and fails if ct was not sealed with the
// same counter and associated data. Overhead is how many bytes Seal adds.
type Sealer interface {
	Seal(dst, plaintext []byte, counter uint64, ad []byte) []byte
	Open(dst, ct []byte, counter uint64, ad []byte) ([]byte, error)
	Overhead() int
}

// Keys supplies the Sealers of checkpoint files. Every checkpoint written
// gets a fresh subkey, named by a salt kept in the file's header, so a
// rewrite never reuses a (key, nonce) pair; the counter is random as well,
// as a second line of defence.
//
// A store adapts its seal.Key in a few lines (mind the typed nil):
//
//	type ckptKeys struct{ k *seal.Key }
//
//	func (c ckptKeys) NewSealer() ([]byte, index.Sealer) { return c.k.NewFileSealer() }
//	func (c ckptKeys) Sealer(salt []byte) (index.Sealer, error) {
//		s, err := c.k.FileSealer(salt)
//		if err != nil {
//			return nil, err
//		}
//		return s, nil
//	}
type Keys interface {
	// NewSealer returns a Sealer under a fresh subkey and the salt (at most
	// MaxSaltSize bytes) that names it.
	NewSealer() (salt []byte, s Sealer)
	// Sealer returns the Sealer named by salt.
	Sealer(salt []byte) (Sealer, error)
}

// MaxSaltSize is the longest salt a checkpoint header holds.
const MaxSaltSize = 64

// Totals are the stream-wide counters a store keeps next to its indexes.
type Totals struct {
	Msgs      uint64
	Bytes     uint64
	FirstSeq  uint64
	LastSeq   uint64
	FirstTime int64 // unix nanoseconds
	LastTime  int64
}

// Checkpoint is a stream's index state as persisted: everything needed to
// open the stream without scanning its blocks.
//
// Decode returns a Checkpoint whose Blocks, Subjects and Deleted are never
// nil; for encoding, nil fields count as empty. The encoding of a given
// state is deterministic (subjects in byte order, each deleted chunk in its
// smallest form), so two indexes can be compared byte for byte through
// AppendBinary, or with Equal. A rebuild from blocks has exact subject
// bounds: resolve the stale ones of a live index before comparing it with
// a rebuilt one (TestRebuiltIndexEncodesIdentically shows how).
type Checkpoint struct {
	LastApplied uint64 // index of the last command applied to the stream
	Totals      Totals
	Blocks      *Blocks
	Subjects    *Tree
	Deleted     *SeqSet
	Extra       []byte // the store's own data, opaque to the index
}

// Format constants: see the package documentation for the layout.
const (
	magic         = "KIDX"
	formatVersion = 1
	headerSize    = 24
	trailerSize   = 4
	flagSealed    = 1 << 0

	secMeta     = 1
	secBlocks   = 2
	secSubjects = 3
	secDeleted  = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendBinary appends the checkpoint file for c, unsealed, to dst. Its
// output depends only on the checkpoint's content.
func (c *Checkpoint) AppendBinary(dst []byte) ([]byte, error) {
	return c.Encode(dst, nil, nil)
}

// Encode appends the checkpoint file for c to dst: sealed under a fresh
// Sealer from keys when keys is not nil, with ad (the caller's associated
// data, for example the stream's name) bound to it; ad is not stored and
// must be given again to Decode.
func (c *Checkpoint) Encode(dst []byte, keys Keys, ad []byte) ([]byte, error) {
	// A table that could not be read back is a bug in the caller: say so
	// now rather than when the store next opens.
	if err := orEmpty(c.Blocks).Validate(); err != nil {
		return dst, fmt.Errorf("index: encode checkpoint: %w", err)
	}
	start := len(dst)
	dst = append(dst, make([]byte, headerSize)...)
	copy(dst[start:], magic)
	dst[start+4] = formatVersion
	var (
		salt    []byte
		sealer  Sealer
		counter uint64
	)
	if keys != nil {
		salt, sealer = keys.NewSealer()
		if len(salt) > MaxSaltSize {
			return dst[:start], fmt.Errorf("index: checkpoint salt of %d bytes exceeds %d", len(salt), MaxSaltSize)
		}
		var b [8]byte
		rand.Read(b[:])
		counter = binary.LittleEndian.Uint64(b[:]) >> 1 // keep clear of reserved counters at the top
		dst[start+5] = flagSealed
		dst[start+6] = byte(len(salt))
		binary.LittleEndian.PutUint64(dst[start+8:], counter)
		dst = append(dst, salt...)
	}
	bodyStart := len(dst)
	dst = c.appendBody(dst)
	if sealer != nil {
		body := dst[bodyStart:]
		binary.LittleEndian.PutUint64(dst[start+16:], uint64(len(body)+sealer.Overhead()))
		aad := append(bytes.Clone(dst[start:bodyStart]), ad...)
		sealed := sealer.Seal(make([]byte, 0, len(body)+sealer.Overhead()+trailerSize), body, counter, aad)
		dst = append(dst[:bodyStart], sealed...)
	} else {
		binary.LittleEndian.PutUint64(dst[start+16:], uint64(len(dst)-bodyStart))
	}
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli)), nil
}

// Decode reads a checkpoint file. keys must be given exactly when the
// checkpoint was sealed (a store with encryption on refuses a checkpoint
// in the clear), with the same ad as Encode. Any damage gives an error
// wrapping ErrCorrupt (or ErrVersion): never a panic, and no allocation
// larger than a small multiple of len(data).
func Decode(data []byte, keys Keys, ad []byte) (*Checkpoint, error) {
	if len(data) < headerSize+trailerSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(data))
	}
	if string(data[:4]) != magic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, data[:4])
	}
	end := len(data) - trailerSize
	if got, want := crc32.Checksum(data[:end], castagnoli), binary.LittleEndian.Uint32(data[end:]); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	if v := data[4]; v != formatVersion {
		return nil, fmt.Errorf("%w: version %d", ErrVersion, v)
	}
	flags, saltLen := data[5], int(data[6])
	if flags&^flagSealed != 0 || data[7] != 0 || saltLen > MaxSaltSize {
		return nil, fmt.Errorf("%w: bad header flags %#x/%d/%d", ErrCorrupt, flags, saltLen, data[7])
	}
	sealed := flags&flagSealed != 0
	counter := binary.LittleEndian.Uint64(data[8:])
	bodyLen := binary.LittleEndian.Uint64(data[16:])
	bodyStart := headerSize + saltLen
	if bodyStart > end || bodyLen != uint64(end-bodyStart) {
		return nil, fmt.Errorf("%w: body of %d bytes in a file of %d", ErrCorrupt, bodyLen, len(data))
	}
	if !sealed && (saltLen != 0 || counter != 0) {
		return nil, fmt.Errorf("%w: salt or counter in a clear checkpoint", ErrCorrupt)
	}
	body := data[bodyStart:end]
	switch {
	case sealed && keys == nil:
		return nil, fmt.Errorf("%w: checkpoint is encrypted and no key was given", ErrCorrupt)
	case !sealed && keys != nil:
		return nil, fmt.Errorf("%w: checkpoint is not encrypted but the store is", ErrCorrupt)
	case sealed:
		sealer, err := keys.Sealer(data[headerSize:bodyStart])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		aad := append(bytes.Clone(data[:bodyStart]), ad...)
		body, err = sealer.Open(make([]byte, 0, len(body)), body, counter, aad)
		if err != nil {
			return nil, fmt.Errorf("%w: open sealed body: %w", ErrCorrupt, err)
		}
	}
	c := &Checkpoint{Blocks: new(Blocks), Subjects: new(Tree), Deleted: new(SeqSet)}
	if err := c.decodeBody(body); err != nil {
		return nil, err
	}
	return c, nil
}

// Equal reports whether c and o hold the same state. Nil structures equal
// empty ones.
func (c *Checkpoint) Equal(o *Checkpoint) bool {
	return c.LastApplied == o.LastApplied && c.Totals == o.Totals &&
		bytes.Equal(c.Extra, o.Extra) &&
		orEmpty(c.Blocks).Equal(orEmpty(o.Blocks)) &&
		orEmpty(c.Subjects).Equal(orEmpty(o.Subjects)) &&
		orEmpty(c.Deleted).Equal(orEmpty(o.Deleted))
}

func orEmpty[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// Equal reports whether t and o hold the same subjects with the same
// states.
func (t *Tree) Equal(o *Tree) bool {
	if t.Len() != o.Len() {
		return false
	}
	eq := true
	t.Walk(func(subject []byte, st *SubjectState) bool {
		ost := o.LookupBytes(subject)
		eq = ost != nil && *ost == *st
		return eq
	})
	return eq
}
