package jsapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustConfig(t *testing.T, js string) *StreamConfig {
	t.Helper()
	var req StreamConfigRequest
	if err := DecodeRequest([]byte(js), &req, true); err != nil {
		t.Fatalf("config %s: %v", js, err)
	}
	return &req.StreamConfig
}

// TestCheckStreamConfigErrors covers what the golden script can not reach
// through the API (names the request subject can not carry, server and
// account limits) and pins the order of checks where two mistakes meet.
func TestCheckStreamConfigErrors(t *testing.T) {
	cases := []struct {
		name     string
		cfg      string
		lim      Limits
		pedantic bool
		errCode  ErrCode
		desc     string
	}{
		{"empty name", `{"name":""}`, Limits{}, false, ErrCodeStreamInvalidConfig, `stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"dot in name", `{"name":"a.b"}`, Limits{}, false, ErrCodeStreamInvalidConfig, `stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"space in name", `{"name":"a b"}`, Limits{}, false, ErrCodeStreamInvalidConfig, `stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"slash in name", `{"name":"a/b"}`, Limits{}, false, ErrCodeStreamInvalidConfig, `stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"name before replicas", `{"name":"a*","num_replicas":9}`, Limits{}, false, ErrCodeStreamInvalidConfig, `stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"replicas before limits", `{"name":"X","num_replicas":-2,"max_age":-1}`, Limits{}, false, ErrCodeReplicasCountCannotBeNegative, "replicas count cannot be negative"},
		{"pedantic max_msgs_per_subject", `{"name":"X","max_msgs_per_subject":-3}`, Limits{}, true, ErrCodePedantic, "pedantic mode: max_msgs_per_subject must be set to -1"},
		{"pedantic max_bytes", `{"name":"X","max_bytes":-3}`, Limits{}, true, ErrCodePedantic, "pedantic mode: max_bytes must be set to -1"},
		{"pedantic max_msg_size", `{"name":"X","max_msg_size":-3}`, Limits{}, true, ErrCodePedantic, "pedantic mode: max_msg_size must be set to -1"},
		{"pedantic max_consumers", `{"name":"X","max_consumers":-3}`, Limits{}, true, ErrCodePedantic, "pedantic mode: max_consumers must be set to -1"},
		{"server window limit pedantic", `{"name":"X"}`, Limits{MaxDuplicateWindow: time.Minute}, true, ErrCodePedantic, "pedantic mode: duplicate window limits are higher than current limits"},
		{"server window limit", `{"name":"X","duplicate_window":180000000000}`, Limits{MaxDuplicateWindow: time.Minute}, false, ErrCodeStreamInvalidConfig, "duplicates window can not be larger then server limit of 1m0s"},
		{"max bytes required", `{"name":"X"}`, Limits{MaxBytesRequired: true}, false, ErrCodeStreamMaxBytesRequired, "account requires a stream config to have max bytes set"},
		{"max stream bytes file", `{"name":"X","max_bytes":2048}`, Limits{StoreMaxStreamBytes: 1024}, false, ErrCodeStreamMaxStreamBytesExceeded, "stream max bytes exceeds account limit max stream bytes"},
		{"max stream bytes memory", `{"name":"X","max_bytes":2048,"storage":"memory"}`, Limits{MemoryMaxStreamBytes: 1024}, false, ErrCodeStreamMaxStreamBytesExceeded, "stream max bytes exceeds account limit max stream bytes"},
		{"capture all replicas", `{"name":"X","subjects":[">"],"no_ack":true,"num_replicas":3}`, Limits{}, false, ErrCodeStreamInvalidConfig, "capturing all subjects requires replicas of 1"},
		{"counter interest", `{"name":"X","allow_msg_counter":true,"retention":"interest"}`, Limits{}, false, ErrCodeStreamInvalidConfig, "counter stream can only use limits retention"},
		{"counter schedules", `{"name":"X","allow_msg_counter":true,"allow_msg_schedules":true}`, Limits{}, false, ErrCodeStreamInvalidConfig, "counter stream cannot use message schedules"},
		{"negative marker ttl", `{"name":"X","subject_delete_marker_ttl":-1}`, Limits{}, false, ErrCodeStreamInvalidConfig, "subject delete marker TTL must not be negative"},
		{"marker ttl pedantic rollup", `{"name":"X","subject_delete_marker_ttl":1000000000,"allow_msg_ttl":true,"pedantic":true}`, Limits{}, true, ErrCodeStreamInvalidConfig, "subject delete marker cannot be set if roll-ups are disabled"},
		{"schedules pedantic rollup", `{"name":"X","allow_msg_schedules":true}`, Limits{}, true, ErrCodeStreamInvalidConfig, "message scheduling cannot be set if roll-ups are disabled"},
		{"async replicated", `{"name":"X","persist_mode":"async","num_replicas":3}`, Limits{}, false, ErrCodeStreamInvalidConfig, "async persist mode is not supported on replicated streams"},
		{"async atomic", `{"name":"X","persist_mode":"async","allow_atomic":true}`, Limits{}, false, ErrCodeStreamInvalidConfig, "async persist mode is not supported with atomic batch publish"},
		{"mirror atomic", `{"name":"X","mirror":{"name":"O"},"allow_atomic":true}`, Limits{}, false, ErrCodeMirrorWithAtomicPublish, "stream mirrors can not also use atomic publishing"},
		{"mirror batched", `{"name":"X","mirror":{"name":"O"},"allow_batched":true}`, Limits{}, false, ErrCodeMirrorWithBatchPublish, "stream mirrors can not also use batch publishing"},
		{"mirror schedules", `{"name":"X","mirror":{"name":"O"},"allow_msg_schedules":true}`, Limits{}, false, ErrCodeMirrorWithMsgSchedules, "stream mirrors can not also schedule messages"},
		{"mirror consumer subject", `{"name":"X","mirror":{"name":"O","consumer":{"name":"c","deliver_subject":"d.*"}}}`, Limits{}, false, ErrCodeMirrorDurableConsumerCfgInvalid, "stream mirror consumer config is invalid"},
		{"mirror bad transform source", `{"name":"X","mirror":{"name":"O","subject_transforms":[{"src":"a..b","dest":""}]}}`, Limits{}, false, ErrCodeMirrorInvalidSubjectFilter, "mirror transform source: invalid subject a..b"},
		{"mirror bad transform dest", `{"name":"X","mirror":{"name":"O","subject_transforms":[{"src":"a","dest":"b.$1"}]}}`, Limits{}, false, ErrCodeMirrorInvalidTransformDestination, "mirror transform: invalid mapping destination: wildcard index out of range in $1"},
		{"source multiple filters", `{"name":"X","sources":[{"name":"O","filter_subject":"a","subject_transforms":[{"src":"b","dest":""}]}]}`, Limits{}, false, ErrCodeSourceMultipleFiltersNotAllowed, "source with multiple subject transforms cannot also have a single subject filter"},
		{"source bad transform source", `{"name":"X","sources":[{"name":"O","subject_transforms":[{"src":"a b","dest":""}]}]}`, Limits{}, false, ErrCodeSourceInvalidSubjectFilter, "source transform source: invalid subject a b"},
		{"source consumer duplicate", `{"name":"X","sources":[{"name":"O","consumer":{"name":"c","deliver_subject":"d1"}},{"name":"O","subject_transforms":[{"src":"x","dest":""}],"consumer":{"name":"c","deliver_subject":"d2"}}]}`, Limits{}, false, ErrCodeSourceDurableConsumerDuplicateDetected, "duplicate stream source consumer detected"},
		{"source nil", `{"name":"X","sources":[null]}`, Limits{}, false, ErrCodeSourceInvalidStreamName, "sourced stream name is invalid"},
		{"external api wildcard", `{"name":"X","sources":[{"name":"O","external":{"api":"$JS.*.API","deliver":""}}]}`, Limits{}, false, ErrCodeStreamInvalidConfig, `stream external api prefix "$JS.*.API" must be a valid subject without wildcards`},
		{"no subjects source only", `{"name":"X","sources":[]}`, Limits{}, false, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustConfig(t, c.cfg)
			_, err := CheckStreamConfig(cfg, c.pedantic, &Env{Limits: c.lim})
			if c.errCode == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %d %q", c.errCode, c.desc)
			}
			if err.ErrCode != c.errCode || err.Description != c.desc {
				t.Errorf("got %d %q, want %d %q", err.ErrCode, err.Description, c.errCode, c.desc)
			}
		})
	}
}

// TestCheckStreamConfigDefaults checks the values the reference fills in.
func TestCheckStreamConfigDefaults(t *testing.T) {
	cases := []struct {
		name  string
		cfg   string
		lim   Limits
		check func(c *StreamConfig) bool
	}{
		{"plain", `{"name":"S"}`, Limits{}, func(c *StreamConfig) bool {
			return reflect.DeepEqual(c.Subjects, []string{"S"}) && c.MaxMsgs == -1 && c.MaxBytes == -1 &&
				c.MaxMsgSize == -1 && c.MaxConsumers == -1 && c.MaxMsgsPerSubject == -1 && c.MaxAge == 0 &&
				c.DuplicateWindow == 2*time.Minute && c.Replicas == 1 && c.Storage == FileStorage &&
				c.Retention == LimitsPolicy && c.Discard == DiscardOld && c.Compression == NoCompression
		}},
		{"below -1 means unlimited", `{"name":"S","max_msgs":-7,"max_bytes":-7,"max_msg_size":-7,"max_consumers":-7,"max_msgs_per_subject":-7}`, Limits{}, func(c *StreamConfig) bool {
			return c.MaxMsgs == -1 && c.MaxBytes == -1 && c.MaxMsgSize == -1 && c.MaxConsumers == -1 && c.MaxMsgsPerSubject == -1
		}},
		{"window follows max age", `{"name":"S","max_age":30000000000}`, Limits{}, func(c *StreamConfig) bool {
			return c.DuplicateWindow == 30*time.Second
		}},
		{"window follows server limit", `{"name":"S"}`, Limits{MaxDuplicateWindow: time.Minute}, func(c *StreamConfig) bool {
			return c.DuplicateWindow == time.Minute
		}},
		{"mirror gets no window and no subjects", `{"name":"S","mirror":{"name":"O"}}`, Limits{}, func(c *StreamConfig) bool {
			return c.DuplicateWindow == 0 && len(c.Subjects) == 0
		}},
		{"sources keep a given window", `{"name":"S","sources":[{"name":"O"}],"duplicate_window":5000000000}`, Limits{}, func(c *StreamConfig) bool {
			return c.DuplicateWindow == 5*time.Second && len(c.Subjects) == 0
		}},
		{"markers imply ttl and rollups", `{"name":"S","subject_delete_marker_ttl":1000000000,"deny_purge":true}`, Limits{}, func(c *StreamConfig) bool {
			return c.AllowMsgTTL && c.AllowRollupHdrs && !c.DenyPurge
		}},
		{"schedules imply rollups", `{"name":"S","allow_msg_schedules":true}`, Limits{}, func(c *StreamConfig) bool {
			return c.AllowRollupHdrs && !c.DenyPurge
		}},
		{"empty placement dropped", `{"name":"S","placement":{"tags":[]}}`, Limits{}, func(c *StreamConfig) bool {
			return c.Placement == nil
		}},
		{"placement kept", `{"name":"S","placement":{"cluster":"c1"}}`, Limits{}, func(c *StreamConfig) bool {
			return c.Placement != nil && c.Placement.Cluster == "c1"
		}},
		{"republish source defaults to all", `{"name":"S","subjects":["s.>"],"republish":{"dest":"r.>"}}`, Limits{}, func(c *StreamConfig) bool {
			return c.RePublish.Source == ">"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustConfig(t, c.cfg)
			got, err := CheckStreamConfig(cfg, false, &Env{Limits: c.lim})
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !c.check(&got) {
				b, _ := json.Marshal(got)
				t.Errorf("defaults wrong: %s", b)
			}
		})
	}
}

func TestCheckStreamConfigDoesNotModifyInput(t *testing.T) {
	cfg := mustConfig(t, `{"name":"S","subjects":["s.>"],"republish":{"dest":"r.>"},"placement":{},"metadata":{"a":"b"}}`)
	before, _ := json.Marshal(cfg)
	if _, err := CheckStreamConfig(cfg, false, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(cfg)
	if string(before) != string(after) {
		t.Errorf("input changed:\n%s\n%s", before, after)
	}
}

func TestCheckCycles(t *testing.T) {
	// A sources B; B sources C (all of it, or only c.x); M mirrors N.
	catalog := func(filter string) MapCatalog {
		return MapCatalog{
			"A": {Name: "A", Subjects: []string{"a"}, Sources: []*StreamSource{{Name: "B"}}},
			"B": {Name: "B", Subjects: []string{"b"}, Sources: []*StreamSource{{Name: "C", FilterSubject: filter}}},
			"M": {Name: "M", Mirror: &StreamSource{Name: "N"}},
		}
	}
	cases := []struct {
		filter string
		cfg    string
		cycle  bool
	}{
		{"", `{"name":"C","subjects":["c.>"],"sources":[{"name":"A"}]}`, true},
		// As in the reference, a filter is compared with the subjects of
		// the stream that holds it (B's "b"), so this is not a cycle.
		{"c.x", `{"name":"C","subjects":["c.>"],"sources":[{"name":"A"}]}`, false},
		{"b", `{"name":"C","subjects":["c.>"],"sources":[{"name":"A"}]}`, true},
		{"", `{"name":"N","mirror":{"name":"M"}}`, true},
		{"", `{"name":"D","subjects":["d"],"sources":[{"name":"A"},{"name":"B"}]}`, false}, // a diamond
	}
	for _, c := range cases {
		cfg := mustConfig(t, c.cfg)
		_, err := CheckStreamConfig(cfg, false, &Env{Streams: catalog(c.filter)})
		if got := err != nil && err.Description == "detected cycle"; got != c.cycle {
			t.Errorf("filter %q, %s: cycle=%v (%v), want %v", c.filter, c.cfg, got, err, c.cycle)
		}
	}
}

func TestSourceKey(t *testing.T) {
	same := [][2]StreamSource{
		{{Name: "A"}, {Name: "A", FilterSubject: ">"}},
		{{Name: "A", SubjectTransforms: []SubjectTransformConfig{{Source: "", Destination: ""}}},
			{Name: "A", SubjectTransforms: []SubjectTransformConfig{{Source: ">", Destination: ">"}}}},
	}
	for _, p := range same {
		if p[0].Key() != p[1].Key() {
			t.Errorf("%+v and %+v should share a key", p[0], p[1])
		}
	}
	differ := [][2]StreamSource{
		{{Name: "A"}, {Name: "B"}},
		{{Name: "A"}, {Name: "A", FilterSubject: "x"}},
		{{Name: "A"}, {Name: "A", External: &ExternalStream{APIPrefix: "$JS.h.API"}}},
		{{Name: "A"}, {Name: "A", Consumer: &StreamConsumerSource{Name: "c"}}},
	}
	for _, p := range differ {
		if p[0].Key() == p[1].Key() {
			t.Errorf("%+v and %+v should not share a key", p[0], p[1])
		}
	}
	if d := (&ExternalStream{APIPrefix: "$JS.hub.API"}).Domain(); d != "hub" {
		t.Errorf("Domain() = %q", d)
	}
	if strings.Contains((&StreamSource{Name: "A"}).Key(), "\f") {
		t.Error("single filter key should not hold a separator")
	}
}
