package jsapi

import (
	"testing"
	"time"
)

func mustRequest(t *testing.T, js string) *StreamConfigRequest {
	t.Helper()
	var req StreamConfigRequest
	if err := DecodeRequest([]byte(js), &req, true); err != nil {
		t.Fatalf("request %s: %v", js, err)
	}
	return &req
}

func TestCheckStreamCreateFeatures(t *testing.T) {
	existing := MapCatalog{"O": {Name: "O", Subjects: []string{"o.>"}}}
	cases := []struct {
		name      string
		req       string
		supported FeatureSet
		desc      string // "" when accepted
	}{
		{"nothing optional", `{"name":"S"}`, NewFeatureSet(), ""},
		{"all supported", `{"name":"S","allow_msg_counter":true}`, nil, ""},
		{"ttl refused", `{"name":"S","allow_msg_ttl":true}`, NewFeatureSet(), "stream configuration field allow_msg_ttl is not supported by this server"},
		{"markers named first", `{"name":"S","subject_delete_marker_ttl":1000000000}`, NewFeatureSet(FeatureMsgTTL), "stream configuration field subject_delete_marker_ttl is not supported by this server"},
		{"implied rollups need support", `{"name":"S","subject_delete_marker_ttl":1000000000}`, NewFeatureSet(FeatureMsgTTL, FeatureSubjectDeleteMarkers), "stream configuration field allow_rollup_hdrs is not supported by this server"},
		{"counter", `{"name":"S","allow_msg_counter":true}`, NewFeatureSet(FeatureMsgTTL), "stream configuration field allow_msg_counter is not supported by this server"},
		{"atomic", `{"name":"S","allow_atomic":true}`, NewFeatureSet(), "stream configuration field allow_atomic is not supported by this server"},
		{"batched", `{"name":"S","allow_batched":true}`, NewFeatureSet(), "stream configuration field allow_batched is not supported by this server"},
		{"schedules", `{"name":"S","allow_msg_schedules":true}`, NewFeatureSet(FeatureRollup), "stream configuration field allow_msg_schedules is not supported by this server"},
		{"async", `{"name":"S","persist_mode":"async"}`, NewFeatureSet(), "stream configuration field persist_mode is not supported by this server"},
		{"source transforms", `{"name":"S","sources":[{"name":"O","subject_transforms":[{"src":"o.*","dest":"x.$1"}]}]}`, NewFeatureSet(FeatureSources), "stream configuration field subject_transform is not supported by this server"},
		{"external", `{"name":"S","mirror":{"name":"O","external":{"api":"$JS.h.API","deliver":""}}}`, NewFeatureSet(FeatureMirror), "stream configuration field external is not supported by this server"},
		{"compression", `{"name":"S","compression":"s2"}`, NewFeatureSet(), "stream configuration field compression is not supported by this server"},
		// The reference's own refusals come first.
		{"overlap wins", `{"name":"S","subjects":["o.x"],"allow_msg_counter":true}`, NewFeatureSet(), "subjects overlap with an existing stream"},
		{"config error wins", `{"name":"S","allow_msg_counter":true,"discard":"new"}`, NewFeatureSet(), "counter stream cannot use discard new"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := CheckStreamCreate("S", mustRequest(t, c.req), &Env{Streams: existing, Supported: c.supported})
			got := ""
			if err != nil {
				got = err.Description
				if err.ErrCode != ErrCodeStreamInvalidConfig && err.ErrCode != ErrCodeStreamSubjectOverlap {
					t.Errorf("err_code %d", err.ErrCode)
				}
			}
			if got != c.desc {
				t.Errorf("got %q, want %q", got, c.desc)
			}
		})
	}
}

func TestCheckStreamCreateReplicas(t *testing.T) {
	req := mustRequest(t, `{"name":"S","num_replicas":3}`)
	if _, _, err := CheckStreamCreate("S", req, nil); err == nil || err.ErrCode != ErrCodeStreamReplicasNotSupported {
		t.Errorf("non-clustered: %v", err)
	}
	cfg, _, err := CheckStreamCreate("S", req, &Env{Clustered: true})
	if err != nil || cfg.Replicas != 3 {
		t.Errorf("clustered: %v %d", err, cfg.Replicas)
	}
}

func TestCheckStreamCreateLimitsHook(t *testing.T) {
	var seen *StreamConfig
	env := &Env{CheckLimits: func(old, cfg *StreamConfig) *ApiError {
		if old != nil {
			t.Error("create passes no old configuration")
		}
		seen = cfg
		return ErrMaximumStreamsLimit()
	}}
	// The account's limits are checked before the configuration, as in the
	// reference: a broken configuration still gets the limits error.
	_, _, err := CheckStreamCreate("S", mustRequest(t, `{"name":"S","max_age":-1}`), env)
	if err == nil || err.ErrCode != ErrCodeMaximumStreamsLimit {
		t.Fatalf("got %v", err)
	}
	if seen == nil || seen.MaxAge != -1 || seen.MaxMsgs != 0 || seen.Metadata[MetaRequiredLevel] != "0" {
		t.Errorf("hook got %+v, want the request as sent, with its required level", seen)
	}
	// Request-level errors come before it.
	if _, _, err := CheckStreamCreate("T", mustRequest(t, `{"name":"S"}`), env); err == nil || err.ErrCode != ErrCodeStreamMismatch {
		t.Errorf("mismatch: %v", err)
	}
}

func TestCheckStreamCreateIdempotent(t *testing.T) {
	env := &Env{Streams: MapCatalog{}}
	req := mustRequest(t, `{"name":"S","subjects":["s.>"],"allow_msg_ttl":true,"metadata":{"k":"v"}}`)
	cfg, exists, err := CheckStreamCreate("S", req, env)
	if err != nil || exists {
		t.Fatalf("first create: %v %v", err, exists)
	}
	env.Streams.(MapCatalog)["S"] = &cfg
	// Same request, and the same with response-only keys the client copied
	// from an INFO: both are the existing stream.
	for _, js := range []string{
		`{"name":"S","subjects":["s.>"],"allow_msg_ttl":true,"metadata":{"k":"v"}}`,
		`{"name":"S","subjects":["s.>"],"allow_msg_ttl":true,"metadata":{"k":"v","_nats.ver":"2.15.3","_nats.level":"5","_nats.req.level":"1"}}`,
	} {
		got, exists, err := CheckStreamCreate("S", mustRequest(t, js), env)
		if err != nil || !exists || !SameStreamConfig(&got, &cfg) {
			t.Errorf("%s: %v %v", js, err, exists)
		}
	}
	for _, js := range []string{
		`{"name":"S","subjects":["s.>"],"allow_msg_ttl":true}`,
		`{"name":"S","subjects":["s.>"],"allow_msg_ttl":true,"metadata":{"k":"v"},"max_msgs":5}`,
	} {
		if _, _, err := CheckStreamCreate("S", mustRequest(t, js), env); err == nil || err.ErrCode != ErrCodeStreamNameExist {
			t.Errorf("%s: got %v, want name exists", js, err)
		}
	}
}

func TestCheckStreamUpdate(t *testing.T) {
	old, _, err := CheckStreamCreate("S", mustRequest(t, `{"name":"S","subjects":["s.>"],"consumer_limits":{"max_ack_pending":100}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	other := &StreamConfig{Name: "O", Subjects: []string{"o.>"}}
	consumers := map[string]*ConsumerConfig{
		"c": {MaxAckPending: 50},
		"a": {MaxAckPending: 80, InactiveThreshold: time.Minute},
		"b": {MaxAckPending: 10},
	}
	var limitsOld, limitsNew *StreamConfig
	env := &Env{
		Streams:   MapCatalog{"S": &old, "O": other},
		Consumers: func(stream string) map[string]*ConsumerConfig { return consumers },
		CheckLimits: func(o, c *StreamConfig) *ApiError {
			limitsOld, limitsNew = o, c
			return nil
		},
	}
	cases := []struct {
		req  string
		desc string
	}{
		{`{"name":"S","subjects":["s.>","t"],"consumer_limits":{"max_ack_pending":100}}`, ""},
		{`{"name":"S","subjects":["s.>"],"consumer_limits":{"max_ack_pending":20}}`, "change to limits violates consumers: a, c"},
		{`{"name":"S","subjects":["s.>"],"consumer_limits":{"inactive_threshold":1000000000}}`, "change to limits violates consumers: a"},
		{`{"name":"S","subjects":["s.>","o.x"]}`, "subjects overlap with an existing stream"},
		{`{"name":"S","subjects":["s.>"],"persist_mode":"async"}`, "stream configuration update can not change persist mode"},
		{`{"name":"S","subjects":["s.>"],"allow_msg_schedules":true}`, ""},
	}
	for _, c := range cases {
		got, err := CheckStreamUpdate("S", mustRequest(t, c.req), &old, env)
		desc := ""
		if err != nil {
			desc = err.Description
		}
		if desc != c.desc {
			t.Errorf("%s: got %q, want %q", c.req, desc, c.desc)
			continue
		}
		if err == nil && (limitsOld != &old || limitsNew == nil || limitsNew.Name != "S" || got.Metadata[MetaRequiredLevel] == "") {
			t.Errorf("%s: limits hook saw %v %v; metadata %v", c.req, limitsOld, limitsNew, got.Metadata)
		}
	}
	if _, err := CheckStreamUpdate("S", mustRequest(t, `{"name":"S"}`), nil, env); err == nil || err.ErrCode != ErrCodeStreamNotFound {
		t.Errorf("missing stream: %v", err)
	}
}

func TestOverlappingStream(t *testing.T) {
	env := &Env{Streams: MapCatalog{
		"A": {Name: "A", Subjects: []string{"a.*"}},
		"B": {Name: "B", Subjects: []string{"b.>"}},
	}}
	if name, ok := OverlappingStream(env, []string{"x", "b.c.d"}, "S"); !ok || name != "B" {
		t.Errorf("got %q %v", name, ok)
	}
	if _, ok := OverlappingStream(env, []string{"a.b"}, "A"); ok {
		t.Error("a stream does not overlap itself")
	}
	if _, ok := OverlappingStream(env, []string{"a.b.c"}, "S"); ok {
		t.Error("a.b.c does not match a.*")
	}
	if _, ok := OverlappingStream(nil, []string{">"}, "S"); ok {
		t.Error("no catalog, no overlap")
	}
}
