package seal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary ciphertexts to Open: anything not sealed under the
// key fails with an error and never panics; and whatever is sealed opens to
// the same plaintext.
func FuzzOpen(f *testing.F) {
	k, err := OpenKeyFile(f.TempDir(), AES, []byte("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	ck, err := OpenKeyFile(f.TempDir(), ChaCha, []byte("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	salt := bytes.Repeat([]byte{7}, SaltSize)
	aesS, _ := k.FileSealer(salt)
	chaS, _ := ck.FileSealer(salt)
	f.Add([]byte{}, uint64(0), []byte{}, false)
	f.Add(aesS.Seal(nil, []byte("payload"), 3, []byte("ad")), uint64(3), []byte("ad"), false)
	f.Add(chaS.Seal(nil, []byte("payload"), 3, []byte("ad")), uint64(3), []byte("ad"), true)
	f.Add(make([]byte, 16), uint64(1), []byte(nil), true)
	f.Fuzz(func(t *testing.T, ct []byte, ctr uint64, ad []byte, chacha bool) {
		s := aesS
		if chacha {
			s = chaS
		}
		if ctr > MaxCounter {
			ctr = MaxCounter
		}
		if pt, err := s.Open(nil, ct, ctr, ad); err == nil {
			// Only a genuine seal opens; re-sealing must reproduce it.
			if !bytes.Equal(s.Seal(nil, pt, ctr, ad), ct) {
				t.Fatalf("opened a forgery")
			}
		}
		sealed := s.Seal(nil, ct, ctr, ad)
		pt, err := s.Open(nil, sealed, ctr, ad)
		if err != nil || !bytes.Equal(pt, ct) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzKeyFile feeds arbitrary bytes to the KEY file parser: an error for
// anything damaged, never a panic.
func FuzzKeyFile(f *testing.F) {
	dir := f.TempDir()
	if _, err := OpenKeyFile(dir, ChaCha, []byte("fuzz")); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(filepath.Join(dir, KeyFileName))
	f.Add(good)
	f.Add(good[:40])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		salt, c, check, err := parseKeyFile(raw)
		if err != nil {
			return
		}
		if !c.valid() || len(raw) != keyFileSize || !bytes.Equal(raw[8:40], salt[:]) || !bytes.Equal(raw[40:72], check[:]) {
			t.Fatalf("accepted a malformed key file")
		}
	})
}
