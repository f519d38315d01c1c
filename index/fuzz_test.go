package index

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"sort"
	"testing"
)

// wrapBody frames body as a clear checkpoint with a valid header and CRC,
// so the fuzzer reaches the section decoders instead of the checksum.
func wrapBody(body []byte) []byte {
	b := make([]byte, headerSize, headerSize+len(body)+trailerSize)
	copy(b, magic)
	b[4] = formatVersion
	binary.LittleEndian.PutUint64(b[16:], uint64(len(body)))
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func FuzzCheckpoint(f *testing.F) {
	good, _ := sampleCheckpoint().AppendBinary(nil)
	empty, _ := (&Checkpoint{}).AppendBinary(nil)
	sealed, _ := sampleCheckpoint().Encode(nil, &testKeys{}, nil)
	for _, seed := range [][]byte{good, empty, sealed, good[headerSize : len(good)-trailerSize], nil, []byte(magic)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, wrapBody(data)} {
			c, err := Decode(in, nil, nil)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
					t.Fatalf("error %v wraps neither ErrCorrupt nor ErrVersion", err)
				}
				continue
			}
			if err := c.Subjects.check(); err != nil {
				t.Fatalf("decoded tree: %v", err)
			}
			if err := c.Deleted.check(); err != nil {
				t.Fatalf("decoded set: %v", err)
			}
			// Whatever decodes re-encodes canonically and reads back equal.
			enc, err := c.AppendBinary(nil)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			c2, err := Decode(enc, nil, nil)
			if err != nil {
				t.Fatalf("decode of re-encoding: %v", err)
			}
			if !c2.Equal(c) {
				t.Fatal("re-encoding reads back different")
			}
			if enc2, _ := c2.AppendBinary(nil); !slices.Equal(enc, enc2) {
				t.Fatal("encoding is not canonical")
			}
		}
	})
}

// fuzzSubject maps raw bytes onto a small alphabet, wildcards and dots
// included, so that subjects and filters collide and nest often.
func fuzzSubject(b []byte) string {
	const alphabet = "ab.c*>"
	s := make([]byte, len(b))
	for i, c := range b {
		s[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(s)
}

func FuzzSubjectTree(f *testing.F) {
	f.Add([]byte{0, 3, 0, 1, 0, 0, 3, 0, 1, 3, 3, 2, 0, 2, 2, 3, 0, 1, 0})
	f.Add([]byte{0, 5, 0, 2, 1, 2, 3, 1, 3, 0, 2, 1, 3, 1, 5, 2, 5, 0, 2, 1, 2, 3, 3, 0})
	f.Add([]byte{0, 0, 1, 1, 0, 2, 1, 2, 2, 1, 1, 3, 1, 5})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var tr Tree
		model := map[string]uint64{}
		for len(ops) >= 2 {
			op, n := ops[0], min(int(ops[1])%12, len(ops)-2)
			s := fuzzSubject(ops[2 : 2+n])
			ops = ops[2+n:]
			switch op % 4 {
			case 0, 1:
				st, created := tr.Insert(s)
				if _, had := model[s]; created == had {
					t.Fatalf("Insert(%q) created=%v, model had=%v", s, created, had)
				}
				st.Msgs++
				model[s] = st.Msgs
			case 2:
				st, ok := tr.Delete(s)
				if want, had := model[s]; ok != had || st.Msgs != want {
					t.Fatalf("Delete(%q) = %d %v, model %d %v", s, st.Msgs, ok, want, had)
				}
				delete(model, s)
			case 3:
				var want, got []string
				for k := range model {
					if matchModel(s, k) {
						want = append(want, k)
					}
				}
				sort.Strings(want)
				tr.Match(s, func(b []byte, st *SubjectState) bool {
					if st.Msgs != model[string(b)] {
						t.Fatalf("Match(%q): %q has Msgs %d, model %d", s, b, st.Msgs, model[string(b)])
					}
					got = append(got, string(b))
					return true
				})
				if !slices.Equal(got, want) {
					t.Fatalf("Match(%q) = %q, model %q", s, got, want)
				}
			}
			if err := tr.check(); err != nil {
				t.Fatal(err)
			}
		}
		if tr.Len() != len(model) {
			t.Fatalf("Len %d, model %d", tr.Len(), len(model))
		}
		for k, v := range model {
			if st := tr.Lookup(k); st == nil || st.Msgs != v {
				t.Fatalf("Lookup(%q) = %v, model %d", k, st, v)
			}
		}
	})
}

func FuzzSeqSet(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 0, 0, 1, 3, 4, 0, 1, 0, 2, 0, 1, 2})
	f.Add([]byte{2, 1, 0, 0, 200, 3, 1, 0, 50, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var s SeqSet
		model := map[uint64]bool{}
		for len(ops) >= 5 {
			op := ops[0]
			x := uint64(ops[1]%4)<<16 | uint64(ops[2])<<8 | uint64(ops[3])
			hi := x + uint64(ops[4])*uint64(ops[4])
			ops = ops[5:]
			switch op % 5 {
			case 0:
				if s.Add(x) == model[x] {
					t.Fatalf("Add(%d) disagrees with model", x)
				}
				model[x] = true
			case 1:
				if s.Remove(x) != model[x] {
					t.Fatalf("Remove(%d) disagrees with model", x)
				}
				delete(model, x)
			case 2, 3:
				var n uint64
				for q := x; q <= hi; q++ {
					if model[q] != (op%5 == 2) {
						n++
					}
					model[q] = op%5 == 2
					if !model[q] {
						delete(model, q)
					}
				}
				var got uint64
				if op%5 == 2 {
					got = s.AddRange(x, hi)
				} else {
					got = s.RemoveRange(x, hi)
				}
				if got != n {
					t.Fatalf("range op %d [%d,%d] changed %d, model %d", op%5, x, hi, got, n)
				}
			case 4:
				var n uint64
				for q := range model {
					if q >= x && q <= hi {
						n++
					}
				}
				if got := s.CountRange(x, hi); got != n {
					t.Fatalf("CountRange(%d,%d) = %d, model %d", x, hi, got, n)
				}
			}
			if err := s.check(); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := s.AppendTo(nil), sortedKeys(model); !slices.Equal(got, want) {
			t.Fatalf("content differs: %d vs model %d values", len(got), len(want))
		}
	})
}
