package blockstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/seal"
)

// ErrNotEncrypted: a key is configured for a store folder that was written
// without one. Adding a key in place would leave every earlier payload in
// the clear under a store that claims to be encrypted, so Open refuses;
// the error also matches ErrBadKey (the configured key does not fit the
// store).
var ErrNotEncrypted = errors.New("blockstore: the store folder was written without encryption")

// openKey decides whether the store is encrypted. The KEY file is the
// store's word on it: present, a key must be configured and match it;
// absent, the store is plaintext, and a configured key is accepted only
// when the folder holds nothing yet, since nothing written before would be
// sealed.
func (e *Engine) openKey() error {
	_, err := os.Stat(filepath.Join(e.root, seal.KeyFileName))
	hasKey := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blockstore: open %s: %w", e.root, err)
	}
	if e.opts.Key == nil {
		if hasKey {
			return fmt.Errorf("blockstore: open %s: the store is encrypted and no key is configured: %w", e.root, ErrBadKey)
		}
		return nil
	}
	if !hasKey {
		found, err := plainContent(e.root)
		if err != nil {
			return fmt.Errorf("blockstore: open %s: %w", e.root, err)
		}
		if found != "" {
			return fmt.Errorf("blockstore: open %s: a key is configured but the store folder was written without encryption (%s holds data in the clear); it cannot be encrypted in place: start without a key, or move the data to a new encrypted store (backup and restore): %w: %w",
				e.root, found, ErrNotEncrypted, ErrBadKey)
		}
	}
	k, err := seal.OpenKeyFile(e.root, e.opts.Cipher, e.opts.Key)
	if err != nil {
		if errors.Is(err, seal.ErrBadKey) {
			return fmt.Errorf("blockstore: open %s: %w: %w", e.root, ErrBadKey, err)
		}
		return fmt.Errorf("blockstore: open %s: %w", e.root, err)
	}
	e.key = k
	return nil
}

// plainContent returns the first file under root that holds bytes (a
// stream, a WAL segment with records, the ENGINE file), or "" when the
// store has never been written: an engine opened and closed without a
// stream leaves only empty files (the WAL's first segment and LOCK). The
// temporary file of a KEY file whose creation was cut short is not data.
func plainContent(root string) (string, error) {
	keyTmp := filepath.Join(root, seal.KeyFileName+".tmp")
	var found string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path == keyTmp {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > 0 {
			found = path
			return fs.SkipAll
		}
		return nil
	})
	return found, err
}
