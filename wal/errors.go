package wal

import (
	"errors"
	"fmt"
)

// Errors returned by the log. Callers test them with errors.Is.
var (
	ErrClosed   = errors.New("wal: log closed")
	ErrCorrupt  = errors.New("wal: log corrupt")
	ErrDamaged  = errors.New("wal: record lost to damage")
	ErrScrubbed = errors.New("wal: record scrubbed")
	ErrNotFound = errors.New("wal: no such record")
	ErrNoKey    = errors.New("wal: log is encrypted and no key was given")
	ErrTooLarge = errors.New("wal: record too large")
	ErrRange    = errors.New("wal: index out of range")
	ErrLocked   = errors.New("wal: log is open elsewhere")
)

// CorruptError describes damage found in a segment file. It matches
// ErrCorrupt with errors.Is.
type CorruptError struct {
	Segment     string // file name
	Offset      int64  // where the damage starts
	Bytes       int64  // how many bytes it covers
	First, Last uint64 // records affected (Last < First: none, stray bytes)
	Reason      string
}

func (e *CorruptError) Error() string {
	if e.Last < e.First {
		return fmt.Sprintf("wal: %s: %s: %d bytes at offset %d", e.Segment, e.Reason, e.Bytes, e.Offset)
	}
	return fmt.Sprintf("wal: %s: %s: records %d-%d (%d bytes at offset %d)",
		e.Segment, e.Reason, e.First, e.Last, e.Bytes, e.Offset)
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// DamagedError is returned by Read and Replay for a record that recovery
// found damaged and replaced by a placeholder. It matches ErrDamaged.
type DamagedError struct{ Index uint64 }

func (e *DamagedError) Error() string {
	return fmt.Sprintf("wal: record %d lost to damage", e.Index)
}

func (e *DamagedError) Unwrap() error { return ErrDamaged }
