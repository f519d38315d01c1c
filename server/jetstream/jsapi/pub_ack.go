package jsapi

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// PubAckResponse is the reply to a publish into a stream: a PubAck on
// success, {"error":...,"stream":...} on failure. There is no "type" key.
type PubAckResponse struct {
	Error *ApiError `json:"error,omitempty"`
	*PubAck
}

// ToError returns the response's error as an error, or a true nil.
func (r *PubAckResponse) ToError() error {
	if r.Error == nil {
		return nil
	}
	return r.Error
}

// PubAck acknowledges a stored message.
type PubAck struct {
	Stream    string `json:"stream"`
	Sequence  uint64 `json:"seq"`
	Domain    string `json:"domain,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
	// Value is a counter's new total (allow_msg_counter streams).
	Value string `json:"val,omitempty"`
	// BatchID and BatchSize acknowledge a committed batch.
	BatchID   string `json:"batch,omitempty"`
	BatchSize uint64 `json:"count,omitempty"`
}

// CounterValue is the body of a message in a counter stream: {"val":"123"}.
type CounterValue struct {
	Value string `json:"val"`
}

// CounterSources is the Nats-Counter-Sources header's JSON: per source
// stream, per subject, the last total seen.
type CounterSources map[string]map[string]string

// Flow-control messages of fast batch publishing. Their "type" is fixed by
// the message kind, whatever the Type field holds.

// BatchFlowAck says the batch is persisted up to Sequence.
type BatchFlowAck struct {
	Type     string `json:"type"`
	Sequence uint64 `json:"seq"`
	// Messages is the interval, in messages, between acks.
	Messages uint16 `json:"msgs"`
}

func (a BatchFlowAck) MarshalJSON() ([]byte, error) {
	type plain BatchFlowAck
	a.Type = "ack"
	return json.Marshal(plain(a))
}

// BatchFlowGap reports a gap: messages from ExpectedLastSequence up to
// CurrentSequence were lost (or, when CurrentSequence is not larger, the
// batch was reordered and ends).
type BatchFlowGap struct {
	Type                 string `json:"type"`
	ExpectedLastSequence uint64 `json:"last_seq"`
	CurrentSequence      uint64 `json:"seq"`
}

func (g BatchFlowGap) MarshalJSON() ([]byte, error) {
	type plain BatchFlowGap
	g.Type = "gap"
	return json.Marshal(plain(g))
}

// BatchFlowErr reports an error for the message at Sequence.
type BatchFlowErr struct {
	Type     string    `json:"type"`
	Sequence uint64    `json:"seq"`
	Error    *ApiError `json:"error"`
}

func (e BatchFlowErr) MarshalJSON() ([]byte, error) {
	type plain BatchFlowErr
	e.Type = "err"
	return json.Marshal(plain(e))
}

// The success PubAck is written by hand on the publish path rather than
// marshalled: it is the reference's exact text, which differs from
// json.Marshal(PubAck) in two ways clients never notice but a byte
// comparison does: "domain" comes before "seq", and a duplicate reads
// ,"duplicate": true with a space. Strings are quoted with Go's %q, as the
// reference does.

// PubAckPrefix is the start every PubAck of a stream shares, up to the
// sequence: {"stream":"ORDERS","seq": (with "domain" between them when the
// server has a JetStream domain). Build it once per stream.
func PubAckPrefix(stream, domain string) []byte {
	if domain != "" {
		return fmt.Appendf(nil, "{%q:%q,%q:%q,%q:", "stream", stream, "domain", domain, "seq")
	}
	return fmt.Appendf(nil, "{%q:%q,%q:", "stream", stream, "seq")
}

// AppendPubAck appends the PubAck of a stored (or, with duplicate, an
// already stored) message to dst. With dst of enough capacity it does not
// allocate.
func AppendPubAck(dst, prefix []byte, seq uint64, duplicate bool) []byte {
	dst = append(dst, prefix...)
	dst = strconv.AppendUint(dst, seq, 10)
	if duplicate {
		return append(dst, `,"duplicate": true}`...)
	}
	return append(dst, '}')
}

// AppendBatchPubAck appends the PubAck of a committed batch: the last
// sequence, the batch id and the number of messages.
func AppendBatchPubAck(dst, prefix []byte, seq uint64, batchID string, count uint64, duplicate bool) []byte {
	dst = append(dst, prefix...)
	dst = strconv.AppendUint(dst, seq, 10)
	if duplicate {
		dst = append(dst, `,"duplicate": true`...)
	}
	dst = append(dst, `,"batch":`...)
	dst = strconv.AppendQuote(dst, batchID)
	dst = append(dst, `,"count":`...)
	dst = strconv.AppendUint(dst, count, 10)
	return append(dst, '}')
}

// AppendCounterPubAck appends the PubAck of a counter increment, with the
// counter's new total.
func AppendCounterPubAck(dst, prefix []byte, seq uint64, value string) []byte {
	dst = append(dst, prefix...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"val":`...)
	dst = strconv.AppendQuote(dst, value)
	return append(dst, '}')
}

// PubAckError is the reply to a publish that failed:
// {"error":{...},"stream":"ORDERS","seq":0}.
func PubAckError(stream string, err *ApiError) []byte {
	b, _ := json.Marshal(&PubAckResponse{Error: err, PubAck: &PubAck{Stream: stream}})
	return b
}
