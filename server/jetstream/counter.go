package jetstream

import (
	"encoding/json"
	"math/big"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Counter streams (allow_msg_counter): a publish carries Nats-Incr (a
// signed integer of any size) and no payload; the stream stores the
// subject's new total as {"val":"<total>"} and the PubAck reports it.

type counterIncr struct {
	by    big.Int
	total string // filled by applyIncr
}

// checkIncr validates Nats-Incr as the reference does, before any other
// header: a value that is not an integer is invalid; on a stream that is
// not a counter it is refused; it must come without a payload and without
// the expectation and roll-up headers.
func (st *stream) checkIncr(cfg *jsapi.StreamConfig, hdr, data []byte, sourced bool) (*counterIncr, *jsapi.ApiError) {
	v := headerValue(hdr, jsapi.HdrIncr)
	if len(v) == 0 {
		return nil, nil
	}
	incr := &counterIncr{}
	if _, ok := incr.by.SetString(string(v), 10); !ok {
		return nil, jsapi.ErrMessageIncrInvalid()
	}
	if sourced {
		return nil, nil
	}
	switch {
	case !cfg.AllowMsgCounter:
		return nil, jsapi.ErrMessageIncrDisabled()
	case len(data) > 0:
		return nil, jsapi.ErrMessageIncrPayload()
	}
	for _, h := range []string{jsapi.HdrRollup, jsapi.HdrExpectedStream, jsapi.HdrExpectedLastMsgID,
		jsapi.HdrExpectedLastSubjSeqSubj, jsapi.HdrExpectedLastSeq, jsapi.HdrExpectedLastSubjSeq} {
		if len(headerValue(hdr, h)) > 0 {
			return nil, jsapi.ErrMessageIncrInvalid()
		}
	}
	return incr, nil
}

// applyIncr computes the subject's new total from its last message and
// returns the header and payload to store.
func (st *stream) applyIncr(subject string, hdr []byte, incr *counterIncr) ([]byte, []byte, *jsapi.ApiError) {
	if sm, err := st.store.LoadLastMsg(subject, &st.sm); err == nil {
		return st.incrFrom(sm.Header, sm.Data, true, hdr, incr)
	}
	return st.incrFrom(nil, nil, false, hdr, incr)
}

// incrFrom adds incr to the counter message lastHdr/lastData (when found
// is set; otherwise the count starts at zero). An atomic batch passes its
// own earlier message of the subject, which is not stored yet.
func (st *stream) incrFrom(lastHdr, lastData []byte, found bool, hdr []byte, incr *counterIncr) ([]byte, []byte, *jsapi.ApiError) {
	var total big.Int
	var sources []byte
	if found {
		var cur jsapi.CounterValue
		if json.Unmarshal(lastData, &cur) != nil {
			return nil, nil, jsapi.ErrMessageCounterBroken()
		}
		if cs := headerValue(lastHdr, jsapi.HdrCounterSources); len(cs) > 0 {
			var chk jsapi.CounterSources
			if json.Unmarshal(cs, &chk) != nil {
				return nil, nil, jsapi.ErrMessageCounterBroken()
			}
			sources = append([]byte(nil), cs...)
		}
		total.SetString(cur.Value, 10)
	}
	total.Add(&total, &incr.by)
	incr.total = total.String()
	data, _ := json.Marshal(jsapi.CounterValue{Value: incr.total})
	if len(sources) > 0 {
		hdr = appendHeaderField(removeHeaderField(hdr, jsapi.HdrCounterSources), jsapi.HdrCounterSources, string(sources))
	}
	if max := st.js.cfg.MaxPayload; max > 0 && (len(hdr) > max || len(data) > max-len(hdr)) {
		return nil, nil, jsapi.ErrStreamMessageExceedsMaximum()
	}
	return hdr, data, nil
}
