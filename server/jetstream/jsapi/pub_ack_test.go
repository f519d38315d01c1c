package jsapi

import (
	"encoding/json"
	"testing"
)

// TestPubAckText pins the hand-written PubAck to the reference's bytes.
func TestPubAckText(t *testing.T) {
	plain, withDomain := PubAckPrefix("ORDERS", ""), PubAckPrefix("ORDERS", "hub")
	cases := []struct {
		got, want string
	}{
		{string(AppendPubAck(nil, plain, 1, false)), `{"stream":"ORDERS","seq":1}`},
		{string(AppendPubAck(nil, plain, 22, true)), `{"stream":"ORDERS","seq":22,"duplicate": true}`},
		{string(AppendPubAck(nil, withDomain, 7, false)), `{"stream":"ORDERS","domain":"hub","seq":7}`},
		{string(AppendBatchPubAck(nil, plain, 9, "b1", 3, false)), `{"stream":"ORDERS","seq":9,"batch":"b1","count":3}`},
		{string(AppendBatchPubAck(nil, plain, 9, "b1", 3, true)), `{"stream":"ORDERS","seq":9,"duplicate": true,"batch":"b1","count":3}`},
		{string(AppendCounterPubAck(nil, plain, 4, "12")), `{"stream":"ORDERS","seq":4,"val":"12"}`},
		{string(PubAckError("ORDERS", ErrStreamNotMatch())), `{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"},"stream":"ORDERS","seq":0}`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
	// Whatever the spacing, clients decode it.
	var r PubAckResponse
	if err := json.Unmarshal(AppendPubAck(nil, withDomain, 22, true), &r); err != nil ||
		r.PubAck == nil || r.Stream != "ORDERS" || r.Domain != "hub" || r.Sequence != 22 || !r.Duplicate {
		t.Errorf("decode: %+v %v", r.PubAck, err)
	}
}

func TestPubAckAllocations(t *testing.T) {
	prefix := PubAckPrefix("ORDERS", "")
	buf := make([]byte, 0, 128)
	n := testing.AllocsPerRun(100, func() {
		buf = AppendPubAck(buf[:0], prefix, 123456789, false)
	})
	if n != 0 {
		t.Errorf("AppendPubAck allocates %v times per ack", n)
	}
}

func BenchmarkAppendPubAck(b *testing.B) {
	prefix := PubAckPrefix("ORDERS", "")
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = AppendPubAck(buf[:0], prefix, uint64(i), false)
	}
}

func BenchmarkMarshalPubAck(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = json.Marshal(&PubAck{Stream: "ORDERS", Sequence: uint64(i)})
	}
}

func TestBatchFlowTypes(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{BatchFlowAck{Type: "x", Sequence: 5, Messages: 10}, `{"type":"ack","seq":5,"msgs":10}`},
		{BatchFlowGap{ExpectedLastSequence: 3, CurrentSequence: 7}, `{"type":"gap","last_seq":3,"seq":7}`},
		{BatchFlowErr{Sequence: 2, Error: ErrBatchPublishDisabled()}, `{"type":"err","seq":2,"error":{"code":400,"err_code":10205,"description":"batch publish is disabled"}}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%T: %s %v, want %s", c.v, b, err, c.want)
		}
	}
}
