package seal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := OpenKeyFile(dir, AES, []byte("s3cret"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := OpenKeyFile(dir, AES, []byte("s3cret"))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if k1.master != k2.master {
		t.Fatal("reopening with the same secret gave another master key")
	}

	cases := []struct {
		name   string
		cipher Cipher
		secret string
		want   error
	}{
		{"wrong secret", AES, "s3cret!", ErrBadKey},
		{"wrong secret other cipher", ChaCha, "nope", ErrBadKey},
		{"cipher mismatch", ChaCha, "s3cret", ErrCipherMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := OpenKeyFile(dir, tc.cipher, []byte(tc.secret))
			if !errors.Is(err, tc.want) || k != nil {
				t.Fatalf("got %v, %v; want %v", k, err, tc.want)
			}
		})
	}
}

func TestOpenKeyFileRejects(t *testing.T) {
	if _, err := OpenKeyFile(t.TempDir(), AES, nil); err == nil {
		t.Fatal("empty secret accepted")
	}
	if _, err := OpenKeyFile(t.TempDir(), Cipher(9), []byte("x")); err == nil {
		t.Fatal("unknown cipher accepted")
	}
}

func TestKeyFileDamage(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenKeyFile(dir, ChaCha, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFileName)
	good, _ := os.ReadFile(path)
	for _, off := range []int{0, 4, 5, 8, 39, 40, 71, 72, 75} {
		bad := append([]byte(nil), good...)
		bad[off] ^= 0x10
		os.WriteFile(path, bad, 0o600)
		if _, err := OpenKeyFile(dir, ChaCha, []byte("pw")); !errors.Is(err, ErrKeyFile) {
			t.Errorf("flip at %d: got %v, want ErrKeyFile", off, err)
		}
	}
	os.WriteFile(path, good[:50], 0o600)
	if _, err := OpenKeyFile(dir, ChaCha, []byte("pw")); !errors.Is(err, ErrKeyFile) {
		t.Errorf("short file: got %v", err)
	}
}

func TestParseCipher(t *testing.T) {
	for in, want := range map[string]Cipher{"": ChaCha, "aes": AES, "AES": AES, "chacha": ChaCha, "ChaChaPoly": ChaCha} {
		if got, err := ParseCipher(in); err != nil || got != want {
			t.Errorf("ParseCipher(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseCipher("rot13"); err == nil {
		t.Error("rot13 accepted")
	}
}
