package jsapi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Direct gets ($JS.API.DIRECT.GET.*) answer with the message itself, or
// with a status-only header block when there is none; never with JSON.

// Status-only replies of direct get, complete header blocks.
const (
	DirectGetRequiredAPILevel = "NATS/1.0 412 Required Api Level\r\n\r\n"
	DirectGetEmptyRequest     = "NATS/1.0 408 Empty Request\r\n\r\n"
	DirectGetMalformedRequest = "NATS/1.0 408 Malformed Request\r\n\r\n"
	DirectGetBadRequest       = "NATS/1.0 408 Bad Request\r\n\r\n"
	DirectGetNotFound         = "NATS/1.0 404 Message Not Found\r\n\r\n"
	DirectGetNoResults        = "NATS/1.0 404 No Results\r\n\r\n"
	DirectGetTooManyResults   = "NATS/1.0 413 Too Many Results\r\n\r\n"
)

// MaxDirectGetMultiResults bounds the messages of one multi_last request;
// more is DirectGetTooManyResults.
const MaxDirectGetMultiResults = 1024

// ParseDirectGet decodes and checks the body of $JS.API.DIRECT.GET.<stream>.
// On failure it returns the status block to reply with. Unlike the other
// API requests, the body is decoded leniently (unknown fields ignored).
func ParseDirectGet(body []byte) (JSApiMsgGetRequest, string) {
	var req JSApiMsgGetRequest
	if len(body) == 0 {
		return req, DirectGetEmptyRequest
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return JSApiMsgGetRequest{}, DirectGetMalformedRequest
	}
	if req.Seq == 0 && req.LastFor == "" && req.NextFor == "" && len(req.MultiLastFor) == 0 && req.StartTime == nil {
		return req, DirectGetEmptyRequest
	}
	// One way of choosing the message; no batching of last_by_subj.
	switch {
	case req.Seq > 0 && req.LastFor != "",
		req.Seq > 0 && req.StartTime != nil,
		req.StartTime != nil && req.LastFor != "",
		req.LastFor != "" && req.NextFor != "",
		req.LastFor != "" && req.Batch > 0,
		req.LastFor != "" && len(req.MultiLastFor) > 0,
		req.NextFor != "" && len(req.MultiLastFor) > 0,
		req.UpToSeq > 0 && req.UpToTime != nil:
		return req, DirectGetBadRequest
	}
	return req, ""
}

// ParseDirectGetLastBySubject decodes and checks a request on
// $JS.API.DIRECT.GET.<stream>.<subject>: the subject comes from the request
// subject, and the optional body may only carry no_hdr (and max_bytes).
func ParseDirectGetLastBySubject(subject string, body []byte) (JSApiMsgGetRequest, string) {
	var req JSApiMsgGetRequest
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return JSApiMsgGetRequest{}, DirectGetMalformedRequest
		}
	}
	_, key, ok := DirectGetSubjectKey(subject)
	if !ok {
		return req, DirectGetBadRequest
	}
	if req.LastFor != "" || req.NextFor != "" || len(req.MultiLastFor) > 0 || req.Seq != 0 ||
		req.Batch != 0 || req.StartTime != nil || req.UpToSeq != 0 || req.UpToTime != nil {
		return req, DirectGetBadRequest
	}
	req.LastFor = key
	return req, ""
}

// DirectGetHeaders is the header block of a direct get reply for a message
// stored without headers. With batch it adds Nats-Num-Pending and
// Nats-Last-Sequence (0 for the first message of the batch). A message
// stored with headers keeps them, with these appended by the caller's
// header editor.
func DirectGetHeaders(stream, subject string, seq uint64, ts time.Time, batch bool, numPending, lastSeq uint64) []byte {
	b := make([]byte, 0, 128+len(stream)+len(subject))
	b = append(b, "NATS/1.0\r\n"...)
	b = appendHeader(b, HdrStream, stream)
	b = appendHeader(b, HdrSubject, subject)
	b = appendHeader(b, HdrSequence, strconv.FormatUint(seq, 10))
	b = appendHeader(b, HdrTimeStamp, ts.UTC().Format(time.RFC3339Nano))
	if batch {
		b = appendHeader(b, HdrNumPending, strconv.FormatUint(numPending, 10))
		b = appendHeader(b, HdrLastSequence, strconv.FormatUint(lastSeq, 10))
	}
	return append(b, "\r\n"...)
}

// DirectGetEOB is the status block that ends a batch: 204 EOB with the
// pending count and the last sequence sent, and with multi_last the
// sequence the results are valid up to.
func DirectGetEOB(numPending, lastSeq uint64, multi bool, upToSeq uint64) []byte {
	if multi {
		return fmt.Appendf(nil, "NATS/1.0 204 EOB\r\n%s: %d\r\n%s: %d\r\n%s: %d\r\n\r\n",
			HdrNumPending, numPending, HdrLastSequence, lastSeq, HdrUpToSequence, upToSeq)
	}
	return fmt.Appendf(nil, "NATS/1.0 204 EOB\r\n%s: %d\r\n%s: %d\r\n\r\n",
		HdrNumPending, numPending, HdrLastSequence, lastSeq)
}

func appendHeader(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}
