package wal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keelhq/keel/seal"
)

// payload is record i's content: its size varies and it names its index.
func payload(i uint64) []byte {
	p := fmt.Appendf(nil, "record-%d|", i)
	return append(p, bytes.Repeat([]byte{byte('a' + i%26)}, int(i*37%300))...)
}

// testLogger collects what the log reports.
type testLogger struct {
	mu    sync.Mutex
	lines []string
}

func (t *testLogger) add(level, f string, v ...any) {
	t.mu.Lock()
	t.lines = append(t.lines, level+" "+fmt.Sprintf(f, v...))
	t.mu.Unlock()
}
func (t *testLogger) Noticef(f string, v ...any) { t.add("INF", f, v...) }
func (t *testLogger) Warnf(f string, v ...any)   { t.add("WRN", f, v...) }
func (t *testLogger) Errorf(f string, v ...any)  { t.add("ERR", f, v...) }

func (t *testLogger) count(level string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, l := range t.lines {
		if l[:3] == level {
			n++
		}
	}
	return n
}

// variant is one way of running the log the tests repeat over.
type variant struct {
	name string
	opts func(t testing.TB) Options
}

func testKey(t testing.TB, c seal.Cipher) *seal.Key {
	t.Helper()
	k, err := seal.OpenKeyFile(t.TempDir(), c, []byte("wal test secret"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var variants = []variant{
	{"plain", func(testing.TB) Options { return Options{} }},
	{"aes", func(t testing.TB) Options { return Options{Key: testKey(t, seal.AES)} }},
	{"chacha", func(t testing.TB) Options { return Options{Key: testKey(t, seal.ChaCha)} }},
}

func mustOpen(t testing.TB, dir string, o Options) *Log {
	t.Helper()
	l, err := Open(dir, o)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return l
}

func appendN(t testing.TB, l *Log, from, to uint64) {
	t.Helper()
	for i := from; i <= to; i++ {
		idx, err := l.Append(payload(i))
		if err != nil || idx != i {
			t.Fatalf("append %d: got index %d, %v", i, idx, err)
		}
	}
}

// checkRecords asserts the log holds exactly payload(i) for first..last.
func checkRecords(t testing.TB, l *Log, first, last uint64) {
	t.Helper()
	if l.FirstIndex() != first || l.LastIndex() != last {
		t.Fatalf("log holds %d-%d, want %d-%d", l.FirstIndex(), l.LastIndex(), first, last)
	}
	next := first
	err := l.Replay(0, func(i uint64, data []byte) error {
		if i != next {
			return fmt.Errorf("replay gave %d, want %d", i, next)
		}
		if !bytes.Equal(data, payload(i)) {
			return fmt.Errorf("record %d: got %q", i, data)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != last+1 {
		t.Fatalf("replay stopped at %d, want %d", next, last+1)
	}
}

// segments lists the segment files of dir, oldest first.
func segments(t testing.TB, dir string) []string {
	t.Helper()
	starts, err := listSegments(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range starts {
		out = append(out, filepath.Join(dir, segmentName(s)))
	}
	return out
}

// entryOffsets returns the offset of every entry in a segment file, and the
// file's size as the last element.
func entryOffsets(t testing.TB, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int
	for pos := 0; pos < len(data); {
		_, next, ok := entryAt(data, pos, maxFrameBody)
		if !ok {
			t.Fatalf("%s: bad entry at %d", path, pos)
		}
		offs = append(offs, pos)
		pos = next
	}
	return append(offs, len(data))
}

// copyDir copies a log directory (flat) for a test to damage.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
