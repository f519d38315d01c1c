// The engine API: what JetStream (and later the consensus layer) uses.
// See doc.go for the design and the on-disk formats.

package blockstore

import (
	"errors"
	"io"
	"time"
)

// Errors returned by the engine. Callers test them with errors.Is.
var (
	ErrNotFound       = errors.New("blockstore: no message found")
	ErrDeleted        = errors.New("blockstore: message deleted")
	ErrClosed         = errors.New("blockstore: store closed")
	ErrMaxMsgs        = errors.New("blockstore: maximum messages exceeded")
	ErrMaxBytes       = errors.New("blockstore: maximum bytes exceeded")
	ErrMaxMsgsPerSubj = errors.New("blockstore: maximum messages per subject exceeded")
	ErrMaxMsgSize     = errors.New("blockstore: message size exceeds maximum allowed")
	ErrSequence       = errors.New("blockstore: sequence out of order")
	ErrBadKey         = errors.New("blockstore: encryption key does not match the store")
	ErrCorrupt        = errors.New("blockstore: corrupt data")
	ErrStreamExists   = errors.New("blockstore: stream already exists")
	ErrStreamNotFound = errors.New("blockstore: stream not found")
	ErrSnapshot       = errors.New("blockstore: bad snapshot")
	ErrBatch          = errors.New("blockstore: bad batch")
)

// StorageType says where a stream's messages live.
type StorageType int

const (
	FileStorage StorageType = iota
	MemoryStorage
)

// DiscardPolicy says what happens when a limit is reached.
type DiscardPolicy int

const (
	DiscardOld DiscardPolicy = iota // remove the oldest messages to make room
	DiscardNew                      // refuse the new message
)

// Compression of sealed blocks.
type Compression int

const (
	NoCompression Compression = iota
	S2Compression
)

// Config is the engine's view of a stream: only what the store itself
// enforces. Zero or negative limits mean unlimited.
type Config struct {
	Name                 string
	Storage              StorageType
	MaxMsgs              int64
	MaxBytes             int64
	MaxAge               time.Duration
	MaxMsgsPerSubject    int64
	MaxMsgSize           int32
	Discard              DiscardPolicy
	DiscardNewPerSubject bool
	Compression          Compression
	AllowMsgTTL          bool
	FirstSeq             uint64 // sequence of the first message of a new stream (default 1)
	BlockSize            int64  // target size of a block file (0: engine default)
}

// Op is the kind of a Command.
type Op uint8

const (
	OpStore    Op = iota + 1 // store Subject/Header/Data at Seq (0: the next) with Time (and TTL)
	OpRemove                 // remove message Seq (refused with ErrNotFound / ErrDeleted)
	OpErase                  // remove message Seq and overwrite its bytes wherever they lie
	OpPurge                  // purge by Subject filter (empty: all), up to Seq (exclusive, 0: no bound), keeping Keep newest
	OpCompact                // remove everything below Seq (0, or past the last: everything)
	OpTruncate               // remove everything above Seq (0: everything, sequences restart at 1)
	OpExpire                 // remove what MaxAge or per-message TTL has expired at Time
	OpSkip                   // advance the last sequence to Seq (0: last+1) without a message (first_seq, mirrors); a non-zero Time becomes the last time
	OpConfig                 // replace the stream's Config (limits applied at once; Name and Storage never change)
	OpSetAux                 // set auxiliary record Key to Data (empty Data deletes): consumer state etc.
)

// Command is one mutation of a stream with everything already decided.
// Index is the position in the replicated log when a consensus layer drives
// the stream (it must grow: a command at or below LastApplied is refused
// with ErrSequence); when zero the engine numbers commands itself. TTL is
// honoured only when the stream's Config.AllowMsgTTL is set.
type Command struct {
	Op      Op
	Index   uint64
	Seq     uint64
	Time    int64 // unix nanoseconds
	TTL     int64 // nanoseconds; 0 none, -1 never expires
	Keep    uint64
	Subject string
	Key     string
	Header  []byte
	Data    []byte
	Config  *Config
}

// Ticket is a position in the engine's commit order. A command is durable
// once Engine.Durable() >= its ticket. Memory streams return 0: nothing to
// wait for.
type Ticket uint64

// Result is what applying a command did.
type Result struct {
	Seq     uint64 // stored sequence (OpStore), or first remaining sequence after a purge/compact
	Time    int64  // stored timestamp (OpStore)
	Removed uint64 // messages removed by this command (limits, purge, expiry)
	Ticket  Ticket // durable once the engine's watermark passes it
}

// StoreMsg is a message loaded from a stream. Loads fill a caller-provided
// StoreMsg and reuse its buffer, so a reader can load without allocating.
// Header and Data alias that buffer: valid until the next load into the
// same StoreMsg. Subject aliases the store's own memory, which is never
// rewritten: it stays valid (and unchanged) after later loads.
type StoreMsg struct {
	Subject string
	Header  []byte
	Data    []byte
	Seq     uint64
	Time    int64 // unix nanoseconds
	TTL     int64
	Buf     []byte // backing storage, reused
}

// State is a stream's summary.
type State struct {
	Msgs        uint64
	Bytes       uint64
	FirstSeq    uint64
	FirstTime   time.Time
	LastSeq     uint64
	LastTime    time.Time
	NumDeleted  int      // interior gaps between FirstSeq and LastSeq
	Deleted     []uint64 // filled only by StateWithDeleted
	NumSubjects int
	LastApplied uint64 // index of the last applied command
}

// SimpleState is the state of the messages matching a filter.
type SimpleState struct {
	Msgs  uint64
	First uint64
	Last  uint64
}

// SubjectState is per-subject totals.
type SubjectState struct {
	Msgs  uint64
	First uint64
	Last  uint64
}

// SnapshotOptions adjust Stream.SnapshotWith.
type SnapshotOptions struct {
	// ExcludeAux leaves out the aux records whose key starts with any of
	// these prefixes (a restore then has none of them).
	ExcludeAux []string
	// CheckOnly reads and verifies every record a snapshot would hold
	// (checksums, decryption, decompression) and writes nothing: w is
	// ignored and may be nil. Damage that costs messages the stream counts
	// fails it with ErrCorrupt (they are reported by Engine.Damaged and
	// taken out of the stream, as any damage found); damage already
	// accounted for does not.
	CheckOnly bool
}

// RemoveFunc is told about every message a command removed (limits, purge,
// expiry, explicit removal), after the removal is applied. It runs inside
// Apply with the stream locked: it must be quick and must not call the
// stream. A purge of everything (no filter, no sequence, no keep; a compact
// to 0 or past the last sequence) does not visit the messages: it calls fn
// once with seq 0 and subject "". A removal of a message lost to damage
// (Engine.Damaged) calls fn with its seq and subject "": the subject was in
// the damaged record.
type RemoveFunc func(seq uint64, subject string)

// Stream is one stream's store. File and memory stores implement it with the
// same behaviour; the shared test suite in this package checks both.
type Stream interface {
	// Apply applies one command, in order. Limit checks that refuse a
	// command (discard new, max message size, sequence mismatch) return an
	// error and change nothing.
	Apply(cmd *Command) (Result, error)
	// ApplyBatch applies cmds as one atomic unit: all of them or, when any
	// is refused, none (the error says which and why; nothing changed).
	// A batch holds stores and aux records (OpStore, OpSetAux; other ops
	// are refused with ErrBatch), at most MaxBatch of them; each is checked
	// against the state the ones before it leave (sequences, sizes, the
	// discard-new limits). In a file stream the batch is one WAL record:
	// after a crash recovery finds all of it or nothing. The results, one
	// per command, share one ticket; each command takes its own command
	// index, in order.
	ApplyBatch(cmds []*Command) ([]Result, error)
	LastApplied() uint64
	Config() Config

	LoadMsg(seq uint64, sm *StoreMsg) (*StoreMsg, error)
	// LoadNextMsg returns the first message at or after start whose subject
	// matches filter ("" or ">" for all; wildcards allowed).
	LoadNextMsg(filter string, start uint64, sm *StoreMsg) (*StoreMsg, error)
	// LoadLastMsg returns the newest message whose subject matches filter.
	LoadLastMsg(filter string, sm *StoreMsg) (*StoreMsg, error)
	// LoadPrevMsg returns the first message at or before start.
	LoadPrevMsg(start uint64, sm *StoreMsg) (*StoreMsg, error)
	// SeqForTime returns the first sequence stored at or after t.
	SeqForTime(t time.Time) uint64

	State() State
	StateWithDeleted() State
	FilteredState(start uint64, filter string) SimpleState
	SubjectsState(filter string) map[string]SubjectState
	SubjectsTotals(filter string) map[string]uint64
	// NumPending counts messages at or after start matching filter; with
	// lastPerSubject only the newest message of each subject counts.
	NumPending(start uint64, filter string, lastPerSubject bool) uint64

	// Aux returns an auxiliary record (set by OpSetAux), nil when absent.
	Aux(key string) []byte
	AuxKeys(prefix string) []string

	// Snapshot writes a consistent point-in-time image of the stream
	// (messages, aux records, config) to w.
	Snapshot(w io.Writer) error
	// SnapshotWith is Snapshot with options; it returns the state the
	// snapshot holds: the stream's at the point it was taken, with the
	// messages and bytes of what was written (fewer than the stream
	// counted only when messages were found lost to damage meanwhile).
	SnapshotWith(w io.Writer, o SnapshotOptions) (State, error)

	// OnRemove registers the removal callback (one per stream).
	OnRemove(fn RemoveFunc)

	// NextExpiry is when the next message expires by MaxAge or TTL (zero
	// time: none); the owner then applies OpExpire with the current time.
	NextExpiry() time.Time

	Close() error
}
