package wal

import (
	"reflect"
	"sync"
	"unsafe"

	twal "github.com/tidwall/wal"
)

// tidwall/wal keeps its tail segment in one []byte and appends every entry
// to it. A new segment starts with a nil buffer, so Go grows it by a quarter
// at a time: about five bytes allocated and four copied per byte written,
// which measured as half of the time of 16 KB appends and a third of 128 B
// ones. presizeTail gives the tail buffer its final capacity instead.
//
// tidwall offers no hook for this, so presizeTail reaches the buffer through
// a mirror of tidwall's private layout. twLayoutOK checks that mirror
// against the real types (field names, offsets, sizes and kinds) once at
// start-up; on any difference, presizing stays off and the log works as
// before, only slower. go.sum pins tidwall/wal v1.2.1, for which it holds.

type twLogMirror struct {
	mu       sync.RWMutex
	path     string
	opts     twal.Options
	closed   bool
	corrupt  bool
	segments []*twSegmentMirror
}

type twSegmentMirror struct {
	path  string
	index uint64
	ebuf  []byte
	epos  []struct{ pos, end int }
}

var twLayoutOK = sameLayout(reflect.TypeFor[twal.Log](), reflect.TypeFor[twLogMirror](), true)

// sameLayout reports whether real has exactly mirror's layout (field names,
// offsets, sizes, kinds), recursively through pointers, slices and structs.
// With prefix, mirror may cover only real's leading fields.
func sameLayout(real, mirror reflect.Type, prefix bool) bool {
	if real.Kind() != mirror.Kind() {
		return false
	}
	if real.Size() != mirror.Size() && !(prefix && mirror.Size() <= real.Size()) {
		return false
	}
	switch mirror.Kind() {
	case reflect.Struct:
		if real == mirror {
			return true
		}
		if real.NumField() < mirror.NumField() || (!prefix && real.NumField() != mirror.NumField()) {
			return false
		}
		for i := range mirror.NumField() {
			rf, mf := real.Field(i), mirror.Field(i)
			if rf.Name != mf.Name || rf.Offset != mf.Offset || !sameLayout(rf.Type, mf.Type, false) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Slice:
		return sameLayout(real.Elem(), mirror.Elem(), false)
	}
	return real == mirror
}

// presizeTail gives tidwall's tail segment buffer room for a whole segment.
// The caller holds wmu and readMu, so no tidwall call runs meanwhile. Slices
// that Read handed out (NoCopy) keep pointing at the old array, whose bytes
// never change.
func (l *Log) presizeTail() {
	if !twLayoutOK {
		return
	}
	tl := (*twLogMirror)(unsafe.Pointer(l.tw))
	if len(tl.segments) == 0 {
		return
	}
	s := tl.segments[len(tl.segments)-1]
	want := l.opts.SegmentSize + l.opts.SegmentSize/4
	if cap(s.ebuf) >= want || len(s.ebuf) >= want {
		return
	}
	b := make([]byte, len(s.ebuf), want)
	copy(b, s.ebuf)
	s.ebuf = b
}
