package jetstream

import (
	"errors"
	"slices"
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// The stream API: $JS.API.STREAM.{CREATE,UPDATE,INFO,DELETE,NAMES,LIST,
// PURGE}. Checks run in the reference's order so that a request with
// several problems gets the reference's error; jsapi holds the
// configuration rules.

// defaultRoutes is the dispatch table of what this package serves. Other
// layers add theirs with HandleAPI.
func defaultRoutes() []route {
	return []route{
		{jsapi.APIAccountInfo, jsapi.AccountInfoResponseType, handleAccountInfo},
		{jsapi.APIStreamCreate, jsapi.StreamCreateResponseType, handleStreamCreate},
		{jsapi.APIStreamUpdate, jsapi.StreamUpdateResponseType, handleStreamUpdate},
		{jsapi.APIStreamInfo, jsapi.StreamInfoResponseType, handleStreamInfo},
		{jsapi.APIStreamDelete, jsapi.StreamDeleteResponseType, handleStreamDelete},
		{jsapi.APIStreamNames, jsapi.StreamNamesResponseType, handleStreamNames},
		{jsapi.APIStreamList, jsapi.StreamListResponseType, handleStreamList},
		{jsapi.APIStreamPurge, jsapi.StreamPurgeResponseType, handleStreamPurge},
		{jsapi.APIStreamMsgGet, jsapi.StreamMsgGetResponseType, handleMsgGet},
		{jsapi.APIStreamMsgDelete, jsapi.StreamMsgDeleteResponseType, handleMsgDelete},
		{jsapi.APIStreamSnapshot, jsapi.StreamSnapshotResponseType, handleStreamSnapshot},
		{jsapi.APIStreamRestore, jsapi.StreamRestoreResponseType, handleStreamRestore},
	}
}

// decode decodes an API request body with the server's strictness.
func (js *JetStream) decode(data []byte, v any) error {
	return jsapi.DecodeRequest(data, v, js.cfg.Strict)
}

func handleStreamCreate(js *JetStream, r *Request) {
	const typ = jsapi.StreamCreateResponseType
	var req jsapi.StreamConfigRequest
	if err := js.decode(r.Data, &req); err != nil {
		js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
		return
	}
	name := jsapi.StreamNameFromSubject(r.Subject)
	js.opMu.Lock()
	defer js.opMu.Unlock()
	cfg, exists, apiErr := jsapi.CheckStreamCreate(name, &req, js.limitsEnv())
	if apiErr != nil {
		js.RespondError(r, typ, apiErr)
		return
	}
	var st *stream
	if exists {
		st, _ = js.lookup(name)
	} else {
		var err error
		if st, err = js.createStream(&cfg); err != nil {
			js.host.Warnf("Stream create failed for '%s > %s': %v", r.Account, name, err)
			js.RespondError(r, typ, jsapi.AsApiError(err, jsapi.ErrStreamCreate))
			return
		}
		js.streamAdvisory(st.name, jsapi.CreateEvent, r)
	}
	if st == nil {
		js.RespondError(r, typ, jsapi.ErrStreamNotFound())
		return
	}
	js.Respond(r, &jsapi.StreamCreateResponse{
		ApiResponse: jsapi.ApiResponse{Type: typ},
		StreamInfo:  st.info(false),
		DidCreate:   true,
	})
}

func handleStreamUpdate(js *JetStream, r *Request) {
	const typ = jsapi.StreamUpdateResponseType
	var req jsapi.StreamConfigRequest
	if err := js.decode(r.Data, &req); err != nil {
		js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
		return
	}
	name := jsapi.StreamNameFromSubject(r.Subject)
	js.opMu.Lock()
	defer js.opMu.Unlock()
	st, _ := js.lookup(name)
	var old *jsapi.StreamConfig
	if st != nil {
		old = st.config()
	}
	cfg, apiErr := jsapi.CheckStreamUpdate(name, &req, old, js.limitsEnv())
	if apiErr != nil {
		js.RespondError(r, typ, apiErr)
		return
	}
	if err := st.update(&cfg); err != nil {
		js.RespondError(r, typ, jsapi.AsApiError(err, jsapi.ErrStreamUpdate))
		return
	}
	js.streamAdvisory(st.name, jsapi.ModifyEvent, r)
	info := st.info(false)
	info.Domain = js.cfg.Domain
	js.Respond(r, &jsapi.StreamUpdateResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, StreamInfo: info})
}

func handleStreamInfo(js *JetStream, r *Request) {
	typ := jsapi.StreamInfoResponseType
	if string(headerValue(r.Header, jsapi.HdrResponseType)) == "create" {
		typ = jsapi.StreamCreateResponseType
	}
	var req jsapi.JSApiStreamInfoRequest
	if jsapi.IsJSONObjectOrArray(r.Data) {
		if err := js.decode(r.Data, &req); err != nil {
			js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
			return
		}
	}
	st, ok := js.lookup(jsapi.StreamNameFromSubject(r.Subject))
	if !ok {
		js.RespondError(r, typ, jsapi.ErrStreamNotFound())
		return
	}
	info := st.info(req.DeletedDetails)
	info.Domain = js.cfg.Domain
	info.Cluster = &jsapi.ClusterInfo{Leader: js.host.Name()}
	resp := &jsapi.StreamInfoResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, StreamInfo: info}
	if req.SubjectsFilter != "" {
		info.State.Subjects, resp.ApiPaged = jsapi.SubjectsPage(st.store.SubjectsTotals(req.SubjectsFilter), req.Offset)
	}
	js.Respond(r, resp)
}

func handleStreamDelete(js *JetStream, r *Request) {
	const typ = jsapi.StreamDeleteResponseType
	if !jsapi.IsEmptyRequest(r.Data) {
		js.RespondError(r, typ, jsapi.ErrNotEmptyRequest())
		return
	}
	js.opMu.Lock()
	defer js.opMu.Unlock()
	st, ok := js.lookup(jsapi.StreamNameFromSubject(r.Subject))
	if !ok {
		js.RespondError(r, typ, jsapi.ErrStreamNotFound())
		return
	}
	if err := js.deleteStream(st); err != nil {
		js.RespondError(r, typ, jsapi.AsApiError(err, jsapi.ErrStreamDelete))
		return
	}
	js.streamAdvisory(st.name, jsapi.DeleteEvent, r)
	js.Respond(r, &jsapi.StreamDeleteResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, Success: true})
}

// filteredStreams are the streams with a subject colliding with filter
// (all of them without one), sorted by name.
func (js *JetStream) filteredStreams(filter string) []*stream {
	all := js.streamList()
	if filter == "" {
		return all
	}
	return slices.DeleteFunc(all, func(st *stream) bool {
		for _, s := range st.config().Subjects {
			if jsapi.SubjectsCollide(filter, s) {
				return false
			}
		}
		return true
	})
}

func handleStreamNames(js *JetStream, r *Request) {
	const typ = jsapi.StreamNamesResponseType
	var req jsapi.JSApiStreamNamesRequest
	if jsapi.IsJSONObjectOrArray(r.Data) {
		if err := js.decode(r.Data, &req); err != nil {
			js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
			return
		}
	}
	streams := js.filteredStreams(req.Subject)
	names := make([]string, len(streams))
	for i, st := range streams {
		names[i] = st.name
	}
	page, paged := jsapi.Page(names, req.Offset, jsapi.NamesLimit)
	resp := &jsapi.StreamNamesResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, ApiPaged: paged}
	if len(page) > 0 {
		resp.Streams = page
	}
	js.Respond(r, resp)
}

func handleStreamList(js *JetStream, r *Request) {
	const typ = jsapi.StreamListResponseType
	var req jsapi.JSApiStreamListRequest
	if jsapi.IsJSONObjectOrArray(r.Data) {
		if err := js.decode(r.Data, &req); err != nil {
			js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
			return
		}
	}
	page, paged := jsapi.Page(js.filteredStreams(req.Subject), req.Offset, jsapi.ListLimit)
	resp := &jsapi.StreamListResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, ApiPaged: paged, Streams: []*jsapi.StreamInfo{}}
	for _, st := range page {
		si := &jsapi.StreamInfo{
			Config:    *st.config(),
			Created:   st.created.UTC(),
			State:     st.state(false),
			Domain:    js.cfg.Domain,
			TimeStamp: time.Now().UTC(),
		}
		si.Mirror, si.Sources = st.originsInfo()
		resp.Streams = append(resp.Streams, si)
	}
	js.Respond(r, resp)
}

func handleStreamPurge(js *JetStream, r *Request) {
	const typ = jsapi.StreamPurgeResponseType
	var req *jsapi.JSApiStreamPurgeRequest
	if jsapi.IsJSONObjectOrArray(r.Data) {
		req = new(jsapi.JSApiStreamPurgeRequest)
		if err := js.decode(r.Data, req); err != nil {
			js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
			return
		}
		if err := req.Check(); err != nil {
			js.RespondError(r, typ, err)
			return
		}
	}
	st, ok := js.removableStream(r, typ, jsapi.StreamNameFromSubject(r.Subject), func(cfg *jsapi.StreamConfig) *jsapi.ApiError {
		if cfg.DenyPurge {
			return jsapi.ErrStreamPurgeFailed(errors.New("stream purge not permitted"))
		}
		return nil
	})
	if !ok {
		return
	}
	purged, err := st.purge(req)
	if err != nil {
		js.RespondError(r, typ, jsapi.AsApiError(err, jsapi.ErrStreamGeneral))
		return
	}
	js.Respond(r, &jsapi.StreamPurgeResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, Success: true, Purged: purged})
}

// removableStream finds the stream a purge or message delete names and
// checks that it lets messages go: not sealed, and not refused by denied
// (its deny_purge or deny_delete). When it returns false it has answered r.
func (js *JetStream) removableStream(r *Request, typ, name string, denied func(*jsapi.StreamConfig) *jsapi.ApiError) (*stream, bool) {
	st, ok := js.lookup(name)
	if !ok {
		js.RespondError(r, typ, jsapi.ErrStreamNotFound())
		return nil, false
	}
	cfg := st.config()
	if cfg.Sealed {
		js.RespondError(r, typ, jsapi.ErrStreamSealed())
		return nil, false
	}
	if err := denied(cfg); err != nil {
		js.RespondError(r, typ, err)
		return nil, false
	}
	return st, true
}
