package jsapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"testing"
)

// responseTypes maps the "type" of a reference reply to the type that
// decodes it.
var responseTypes = map[string]func() any{
	AccountInfoResponseType:     func() any { return new(AccountInfoResponse) },
	StreamCreateResponseType:    func() any { return new(StreamCreateResponse) },
	StreamUpdateResponseType:    func() any { return new(StreamUpdateResponse) },
	StreamInfoResponseType:      func() any { return new(StreamInfoResponse) },
	StreamListResponseType:      func() any { return new(StreamListResponse) },
	StreamNamesResponseType:     func() any { return new(StreamNamesResponse) },
	StreamDeleteResponseType:    func() any { return new(StreamDeleteResponse) },
	StreamPurgeResponseType:     func() any { return new(StreamPurgeResponse) },
	StreamMsgGetResponseType:    func() any { return new(MsgGetResponse) },
	StreamMsgDeleteResponseType: func() any { return new(MsgDeleteResponse) },
	StreamSnapshotResponseType:  func() any { return new(StreamSnapshotResponse) },
	StreamRestoreResponseType:   func() any { return new(StreamRestoreResponse) },
	ConsumerCreateResponseType:  func() any { return new(ConsumerCreateResponse) },
	ConsumerInfoResponseType:    func() any { return new(ConsumerInfoResponse) },
	ConsumerNamesResponseType:   func() any { return new(ConsumerNamesResponse) },
	ConsumerListResponseType:    func() any { return new(ConsumerListResponse) },
	ConsumerDeleteResponseType:  func() any { return new(ConsumerDeleteResponse) },
	ConsumerPauseResponseType:   func() any { return new(ConsumerPauseResponse) },
}

// TestGoldenRoundTrip decodes every JSON reply of the reference strictly
// (an unknown key fails) into this package's type for it, marshals it
// again and wants the same bytes: every key the reference sends is known,
// in the reference's order, with its omitempty choice.
func TestGoldenRoundTrip(t *testing.T) {
	golden := readGolden(t)
	names := slices.Sorted(maps.Keys(golden))
	if len(names) == 0 {
		t.Fatal("no golden replies")
	}
	for _, name := range names {
		raw := golden[name]
		if bytes.HasPrefix(raw, []byte("NATS/1.0")) {
			continue // status-only replies; see TestGoldenReplay
		}
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var v any
		if head.Type == "" {
			if bytes.Contains(raw, []byte(`"duplicate": true`)) {
				continue // hand-written by the reference; see TestPubAckText
			}
			v = new(PubAckResponse)
		} else if mk, ok := responseTypes[head.Type]; ok {
			v = mk()
		} else {
			t.Fatalf("%s: no type for %q", name, head.Type)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("%s: strict decode: %v", name, err)
			continue
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(again, raw) {
			t.Errorf("%s: round trip differs\n got %s\nwant %s", name, again, raw)
		}
		checkRequiredLevels(t, name, v)
	}
}

// checkRequiredLevels compares the _nats.req.level the reference stamped on
// each configuration in a reply with what this package computes for it.
func checkRequiredLevels(t *testing.T, name string, v any) {
	t.Helper()
	check := func(md map[string]string, want int) {
		if got, ok := md[MetaRequiredLevel]; ok && got != strconv.Itoa(want) {
			t.Errorf("%s: reference stamped %s=%s, computed %d", name, MetaRequiredLevel, got, want)
		}
	}
	var streams []*StreamInfo
	var consumers []*ConsumerInfo
	switch r := v.(type) {
	case *StreamCreateResponse:
		streams = append(streams, r.StreamInfo)
	case *StreamUpdateResponse:
		streams = append(streams, r.StreamInfo)
	case *StreamInfoResponse:
		streams = append(streams, r.StreamInfo)
	case *StreamListResponse:
		streams = append(streams, r.Streams...)
	case *ConsumerCreateResponse:
		consumers = append(consumers, r.ConsumerInfo)
	case *ConsumerInfoResponse:
		consumers = append(consumers, r.ConsumerInfo)
	case *ConsumerListResponse:
		consumers = append(consumers, r.Consumers...)
	}
	for _, si := range streams {
		if si != nil {
			check(si.Config.Metadata, StreamRequiredAPILevel(&si.Config))
		}
	}
	for _, ci := range consumers {
		if ci != nil && ci.Config != nil {
			check(ci.Config.Metadata, ConsumerRequiredAPILevel(ci.Config))
		}
	}
}
