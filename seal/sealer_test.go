package seal

import (
	"bytes"
	"errors"
	"testing"
)

func testKeys(t testing.TB) []*Key {
	t.Helper()
	var keys []*Key
	for _, c := range []Cipher{AES, ChaCha} {
		k, err := OpenKeyFile(t.TempDir(), c, []byte("test secret"))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func TestSealRoundTrip(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.Cipher().String(), func(t *testing.T) {
			salt, s := k.NewFileSealer()
			pt := []byte("hello, sealed world")
			ad := []byte("header")
			ct := s.Seal(nil, pt, 7, ad)
			if len(ct) != len(pt)+s.Overhead() || bytes.Contains(ct, pt) {
				t.Fatalf("ciphertext %x", ct)
			}
			// A reader rebuilds the sealer from the stored salt.
			r, err := k.FileSealer(salt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Open(nil, ct, 7, ad)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("open: %q %v", got, err)
			}

			// Anything that differs from what was sealed fails to open.
			_, other := k.NewFileSealer()
			flipped := append([]byte(nil), ct...)
			flipped[3] ^= 1
			bad := []struct {
				name string
				s    *Sealer
				ct   []byte
				ctr  uint64
				ad   []byte
			}{
				{"counter", r, ct, 8, ad},
				{"ad", r, ct, 7, []byte("Header")},
				{"other file", other, ct, 7, ad},
				{"flipped", r, flipped, 7, ad},
				{"truncated", r, ct[:len(ct)-1], 7, ad},
				{"shorter than tag", r, ct[:5], 7, ad},
			}
			for _, b := range bad {
				if _, err := b.s.Open(nil, b.ct, b.ctr, b.ad); !errors.Is(err, ErrAuth) {
					t.Errorf("%s: got %v, want ErrAuth", b.name, err)
				}
			}
		})
	}
}

func TestSealInPlace(t *testing.T) {
	for _, k := range testKeys(t) {
		_, s := k.NewFileSealer()
		buf := make([]byte, 64, 64+s.Overhead())
		copy(buf, "in place")
		want := s.Seal(nil, buf, 1, nil)
		got := s.Seal(buf[:0], buf, 1, nil)
		if !bytes.Equal(got, want) || &got[0] != &buf[0] {
			t.Fatalf("%s: in-place seal differs", k.Cipher())
		}
	}
}

// TestNonceNeverRepeats models how every user of this package writes files:
// a new file, a rewrite (compaction) and a reopen after a crash each take a
// new salt, so writing the same counter again never reuses a (key, nonce)
// pair. With a pair reused, two ciphertexts of equal-length plaintexts would
// XOR to the XOR of the plaintexts; the test checks the salts, and that the
// keystreams differ.
func TestNonceNeverRepeats(t *testing.T) {
	for _, k := range testKeys(t) {
		seen := map[[SaltSize]byte]bool{}
		streams := map[string]bool{}
		zero := make([]byte, 32)
		for gen := 0; gen < 200; gen++ { // create, rewrite, reopen-after-crash ...
			_, s := k.NewFileSealer()
			if seen[s.salt] {
				t.Fatalf("%s: salt repeated at generation %d", k.Cipher(), gen)
			}
			seen[s.salt] = true
			for ctr := uint64(0); ctr < 4; ctr++ { // same counters every generation
				ks := string(s.Seal(nil, zero, ctr, nil)[:32])
				if streams[ks] {
					t.Fatalf("%s: keystream repeated (gen %d counter %d)", k.Cipher(), gen, ctr)
				}
				streams[ks] = true
			}
		}
	}
}

func TestCheck(t *testing.T) {
	keys := testKeys(t)
	salt, s := keys[0].NewFileSealer()
	tag := s.Check()
	again, _ := keys[0].FileSealer(salt)
	if !again.VerifyCheck(tag) {
		t.Fatal("check of the same key and salt failed")
	}
	other, err := OpenKeyFile(t.TempDir(), AES, []byte("another secret"))
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := other.FileSealer(salt)
	if wrong.VerifyCheck(tag) {
		t.Fatal("check passed under another key")
	}
	if _, err := keys[0].FileSealer(salt[:3]); err == nil {
		t.Fatal("short salt accepted")
	}
}

func TestSealZeroAllocs(t *testing.T) {
	for _, k := range testKeys(t) {
		_, s := k.NewFileSealer()
		pt := make([]byte, 1024)
		ct := make([]byte, 0, 2048)
		out := make([]byte, 0, 2048)
		ad := []byte("ad")
		ctr := uint64(0)
		allocs := testing.AllocsPerRun(200, func() {
			ctr++
			c := s.Seal(ct[:0], pt, ctr, ad)
			if _, err := s.Open(out[:0], c, ctr, ad); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per Seal+Open", k.Cipher(), allocs)
		}
	}
}
