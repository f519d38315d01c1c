package index

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/internal/fsutil"
)

// WriteFile writes c to path atomically (fsutil.WriteFileAtomic): after a
// crash path holds either the old checkpoint or the new one.
// keys and ad are as for Encode.
func WriteFile(path string, c *Checkpoint, keys Keys, ad []byte) error {
	data, err := c.Encode(nil, keys, ad)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Dir(path), filepath.Base(path), data, 0o600); err != nil {
		return fmt.Errorf("index: write checkpoint %s: %w", path, err)
	}
	return nil
}

// ReadFile reads and decodes the checkpoint at path. A missing file gives
// an error satisfying errors.Is(err, fs.ErrNotExist); damage gives one
// wrapping ErrCorrupt or ErrVersion. Either way the store rebuilds.
func ReadFile(path string, keys Keys, ad []byte) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("index: read checkpoint: %w", err)
	}
	c, err := Decode(data, keys, ad)
	if err != nil {
		return nil, fmt.Errorf("index: read checkpoint %s: %w", path, err)
	}
	return c, nil
}
