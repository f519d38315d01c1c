package wal

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/keelhq/keel/internal/fsutil"
	"github.com/keelhq/keel/seal"
)

// Defaults for Options left zero.
const (
	DefaultSegmentSize   = 4 << 20
	DefaultMaxRecordSize = 64 << 20
	DefaultMaxPending    = 4 << 20
)

// SyncPolicy says when appended records count as durable. The zero value is
// Always.
type SyncPolicy struct {
	interval time.Duration
}

// SyncAlways commits a record only after an fdatasync that began after it was
// written: it survives a power cut. It is the default.
var SyncAlways = SyncPolicy{}

// SyncEvery commits a record as soon as it is written to the operating system
// and fsyncs every d: it survives a crash of the process, and a power cut
// loses at most the last d. d <= 0 means Always.
func SyncEvery(d time.Duration) SyncPolicy {
	if d <= 0 {
		return SyncAlways
	}
	return SyncPolicy{interval: d}
}

// ParseSyncPolicy maps the configuration's sync_interval ("always" or a Go
// duration such as "2m" or "100ms") to a SyncPolicy.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "always") {
		return SyncAlways, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return SyncPolicy{}, fmt.Errorf("wal: sync interval %q: want \"always\" or a positive duration", s)
	}
	return SyncEvery(d), nil
}

// Always reports whether the policy is SyncAlways.
func (p SyncPolicy) Always() bool { return p.interval <= 0 }

// Interval is the fsync period of an interval policy (0 for Always).
func (p SyncPolicy) Interval() time.Duration { return max(p.interval, 0) }

func (p SyncPolicy) String() string {
	if p.Always() {
		return "always"
	}
	return p.interval.String()
}

// Logger receives the log's notices: recovery actions and fatal errors.
// server/logger.Logger satisfies it.
type Logger interface {
	Noticef(format string, v ...any)
	Warnf(format string, v ...any)
	Errorf(format string, v ...any)
}

type discard struct{}

func (discard) Noticef(string, ...any) {}
func (discard) Warnf(string, ...any)   {}
func (discard) Errorf(string, ...any)  {}

// Options configure Open. The zero value is usable.
type Options struct {
	// SegmentSize is the target size of a segment file. tidwall/wal keeps
	// the whole tail segment in memory and TruncateFront rewrites one
	// segment, so it stays small. Default 4 MiB.
	SegmentSize int
	// Sync is the durability policy (default Always).
	Sync SyncPolicy
	// Key encrypts every record written (nil: plaintext). A log written
	// with a key cannot be opened without it.
	Key *seal.Key
	// Logger gets recovery notices and errors (nil: discarded).
	Logger Logger
	// MaxRecordSize bounds one record (default 64 MiB). Decoding trusts no
	// length beyond it.
	MaxRecordSize int
	// MaxPending bounds the bytes appended but not yet written; Append
	// blocks beyond it (default 4 MiB). It also bounds a
	// batch, hence commit latency under a flood of appends.
	MaxPending int
	// NoPrealloc turns off preallocation of segment files.
	NoPrealloc bool
	// FailOnDamage makes Open fail when records in the middle of the log are
	// damaged, instead of replacing them with placeholders that Read and
	// Replay report as ErrDamaged.
	FailOnDamage bool
	// BeforeWrite, when set, runs on the log's writer goroutine before
	// each batch of records is handed to the operating system. A caller
	// whose records point at bytes in files of its own writes those bytes
	// here, so that a crash never leaves a record pointing at bytes the
	// operating system never had. It must not call back into the log.
	BeforeWrite func()

	// Fault injection for tests: replace the tail fdatasync, and fail a
	// batch write before it reaches tidwall.
	syncFn    func(*os.File) error
	writeHook func() error
}

func (o *Options) withDefaults() {
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.MaxRecordSize <= 0 {
		o.MaxRecordSize = DefaultMaxRecordSize
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.Logger == nil {
		o.Logger = discard{}
	}
	if o.syncFn == nil {
		o.syncFn = fsutil.Fdatasync
	}
}
