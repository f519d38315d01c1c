package jetstream

import (
	"strconv"
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// republishMessage builds the copy a stream with republish sends after
// storing a message: the stored headers plus Nats-Stream, Nats-Subject,
// Nats-Sequence, Nats-Time-Stamp and Nats-Last-Sequence (the subject's
// previous sequence, so a light client can detect gaps); with headers_only
// no payload, and Nats-Msg-Size instead. The payload is not copied: the
// copy is sent before the publish callback returns, while the publisher's
// buffer is still valid.
func republishMessage(cfg *jsapi.StreamConfig, stream, subject string, seq uint64, ts int64, lastSeq uint64, hdr, data []byte) ([]byte, []byte) {
	headersOnly := cfg.RePublish != nil && cfg.RePublish.HeadersOnly
	out := make([]byte, 0, len(hdr)+len(stream)+len(subject)+160)
	if len(hdr) >= len(hdrLine)+2 {
		out = append(out, hdr[:len(hdr)-2]...)
	} else {
		out = append(out, hdrLine...)
	}
	field := func(k, v string) {
		out = append(out, k...)
		out = append(out, ": "...)
		out = append(out, v...)
		out = append(out, "\r\n"...)
	}
	field(jsapi.HdrStream, stream)
	field(jsapi.HdrSubject, subject)
	field(jsapi.HdrSequence, strconv.FormatUint(seq, 10))
	field(jsapi.HdrTimeStamp, time.Unix(0, ts).UTC().Format(time.RFC3339Nano))
	field(jsapi.HdrLastSequence, strconv.FormatUint(lastSeq, 10))
	if headersOnly {
		field(jsapi.HdrMsgSize, strconv.Itoa(len(data)))
		return append(out, "\r\n"...), nil
	}
	return append(out, "\r\n"...), data
}
