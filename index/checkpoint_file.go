package index

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes c to path atomically: the encoded checkpoint goes to
// path+".tmp", is synced, renamed over path, and the directory is synced,
// so after a crash path holds either the old checkpoint or the new one.
// keys and ad are as for Encode.
func WriteFile(path string, c *Checkpoint, keys Keys, ad []byte) error {
	data, err := c.Encode(nil, keys, ad)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("index: write checkpoint %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("index: write checkpoint %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
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
