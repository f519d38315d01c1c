package wal

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestTidwallLayout fails when a tidwall/wal upgrade changes the layout
// presizeTail relies on; the log would still work, without presizing.
func TestTidwallLayout(t *testing.T) {
	if !twLayoutOK {
		t.Fatal("tidwall/wal's private layout differs from the mirror: presizing is off; update tidwall_tail.go")
	}
	type other struct {
		path  string
		index uint32
	}
	if sameLayout(reflect.TypeFor[twSegmentMirror](), reflect.TypeFor[other](), true) {
		t.Fatal("sameLayout accepted a different struct")
	}
	type short struct {
		path  string
		index uint64
		ebuf  []byte
	}
	if sameLayout(reflect.TypeFor[twSegmentMirror](), reflect.TypeFor[short](), false) {
		t.Fatal("sameLayout accepted a partial nested struct")
	}
}

// TestPresizeTail: after segment changes and a reopen, the tail buffer has
// room for a whole segment, and records stay intact.
func TestPresizeTail(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 16 << 10}
	l := mustOpen(t, dir, o)
	appendN(t, l, 1, 300)
	l.Sync()
	tailCap := func() int {
		l.wmu.Lock()
		defer l.wmu.Unlock()
		segs := (*twLogMirror)(unsafe.Pointer(l.tw)).segments
		return cap(segs[len(segs)-1].ebuf)
	}
	if len(l.starts) < 3 || tailCap() < o.SegmentSize {
		t.Fatalf("%d segments, tail capacity %d", len(l.starts), tailCap())
	}
	l.Close()
	l = mustOpen(t, dir, o)
	defer l.Close()
	if tailCap() < o.SegmentSize {
		t.Fatalf("after reopen: tail capacity %d", tailCap())
	}
	checkRecords(t, l, 1, 300)
}
