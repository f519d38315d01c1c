package fsutil

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Preallocate reserves the first n bytes of f without changing its size,
// so that appends within them allocate no blocks and an fdatasync after
// them has no block map to write. Not every file system supports it; it
// is only an optimisation, so failure is ignored.
func Preallocate(f *os.File, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.Fallocate(int(fd), unix.FALLOC_FL_KEEP_SIZE, 0, n)
	})
}

// ErrLocked: the lock file is held by another open, in this process or
// another.
var ErrLocked = errors.New("fsutil: locked by another open")

// Lock opens (creating it if needed) the file at path and takes an
// exclusive flock on it without waiting, so that a second open of the
// same folder fails with ErrLocked instead of interleaving writes. The
// lock lasts until the returned file is closed (or the process dies).
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
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
		return nil, &os.PathError{Op: "flock", Path: path, Err: lerr}
	}
	return f, nil
}
