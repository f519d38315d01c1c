package blockstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keelhq/keel/seal"
)

// TestOpenKeyMismatch: a store is opened only with the key situation it
// was written with; the one exception is a store that holds nothing yet,
// which may start encrypted.
func TestOpenKeyMismatch(t *testing.T) {
	secret := []byte("correct horse battery staple, 32+ bytes of it")
	other := []byte("another secret entirely, also long enough")
	const marker = "PLAINTEXT-MARKER"
	withKey := Options{Key: secret}
	// written is what the store held before the open under test: nothing
	// (no folder), an engine opened and closed without a stream, or one
	// stream holding a marker message, written under opts.
	type written struct {
		opts  Options
		state int // 0 nothing, 1 opened only, 2 one message
	}
	cases := []struct {
		name    string
		before  written
		open    Options
		wantErr []error  // nil: the open succeeds
		text    []string // the error's text contains each
	}{
		{"plain store, key added", written{Options{}, 2}, withKey,
			[]error{ErrNotEncrypted, ErrBadKey}, []string{"encrypt", "written without encryption"}},
		{"keyed store, key removed", written{withKey, 2}, Options{},
			[]error{ErrBadKey}, []string{"encrypt", "no key is configured"}},
		{"keyed store, wrong key", written{withKey, 2}, Options{Key: other},
			[]error{ErrBadKey}, []string{"encryption key does not match"}},
		{"keyed store, other cipher", written{Options{Key: secret, Cipher: seal.AES}, 2}, Options{Key: secret, Cipher: seal.ChaCha},
			[]error{seal.ErrCipherMismatch}, []string{"cipher"}},
		{"new store, key", written{}, withKey, nil, nil},
		{"plain store never written, key", written{Options{}, 1}, withKey, nil, nil},
		{"keyed store, same key", written{withKey, 2}, withKey, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.before.state > 0 {
				e := openTestEngine(t, dir, tc.before.opts)
				if tc.before.state == 2 {
					s, err := e.CreateStream(Config{Name: "S"})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.Apply(&Command{Op: OpStore, Subject: "s", Data: []byte(marker), Time: 1}); err != nil {
						t.Fatal(err)
					}
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
			}
			keyBefore := keyFile(t, dir)
			e, err := Open(dir, tc.open)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				if tc.before.state == 2 {
					s, ok := e.Stream("S")
					if !ok {
						t.Fatal("stream S lost")
					}
					if sm, err := s.LoadMsg(1, nil); err != nil || string(sm.Data) != marker {
						t.Fatalf("load: %v", err)
					}
				}
				e.Close()
				if tc.open.Key != nil && len(grepDir(t, dir, []byte(marker))) > 0 {
					t.Fatal("payload in the clear in an encrypted store")
				}
				return
			}
			if err == nil {
				e.Close()
				t.Fatal("open succeeded, want it refused")
			}
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %v is not %v", err, want)
				}
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			// A refusal leaves the store as it was: still openable as
			// written, its data intact.
			if got := keyFile(t, dir); !bytes.Equal(got, keyBefore) {
				t.Fatalf("KEY file changed by a refused open: %x -> %x", keyBefore, got)
			}
			e = openTestEngine(t, dir, tc.before.opts)
			defer e.Close()
			s, ok := e.Stream("S")
			if !ok {
				t.Fatal("stream S lost after a refused open")
			}
			if sm, err := s.LoadMsg(1, nil); err != nil || string(sm.Data) != marker {
				t.Fatalf("load after a refused open: %v", err)
			}
		})
	}
}

func keyFile(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, engineDirName, seal.KeyFileName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return b
}
