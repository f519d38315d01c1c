package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keelhq/keel/seal"
)

// TestNoPlaintextOnDisk writes recognisable payloads with encryption on and
// greps every file the log leaves for them.
func TestNoPlaintextOnDisk(t *testing.T) {
	marker := []byte("TOP-SECRET-PAYLOAD")
	for _, c := range []seal.Cipher{seal.AES, seal.ChaCha} {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Key: testKey(t, c), SegmentSize: 4096}
			l := mustOpen(t, dir, o)
			for i := range 200 {
				rec := append(bytes.Repeat(marker, 1+i%3), byte(i))
				if _, err := l.Append(rec); err != nil {
					t.Fatal(err)
				}
			}
			l.Sync()
			if err := l.TruncateFront(50); err != nil { // rewrites a segment
				t.Fatal(err)
			}
			l.Close()
			l = mustOpen(t, dir, o)
			data, err := l.Read(100, nil)
			l.Close()
			if err != nil || !bytes.HasPrefix(data, marker) {
				t.Fatalf("read back: %q %v", data, err)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				if bytes.Contains(b, marker) || bytes.Contains(b, marker[:8]) {
					t.Fatalf("%s holds plaintext", e.Name())
				}
			}
		})
	}
}

func TestWrongKey(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Key: testKey(t, seal.AES)})
	appendN(t, l, 1, 3)
	l.Close()
	if _, err := Open(dir, Options{Key: testKey(t, seal.AES)}); !errors.Is(err, seal.ErrBadKey) {
		t.Fatalf("another key: %v", err)
	}
	if _, err := Open(dir, Options{Key: testKey(t, seal.ChaCha)}); !errors.Is(err, seal.ErrCipherMismatch) {
		t.Fatalf("another cipher: %v", err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
	os.Remove(filepath.Join(dir, epochsFile))
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("epochs lost: %v", err)
	}
}

// TestEncryptionTurnedOn: a plaintext log opened with a key keeps its old
// records readable and seals the new ones.
func TestEncryptionTurnedOn(t *testing.T) {
	dir := buildLog(t, Options{}, 10)
	k := testKey(t, seal.AES)
	l := mustOpen(t, dir, Options{Key: k})
	appendN(t, l, 11, 20)
	l.Close()
	l = mustOpen(t, dir, Options{Key: k})
	checkRecords(t, l, 1, 20)
	l.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
}

// sealedUse is one sealed record seen on disk: the subkey's salt, the nonce
// counter, and the ciphertext.
type sealedUse struct {
	salt    [seal.SaltSize]byte
	counter uint64
}

// diskNonces returns every (salt, counter) -> ciphertext the directory
// holds, mapping each record's epoch to its salt through EPOCHS.
func diskNonces(t *testing.T, dir string, into map[sealedUse]string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, epochsFile))
	if err != nil {
		t.Fatal(err)
	}
	_, list, err := decodeEpochs(raw)
	if err != nil {
		t.Fatal(err)
	}
	salts := map[uint32][seal.SaltSize]byte{}
	for _, e := range list {
		salts[e.id] = e.salt
	}
	for _, seg := range segments(t, dir) {
		data, _ := os.ReadFile(seg)
		for pos := 0; pos < len(data); {
			f, next, ok := entryAt(data, pos, maxFrameBody)
			if !ok {
				break // a torn tail the next Open cuts
			}
			pos = next
			if f.kind != kindSealed {
				continue
			}
			salt, ok := salts[binary.LittleEndian.Uint32(f.body)]
			if !ok {
				t.Fatalf("record %d: epoch not in EPOCHS", f.index)
			}
			u := sealedUse{salt, f.index}
			ct := string(f.body[epochSize:])
			if prev, ok := into[u]; ok && prev != ct {
				t.Fatalf("nonce reused: counter %d under one subkey sealed two different records", f.index)
			}
			into[u] = ct
		}
	}
}

// TestNonceUniqueness drives a log through crashes that cut the tail (so
// indexes are written again), truncations and reopens, and checks on disk
// after every step that no (subkey, nonce) pair ever sealed two different
// records.
func TestNonceUniqueness(t *testing.T) {
	dir := t.TempDir()
	o := Options{Key: testKey(t, seal.ChaCha), SegmentSize: 2048}
	uses := map[sealedUse]string{}
	next := uint64(1)
	for round := range 12 {
		l := mustOpen(t, dir, o)
		if l.LastIndex() != next-1 {
			t.Fatalf("round %d: last %d, want %d", round, l.LastIndex(), next-1)
		}
		for i := 0; i < 15; i++ {
			// Different content from earlier rounds at the same index.
			if _, err := l.Append([]byte{byte(round), byte(i), 'x'}); err != nil {
				t.Fatal(err)
			}
		}
		if round%4 == 3 {
			l.Sync()
			if err := l.TruncateFront(l.LastIndex() - 5); err != nil {
				t.Fatal(err)
			}
		}
		l.Close()
		next += 15
		diskNonces(t, dir, uses)
		// Crash: the last 5 records were torn away; the next run writes
		// those indexes again.
		segs := segments(t, dir)
		tail := segs[len(segs)-1]
		offs := entryOffsets(t, tail)
		if len(offs) > 5 {
			os.Truncate(tail, int64(offs[len(offs)-6])+3)
			next -= 5
		}
	}
	if len(uses) < 100 {
		t.Fatalf("only %d sealed records observed", len(uses))
	}
}
