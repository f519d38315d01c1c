package jsapi

import (
	"errors"
	"testing"
	"time"
)

func TestStreamRequiredAPILevel(t *testing.T) {
	cases := []struct {
		cfg  StreamConfig
		want int
	}{
		{StreamConfig{}, 0},
		{StreamConfig{AllowMsgTTL: true}, 1},
		{StreamConfig{SubjectDeleteMarkerTTL: time.Second}, 1},
		{StreamConfig{AllowMsgCounter: true}, 2},
		{StreamConfig{AllowAtomic: true, AllowMsgTTL: true}, 2},
		{StreamConfig{AllowMsgSchedules: true}, 2},
		{StreamConfig{PersistMode: AsyncPersistMode}, 2},
		{StreamConfig{AllowBatched: true, AllowMsgCounter: true}, 4},
	}
	for _, c := range cases {
		if got := StreamRequiredAPILevel(&c.cfg); got != c.want {
			t.Errorf("%+v: level %d, want %d", c.cfg, got, c.want)
		}
	}
	future := time.Now().Add(time.Hour)
	zero := time.Time{}
	consumers := []struct {
		cfg  ConsumerConfig
		want int
	}{
		{ConsumerConfig{}, 0},
		{ConsumerConfig{PauseUntil: &zero}, 0},
		{ConsumerConfig{PauseUntil: &future}, 1},
		{ConsumerConfig{PriorityGroups: []string{"g"}}, 1},
		{ConsumerConfig{PinnedTTL: time.Second}, 1},
		{ConsumerConfig{PriorityPolicy: PriorityOverflow}, 1},
		{ConsumerConfig{AckPolicy: AckFlowControl, PriorityGroups: []string{"g"}}, 4},
	}
	for _, c := range consumers {
		if got := ConsumerRequiredAPILevel(&c.cfg); got != c.want {
			t.Errorf("%+v: level %d, want %d", c.cfg, got, c.want)
		}
	}
}

func TestMetadataStamping(t *testing.T) {
	cfg := StreamConfig{AllowMsgCounter: true, Metadata: map[string]string{
		MetaServerVersion: "9.9.9", MetaServerLevel: "9", MetaRequiredLevel: "7", "team": "a",
	}}
	SetStaticStreamMetadata(&cfg)
	want := map[string]string{MetaRequiredLevel: "2", "team": "a"}
	if len(cfg.Metadata) != len(want) || cfg.Metadata[MetaRequiredLevel] != "2" || cfg.Metadata["team"] != "a" {
		t.Fatalf("static metadata %v, want %v", cfg.Metadata, want)
	}
	resp := WithDynamicStreamMetadata(cfg, "1.2.3", 3)
	if resp.Metadata[MetaServerVersion] != "1.2.3" || resp.Metadata[MetaServerLevel] != "3" || resp.Metadata["team"] != "a" {
		t.Errorf("dynamic metadata %v", resp.Metadata)
	}
	if _, ok := cfg.Metadata[MetaServerVersion]; ok {
		t.Error("WithDynamicStreamMetadata changed the stored configuration")
	}
	var empty StreamConfig
	SetStaticStreamMetadata(&empty)
	if empty.Metadata[MetaRequiredLevel] != "0" {
		t.Errorf("nil metadata: %v", empty.Metadata)
	}
	cc := ConsumerConfig{AckPolicy: AckFlowControl}
	SetStaticConsumerMetadata(&cc)
	if cc.Metadata[MetaRequiredLevel] != "4" {
		t.Errorf("consumer: %v", cc.Metadata)
	}
	if r := WithDynamicConsumerMetadata(cc, "v", 5); r.Metadata[MetaServerLevel] != "5" || len(cc.Metadata) != 1 {
		t.Errorf("consumer dynamic: %v / %v", r.Metadata, cc.Metadata)
	}
}

func TestRequiredLevels(t *testing.T) {
	cases := []struct {
		header string
		level  int
		ok     bool
	}{
		{"", 5, true}, {"0", 5, true}, {"5", 5, true}, {"6", 5, false}, {"3", 2, false},
		{"x", 5, false}, {" 1", 5, false}, {"-1", 0, true},
	}
	for _, c := range cases {
		err := CheckRequiredAPILevel(c.header, c.level)
		if (err == nil) != c.ok || (err != nil && err.ErrCode != ErrCodeRequiredApiLevel) {
			t.Errorf("header %q at level %d: %v", c.header, c.level, err)
		}
	}
	for md, ok := range map[string]bool{"": true, "2": true, "5": true, "6": false, "x": false} {
		m := map[string]string{}
		if md != "" {
			m[MetaRequiredLevel] = md
		}
		if SupportsRequiredLevel(m, 5) != ok {
			t.Errorf("SupportsRequiredLevel(%q)", md)
		}
	}
	if got := UnsupportedReason(map[string]string{MetaRequiredLevel: "7"}, 5); got != "unsupported - required API level: 7, current API level: 5" {
		t.Errorf("reason %q", got)
	}
}

func TestDecodeStoredConfig(t *testing.T) {
	cfg, strictErr, err := DecodeStoredConfig[StreamConfig]([]byte(`{"name":"S","max_msgs":5}`))
	if err != nil || strictErr != nil || cfg.Name != "S" || cfg.MaxMsgs != 5 {
		t.Fatalf("plain: %+v %v %v", cfg, strictErr, err)
	}
	// A field from a newer server: strict fails, the rest is kept.
	cfg, strictErr, err = DecodeStoredConfig[StreamConfig]([]byte(`{"name":"S","max_msgs":5,"allow_teleport":true}`))
	if err != nil || strictErr == nil || cfg.Name != "S" || cfg.MaxMsgs != 5 {
		t.Fatalf("unknown field: %+v %v %v", cfg, strictErr, err)
	}
	// A value from a newer server: that field alone is left unset.
	cfg, strictErr, err = DecodeStoredConfig[StreamConfig]([]byte(`{"name":"S","retention":"eventually","max_msgs":5}`))
	if err != nil || !errors.Is(strictErr, ErrInvalidConfigValue) || cfg.Name != "S" || cfg.MaxMsgs != 5 {
		t.Fatalf("unknown value: %+v %v %v", cfg, strictErr, err)
	}
	if strictErr.Error() != `invalid value "eventually" for field "retention"` {
		t.Errorf("strict error %q", strictErr)
	}
	if _, _, err := DecodeStoredConfig[StreamConfig]([]byte(`[1,2]`)); err == nil {
		t.Error("not an object: want an error")
	}
}

func FuzzDecodeStoredConfig(f *testing.F) {
	f.Add([]byte(`{"name":"S","retention":"workqueue","sources":[{"name":"A"}]}`))
	f.Add([]byte(`{"name":"S","storage":"tape"}`))
	f.Add([]byte(`{"durable_name":"C","ack_policy":"explicit","backoff":[1,2]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = DecodeStoredConfig[StreamConfig](b)
		_, _, _ = DecodeStoredConfig[ConsumerConfig](b)
	})
}
