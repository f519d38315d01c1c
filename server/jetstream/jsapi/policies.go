package jsapi

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The stream enumerations travel as JSON strings. Their Go values are Keel's
// own (the zero value is the reference's default, so an omitted field needs
// no filling in); only the strings are the reference's. Decoding errors carry
// the reference's wording because they end up verbatim in "invalid JSON: ..."
// descriptions.

// RetentionPolicy says when a stream may drop a message.
type RetentionPolicy int

const (
	LimitsPolicy    RetentionPolicy = iota // "limits": only limits remove messages
	InterestPolicy                         // "interest": kept while some consumer still needs it
	WorkQueuePolicy                        // "workqueue": removed once acknowledged
)

var retentionNames = []string{"limits", "interest", "workqueue"}

func (rp RetentionPolicy) String() string {
	switch rp {
	case LimitsPolicy:
		return "Limits"
	case InterestPolicy:
		return "Interest"
	case WorkQueuePolicy:
		return "WorkQueue"
	}
	return "Unknown Retention Policy"
}

func (rp RetentionPolicy) MarshalJSON() ([]byte, error) {
	return marshalEnum(int(rp), retentionNames, rp)
}

func (rp *RetentionPolicy) UnmarshalJSON(data []byte) error {
	i, err := unmarshalEnum(data, retentionNames, false)
	if err == nil {
		*rp = RetentionPolicy(i)
	}
	return err
}

// DiscardPolicy says what a full stream does with a new message.
type DiscardPolicy int

const (
	DiscardOld DiscardPolicy = iota // "old": make room by dropping the oldest
	DiscardNew                      // "new": refuse the new message
)

var discardNames = []string{"old", "new"}

func (dp DiscardPolicy) String() string {
	switch dp {
	case DiscardOld:
		return "DiscardOld"
	case DiscardNew:
		return "DiscardNew"
	}
	return "Unknown Discard Policy"
}

func (dp DiscardPolicy) MarshalJSON() ([]byte, error) {
	return marshalEnum(int(dp), discardNames, dp)
}

// UnmarshalJSON accepts any letter case ("NEW"), as the reference does for
// this one enumeration only.
func (dp *DiscardPolicy) UnmarshalJSON(data []byte) error {
	i, err := unmarshalEnum(data, discardNames, true)
	if err == nil {
		*dp = DiscardPolicy(i)
	}
	return err
}

// StorageType says where a stream or consumer keeps its data.
type StorageType int

const (
	FileStorage   StorageType = iota // "file"
	MemoryStorage                    // "memory"
)

var storageNames = []string{"file", "memory"}

func (st StorageType) String() string {
	switch st {
	case FileStorage:
		return "File"
	case MemoryStorage:
		return "Memory"
	}
	return "Unknown Storage Type"
}

func (st StorageType) MarshalJSON() ([]byte, error) {
	return marshalEnum(int(st), storageNames, st)
}

func (st *StorageType) UnmarshalJSON(data []byte) error {
	i, err := unmarshalEnum(data, storageNames, false)
	if err == nil {
		*st = StorageType(i)
	}
	return err
}

// StoreCompression is the at-rest compression of a file stream.
type StoreCompression int

const (
	NoCompression StoreCompression = iota // "none"
	S2Compression                         // "s2"
)

func (c StoreCompression) String() string {
	switch c {
	case NoCompression:
		return "None"
	case S2Compression:
		return "S2"
	}
	return "Unknown StoreCompression"
}

func (c StoreCompression) MarshalJSON() ([]byte, error) {
	switch c {
	case NoCompression:
		return []byte(`"none"`), nil
	case S2Compression:
		return []byte(`"s2"`), nil
	}
	return nil, fmt.Errorf("unknown compression algorithm")
}

// UnmarshalJSON decodes the value as a JSON string first (so escapes are
// allowed), unlike the other enumerations which compare raw bytes.
func (c *StoreCompression) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	switch s {
	case "none":
		*c = NoCompression
	case "s2":
		*c = S2Compression
	default:
		return fmt.Errorf("unknown compression algorithm")
	}
	return nil
}

// PersistMode says when a publish is acknowledged relative to its fsync.
type PersistMode int

const (
	DefaultPersistMode PersistMode = iota // "default": ack after the write is durable
	AsyncPersistMode                      // "async": ack before the fsync (file, R1 only)
)

var persistNames = []string{"default", "async"}

func (pm PersistMode) String() string {
	switch pm {
	case DefaultPersistMode:
		return "Default"
	case AsyncPersistMode:
		return "Async"
	}
	return "Unknown Persist Mode Type"
}

func (pm PersistMode) MarshalJSON() ([]byte, error) {
	return marshalEnum(int(pm), persistNames, pm)
}

// UnmarshalJSON also takes "" as the default mode.
func (pm *PersistMode) UnmarshalJSON(data []byte) error {
	if string(data) == `""` {
		*pm = DefaultPersistMode
		return nil
	}
	i, err := unmarshalEnum(data, persistNames, false)
	if err == nil {
		*pm = PersistMode(i)
	}
	return err
}

// marshalEnum writes names[v] as a JSON string; none of the names need escaping.
func marshalEnum(v int, names []string, s fmt.Stringer) ([]byte, error) {
	if v < 0 || v >= len(names) {
		return nil, fmt.Errorf("can not marshal %v", s)
	}
	return []byte(`"` + names[v] + `"`), nil
}

// unmarshalEnum compares the raw JSON token (quotes included) with each name.
// On failure it returns the reference's message; callers keep their value.
func unmarshalEnum(data []byte, names []string, anyCase bool) (int, error) {
	raw := string(data)
	if anyCase {
		raw = strings.ToLower(raw)
	}
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		for i, n := range names {
			if raw[1:len(raw)-1] == n {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("can not unmarshal %q", data)
}
