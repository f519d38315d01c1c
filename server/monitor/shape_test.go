package monitor_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Shape comparison: two JSON documents have the same shape when they have
// the same keys, recursively, with values of the same JSON type. Arrays are
// compared by the union of their elements' shapes, so a list of
// connections is one shape however many there are. This is what a tool
// written for nats-server depends on: the values differ between any two
// servers, the keys and types must not.

// shapeRules tune a comparison. Paths are dotted, with "[]" for array
// elements, relative to the document: "connections[].name_tag".
type shapeRules struct {
	// tolerated: a key that may be present on one side only (a field the
	// reference fills and Keel cannot yet, or one omitted by value), with
	// the reason.
	tolerated map[string]string
	// opaque: compared as present with the same type, not descended into
	// (objects owned by another package and checked there, such as stream
	// and consumer configurations).
	opaque map[string]bool
}

// compareShapes returns the differences between ours and the reference's
// shape, one line each.
func compareShapes(ref, ours any, rules shapeRules) []string {
	var diffs []string
	walkShapes("", ref, ours, rules, &diffs)
	sort.Strings(diffs)
	return diffs
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func walkShapes(path string, ref, ours any, rules shapeRules, diffs *[]string) {
	rt, ot := jsonType(ref), jsonType(ours)
	if rt != ot {
		*diffs = append(*diffs, fmt.Sprintf("%s: type %s, reference has %s", orRoot(path), ot, rt))
		return
	}
	if rules.opaque[path] {
		return
	}
	switch r := ref.(type) {
	case map[string]any:
		o := ours.(map[string]any)
		for k, rv := range r {
			p := join(path, k)
			ov, ok := o[k]
			if !ok {
				if _, tol := rules.tolerated[p]; !tol {
					*diffs = append(*diffs, fmt.Sprintf("%s: missing (reference has %s)", p, jsonType(rv)))
				}
				continue
			}
			walkShapes(p, rv, ov, rules, diffs)
		}
		for k, ov := range o {
			p := join(path, k)
			if _, ok := r[k]; !ok {
				if _, tol := rules.tolerated[p]; !tol {
					*diffs = append(*diffs, fmt.Sprintf("%s: extra %s (not in reference)", p, jsonType(ov)))
				}
			}
		}
	case []any:
		o := ours.([]any)
		p := path + "[]"
		switch {
		case len(r) == 0 || len(o) == 0:
			if len(r) > 0 {
				if _, tol := rules.tolerated[p]; !tol {
					*diffs = append(*diffs, fmt.Sprintf("%s: empty, reference has %d elements", orRoot(path), len(r)))
				}
			}
		default:
			walkShapes(p, union(r), union(o), rules, diffs)
		}
	}
}

func orRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

// union merges the elements of an array into one shape: objects by the
// union of their keys (recursively), anything else by the first element.
func union(elems []any) any {
	var obj map[string]any
	for _, e := range elems {
		m, ok := e.(map[string]any)
		if !ok {
			return elems[0]
		}
		if obj == nil {
			obj = map[string]any{}
		}
		for k, v := range m {
			if prev, ok := obj[k]; ok {
				obj[k] = mergeValues(prev, v)
			} else {
				obj[k] = v
			}
		}
	}
	return obj
}

func mergeValues(a, b any) any {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		return union([]any{am, bm})
	}
	aa, aok := a.([]any)
	ba, bok := b.([]any)
	if aok && bok {
		return append(slices.Clone(aa), ba...)
	}
	if a == nil {
		return b
	}
	return a
}

// TestCompareShapes: the comparison finds what it is meant to find (and
// the reference comparisons below can therefore fail).
func TestCompareShapes(t *testing.T) {
	rules := shapeRules{
		tolerated: map[string]string{"skip": "test", "list[].gone": "test"},
		opaque:    map[string]bool{"cfg": true},
	}
	cases := []struct {
		name, ref, ours string
		want            []string
	}{
		{"same", `{"a":1,"b":{"c":"x"}}`, `{"b":{"c":"y"},"a":2}`, nil},
		{"missing", `{"a":1,"b":2}`, `{"a":1}`, []string{"b: missing (reference has number)"}},
		{"extra", `{"a":1}`, `{"a":1,"z":true}`, []string{"z: extra boolean (not in reference)"}},
		{"type", `{"a":"1"}`, `{"a":1}`, []string{"a: type number, reference has string"}},
		{"nested", `{"o":{"x":[1]}}`, `{"o":{"x":{}}}`, []string{"o.x: type object, reference has array"}},
		{"tolerated both ways", `{"skip":1}`, `{}`, nil},
		{"tolerated extra", `{}`, `{"skip":1}`, nil},
		{"opaque", `{"cfg":{"a":1}}`, `{"cfg":{"b":2}}`, nil},
		{"opaque type", `{"cfg":{}}`, `{"cfg":[]}`, []string{"cfg: type array, reference has object"}},
		{"array union", `{"list":[{"a":1},{"b":2}]}`, `{"list":[{"a":1,"b":2}]}`, nil},
		{"array element key", `{"list":[{"a":1,"gone":1},{"c":2}]}`, `{"list":[{"a":1}]}`, []string{"list[].c: missing (reference has number)"}},
		{"array empty ours", `{"list":[1]}`, `{"list":[]}`, []string{"list: empty, reference has 1 elements"}},
		{"array empty ref", `{"list":[]}`, `{"list":[{"x":1}]}`, nil},
		{"null vs list", `{"list":null}`, `{"list":[]}`, []string{"list: type array, reference has null"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ref, ours any
			if err := json.Unmarshal([]byte(c.ref), &ref); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(c.ours), &ours); err != nil {
				t.Fatal(err)
			}
			got := compareShapes(ref, ours, rules)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

// keyOrders records, for every object path of a document, its keys in the
// order they appear (for arrays, the order of first appearance across the
// elements).
func keyOrders(doc []byte) (map[string][]string, error) {
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	out := map[string][]string{}
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				if !slices.Contains(out[path], k) {
					out[path] = append(out[path], k)
				}
				if err := walk(join(path, k)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(path + "[]"); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return out, walk("")
}

// compareOrder reports objects whose keys common to both documents come in
// a different order (tools and people reading the JSON expect the
// reference's layout).
func compareOrder(ref, ours []byte, rules shapeRules) ([]string, error) {
	ro, err := keyOrders(ref)
	if err != nil {
		return nil, err
	}
	oo, err := keyOrders(ours)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for path, rk := range ro {
		if rules.opaque[path] || opaqueParent(path, rules) {
			continue
		}
		ok := oo[path]
		var common, mine []string
		for _, k := range rk {
			if slices.Contains(ok, k) {
				common = append(common, k)
			}
		}
		for _, k := range ok {
			if slices.Contains(rk, k) {
				mine = append(mine, k)
			}
		}
		if !slices.Equal(common, mine) {
			diffs = append(diffs, fmt.Sprintf("%s: keys in order %v, reference %v", orRoot(path), mine, common))
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}

func opaqueParent(path string, rules shapeRules) bool {
	for p := range rules.opaque {
		if strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[]") {
			return true
		}
	}
	return false
}

func TestCompareOrder(t *testing.T) {
	cases := []struct {
		name, ref, ours string
		want            int
	}{
		{"same", `{"a":1,"b":{"c":1,"d":2}}`, `{"a":2,"b":{"c":1,"d":2}}`, 0},
		{"extra keys ignored", `{"a":1,"b":2}`, `{"x":0,"a":1,"y":0,"b":2}`, 0},
		{"swapped", `{"a":1,"b":2}`, `{"b":2,"a":1}`, 1},
		{"nested in array", `{"l":[{"a":1,"b":2}]}`, `{"l":[{"b":2,"a":1}]}`, 1},
		{"opaque", `{"cfg":{"a":1,"b":2}}`, `{"cfg":{"b":2,"a":1}}`, 0},
	}
	for _, c := range cases {
		got, err := compareOrder([]byte(c.ref), []byte(c.ours), shapeRules{opaque: map[string]bool{"cfg": true}})
		if err != nil || len(got) != c.want {
			t.Errorf("%s: %v %v", c.name, got, err)
		}
	}
}
