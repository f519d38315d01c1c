package jetstream_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// filesHolding lists the files under dir whose bytes contain s.
func filesHolding(t *testing.T, dir string, s []byte) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, s) {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// TestEraseScrubsPayload: MSG.DELETE with erase (the default) leaves the
// payload nowhere on disk, the WAL included (clarification 12), before
// and after the engine moved it into a block; no_erase only removes it.
func TestEraseScrubsPayload(t *testing.T) {
	for _, settle := range []bool{false, true} {
		name := "in WAL"
		if settle {
			name = "in block"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			n := startNode(t, dir, nil)
			nc, js := connect(t, n)
			s := mustStream(t, js, jetstream.StreamConfig{Name: "E", Subjects: []string{"e"}})
			secret, kept := []byte("SECRET-PAYLOAD-ERASED"), []byte("SECRET-PAYLOAD-KEPT")
			for _, p := range [][]byte{[]byte("before"), secret, kept, []byte("after")} {
				if _, err := js.Publish(ctx(t), "e", p); err != nil {
					t.Fatal(err)
				}
			}
			if settle {
				// A restart moves everything applied into blocks.
				n.Shutdown()
				n = startNode(t, dir, nil)
				nc, js = connect(t, n)
				var err error
				if s, err = js.Stream(ctx(t), "E"); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SecureDeleteMsg(ctx(t), 2); err != nil {
				t.Fatal(err)
			}
			if m := request(t, nc, "$JS.API.STREAM.MSG.DELETE.E", `{"seq":3,"no_erase":true}`); errCode(m) != 0 {
				t.Fatal(m)
			}
			n.Shutdown()
			if files := filesHolding(t, dir, secret); len(files) > 0 {
				t.Fatalf("erased payload still on disk in %v", files)
			}
			if files := filesHolding(t, dir, kept); len(files) == 0 {
				t.Fatalf("the check finds nothing at all: deleted without erase, the payload should still be on disk")
			}
		})
	}
}
