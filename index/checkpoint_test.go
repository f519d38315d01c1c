package index

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// testKeys derives an AES-GCM subkey per salt, like the seal package does.
type testKeys struct {
	master [32]byte
	salts  int
}

func (k *testKeys) NewSealer() ([]byte, Sealer) {
	k.salts++
	salt := fmt.Appendf(nil, "salt-%012d", k.salts)
	s, _ := k.Sealer(salt)
	return salt, s
}

func (k *testKeys) Sealer(salt []byte) (Sealer, error) {
	sub := sha256.Sum256(append(k.master[:], salt...))
	block, err := aes.NewCipher(sub[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return gcmSealer{aead}, nil
}

type gcmSealer struct{ aead cipher.AEAD }

func nonce(counter uint64) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[4:], counter)
	return n
}

func (s gcmSealer) Seal(dst, pt []byte, counter uint64, ad []byte) []byte {
	return s.aead.Seal(dst, nonce(counter), pt, ad)
}

func (s gcmSealer) Open(dst, ct []byte, counter uint64, ad []byte) ([]byte, error) {
	return s.aead.Open(dst, nonce(counter), ct, ad)
}

func (s gcmSealer) Overhead() int { return s.aead.Overhead() }

// sampleCheckpoint builds a checkpoint touching every feature of the
// format: subjects sharing prefixes with stale bounds, an empty block, and
// deleted chunks in all three forms.
func sampleCheckpoint() *Checkpoint {
	c := &Checkpoint{
		LastApplied: 12345,
		Totals:      Totals{Msgs: 500, Bytes: 64000, FirstSeq: 1, LastSeq: 300000, FirstTime: -5, LastTime: 1_700_000_000_000_000_000},
		Blocks:      new(Blocks),
		Subjects:    new(Tree),
		Deleted:     new(SeqSet),
		Extra:       []byte("stream=ORDERS"),
	}
	c.Blocks.Append(BlockInfo{ID: 7, First: 1, Last: 100000, FirstTime: 10, LastTime: 99, Msgs: 400, Bytes: 50000})
	c.Blocks.Append(BlockInfo{ID: 8, First: 100001, Last: 100000, FirstTime: 99, LastTime: 99})
	c.Blocks.Append(BlockInfo{ID: 9, First: 100001, Last: 300000, FirstTime: 100, LastTime: 200, Msgs: 100, Bytes: 14000})
	for i := 0; i < 300; i++ {
		c.Subjects.AddMsg(fmt.Sprintf("orders.region%d.customer%d", i%7, 1000+i), uint64(i+1))
	}
	c.Subjects.AddMsg("orders", 400)
	c.Subjects.AddMsg("orders.region1.customer1001", 401)
	c.Subjects.RemoveMsg("orders.region1.customer1001", 2)
	c.Subjects.AddMsg("orders.region2.customer1002", 402)
	c.Subjects.RemoveMsg("orders.region2.customer1002", 402)
	for q := uint64(1000); q < 1200; q += 3 { // array
		c.Deleted.Add(q)
	}
	c.Deleted.AddRange(70000, 200000)                   // runs
	for q := uint64(1 << 20); q < 1<<20+65536; q += 2 { // bitmap
		c.Deleted.Add(q)
	}
	return c
}

func TestCheckpointRoundTrip(t *testing.T) {
	c := sampleCheckpoint()
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			var keys Keys
			if sealed {
				keys = &testKeys{master: [32]byte{1}}
			}
			data, err := c.Encode(nil, keys, []byte("ad"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data, keys, []byte("ad"))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(c) || !c.Equal(got) {
				t.Fatal("decoded checkpoint differs")
			}
			if err := got.Subjects.check(); err != nil {
				t.Fatal(err)
			}
			if err := got.Deleted.check(); err != nil {
				t.Fatal(err)
			}
			if sealed {
				if bytes.Contains(data, []byte("orders")) || bytes.Contains(data, []byte("stream=ORDERS")) {
					t.Fatal("sealed checkpoint shows its subjects")
				}
				// A rewrite takes a fresh subkey and counter.
				again, _ := c.Encode(nil, keys, []byte("ad"))
				if bytes.Equal(again[headerSize:], data[headerSize:]) {
					t.Fatal("two sealed encodings are identical")
				}
			}
		})
	}
}

func TestCheckpointEmpty(t *testing.T) {
	data, err := (&Checkpoint{}).AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(&Checkpoint{}) || got.Subjects.Len() != 0 || got.Blocks.Len() != 0 || got.Deleted.Len() != 0 {
		t.Fatal("empty checkpoint did not decode empty")
	}
}

func TestCheckpointDeterministic(t *testing.T) {
	// The same state reached by different histories (insertion order,
	// deletes that change the set's in-memory forms) encodes identically.
	a := sampleCheckpoint()
	b := sampleCheckpoint()
	b.Subjects = new(Tree)
	var subjects []string
	var states []SubjectState
	a.Subjects.Walk(func(s []byte, st *SubjectState) bool {
		subjects = append(subjects, string(s))
		states = append(states, *st)
		return true
	})
	for _, i := range rand.New(rand.NewPCG(1, 1)).Perm(len(subjects)) {
		p, _ := b.Subjects.Insert(subjects[i])
		*p = states[i]
	}
	b.Subjects.Insert("transient.subject")
	b.Subjects.Delete("transient.subject")
	b.Deleted = new(SeqSet)
	a.Deleted.Ascend(0, func(q uint64) bool { b.Deleted.Add(q); return true })
	b.Deleted.Add(5)
	b.Deleted.Remove(5)

	ea, err := a.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := b.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ea, eb) {
		t.Fatal("equal states encode differently")
	}
	b.Subjects.Lookup("orders").Msgs++
	if eb, _ = b.AppendBinary(nil); bytes.Equal(ea, eb) || a.Equal(b) {
		t.Fatal("different states encode or compare equal")
	}
}

// reseal recomputes the CRC of a clear checkpoint whose header or body a
// test has altered, so that the decoder's own checks are what fails.
func reseal(data []byte) []byte {
	end := len(data) - trailerSize
	binary.LittleEndian.PutUint32(data[end:], crc32.Checksum(data[:end], castagnoli))
	return data
}

func TestCheckpointRejectsDamage(t *testing.T) {
	good, err := sampleCheckpoint().AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Every single-byte flip and every truncation is caught.
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		if _, err := Decode(bad, nil, nil); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flip at %d: err = %v", i, err)
		}
	}
	for n := 0; n < len(good); n += 1 + n/8 {
		if _, err := Decode(good[:n], nil, nil); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: err = %v", n, err)
		}
	}
	tests := []struct {
		name  string
		edit  func([]byte) []byte
		wantE error
	}{
		{"newer version", func(b []byte) []byte { b[4] = formatVersion + 1; return reseal(b) }, ErrVersion},
		{"unknown flag", func(b []byte) []byte { b[5] = 0x80; return reseal(b) }, ErrCorrupt},
		{"body length", func(b []byte) []byte { b[16]++; return reseal(b) }, ErrCorrupt},
		{"trailing garbage", func(b []byte) []byte {
			b = append(b[:len(b)-trailerSize], 0, 0, 0, 0, 0)
			binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])+1)
			return reseal(b)
		}, ErrCorrupt},
		{"section tag", func(b []byte) []byte { b[headerSize] = secBlocks; return reseal(b) }, ErrCorrupt},
		{"section length", func(b []byte) []byte { b[headerSize+1] += 3; return reseal(b) }, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.edit(bytes.Clone(good)), nil, nil); !errors.Is(err, tc.wantE) {
				t.Fatalf("err = %v, want %v", err, tc.wantE)
			}
		})
	}
}

func TestCheckpointSealing(t *testing.T) {
	keys := &testKeys{master: [32]byte{9}}
	c := sampleCheckpoint()
	sealed, err := c.Encode(nil, keys, []byte("stream A"))
	if err != nil {
		t.Fatal(err)
	}
	clear, _ := c.AppendBinary(nil)
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-trailerSize-1] ^= 1
	tests := []struct {
		name string
		data []byte
		keys Keys
		ad   string
	}{
		{"wrong ad (moved to another stream)", sealed, keys, "stream B"},
		{"wrong key", sealed, &testKeys{master: [32]byte{8}}, "stream A"},
		{"no key for a sealed checkpoint", sealed, nil, "stream A"},
		{"clear checkpoint in an encrypted store", clear, keys, "stream A"},
		{"tampered ciphertext with a good CRC", reseal(tampered), keys, "stream A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.data, tc.keys, []byte(tc.ad)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := Decode(sealed, keys, []byte("stream A")); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointRejectsInvalidBlocks(t *testing.T) {
	c := &Checkpoint{Blocks: new(Blocks)}
	c.Blocks.Append(BlockInfo{First: 10, Last: 20})
	c.Blocks.Append(BlockInfo{First: 15, Last: 30})
	if _, err := c.AppendBinary(nil); err == nil {
		t.Fatal("encoded an unordered block table")
	}
}

func TestCheckpointFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.ckp")
	if _, err := ReadFile(path, nil, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
	keys := &testKeys{}
	c := sampleCheckpoint()
	for i := 0; i < 2; i++ {
		c.LastApplied++
		if err := WriteFile(path, c, keys, nil); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path, keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(c) {
			t.Fatalf("write %d: read back a different checkpoint", i)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want just the checkpoint", len(entries))
	}
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 1
	os.WriteFile(path, data, 0o600)
	if _, err := ReadFile(path, keys, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged file: err = %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir"), c, nil, nil); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestRebuiltIndexEncodesIdentically(t *testing.T) {
	// A live index goes through stores and removals; a rebuild replays
	// only the surviving messages in sequence order, as a store does from
	// its blocks. Once the live index's stale bounds are resolved (by a
	// scan, here from the model), both encode to the same bytes.
	r := rand.New(rand.NewPCG(11, 12))
	type msg struct {
		subj  string
		alive bool
	}
	var msgs []msg
	live := &Checkpoint{Subjects: new(Tree), Deleted: new(SeqSet)}
	for seq := uint64(1); seq <= 20000; seq++ {
		s := fmt.Sprintf("kv.b%d.k%d", r.IntN(5), r.IntN(400))
		msgs = append(msgs, msg{s, true})
		live.Subjects.AddMsg(s, seq)
		if r.IntN(3) == 0 { // remove a random earlier message
			victim := 1 + r.Uint64N(seq)
			if m := &msgs[victim-1]; m.alive {
				m.alive = false
				live.Subjects.RemoveMsg(m.subj, victim)
				live.Deleted.Add(victim)
			}
		}
	}
	// Resolve stale bounds the way a store would, by scanning.
	live.Subjects.Walk(func(subj []byte, st *SubjectState) bool {
		if st.FirstStale {
			for q := st.First; ; q++ {
				if m := msgs[q-1]; m.alive && m.subj == string(subj) {
					st.First, st.FirstStale = q, false
					break
				}
			}
		}
		if st.LastStale {
			for q := st.Last; ; q-- {
				if m := msgs[q-1]; m.alive && m.subj == string(subj) {
					st.Last, st.LastStale = q, false
					break
				}
			}
		}
		return true
	})
	rebuilt := &Checkpoint{Subjects: new(Tree), Deleted: new(SeqSet)}
	for i, m := range msgs {
		if m.alive {
			rebuilt.Subjects.AddMsg(m.subj, uint64(i+1))
		} else {
			rebuilt.Deleted.Add(uint64(i + 1))
		}
	}
	a, err := live.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rebuilt.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || !live.Equal(rebuilt) {
		t.Fatal("rebuilt index differs from the live one")
	}
}
