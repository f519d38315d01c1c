package server

import (
	"bytes"
	"testing"
)

func queued(o *outbound) []byte {
	var b []byte
	for _, ch := range o.q {
		b = append(b, ch...)
	}
	return b
}

// TestOutboundPartialWrite: after a partial write the unwritten tail goes
// back in front of what was queued meanwhile, in order, and sizes add up.
func TestOutboundPartialWrite(t *testing.T) {
	for _, written := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 7, 3 * chunkSize} {
		var o outbound
		a := bytes.Repeat([]byte("abcdefg"), (3*chunkSize)/7+5) // spans 4 chunks
		o.appendLocked(a)
		if o.size != len(a) || !bytes.Equal(queued(&o), a) {
			t.Fatalf("append: size %d", o.size)
		}
		q := o.takeLocked()
		if o.size != 0 || o.inflight != len(a) || !o.writing {
			t.Fatalf("take: size %d inflight %d", o.size, o.inflight)
		}
		b := []byte("queued meanwhile")
		o.appendLocked(b)
		rest := unwritten(q, written)
		o.releaseLocked(q, rest)
		want := append(append([]byte(nil), a[written:]...), b...)
		if got := queued(&o); !bytes.Equal(got, want) {
			t.Fatalf("written %d: queue has %d bytes, want %d", written, len(got), len(want))
		}
		if o.size != len(want) || o.inflight != 0 || o.writing {
			t.Fatalf("written %d: size %d, want %d", written, o.size, len(want))
		}
		// Appending after the merge still lands at the end.
		o.appendLocked([]byte("!"))
		if got := queued(&o); got[len(got)-1] != '!' || len(got) != len(want)+1 {
			t.Fatal("append after merge out of order")
		}
	}
}

func TestOutboundFullWriteRecyclesChunks(t *testing.T) {
	var o outbound
	o.appendLocked(make([]byte, 2*chunkSize+10))
	if len(o.q) != 3 {
		t.Fatalf("%d chunks", len(o.q))
	}
	q := o.takeLocked()
	o.releaseLocked(q, unwritten(q, 2*chunkSize+10))
	if o.size != 0 || len(o.q) != 0 {
		t.Fatalf("size %d, %d chunks left", o.size, len(o.q))
	}
	if raceEnabled {
		return // sync.Pool drops items under the race detector
	}
	if a := testing.AllocsPerRun(100, func() {
		o.appendLocked(make([]byte, 100)[:100])
		q := o.takeLocked()
		o.releaseLocked(q, nil)
	}); a > 0 {
		t.Errorf("append/take/release allocates %.1f per round", a)
	}
}
