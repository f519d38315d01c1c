package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// SaltSize is the length of a file salt.
const SaltSize = 16

// MaxCounter is the largest counter a caller may use for records. The value
// above it is reserved for key checks (see Sealer.Check).
const MaxCounter = ^uint64(0) - 1

const (
	tagSize   = 16
	nonceSize = 12
)

// Sealer seals and opens the records of one file under that file's subkey.
// It is safe for concurrent use. The caller guarantees that it never seals
// two different plaintexts with the same counter.
type Sealer struct {
	aead cipher.AEAD
	salt [SaltSize]byte
}

// nonces avoids a heap allocation per call: a nonce passed to an interface
// method escapes, so it comes from a pool rather than the stack.
var nonces = sync.Pool{New: func() any { return new([nonceSize]byte) }}

// NewFileSealer draws a fresh random salt for a new file (or a rewrite of
// one) and returns it with the file's Sealer. The caller stores the salt in
// the file so that FileSealer can rebuild the Sealer when reading.
func (k *Key) NewFileSealer() ([]byte, *Sealer) {
	salt := make([]byte, SaltSize)
	rand.Read(salt)
	s, err := k.FileSealer(salt)
	if err != nil {
		panic(err) // cannot happen: the salt has the right size
	}
	return salt, s
}

// FileSealer returns the Sealer of a file whose salt was stored with it.
func (k *Key) FileSealer(salt []byte) (*Sealer, error) {
	if len(salt) != SaltSize {
		return nil, fmt.Errorf("seal: file salt is %d bytes, want %d", len(salt), SaltSize)
	}
	sub, err := hkdf.Key(sha256.New, k.master[:], salt, "keel file v1 "+k.cipher.String(), 32)
	if err != nil {
		return nil, fmt.Errorf("seal: derive file key: %w", err)
	}
	s := &Sealer{}
	copy(s.salt[:], salt)
	switch k.cipher {
	case AES:
		b, err := aes.NewCipher(sub)
		if err != nil {
			return nil, fmt.Errorf("seal: aes: %w", err)
		}
		if s.aead, err = cipher.NewGCM(b); err != nil {
			return nil, fmt.Errorf("seal: gcm: %w", err)
		}
	case ChaCha:
		if s.aead, err = chacha20poly1305.New(sub); err != nil {
			return nil, fmt.Errorf("seal: chacha20poly1305: %w", err)
		}
	default:
		return nil, fmt.Errorf("seal: unknown cipher %d", k.cipher)
	}
	return s, nil
}

// Salt returns the file salt this Sealer was derived from.
func (s *Sealer) Salt() []byte { return s.salt[:] }

// Overhead is how many bytes Seal adds to a plaintext.
func (s *Sealer) Overhead() int { return tagSize }

// Seal appends the sealed form of plaintext to dst and returns the result.
// plaintext and the appended output may overlap exactly (sealing in place:
// Seal(p[:0], p, ...) with cap(p) >= len(p)+Overhead()), but not otherwise.
// counter must be at most MaxCounter and never repeat under this Sealer.
func (s *Sealer) Seal(dst, plaintext []byte, counter uint64, ad []byte) []byte {
	if counter > MaxCounter {
		panic("seal: counter out of range")
	}
	n := nonces.Get().(*[nonceSize]byte)
	putNonce(n, counter)
	out := s.aead.Seal(dst, n[:], plaintext, ad)
	nonces.Put(n)
	return out
}

// Open authenticates and decrypts ct (as produced by Seal with the same
// counter and ad) and appends the plaintext to dst. It fails with ErrAuth for
// anything that was not sealed exactly so under this file's subkey.
func (s *Sealer) Open(dst, ct []byte, counter uint64, ad []byte) ([]byte, error) {
	if len(ct) < tagSize {
		return dst, fmt.Errorf("seal: sealed record of %d bytes is shorter than its tag: %w", len(ct), ErrAuth)
	}
	n := nonces.Get().(*[nonceSize]byte)
	putNonce(n, counter)
	out, err := s.aead.Open(dst, n[:], ct, ad)
	nonces.Put(n)
	if err != nil {
		return dst, ErrAuth
	}
	return out, nil
}

// Check returns a tag that proves, without revealing anything, which key and
// salt this Sealer uses; store it with the salt and compare it with
// VerifyCheck to tell a wrong key from damaged data. It uses the reserved
// counter above MaxCounter, so it never collides with a record's nonce.
func (s *Sealer) Check() []byte {
	n := nonces.Get().(*[nonceSize]byte)
	putNonce(n, MaxCounter+1)
	out := s.aead.Seal(make([]byte, 0, tagSize), n[:], nil, s.salt[:])
	nonces.Put(n)
	return out
}

// VerifyCheck reports whether tag was made by Check under this Sealer's key.
func (s *Sealer) VerifyCheck(tag []byte) bool {
	n := nonces.Get().(*[nonceSize]byte)
	putNonce(n, MaxCounter+1)
	_, err := s.aead.Open(nil, n[:], tag, s.salt[:])
	nonces.Put(n)
	return err == nil
}

func putNonce(n *[nonceSize]byte, counter uint64) {
	n[0], n[1], n[2], n[3] = 0, 0, 0, 0
	binary.BigEndian.PutUint64(n[4:], counter)
}
