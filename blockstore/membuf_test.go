package blockstore

import (
	"bytes"
	"fmt"
	"testing"
)

func TestBlockDataReserveTrim(t *testing.T) {
	const limit = 1 << 20
	cases := []struct {
		name     string
		len, cap int // buffer before
		n        int // reserve(n)
		min, max int // capacity after
	}{
		{"first record", 0, 0, 100, minBlockBuf, minBlockBuf},
		{"fits", 10, 600, 500, 600, 600},
		{"doubles", 600, 600, 100, 1200, 1200},
		{"record larger than double", 600, 600, 5000, 5600, 5600},
		{"stops at the limit", 700 << 10, 700 << 10, 100, limit, limit},
		{"record past the limit", limit, limit, 4096, limit + 4096, limit + 4096},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &blockData{buf: make([]byte, tc.len, tc.cap)}
			for i := range d.buf {
				d.buf[i] = byte(i)
			}
			want := bytes.Clone(d.buf)
			d.reserve(tc.n, limit)
			if c := cap(d.buf); c < tc.min || c > tc.max || c-len(d.buf) < tc.n {
				t.Fatalf("cap %d after reserve(%d), want %d..%d", c, tc.n, tc.min, tc.max)
			}
			if !bytes.Equal(d.buf, want) {
				t.Fatal("content changed")
			}
		})
	}
	for _, tc := range []struct {
		len, cap int
		trimmed  bool
	}{
		{100, 512, false},                   // small: not worth a copy
		{1 << 20, 2 << 20, false},           // grown by doubling
		{100, 8 << 20, true},                // sized for a block, then idle
		{4 << 20, 8<<20 + 64<<10 + 1, true}, // more spare than content and slack
	} {
		d := &blockData{buf: make([]byte, tc.len, tc.cap)}
		d.trim()
		if got := cap(d.buf) == tc.len; got != tc.trimmed || len(d.buf) != tc.len {
			t.Errorf("trim of %d/%d: cap %d, want trimmed=%v", tc.len, tc.cap, cap(d.buf), tc.trimmed)
		}
	}
}

// TestIdleStreamMemory: a stream's buffers follow its writes: small for
// a stream with one message, sized for a block while it fills blocks,
// given back once it is idle for a checkpoint.
func TestIdleStreamMemory(t *testing.T) {
	e := openTestEngine(t, t.TempDir(), quietOpts())
	defer e.Close()
	activeCap := func(s Stream) (buf, pend int) {
		fs := s.(*fileStream)
		fs.mu.Lock()
		defer fs.mu.Unlock()
		b := fs.be.active
		if b.sf != nil {
			b.sf.pmu.Lock()
			pend = cap(b.sf.pend) + cap(b.sf.spare)
			b.sf.pmu.Unlock()
		}
		return cap(b.data.buf), pend
	}
	one, _ := e.CreateStream(Config{Name: "one"})
	one.Apply(&Command{Op: OpStore, Subject: "kv.key", Data: make([]byte, 128), Time: 1})
	if c, _ := activeCap(one); c > minBlockBuf {
		t.Errorf("a stream with one message holds a %d-byte buffer", c)
	}

	busy, _ := e.CreateStream(Config{Name: "busy", BlockSize: 1 << 20})
	small, large := make([]byte, 100), make([]byte, 4096)
	activeID := func() uint64 {
		fs := busy.(*fileStream)
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return fs.be.active.id
	}
	// A block of small messages, then a few in the next block (sized for
	// a whole one).
	var seq uint64
	for first := uint64(0); ; {
		r, err := busy.Apply(&Command{Op: OpStore, Subject: "s", Data: small, Time: int64(seq + 1)})
		if err != nil {
			t.Fatal(err)
		}
		seq = r.Seq
		if first == 0 {
			first = activeID()
		} else if activeID() != first {
			break
		}
	}
	for i := 0; i < 10; i++ { // large ones: pending writes
		busy.Apply(&Command{Op: OpStore, Subject: "s", Data: large, Time: 30000})
	}
	bufBusy, pendBusy := activeCap(busy)
	if bufBusy < 256<<10 || pendBusy == 0 {
		t.Fatalf("busy stream: buffer %d, pending buffers %d; want a block-sized buffer and pending buffers", bufBusy, pendBusy)
	}
	for i := 0; i < 2; i++ { // the first one commits the writes, the second finds the stream idle
		if err := e.checkpoint(false); err != nil {
			t.Fatal(err)
		}
	}
	buf, pend := activeCap(busy)
	if buf > bufBusy/4 || pend != 0 {
		t.Fatalf("idle stream keeps a %d-byte buffer (was %d) and %d bytes of pending buffers", buf, bufBusy, pend)
	}
	// Everything still reads back, and writing resumes.
	for _, seq := range []uint64{1, seq, seq + 10} {
		if _, err := busy.LoadMsg(seq, nil); err != nil {
			t.Fatalf("load %d after trim: %v", seq, err)
		}
	}
	if _, err := busy.Apply(&Command{Op: OpStore, Subject: "s", Data: large, Time: 30001}); err != nil {
		t.Fatal(fmt.Errorf("store after trim: %w", err))
	}
}
