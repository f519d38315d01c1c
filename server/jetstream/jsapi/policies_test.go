package jsapi

import (
	"encoding/json"
	"testing"
)

// TestEnumJSON round-trips every value of every enumeration through its
// JSON string, and checks the refusals and their messages.
func TestEnumJSON(t *testing.T) {
	type enum interface {
		json.Marshaler
	}
	cases := []struct {
		v    enum
		text string
		back func() any
	}{
		{LimitsPolicy, `"limits"`, func() any { return new(RetentionPolicy) }},
		{InterestPolicy, `"interest"`, func() any { return new(RetentionPolicy) }},
		{WorkQueuePolicy, `"workqueue"`, func() any { return new(RetentionPolicy) }},
		{DiscardOld, `"old"`, func() any { return new(DiscardPolicy) }},
		{DiscardNew, `"new"`, func() any { return new(DiscardPolicy) }},
		{FileStorage, `"file"`, func() any { return new(StorageType) }},
		{MemoryStorage, `"memory"`, func() any { return new(StorageType) }},
		{NoCompression, `"none"`, func() any { return new(StoreCompression) }},
		{S2Compression, `"s2"`, func() any { return new(StoreCompression) }},
		{DefaultPersistMode, `"default"`, func() any { return new(PersistMode) }},
		{AsyncPersistMode, `"async"`, func() any { return new(PersistMode) }},
		{DeliverAll, `"all"`, func() any { return new(DeliverPolicy) }},
		{DeliverLast, `"last"`, func() any { return new(DeliverPolicy) }},
		{DeliverNew, `"new"`, func() any { return new(DeliverPolicy) }},
		{DeliverByStartSequence, `"by_start_sequence"`, func() any { return new(DeliverPolicy) }},
		{DeliverByStartTime, `"by_start_time"`, func() any { return new(DeliverPolicy) }},
		{DeliverLastPerSubject, `"last_per_subject"`, func() any { return new(DeliverPolicy) }},
		{AckNone, `"none"`, func() any { return new(AckPolicy) }},
		{AckAll, `"all"`, func() any { return new(AckPolicy) }},
		{AckExplicit, `"explicit"`, func() any { return new(AckPolicy) }},
		{AckFlowControl, `"flow_control"`, func() any { return new(AckPolicy) }},
		{ReplayInstant, `"instant"`, func() any { return new(ReplayPolicy) }},
		{ReplayOriginal, `"original"`, func() any { return new(ReplayPolicy) }},
		{PriorityNone, `"none"`, func() any { return new(PriorityPolicy) }},
		{PriorityOverflow, `"overflow"`, func() any { return new(PriorityPolicy) }},
		{PriorityPinnedClient, `"pinned_client"`, func() any { return new(PriorityPolicy) }},
		{PriorityPrioritized, `"prioritized"`, func() any { return new(PriorityPolicy) }},
		{ActionCreateOrUpdate, `""`, func() any { return new(ConsumerAction) }},
		{ActionUpdate, `"update"`, func() any { return new(ConsumerAction) }},
		{ActionCreate, `"create"`, func() any { return new(ConsumerAction) }},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.text {
			t.Errorf("%T %v: marshal %s %v, want %s", c.v, c.v, b, err, c.text)
			continue
		}
		back := c.back()
		if err := json.Unmarshal(b, back); err != nil {
			t.Errorf("%T: unmarshal %s: %v", c.v, b, err)
			continue
		}
		again, _ := json.Marshal(back)
		if string(again) != c.text {
			t.Errorf("%T: round trip %s -> %s", c.v, c.text, again)
		}
	}
}

func TestEnumRefusals(t *testing.T) {
	cases := []struct {
		into any
		in   string
		err  string // "" when accepted
	}{
		{new(RetentionPolicy), `"Limits"`, `can not unmarshal "\"Limits\""`},
		{new(RetentionPolicy), `""`, `can not unmarshal "\"\""`},
		{new(DiscardPolicy), `"NEW"`, ""}, // any case, as the reference
		{new(DiscardPolicy), `"older"`, `can not unmarshal "\"older\""`},
		{new(StorageType), `"disk"`, `can not unmarshal "\"disk\""`},
		{new(StoreCompression), `"s\u0032"`, ""}, // decoded as a string first
		{new(StoreCompression), `"zstd"`, "unknown compression algorithm"},
		{new(StoreCompression), `7`, "json: cannot unmarshal number into Go value of type string"},
		{new(PersistMode), `""`, ""},
		{new(PersistMode), `"sync"`, `can not unmarshal "\"sync\""`},
		{new(DeliverPolicy), `"undefined"`, ""},
		{new(DeliverPolicy), `"first"`, `can not unmarshal "\"first\""`},
		{new(AckPolicy), `"some"`, `can not unmarshal "\"some\""`},
		{new(PriorityPolicy), `"pinned"`, `unknown priority policy: "pinned"`},
		{new(ConsumerAction), `"delete"`, `unknown consumer action: "delete"`},
	}
	for _, c := range cases {
		err := json.Unmarshal([]byte(c.in), c.into)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("%T %s: got %q, want %q", c.into, c.in, got, c.err)
		}
	}
	for _, v := range []json.Marshaler{RetentionPolicy(9), DiscardPolicy(-1), StorageType(5), StoreCompression(3), PersistMode(2), AckPolicy(9), ReplayPolicy(2), PriorityPolicy(9), ConsumerAction(7)} {
		if _, err := json.Marshal(v); err == nil {
			t.Errorf("%T(%v) marshalled", v, v)
		}
	}
	if b, _ := json.Marshal(DeliverPolicy(42)); string(b) != `"undefined"` {
		t.Errorf("unknown deliver policy: %s", b)
	}
}
