package blockstore

import (
	"bytes"
	"os"
	"testing"

	"github.com/keelhq/keel/seal"
)

// Fuzz targets for every decoder of on-disk data blockstore owns. Damaged
// input must give an error, never a panic, and allocation stays bounded by
// a small multiple of the input (the decoders never trust a length field
// for an allocation beyond the bytes actually present).

var fuzzKey = func() *seal.Key {
	dir, err := os.MkdirTemp("", "keel-fuzz-key")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir) // the key stays in memory
	k, err := seal.OpenKeyFile(dir, seal.AES, []byte("fuzzing secret, long enough to be a key"))
	if err != nil {
		panic(err)
	}
	return k
}()

// blockImage builds a valid block file image for the seed corpus.
func blockImage(key *seal.Key, compress, tail bool) []byte {
	h, rc := newBlockHeader(key, compress, 1, 1, 1)
	img := h.encode()
	var plain []byte
	plain = appendMsgRecord(plain[:0], 1, 10, 0, "a.b", nil, []byte("hello"))
	img = rc.encode(img, plain, uint64(len(img)))
	plain = appendMsgRecord(plain[:0], 2, 11, 5, "a.c", []byte("NATS/1.0\r\n\r\n"), bytes.Repeat([]byte("z"), 600))
	img = rc.encode(img, plain, uint64(len(img)))
	plain = appendTombRecord(plain[:0], 1, "a.b", 0, 5)
	img = rc.encode(img, plain, uint64(len(img)))
	if tail {
		// A message last: a sealed record's plaintext is shorter than
		// what is stored, a compressed one's longer (here a header that
		// compresses to less than itself), and the decoder must use the
		// plaintext's own length.
		plain = appendMsgRecord(plain[:0], 3, 12, 0, "a.d", bytes.Repeat([]byte("h"), 900), []byte("tail"))
		img = rc.encode(img, plain, uint64(len(img)))
	}
	return img
}

// grownBlockImage is the shape of the input that panicked in encrypted
// crash runs: a sealed, compressed block whose first message decodes to
// more than the whole file (so the plaintext buffer is reallocated to
// about the size needed) followed by a small sealed message, whose stored
// length then reaches beyond the buffer.
func grownBlockImage() []byte {
	h := blockHeader{stream: 1, block: 1, first: 1, flags: blkFlagS2 | blkFlagSealed}
	salt, s := fuzzKey.NewFileSealer()
	copy(h.salt[:], salt)
	copy(h.check[:], s.Check())
	rc := recCodec{compress: true, sealer: s}
	img := h.encode()
	plain := appendMsgRecord(nil, 1, 10, 0, "a.b", nil, bytes.Repeat([]byte("q"), 633))
	img = rc.encode(img, plain, uint64(len(img)))
	plain = appendMsgRecord(plain[:0], 2, 10, 0, "a.b", nil, []byte("xy"))
	return rc.encode(img, plain, uint64(len(img)))
}

// TestDecodeBlockMessageLast decodes blocks whose last record is a sealed
// or compressed message: the decoder once sliced the plaintext with the
// stored length and panicked (or refused a valid compressed record).
func TestDecodeBlockMessageLast(t *testing.T) {
	for _, tc := range []struct {
		name     string
		key      *seal.Key
		compress bool
	}{
		{"plain", nil, false},
		{"s2", nil, true},
		{"sealed", fuzzKey, false},
		{"sealed s2", fuzzKey, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.key != nil && tc.compress {
				bf, err := decodeBlockFile(grownBlockImage(), tc.key, 1, 1)
				if err != nil || len(bf.data.seqs) != 2 || len(bf.damaged) != 0 {
					t.Fatalf("grown block: %v, messages %v", err, bf.data.seqs)
				}
			}
			bf, err := decodeBlockFile(blockImage(tc.key, tc.compress, true), tc.key, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(bf.damaged) != 0 || len(bf.data.seqs) != 3 {
				t.Fatalf("decoded messages %v, damage at %v", bf.data.seqs, bf.damaged)
			}
			m, err := bf.data.fill(3, nil)
			if err != nil || string(m.Data) != "tail" || len(m.Header) != 900 {
				t.Fatalf("message 3: %v %v", m, err)
			}
		})
	}
}

func FuzzBlock(f *testing.F) {
	f.Add(blockImage(nil, false, false), false)
	f.Add(blockImage(nil, true, false), false)
	f.Add(blockImage(fuzzKey, true, false), true)
	// The input of a panic seen in encrypted crash runs: a sealed block
	// whose last record is a message.
	f.Add(blockImage(fuzzKey, false, true), true)
	f.Add(blockImage(fuzzKey, true, true), true)
	f.Add(blockImage(nil, true, true), false)
	f.Add(grownBlockImage(), true)
	lost := blockImage(nil, false, false)
	lost = appendLostRecord(lost, 4, 13, 0, "a.e", 2, 700)
	f.Add(lost, false)
	img := blockImage(nil, false, false)
	img[len(img)/2] ^= 0xff
	f.Add(img, false)
	f.Fuzz(func(t *testing.T, raw []byte, keyed bool) {
		var key *seal.Key
		if keyed {
			key = fuzzKey
		}
		bf, err := decodeBlockFile(raw, key, 1, 1)
		if err != nil {
			return
		}
		// Whatever decoded must be readable back.
		for _, q := range bf.data.seqs {
			bf.data.fill(q, nil)
		}
		for _, r := range bf.records {
			if r.kind == kindTomb {
				rec := bf.data.buf[r.mem:]
				decodeTombBody(rec[recHeadSize : 6+int(recLen(rec))-4])
			}
		}
		if int64(len(bf.data.buf)) > int64(maxS2Ratio)*int64(len(raw))+1024 {
			t.Fatalf("decoded %d bytes from %d", len(bf.data.buf), len(raw))
		}
	})
}

func FuzzCommand(f *testing.F) {
	cfg := Config{Name: "S", MaxMsgs: 10, MaxAge: 5, Discard: DiscardNew, AllowMsgTTL: true}
	for _, c := range []Command{
		{Op: OpStore, Seq: 3, Subject: "a", Header: []byte("h"), Data: []byte("d"), Time: 9, TTL: -1},
		{Op: OpPurge, Subject: "a.*", Keep: 4},
		{Op: OpConfig, Config: &cfg},
		{Op: OpSetAux, Key: "k", Data: []byte("v")},
	} {
		f.Add(encodeCommand(nil, 7, 42, &c, nil))
	}
	f.Add(encodeCommand(nil, 7, 43, &Command{Op: OpStore, Seq: 4, Subject: "big"}, &extRef{block: 2, offset: 80, length: 9000, crc: 1}))
	batch := appendBatchHead(nil, 7, 2)
	batch = appendBytes(batch, encodeCommand(nil, 7, 44, &Command{Op: OpStore, Seq: 5, Subject: "a"}, nil))
	batch = appendBytes(batch, encodeCommand(nil, 7, 45, &Command{Op: OpSetAux, Key: "k", Data: []byte("v")}, nil))
	f.Add(batch)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if isBatch(raw) {
			// A batch decodes whole or not at all.
			n := 0
			_, err := decodeBatch(raw, func([]byte) error { n++; return nil })
			if err != nil && n > 0 {
				t.Fatalf("a batch that fails to decode gave %d commands", n)
			}
			return
		}
		var wc walCmd
		if err := decodeCommand(raw, &wc); err != nil {
			return
		}
		// A decoded command encodes to the same bytes.
		again := encodeCommand(nil, wc.stream, wc.cmd.Index, &wc.cmd, wc.ext)
		var wc2 walCmd
		if err := decodeCommand(again, &wc2); err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
	})
}

func FuzzSnapshot(f *testing.F) {
	s, _ := NewMemoryStream(Config{Name: "F", AllowMsgTTL: true})
	for i := 0; i < 5; i++ {
		s.Apply(&Command{Op: OpStore, Subject: "f.x", Data: []byte("data"), Time: int64(i + 1), TTL: int64(i)})
	}
	s.Apply(&Command{Op: OpRemove, Seq: 2})
	s.Apply(&Command{Op: OpSetAux, Key: "c", Data: []byte("x")})
	var buf bytes.Buffer
	s.Snapshot(&buf)
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()/2])
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := RestoreMemoryStream("F", bytes.NewReader(raw))
		if err != nil {
			return
		}
		r.State()
	})
}

func FuzzState(f *testing.F) {
	st := &streamState{gen: 3, id: 1, name: "S", cfg: Config{Name: "S"}, applied: 5, first: 1, last: 4,
		activeID: 2, activeEnd: 900, nextID: 3, dead: []deadBlock{{id: 1}, {id: 5, abandoned: true}}, cuts: []blockCut{{id: 2, end: 100}},
		aux: map[string][]byte{"a": []byte("b")}}
	f.Add(encodeStateFile(st, nil), false)
	f.Add(encodeStateFile(st, fuzzKey), true)
	f.Fuzz(func(t *testing.T, raw []byte, keyed bool) {
		var key *seal.Key
		if keyed {
			key = fuzzKey
		}
		decodeStateFile(raw, key)
	})
}
