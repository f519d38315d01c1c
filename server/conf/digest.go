package conf

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// maxDigestNodes bounds the work of Digest: values read through variables
// share their maps and arrays, so a small file can describe a tree whose
// expansion is exponential.
const maxDigestNodes = 1 << 22

// Digest returns "sha256:<hex>" of the parsed configuration's canonical
// JSON form (keys sorted, variables and includes resolved). It equals the
// digest nats-server prints for the same file, so `keel -t` and the
// start-up line identify a configuration the same way.
func (m *Map) Digest() string {
	budget := maxDigestNodes
	tree := m.plain(&budget)
	if budget < 0 {
		return "sha256:(too large to digest)"
	}
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(tree); err != nil {
		return "sha256:(" + err.Error() + ")"
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

// plain converts the map to Go's generic JSON types.
func (m *Map) plain(budget *int) map[string]any {
	out := make(map[string]any, m.Len())
	for _, e := range m.Entries() {
		if *budget--; *budget < 0 {
			return out
		}
		out[e.Key] = e.Value.plain(budget)
	}
	return out
}

func (v *Value) plain(budget *int) any {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindInt:
		return v.Int
	case KindFloat:
		return v.Float
	case KindBool:
		return v.Bool
	case KindTime:
		return v.Time
	case KindMap:
		return v.Map.plain(budget)
	case KindArray:
		out := make([]any, 0, len(v.Array))
		for _, item := range v.Array {
			if *budget--; *budget < 0 {
				return out
			}
			out = append(out, item.plain(budget))
		}
		return out
	}
	return nil
}
