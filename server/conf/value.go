package conf

import (
	"fmt"
	"strconv"
	"time"
)

// Kind says which field of a Value holds its content.
type Kind uint8

// The kinds of value the format can express.
const (
	KindString Kind = iota + 1
	KindInt
	KindFloat
	KindBool
	KindTime
	KindMap
	KindArray
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt:
		return "integer"
	case KindFloat:
		return "float"
	case KindBool:
		return "boolean"
	case KindTime:
		return "datetime"
	case KindMap:
		return "map"
	case KindArray:
		return "array"
	}
	return "nothing"
}

// Pos is a place in a configuration file. Line and Col count from 1; Col
// counts bytes.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Value is one parsed value. Only the field matching Kind is meaningful,
// except Raw, which keeps the text of a scalar as written so that a reader
// can tell "2m" (two million, for the format) from what the user probably
// meant in a duration setting.
type Value struct {
	Kind  Kind
	Pos   Pos
	Raw   string
	Str   string
	Int   int64
	Float float64
	Bool  bool
	Time  time.Time
	Map   *Map
	Array []*Value
	// Var names the variable this value was read through ($Var), if any.
	Var string
}

// Describe renders the value for error messages: its kind and, for
// scalars, the value itself.
func (v *Value) Describe() string {
	if v == nil {
		return "nothing"
	}
	switch v.Kind {
	case KindString:
		s := v.Str
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return "string " + strconv.Quote(s)
	case KindInt, KindFloat, KindBool:
		return v.Kind.String() + " " + v.Raw
	case KindTime:
		return "datetime " + v.Time.Format(time.RFC3339)
	}
	return v.Kind.String()
}

// Entry is one key of a map with its value.
type Entry struct {
	Key string
	// Pos is where the key is written; errors about a setting point here,
	// as nats-server's do.
	Pos   Pos
	Value *Value
	// Referenced is set when the entry was read as a $variable somewhere
	// after its definition. nats-server does not report such keys as
	// unknown fields: they are variable definitions.
	Referenced bool
}

// Map is an ordered map: entries keep the order of the file, so problems
// are reported in reading order. A key given twice keeps its first place
// and its last value, as nats-server keeps the last value.
type Map struct {
	entries []*Entry
	index   map[string]int
}

// NewMap returns an empty map.
func NewMap() *Map { return &Map{index: make(map[string]int)} }

// Entries returns the entries in file order. The slice must not be modified.
func (m *Map) Entries() []*Entry {
	if m == nil {
		return nil
	}
	return m.entries
}

// Len is the number of distinct keys.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.entries)
}

// Get returns the entry for key (exact match), or nil.
func (m *Map) Get(key string) *Entry {
	if m == nil {
		return nil
	}
	if i, ok := m.index[key]; ok {
		return m.entries[i]
	}
	return nil
}

// Set stores e, replacing an entry with the same key in place.
func (m *Map) Set(e *Entry) {
	if i, ok := m.index[e.Key]; ok {
		m.entries[i] = e
		return
	}
	m.index[e.Key] = len(m.entries)
	m.entries = append(m.entries, e)
}
