package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	cases := []struct {
		name string
		old  []byte // nil: no file before
		data []byte
		perm os.FileMode
	}{
		{"create", nil, []byte("first"), 0o600},
		{"replace longer by shorter", []byte("a much longer old content"), []byte("new"), 0o640},
		{"replace by empty", []byte("old"), []byte{}, 0o600},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "F")
			if tc.old != nil {
				if err := os.WriteFile(path, tc.old, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFileAtomic(dir, "F", tc.data, tc.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != string(tc.data) {
				t.Fatalf("content %q, %v; want %q", got, err, tc.data)
			}
			if tc.old == nil {
				fi, _ := os.Stat(path)
				if fi.Mode().Perm() != tc.perm&^umask(t) {
					t.Errorf("perm %v, want %v", fi.Mode().Perm(), tc.perm)
				}
			}
			if _, err := os.Stat(path + TmpSuffix); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("temporary file left behind: %v", err)
			}
		})
	}
}

// A write that cannot complete leaves the target as it was and no
// temporary file: the folder is missing (the create fails), or the target
// is a non-empty folder (the rename fails).
func TestWriteFileAtomicFailureKeepsTarget(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFileAtomic(filepath.Join(dir, "missing"), "F", []byte("new"), 0o600); err == nil {
		t.Fatal("write into a missing folder succeeded")
	}
	target := filepath.Join(dir, "D")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(dir, "D", []byte("new"), 0o600); err == nil {
		t.Fatal("rename over a non-empty folder succeeded")
	}
	if _, err := os.Stat(target + TmpSuffix); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file left behind after a failed rename: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(target, "x")); err != nil || !fi.IsDir() {
		t.Errorf("target changed by a failed write: %v", err)
	}
}

func TestSyncHelpers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "F")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := Fdatasync(f); err != nil {
		t.Fatalf("fdatasync: %v", err)
	}
	f.Close()
	if err := Fdatasync(f); err == nil {
		t.Error("fdatasync of a closed file succeeded")
	}
	if err := SyncPath(path); err != nil {
		t.Errorf("sync path: %v", err)
	}
	if err := SyncPath(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sync of a missing path: %v", err)
	}
	if err := SyncDir(dir); err != nil {
		t.Errorf("sync dir: %v", err)
	}
	if err := SyncDir(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sync of a missing folder: %v", err)
	}
}

func TestPreallocateKeepsSize(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "F"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("abc"))
	Preallocate(f, 1<<20)
	if fi, _ := f.Stat(); fi.Size() != 3 {
		t.Fatalf("size %d after preallocate, want 3", fi.Size())
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	a, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	a.Close()
	b, err := Lock(path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	b.Close()
}

// umask returns the process's umask, which os.OpenFile's perm passes
// through.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(p, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	return 0o777 &^ fi.Mode().Perm()
}
