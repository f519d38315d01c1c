package conf

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic,
// must fail only with a positioned *Error, and must build a well-formed
// tree when it succeeds. Includes are disabled so that fuzzing never reads
// the file system.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"port: 4222\nhost = 0.0.0.0\nserver_name keel",
		"a: [1, 2, {b: [x, 'y', \"z\\t\"]}]\n",
		"jetstream {\n  store_dir: \"/tmp/js\"\n  max_mem: 1G\n  sync_interval: always\n}\n",
		"authorization { user: a, password: $2a$11$xyz, timeout: 0.5 }",
		"x: 1\ny: $x\nm { z: $x }",
		"a: (\nblock\n)\n",
		"{\"a\": 1, \"b\": [1, 2], \"c\": {\"d\": \"e\"}}",
		"a: 2016-05-04T18:53:41Z\nb: 127.0.0.1:4222\nc: -1.5\nd: 1kib",
		"include other.conf\n",
		"a: \"\\x41\\x4",
		"a: [[[[[[[[[[",
		"a {{{{",
		"# c\n// d\n",
		"a: 10000EB",
		"a: $HOME",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sh := newShared()
		sh.noInclude = true
		m, err := newParser(string(data), "fuzz.conf", sh).parseTop()
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *conf.Error: %v", err, err)
			}
			if ce.Pos.Line < 1 || ce.Pos.Col < 1 {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		checkMap(t, m, 0)
		_ = m.Digest()
	})
}

func checkMap(t *testing.T, m *Map, depth int) {
	if depth > MaxDepth+1 {
		t.Fatalf("tree deeper than the limit")
	}
	for _, e := range m.Entries() {
		if m.Get(e.Key) != e {
			t.Fatalf("index of %q is inconsistent", e.Key)
		}
		checkValue(t, e.Value, depth)
	}
}

func checkValue(t *testing.T, v *Value, depth int) {
	if v == nil || v.Kind < KindString || v.Kind > KindArray || v.Pos.Line < 1 {
		t.Fatalf("malformed value %+v", v)
	}
	// Values read through variables share their children; only walk what
	// was written in place, which keeps the check linear.
	if v.Var != "" {
		return
	}
	switch v.Kind {
	case KindMap:
		checkMap(t, v.Map, depth+1)
	case KindArray:
		for _, item := range v.Array {
			checkValue(t, item, depth+1)
		}
	}
}
