package proto

import "testing"

// FuzzParser feeds arbitrary bytes, whole and split in two, in both modes:
// the parser must never panic, and splitting must not change the outcome.
func FuzzParser(f *testing.F) {
	for _, c := range parseCases {
		f.Add([]byte(c.in), uint16(len(c.in)/2))
	}
	f.Add([]byte("PUB a 5\r\nhel"), uint16(3))
	f.Add([]byte("HPUB a 2 1\r\n"), uint16(1))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		for _, mode := range []Mode{ServerMode, ClientMode} {
			whole := &recorder{}
			pw := New(mode, whole)
			pw.MaxPayload, pw.MaxControlLine, pw.Headers = 4096, 1024, true
			errWhole := pw.Parse(in)

			k := int(cut) % (len(in) + 1)
			split := &recorder{}
			ps := New(mode, split)
			ps.MaxPayload, ps.MaxControlLine, ps.Headers = 4096, 1024, true
			errSplit := ps.Parse(in[:k])
			if errSplit == nil {
				errSplit = ps.Parse(in[k:])
			}
			if (errWhole == nil) != (errSplit == nil) {
				// The control-line limit is checked when a line is split
				// as well, so it may fire earlier; nothing else may differ.
				if errWhole != ErrMaxControlLine && errSplit != ErrMaxControlLine {
					t.Fatalf("whole err %v, split err %v", errWhole, errSplit)
				}
				continue
			}
			if errWhole == nil && len(whole.out) != len(split.out) {
				t.Fatalf("whole %q\nsplit %q", whole.out, split.out)
			}
		}
	})
}
