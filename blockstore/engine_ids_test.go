package blockstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestStreamIDsNeverReused: a stream id is never given twice, across
// deletes and restarts (the WAL may still hold records of a deleted
// stream), while the ENGINE file is written once per idReserve creations.
func TestStreamIDsNeverReused(t *testing.T) {
	dir := t.TempDir()
	seen := map[uint64]string{}
	create := func(e *Engine, name string) {
		t.Helper()
		s, err := e.CreateStream(Config{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		id := s.(*fileStream).id
		if prev, ok := seen[id]; ok {
			t.Fatalf("stream %s got id %d, already given to %s", name, id, prev)
		}
		seen[id] = name
	}
	engineFile := filepath.Join(dir, "keel", "ENGINE")
	e := openTestEngine(t, dir, Options{})
	for i := range 3 {
		create(e, fmt.Sprint("S", i))
	}
	before, err := os.ReadFile(engineFile)
	if err != nil {
		t.Fatal(err)
	}
	create(e, "S3")
	if after, _ := os.ReadFile(engineFile); string(after) != string(before) {
		t.Fatal("the ENGINE file was rewritten within its reserved ids")
	}
	// The newest stream goes, then the engine restarts: its id stays used.
	if err := e.DeleteStream("S3"); err != nil {
		t.Fatal(err)
	}
	e.Close()
	for round := range 3 {
		e = openTestEngine(t, dir, Options{})
		for i := range idReserve/2 + 1 {
			create(e, fmt.Sprintf("R%d-%d", round, i))
		}
		e.Close()
	}
}
