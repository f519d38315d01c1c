package fsutil

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Fdatasync flushes f's data and the metadata needed to read it back (its
// size, its block map), through whichever descriptor wrote it. It skips
// timestamps, which fsync would also write: nothing reads them back.
func Fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			// EINTR means the call did not run to completion: not a
			// failed sync, so calling again is safe.
			if serr = unix.Fdatasync(int(fd)); serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// SyncPath opens the file at path and fdatasyncs it: for a file changed
// through a descriptor that is gone or not ours (a truncation by path).
func SyncPath(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = Fdatasync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir fsyncs a directory so that entries created, renamed or removed
// in it survive a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// TmpSuffix ends the name of a file WriteFileAtomic is writing; a crash
// can leave one behind, which its owner may delete at start-up.
const TmpSuffix = ".tmp"

// WriteFileAtomic replaces dir/name with data, created with perm: after a
// crash either the old or the new content is there, never a mix or a
// prefix. It writes dir/name+TmpSuffix, fdatasyncs it (a new file: its
// size and blocks are part of that), renames it over the target and
// fsyncs dir so the rename itself is durable. On failure the temporary
// file is removed and the target is untouched.
func WriteFileAtomic(dir, name string, data []byte, perm os.FileMode) error {
	tmp := filepath.Join(dir, name+TmpSuffix)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = Fdatasync(f)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}
