package jetstream

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// $JS.API.STREAM.MSG.GET.<stream> and $JS.API.STREAM.MSG.DELETE.<stream>.

func handleMsgGet(js *JetStream, r *Request) {
	const typ = jsapi.StreamMsgGetResponseType
	if jsapi.IsEmptyRequest(r.Data) {
		js.RespondError(r, typ, jsapi.ErrBadRequest())
		return
	}
	var req jsapi.JSApiMsgGetRequest
	if err := js.decode(r.Data, &req); err != nil {
		js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
		return
	}
	if err := req.CheckMsgGet(); err != nil {
		js.RespondError(r, typ, err)
		return
	}
	st, ok := js.lookup(jsapi.MsgStreamNameFromSubject(r.Subject))
	if !ok {
		js.RespondError(r, typ, jsapi.ErrStreamNotFound())
		return
	}
	var sm blockstore.StoreMsg
	m, err := st.loadForGet(&req, &sm)
	if err != nil {
		js.RespondError(r, typ, jsapi.ErrNoMessageFound())
		return
	}
	msg := &jsapi.StoredMsg{Subject: m.Subject, Sequence: m.Seq, Data: m.Data, Time: time.Unix(0, m.Time).UTC()}
	if !req.NoHeaders {
		msg.Header = m.Header
	}
	// Like the reference, the message itself is not audited.
	b, err := json.Marshal(&jsapi.MsgGetResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, Message: msg})
	if err != nil {
		return
	}
	js.reply(r.Reply, b)
}

// loadForGet finds the message a get request names: by sequence, the first
// at or after a sequence or time on a subject (next_by_subj), or the last
// on a subject.
func (st *stream) loadForGet(req *jsapi.JSApiMsgGetRequest, sm *blockstore.StoreMsg) (*blockstore.StoreMsg, error) {
	seq := req.Seq
	if req.StartTime != nil {
		seq = st.store.SeqForTime(*req.StartTime)
	}
	switch {
	case seq > 0 && req.NextFor == "":
		return st.store.LoadMsg(seq, sm)
	case req.NextFor != "":
		return st.store.LoadNextMsg(req.NextFor, seq, sm)
	default:
		return st.store.LoadLastMsg(req.LastFor, sm)
	}
}

func handleMsgDelete(js *JetStream, r *Request) {
	const typ = jsapi.StreamMsgDeleteResponseType
	if jsapi.IsEmptyRequest(r.Data) {
		js.RespondError(r, typ, jsapi.ErrBadRequest())
		return
	}
	var req jsapi.JSApiMsgDeleteRequest
	if err := js.decode(r.Data, &req); err != nil {
		js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
		return
	}
	st, ok := js.removableStream(r, typ, jsapi.MsgStreamNameFromSubject(r.Subject), func(cfg *jsapi.StreamConfig) *jsapi.ApiError {
		if cfg.DenyDelete {
			return jsapi.ErrStreamMsgDeleteFailed(errors.New("message delete not permitted"))
		}
		return nil
	})
	if !ok {
		return
	}
	removed, err := st.deleteMsg(req.Seq, req.NoErase)
	switch {
	case err != nil:
		js.RespondError(r, typ, jsapi.AsApiError(err, jsapi.ErrStreamMsgDeleteFailed))
	case !removed:
		js.RespondError(r, typ, jsapi.ErrSequenceNotFound(req.Seq))
	default:
		js.Respond(r, &jsapi.MsgDeleteResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, Success: true})
	}
}
