package jsapi

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
)

func TestPage(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e"}
	cases := []struct {
		offset, limit int
		want          []string
		paged         ApiPaged
	}{
		{0, 2, []string{"a", "b"}, ApiPaged{5, 0, 2}},
		{3, 2, []string{"d", "e"}, ApiPaged{5, 3, 2}},
		{4, 10, []string{"e"}, ApiPaged{5, 4, 10}},
		{9, 10, []string{}, ApiPaged{5, 5, 10}},
		{-3, 10, all, ApiPaged{5, 0, 10}},
	}
	for _, c := range cases {
		got, paged := Page(all, c.offset, c.limit)
		if !slices.Equal(got, c.want) || paged != c.paged {
			t.Errorf("Page(%d, %d) = %v %+v, want %v %+v", c.offset, c.limit, got, paged, c.want, c.paged)
		}
	}
}

func TestSnapshotChunking(t *testing.T) {
	cases := []struct {
		chunk, window       int
		wantChunk, wantWind int
	}{
		{0, 0, 128 * 1024, 8 * 1024 * 1024},
		{10, 10, 1024, 1024},
		{4 << 20, 0, 1 << 20, 8 << 20},
		{512 * 1024, 64 << 20, 512 * 1024, 32 << 20},
		{256 * 1024, 2048, 256 * 1024, 256 * 1024}, // at least one chunk in flight
	}
	for _, c := range cases {
		r := JSApiStreamSnapshotRequest{ChunkSize: c.chunk, WindowSize: c.window}
		if ch, w := r.Chunking(); ch != c.wantChunk || w != c.wantWind {
			t.Errorf("Chunking(%d, %d) = %d, %d, want %d, %d", c.chunk, c.window, ch, w, c.wantChunk, c.wantWind)
		}
	}
	for subj, ok := range map[string]bool{"snap.x": true, "snap.*": false, "": false, "_R_.x": false, "$JS.API.x": false, "$JS.SNAPSHOT.ACK.x": false} {
		r := JSApiStreamSnapshotRequest{DeliverSubject: subj}
		if (r.Check() == nil) != ok {
			t.Errorf("deliver subject %q: %v", subj, r.Check())
		}
	}
}

func TestMsgGetAndPurgeChecks(t *testing.T) {
	if (&JSApiStreamPurgeRequest{Sequence: 1, Keep: 1}).Check() == nil || (&JSApiStreamPurgeRequest{Sequence: 1, Subject: "a"}).Check() != nil {
		t.Error("purge check")
	}
	for body, ok := range map[string]bool{
		`{"seq":1}`: true, `{"last_by_subj":"a"}`: true, `{"next_by_subj":"a"}`: true, `{"seq":5,"next_by_subj":"a.*"}`: true,
		`{"start_time":"2026-01-01T00:00:00Z"}`: true, `{}`: false, `{"seq":1,"batch":1}`: false, `{"seq":1,"max_bytes":1}`: false,
		`{"last_by_subj":"a","next_by_subj":"b"}`: false,
	} {
		var r JSApiMsgGetRequest
		if err := DecodeRequest([]byte(body), &r, true); err != nil {
			t.Fatal(err)
		}
		if (r.CheckMsgGet() == nil) != ok {
			t.Errorf("%s: %v", body, r.CheckMsgGet())
		}
	}
}

func TestSubjectHelpers(t *testing.T) {
	if StreamNameFromSubject("$JS.API.STREAM.INFO.ORDERS") != "ORDERS" || StreamNameFromSubject("$JS.API.STREAM.NAMES") != "" {
		t.Error("StreamNameFromSubject")
	}
	if ConsumerNameFromSubject("$JS.API.CONSUMER.INFO.ORDERS.C1") != "C1" || MsgStreamNameFromSubject("$JS.API.STREAM.MSG.GET.ORDERS") != "ORDERS" {
		t.Error("consumer and msg subject helpers")
	}
	if s, k, ok := DirectGetSubjectKey("$JS.API.DIRECT.GET.KV.a.b.c"); !ok || s != "KV" || k != "a.b.c" {
		t.Errorf("DirectGetSubjectKey = %q %q %v", s, k, ok)
	}
	m := DomainMappings("hub")
	if m["$JS.hub.API.INFO"] != APIAccountInfo || m["$JS.hub.API.STREAM.>"] != "$JS.API.STREAM.>" || m["$JS.hub.API.$KV.>"] != "$KV.>" || len(m) != 9 {
		t.Errorf("DomainMappings = %v", m)
	}
}

func TestUsedFeatures(t *testing.T) {
	cfg := &StreamConfig{
		AllowMsgTTL: true, AllowRollupHdrs: true, Compression: S2Compression, PersistMode: AsyncPersistMode,
		Sources: []*StreamSource{{Name: "A", External: &ExternalStream{}}, {Name: "B", SubjectTransforms: []SubjectTransformConfig{{Source: "x"}}}},
	}
	want := []Feature{FeatureMsgTTL, FeatureAsyncPersist, FeatureSources, FeatureExternalSource, FeatureSubjectTransform, FeatureCompression, FeatureRollup}
	if got := UsedFeatures(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("UsedFeatures = %v, want %v", got, want)
	}
	if UsedFeatures(&StreamConfig{}) != nil || CheckFeatures(cfg, nil) != nil || CheckFeatures(cfg, NewFeatureSet(AllFeatures...)) != nil {
		t.Error("plain config or full support must pass")
	}
}

func TestCloneIsDeep(t *testing.T) {
	var req StreamConfigRequest
	if err := DecodeRequest([]byte(`{"name":"S","subjects":["a"],"placement":{"tags":["t"]},"mirror":{"name":"M","opt_start_time":"2026-01-01T00:00:00Z","subject_transforms":[{"src":"a","dest":"b"}],"external":{"api":"p","deliver":"y"},"consumer":{"name":"c"}},"sources":[{"name":"A"}],"subject_transform":{"src":"a","dest":"b"},"republish":{"dest":"r"},"metadata":{"k":"v"}}`), &req, true); err != nil {
		t.Fatal(err)
	}
	orig := &req.StreamConfig
	c := orig.Clone()
	if !reflect.DeepEqual(c, orig) {
		t.Fatal("clone differs")
	}
	c.Subjects[0], c.Placement.Tags[0], c.Mirror.Name, c.Mirror.SubjectTransforms[0].Source = "x", "x", "x", "x"
	c.Mirror.External.APIPrefix, c.Mirror.Consumer.Name, c.Sources[0].Name = "x", "x", "x"
	c.SubjectTransform.Source, c.RePublish.Destination, c.Metadata["k"] = "x", "x", "x"
	*c.Mirror.OptStartTime = c.Mirror.OptStartTime.AddDate(1, 0, 0)
	b := orig.Clone()
	if b.Subjects[0] != "a" || b.Placement.Tags[0] != "t" || b.Mirror.Name != "M" || b.Mirror.SubjectTransforms[0].Source != "a" ||
		b.Mirror.External.APIPrefix != "p" || b.Mirror.Consumer.Name != "c" || b.Sources[0].Name != "A" ||
		b.SubjectTransform.Source != "a" || b.RePublish.Destination != "r" || b.Metadata["k"] != "v" || b.Mirror.OptStartTime.Year() != 2026 {
		t.Errorf("changing the clone changed the original: %+v", b)
	}
	co := &ConsumerConfig{FilterSubjects: []string{"a"}, Metadata: map[string]string{"k": "v"}, PriorityGroups: []string{"g"}}
	cc := co.Clone()
	cc.FilterSubjects[0], cc.Metadata["k"], cc.PriorityGroups[0] = "x", "x", "x"
	if co.FilterSubjects[0] != "a" || co.Metadata["k"] != "v" || co.PriorityGroups[0] != "g" {
		t.Errorf("changing the consumer clone changed the original: %+v", co)
	}
	if (*ConsumerConfig)(nil).Clone() != nil || (*StreamConfig)(nil).Clone() != nil {
		t.Error("nil clones")
	}
}

func TestSubjectsPage(t *testing.T) {
	totals := map[string]uint64{"a": 1, "b": 2, "c": 3}
	got, paged := SubjectsPage(totals, 0)
	if len(got) != 3 || paged != (ApiPaged{Total: 3, Offset: 0, Limit: MaxSubjectDetails}) {
		t.Errorf("first page: %v %+v", got, paged)
	}
	got, paged = SubjectsPage(totals, 1)
	if !reflect.DeepEqual(got, map[string]uint64{"b": 2, "c": 3}) || paged.Offset != 1 || paged.Total != 3 {
		t.Errorf("offset 1: %v %+v", got, paged)
	}
	// Past the end: nothing, and the offset asked for (the reference's
	// reply, checked with TestTranscriptInfoPaging -jsref).
	got, paged = SubjectsPage(totals, 7)
	if got != nil || paged.Offset != 7 {
		t.Errorf("past the end: %v %+v", got, paged)
	}
	if got, paged := SubjectsPage(nil, 2); got != nil || paged != (ApiPaged{}) {
		t.Errorf("no subjects: %v %+v", got, paged)
	}
	big := make(map[string]uint64, MaxSubjectDetails+5)
	for i := range MaxSubjectDetails + 5 {
		big[string(rune('a'+i%26))+strconv.Itoa(i)] = 1
	}
	if got, paged := SubjectsPage(big, 0); len(got) != MaxSubjectDetails || paged.Total != MaxSubjectDetails+5 {
		t.Errorf("too many: %d %+v", len(got), paged)
	}
}

func TestCheckStreamRestore(t *testing.T) {
	env := &Env{Streams: MapCatalog{"OLD": {Name: "OLD", Subjects: []string{"old"}}}}
	cases := []struct {
		subject, cfg string
		code         ErrCode
	}{
		{"NEW", `{"subjects":["new"]}`, 0},
		{"NEW", `{"name":"NEW","max_age":-1}`, ErrCodeStreamInvalidConfig},
		{"NEW", `{"name":"OTHER"}`, ErrCodeStreamMismatch},
		{`A\B`, `{}`, ErrCodeStreamNameContainsPathSeparators},
		{"OLD", `{"name":"OLD"}`, ErrCodeStreamNameExistRestoreFailed},
	}
	for _, c := range cases {
		var req JSApiStreamRestoreRequest
		if err := DecodeRequest([]byte(`{"config":`+c.cfg+`,"state":{}}`), &req, true); err != nil {
			t.Fatal(err)
		}
		cfg, err := CheckStreamRestore(c.subject, &req, env)
		if c.code == 0 {
			if err != nil || cfg.Name != c.subject || cfg.MaxMsgs != -1 {
				t.Errorf("%s: %v %+v", c.subject, err, cfg)
			}
		} else if err == nil || err.ErrCode != c.code {
			t.Errorf("%s %s: got %v, want %d", c.subject, c.cfg, err, c.code)
		}
	}
}
