package jetstream

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// A counter stream (allow_msg_counter) that sources other counter streams
// adds up their totals. A copy carries its origin's total for the subject,
// not an increment; the stream keeps, in the Nats-Counter-Sources header of
// each subject's last message, the last total seen from every origin and
// origin subject, and turns a copy into the difference with it: the
// stored Nats-Incr is that difference, the stored value the subject's new
// sum. This is the reference's arithmetic, so the headers mean the same on
// either server.

// aggregateSourcedCounter folds a copy of a counter message (with
// Nats-Incr and Nats-Stream-Source) into the stream's total for subject.
// Copies of anything else are stored as they are. Caller holds st.mu.
func (st *stream) aggregateSourcedCounter(subject string, hdr, data []byte) ([]byte, []byte, string, *jsapi.ApiError) {
	src := headerValue(hdr, jsapi.HdrStreamSource)
	if len(src) == 0 || !hasHeader(hdr, jsapi.HdrIncr) {
		return hdr, data, "", nil
	}
	var total big.Int
	sources := jsapi.CounterSources{}
	if sm, err := st.store.LoadLastMsg(subject, &st.sm); err == nil {
		var cur jsapi.CounterValue
		if json.Unmarshal(sm.Data, &cur) != nil {
			return nil, nil, "", jsapi.ErrMessageCounterBroken()
		}
		if cs := headerValue(sm.Header, jsapi.HdrCounterSources); len(cs) > 0 {
			if json.Unmarshal(cs, &sources) != nil {
				return nil, nil, "", jsapi.ErrMessageCounterBroken()
			}
		}
		total.SetString(cur.Value, 10)
	}
	f := strings.Split(string(src), " ")
	origin, origSubject := f[0], subject
	if len(f) >= 5 {
		origSubject = f[4]
	}
	var val jsapi.CounterValue
	if json.Unmarshal(data, &val) != nil {
		return nil, nil, "", jsapi.ErrMessageCounterBroken()
	}
	var sourced, prev, delta big.Int
	sourced.SetString(val.Value, 10)
	if sources[origin] == nil {
		sources[origin] = map[string]string{}
	}
	prev.SetString(sources[origin][origSubject], 10)
	sources[origin][origSubject] = sourced.String()
	delta.Sub(&sourced, &prev)
	total.Add(&total, &delta)

	cs, err := json.Marshal(sources)
	if err != nil {
		return nil, nil, "", jsapi.ErrMessageCounterBroken()
	}
	hdr = setHeaderField(hdr, jsapi.HdrIncr, delta.String())
	hdr = setHeaderField(hdr, jsapi.HdrCounterSources, string(cs))
	sum := total.String()
	data, _ = json.Marshal(jsapi.CounterValue{Value: sum})
	if max := st.js.cfg.MaxPayload; max > 0 && (len(hdr) > max || len(data) > max-len(hdr)) {
		return nil, nil, "", jsapi.ErrStreamMessageExceedsMaximum()
	}
	return hdr, data, sum, nil
}

// setHeaderField replaces key's value where it stands (appending it when
// absent), in a new block.
func setHeaderField(hdr []byte, key, value string) []byte {
	i := headerKeyIndex(hdr, key)
	if i < 0 {
		return appendHeaderField(hdr, key, value)
	}
	end := bytes.Index(hdr[i:], []byte("\r\n"))
	if end < 0 {
		return appendHeaderField(removeHeaderField(hdr, key), key, value)
	}
	out := make([]byte, 0, len(hdr)+len(value))
	out = append(out, hdr[:i]...)
	out = append(out, key...)
	out = append(out, ": "...)
	out = append(out, value...)
	return append(out, hdr[i+end:]...)
}
