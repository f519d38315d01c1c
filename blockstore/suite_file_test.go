package blockstore

import (
	"bytes"
	"sync"
	"testing"
)

// The file store joins the shared suite: each stream gets an engine of its
// own in a temporary folder.

var (
	testEnginesMu sync.Mutex
	testEngines   = map[Stream]*testEngine{}
)

type testEngine struct {
	dir  string
	opts Options
	e    *Engine
}

func openTestEngine(t testing.TB, dir string, o Options) *Engine {
	t.Helper()
	e, err := Open(dir, o)
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	return e
}

func fileKind() storeKind {
	return storeKind{
		name: "file",
		open: func(t testing.TB, cfg Config) Stream {
			dir := t.TempDir()
			o := Options{}
			e := openTestEngine(t, dir, o)
			t.Cleanup(func() { e.Close() })
			s, err := e.CreateStream(cfg)
			if err != nil {
				t.Fatal(err)
			}
			testEnginesMu.Lock()
			testEngines[s] = &testEngine{dir: dir, opts: o, e: e}
			testEnginesMu.Unlock()
			return s
		},
		reopen: func(t testing.TB, s Stream) Stream {
			testEnginesMu.Lock()
			te := testEngines[s]
			testEnginesMu.Unlock()
			name := s.Config().Name
			if err := te.e.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			te.e = openTestEngine(t, te.dir, te.opts)
			e := te.e
			t.Cleanup(func() { e.Close() })
			ns, ok := te.e.Stream(name)
			if !ok {
				t.Fatalf("stream %s missing after reopen", name)
			}
			testEnginesMu.Lock()
			testEngines[ns] = te
			testEnginesMu.Unlock()
			return ns
		},
	}
}

func init() {
	storeKinds = append(storeKinds, fileKind())
	extraRestoreTargets = append(extraRestoreTargets, func(t testing.TB) restoreTarget {
		e := openTestEngine(t, t.TempDir(), Options{})
		t.Cleanup(func() { e.Close() })
		return restoreTarget{name: "file", restore: func(name string, r *bytes.Reader) (Stream, error) {
			e.DeleteStream(name)
			return e.RestoreStream(name, r)
		}}
	})
}
