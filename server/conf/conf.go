// Package conf reads the nats-server configuration file format into a tree
// of values that remember where they were written.
//
// The format: `key: value`, `key = value` or `key value`; nested maps in
// `{}` and arrays in `[]` (items separated by commas or new lines); `#` and
// `//` comments; `include "file"` (relative to the including file); `$VAR`
// references to keys defined earlier in an enclosing map, or else to the
// environment; integers with size suffixes (k, kb, kib, m, mb, ... e, eb);
// floats; booleans (true/false, yes/no, on/off); Zulu datetimes; strings
// bare, 'single-quoted', "double-quoted with \t \n \r \" \\ \xHH escapes",
// or as a block between `(` and a `)` alone on a line.
//
// The grammar follows nats-server v2.15 (its lexer is the reference for
// what is accepted), with a few deliberate differences where the reference
// misbehaves: a number directly before `]` is a number, a key without a
// value in a map and an unknown size suffix are errors rather than being
// dropped, a size that overflows is an error, absolute include paths are
// absolute, and an include cycle is reported instead of recursing forever.
//
// Nothing here knows what a setting means; package opts does.
package conf

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Limits that keep a hostile or broken file from exhausting the process.
const (
	// MaxDepth bounds the nesting of maps and arrays.
	MaxDepth = 100
	// MaxIncludeDepth bounds include chains.
	MaxIncludeDepth = 16
	// MaxFileSize bounds one configuration file.
	MaxFileSize = 16 << 20
	// maxTotalBytes bounds everything read through includes in one parse
	// (a file may include the same file many times without a cycle).
	maxTotalBytes = 64 << 20
	// maxEnvDepth bounds chains of environment variables referring to
	// other environment variables.
	maxEnvDepth = 32
)

// Error is a problem in a configuration file, at a position, optionally
// while reading the value of a key (a dotted path for nested keys).
type Error struct {
	Pos Pos
	Key string
	Msg string
}

func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s: key %q: %s", e.Pos, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// ParseFile reads and parses the configuration file at path. Includes are
// resolved relative to the file's directory.
func ParseFile(path string) (*Map, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	sh := newShared()
	sh.budget -= int64(len(data))
	if abs, err := filepath.Abs(path); err == nil {
		sh.includes = append(sh.includes, abs)
	}
	return newParser(withoutBOM(data), path, sh).parseTop()
}

// Parse parses data as if read from a file called name (which may be
// empty): positions carry name, and includes are resolved relative to its
// directory (the working directory when name is empty).
func Parse(data []byte, name string) (*Map, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("conf: %s: file is larger than %d bytes", name, MaxFileSize)
	}
	sh := newShared()
	sh.budget -= int64(len(data))
	return newParser(withoutBOM(data), name, sh).parseTop()
}

// withoutBOM drops a UTF-8 byte order mark, which some editors write at
// the start of a file (nats-server would read it as part of the first key).
func withoutBOM(data []byte) string {
	return strings.TrimPrefix(string(data), "\ufeff")
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}
