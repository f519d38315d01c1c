package seal

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/keelhq/keel/internal/fsutil"
)

// Errors returned by this package. Callers test them with errors.Is.
var (
	// ErrBadKey: the secret does not match the one the store was created with.
	ErrBadKey = errors.New("seal: encryption key does not match the store")
	// ErrCipherMismatch: the store was created with another cipher.
	ErrCipherMismatch = errors.New("seal: cipher does not match the store")
	// ErrKeyFile: the key-check file is damaged or not a Keel key file.
	ErrKeyFile = errors.New("seal: key file damaged or unknown")
	// ErrAuth: a sealed record failed authentication (damaged, moved, or
	// sealed under another key).
	ErrAuth = errors.New("seal: message authentication failed")
)

// KeyFileName is the name of the key-check file inside the store folder.
const KeyFileName = "KEY"

// Cipher is an AEAD algorithm. Its numeric value is stored on disk.
type Cipher uint8

const (
	AES    Cipher = 1 // AES-256-GCM
	ChaCha Cipher = 2 // ChaCha20-Poly1305
)

// ParseCipher maps a configuration value ("aes", "chacha" or "chachapoly",
// any case) to a Cipher. The empty string means ChaCha20-Poly1305, the
// reference server's default.
func ParseCipher(s string) (Cipher, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "chacha", "chachapoly":
		return ChaCha, nil
	case "aes":
		return AES, nil
	}
	return 0, fmt.Errorf("seal: unknown cipher type %q (want aes or chacha)", s)
}

func (c Cipher) String() string {
	switch c {
	case AES:
		return "aes"
	case ChaCha:
		return "chacha"
	}
	return fmt.Sprintf("cipher(%d)", uint8(c))
}

func (c Cipher) valid() bool { return c == AES || c == ChaCha }

// Key is a store's master key. It is safe for concurrent use.
type Key struct {
	cipher Cipher
	master [32]byte
}

// Cipher returns the key's algorithm.
func (k *Key) Cipher() Cipher { return k.cipher }

const (
	keyFileSize    = 76
	keyFileVersion = 1
	kdfHKDFSHA256  = 1
	storeSaltSize  = 32
)

var keyMagic = [4]byte{'K', 'K', 'E', 'Y'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenKeyFile returns the master key of the store in dir. On first use it
// creates dir/KEY with a fresh store salt; afterwards it checks secret and
// cipher against that file and fails with ErrBadKey or ErrCipherMismatch
// rather than returning a key that would decrypt to garbage.
func OpenKeyFile(dir string, c Cipher, secret []byte) (*Key, error) {
	if !c.valid() {
		return nil, fmt.Errorf("seal: open key in %s: unknown cipher %d", dir, c)
	}
	if len(secret) == 0 {
		return nil, fmt.Errorf("seal: open key in %s: empty secret", dir)
	}
	path := filepath.Join(dir, KeyFileName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(dir, c, secret)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: open key: %w", err)
	}
	salt, fileCipher, check, err := parseKeyFile(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: open key %s: %w", path, err)
	}
	if !hmac.Equal(check[:], keyCheck(secret, salt[:])) {
		return nil, fmt.Errorf("seal: open key %s: %w", path, ErrBadKey)
	}
	if fileCipher != c {
		return nil, fmt.Errorf("seal: open key %s: store uses %s, configured %s: %w",
			path, fileCipher, c, ErrCipherMismatch)
	}
	return deriveMaster(c, secret, salt[:]), nil
}

func parseKeyFile(raw []byte) (salt [storeSaltSize]byte, c Cipher, check [32]byte, err error) {
	if len(raw) != keyFileSize || !bytes.Equal(raw[:4], keyMagic[:]) {
		return salt, 0, check, ErrKeyFile
	}
	if binary.LittleEndian.Uint32(raw[72:]) != crc32.Checksum(raw[:72], castagnoli) {
		return salt, 0, check, fmt.Errorf("checksum mismatch: %w", ErrKeyFile)
	}
	if raw[4] != keyFileVersion {
		return salt, 0, check, fmt.Errorf("version %d not supported: %w", raw[4], ErrKeyFile)
	}
	c = Cipher(raw[5])
	if !c.valid() || raw[6] != kdfHKDFSHA256 {
		return salt, 0, check, fmt.Errorf("unknown cipher %d or kdf %d: %w", raw[5], raw[6], ErrKeyFile)
	}
	copy(salt[:], raw[8:40])
	copy(check[:], raw[40:72])
	return salt, c, check, nil
}

func createKeyFile(dir string, c Cipher, secret []byte) (*Key, error) {
	var raw [keyFileSize]byte
	copy(raw[:4], keyMagic[:])
	raw[4] = keyFileVersion
	raw[5] = byte(c)
	raw[6] = kdfHKDFSHA256
	salt := raw[8:40]
	rand.Read(salt)
	copy(raw[40:72], keyCheck(secret, salt))
	binary.LittleEndian.PutUint32(raw[72:], crc32.Checksum(raw[:72], castagnoli))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("seal: create key: %w", err)
	}
	if err := fsutil.WriteFileAtomic(dir, KeyFileName, raw[:], 0o600); err != nil {
		return nil, fmt.Errorf("seal: create key: %w", err)
	}
	return deriveMaster(c, secret, salt), nil
}

func keyCheck(secret, salt []byte) []byte {
	ck, err := hkdf.Key(sha256.New, secret, salt, "keel check v1", 32)
	if err != nil {
		panic(err) // only for lengths beyond 255*32
	}
	m := hmac.New(sha256.New, ck)
	m.Write([]byte("keel key check"))
	return m.Sum(nil)
}

func deriveMaster(c Cipher, secret, salt []byte) *Key {
	mk, err := hkdf.Key(sha256.New, secret, salt, "keel master v1", 32)
	if err != nil {
		panic(err)
	}
	k := &Key{cipher: c}
	copy(k.master[:], mk)
	return k
}
