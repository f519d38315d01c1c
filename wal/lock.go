package wal

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/internal/fsutil"
)

// lockFile is held (flock, exclusive) while the log is open, so that a
// second Open of the same directory, in this process or another, fails
// instead of interleaving writes.
const lockFile = "LOCK"

func lockDir(dir string) (*os.File, error) {
	f, err := fsutil.Lock(filepath.Join(dir, lockFile))
	if errors.Is(err, fsutil.ErrLocked) {
		return nil, ErrLocked
	}
	return f, err
}
