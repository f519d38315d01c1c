package wal

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// writeFileAtomic replaces dir/name with data: after a crash either the old
// or the new content is there, never a mix.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
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
	return syncDir(dir)
}

// tmpSuffix marks files being replaced; Open removes leftovers. tidwall/wal
// ignores them (their names are not 20 digits).
const tmpSuffix = ".tmp"

func syncDir(dir string) error {
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

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fdatasync flushes a file's data and the metadata needed to read it back,
// whichever descriptor wrote it: the log syncs tidwall's tail segment through
// its own descriptor, outside tidwall's mutex.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if serr != unix.EINTR {
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

// preallocate reserves n bytes for f without changing its size, so appends
// within them do not allocate blocks at fsync time. Not every file system
// supports it; failure is harmless.
func preallocate(f *os.File, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.Fallocate(int(fd), unix.FALLOC_FL_KEEP_SIZE, 0, n)
	})
}

// lockFile is held (flock, exclusive) while the log is open, so that a
// second Open of the same directory, in this process or another, fails
// instead of interleaving writes.
const lockFile = "LOCK"

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		lerr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
	}); err != nil {
		lerr = err
	}
	if lerr != nil {
		f.Close()
		if lerr == unix.EWOULDBLOCK {
			return nil, ErrLocked
		}
		return nil, lerr
	}
	return f, nil
}
