package jsapi

import (
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	cases := []struct {
		in     string
		strict bool
		err    string
		name   string
	}{
		{``, true, "", ""},
		{`{"name":"A"}`, true, "", "A"},
		{`{"name":"A"} {"name":"B"}`, true, "", "B"}, // value after value
		{`{"name":"A","bogus":1}`, true, `json: unknown field "bogus"`, ""},
		{`{"name":"A","bogus":1}`, false, "", "A"},
		{`{"name":"A",`, true, "unexpected EOF", ""},
		{`{"name":"A",]`, true, "invalid character ']' looking for beginning of object key string at offset 13", ""},
		{`{"name":"A",]`, false, "invalid character ']' looking for beginning of object key string", ""},
		{`{"max_age":"1s"}`, true, "json: cannot unmarshal string into Go struct field StreamConfigRequest.StreamConfig.max_age of type time.Duration", ""},
		{`{"mirror":{"opt_start_seq":-1}}`, true, "json: cannot unmarshal number -1 into Go struct field StreamSource.StreamConfig.mirror.opt_start_seq of type uint64", ""},
	}
	for _, c := range cases {
		var req StreamConfigRequest
		err := DecodeRequest([]byte(c.in), &req, c.strict)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("%s (strict %v): error %q, want %q", c.in, c.strict, got, c.err)
		}
		if err == nil && req.Name != c.name {
			t.Errorf("%s: name %q, want %q", c.in, req.Name, c.name)
		}
	}
}

func TestRequestBodyShapes(t *testing.T) {
	empty := map[string]bool{"": true, "{}": true, " { } ": true, "{\n}": true, `{"a":1}`: false, "[]": false, "null": false, "x": false}
	for in, want := range empty {
		if IsEmptyRequest([]byte(in)) != want {
			t.Errorf("IsEmptyRequest(%q) != %v", in, want)
		}
	}
	obj := map[string]bool{"{": true, " \t\r\n[": true, "": false, "  ": false, "x{": false, "\f{": false}
	for in, want := range obj {
		if IsJSONObjectOrArray([]byte(in)) != want {
			t.Errorf("IsJSONObjectOrArray(%q) != %v", in, want)
		}
	}
}

// FuzzStreamCreate feeds arbitrary bodies through what STREAM.CREATE does
// with them. Nothing may panic, and an accepted configuration must be
// stable: checking it again gives the same configuration, and re-creating
// it is idempotent.
func FuzzStreamCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"S"}`,
		`{"name":"S","subjects":["a.*","b.>"],"max_age":1000000000,"duplicate_window":500000000}`,
		`{"name":"S","mirror":{"name":"O","subject_transforms":[{"src":"a.*","dest":"b.$1"}]}}`,
		`{"name":"S","sources":[{"name":"O","external":{"api":"$JS.h.API","deliver":"d"}}],"republish":{"dest":"r.>"}}`,
		`{"name":"S","subject_delete_marker_ttl":1000000000,"allow_msg_schedules":true,"placement":{}}`,
		`{"name":"S","persist_mode":"async","allow_batched":true,"pedantic":true,"max_msgs":-3}`,
	} {
		f.Add([]byte(s))
	}
	origin := &StreamConfig{Name: "O", Subjects: []string{"o.>"}, AllowDirect: true, MaxMsgSize: 100}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req StreamConfigRequest
		if DecodeRequest(body, &req, true) != nil {
			return
		}
		env := &Env{Streams: MapCatalog{"O": origin}}
		cfg, _, err := CheckStreamCreate("S", &req, env)
		if err != nil {
			if err.ErrCode == 0 || strings.TrimSpace(err.Description) == "" {
				t.Fatalf("error without code or text: %+v", err)
			}
			return
		}
		again, aerr := CheckStreamConfig(&cfg, false, env)
		if aerr != nil || !SameStreamConfig(&again, &cfg) {
			t.Fatalf("checking an accepted configuration again: %v\n%+v\n%+v", aerr, cfg, again)
		}
		env.Streams.(MapCatalog)["S"] = &cfg
		if _, exists, err := CheckStreamCreate("S", &req, env); err != nil || !exists {
			t.Fatalf("re-create not idempotent: %v %v", err, exists)
		}
	})
}

// A body of the wrong JSON kind names the request type as the reference
// does (package "server").
func TestDecodeRequestTypeName(t *testing.T) {
	for _, strict := range []bool{true, false} {
		var req JSApiStreamPurgeRequest
		err := DecodeRequest([]byte(`[1,2]`), &req, strict)
		want := "json: cannot unmarshal array into Go value of type server.JSApiStreamPurgeRequest"
		if err == nil || err.Error() != want {
			t.Errorf("strict %v: %v, want %q", strict, err, want)
		}
	}
}
