package wal

import (
	"bytes"
	"testing"
)

// segmentOf builds segment bytes holding the given records from index 1.
func segmentBytes(recs ...[]byte) []byte {
	var seg []byte
	for i, r := range recs {
		f := appendFrameHeader(nil, kindPlain, len(r), uint64(i+1))
		f = append(f, r...)
		finishFrame(f)
		seg = append(seg, byte(len(f))) // all seeds are short: one-byte uvarint
		seg = append(seg, f...)
	}
	return seg
}

// FuzzRecord feeds arbitrary bytes to the record decoder and the segment
// scanner (what recovery runs on every segment): no panic, no allocation
// driven by a length read from the input, and results that stay inside the
// data. Appending the input after valid records must keep those records.
func FuzzRecord(f *testing.F) {
	good := segmentBytes([]byte("alpha"), []byte("beta"), []byte(""), []byte("gamma"))
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	flipped := bytes.Clone(good)
	flipped[20] ^= 1
	f.Add(flipped)
	f.Add(appendPlaceholders(nil, 1, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeFrame(data, maxFrameBody)
		for _, start := range []uint64{1, 1 << 63} {
			s := scanSegment(data, start, maxFrameBody)
			checkScan(t, s, len(data))
		}
		// Valid records followed by the input: the records survive.
		prefix := segmentBytes([]byte("one"), []byte("two"))
		s := scanSegment(append(bytes.Clone(prefix), data...), 1, maxFrameBody)
		checkScan(t, s, len(prefix)+len(data))
		if s.end < len(prefix) || s.count < 2 || (len(s.holes) > 0 && s.holes[0].off < len(prefix)) {
			t.Fatalf("input after valid records damaged them: %+v", s)
		}
	})
}

func checkScan(t *testing.T, s segScan, n int) {
	t.Helper()
	if s.end < 0 || s.end > n || s.size != n {
		t.Fatalf("end %d size %d of %d bytes", s.end, s.size, n)
	}
	prev := 0
	for _, h := range s.holes {
		if h.off < prev || h.end <= h.off || h.end > s.end {
			t.Fatalf("hole %+v outside [%d,%d]", h, prev, s.end)
		}
		prev = h.end
	}
	if uint64(s.plain+s.sealed+s.damaged+s.scrubbed) > s.count {
		t.Fatalf("%d valid records but count %d", s.plain+s.sealed+s.damaged, s.count)
	}
}

// FuzzEpochs feeds arbitrary bytes to the EPOCHS decoder: errors, never a
// panic, never an allocation beyond what the input can hold; and what it
// accepts encodes back to the same bytes.
func FuzzEpochs(f *testing.F) {
	f.Add(encodeEpochs(2, []epochEntryT{{id: 1}, {id: 7}}))
	f.Add(encodeEpochs(1, nil))
	f.Add([]byte("KWEP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, list, err := decodeEpochs(data)
		if err != nil {
			return
		}
		if len(list)*epochEntry > len(data) {
			t.Fatalf("%d entries from %d bytes", len(list), len(data))
		}
		if !bytes.Equal(encodeEpochs(c, list), data) {
			t.Fatal("accepted bytes do not round-trip")
		}
	})
}
