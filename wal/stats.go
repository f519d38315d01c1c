package wal

import (
	"sync/atomic"
	"time"
)

// Stats are running totals since Open.
type Stats struct {
	Appends      uint64        // records appended
	PayloadBytes uint64        // bytes given to Append
	Batches      uint64        // batch writes to segment files
	BytesWritten uint64        // bytes written to segment files: frames, length prefixes, tags, TruncateFront rewrites
	Syncs        uint64        // fdatasyncs of the tail segment
	DirSyncs     uint64        // fsyncs of the directory for new segments
	SyncTime     time.Duration // time spent in those fdatasyncs
	Segments     uint64        // segment files started
}

// WriteAmplification is bytes written to disk per payload byte.
func (s Stats) WriteAmplification() float64 {
	if s.PayloadBytes == 0 {
		return 0
	}
	return float64(s.BytesWritten) / float64(s.PayloadBytes)
}

type counters struct {
	batches, bytes, syncs, dirSyncs, syncNanos, segments atomic.Uint64
}

// Stats returns running totals since Open.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	s := Stats{Appends: l.appends, PayloadBytes: l.payload}
	l.mu.Unlock()
	s.Batches = l.st.batches.Load()
	s.BytesWritten = l.st.bytes.Load()
	s.Syncs = l.st.syncs.Load()
	s.DirSyncs = l.st.dirSyncs.Load()
	s.SyncTime = time.Duration(l.st.syncNanos.Load())
	s.Segments = l.st.segments.Load()
	return s
}
