package jetstream

import (
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// $JS.API.STREAM.SNAPSHOT.<stream> and $JS.API.STREAM.RESTORE.<stream>:
// the checks, in the reference's order, before snapshot.go streams a
// backup out or restore.go takes one in.

func handleStreamSnapshot(js *JetStream, r *Request) {
	const typ = jsapi.StreamSnapshotResponseType
	if jsapi.IsEmptyRequest(r.Data) {
		js.RespondError(r, typ, jsapi.ErrBadRequest())
		return
	}
	st, ok := js.lookup(jsapi.StreamNameFromSubject(r.Subject))
	if !ok {
		js.RespondError(r, typ, jsapi.ErrStreamNotFound())
		return
	}
	var req jsapi.JSApiStreamSnapshotRequest
	if err := js.decode(r.Data, &req); err != nil {
		js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
		return
	}
	if err := req.Check(); err != nil {
		js.RespondError(r, typ, err)
		return
	}
	// A snapshot can take long: not on an API worker.
	js.transfers.add()
	go func() {
		defer js.transfers.done()
		js.snapshotStream(r, st, &req)
	}()
}

func handleStreamRestore(js *JetStream, r *Request) {
	const typ = jsapi.StreamRestoreResponseType
	if jsapi.IsEmptyRequest(r.Data) {
		js.RespondError(r, typ, jsapi.ErrBadRequest())
		return
	}
	var req jsapi.JSApiStreamRestoreRequest
	if err := js.decode(r.Data, &req); err != nil {
		js.RespondError(r, typ, jsapi.ErrInvalidJSON(err))
		return
	}
	js.opMu.Lock()
	cfg, apiErr := jsapi.CheckStreamRestore(jsapi.StreamNameFromSubject(r.Subject), &req, js.limitsEnv())
	if apiErr == nil && !js.transfers.begin(cfg.Name) {
		// Another restore of that name is under way.
		apiErr = jsapi.ErrStreamNameExistRestoreFailed()
	}
	js.opMu.Unlock()
	if apiErr != nil {
		js.RespondError(r, typ, apiErr)
		return
	}
	js.beginRestore(r, cfg)
}

// installRestored makes a restored engine stream live under cfg (already
// checked), recording cfg so a restart finds it. Caller holds js.opMu.
func (js *JetStream) installRestored(cfg *jsapi.StreamConfig, store blockstore.Stream, created time.Time) (*stream, error) {
	if err := js.recordConfig(cfg, store, created); err != nil {
		return nil, err
	}
	if err := js.install(cfg, store, created); err != nil {
		return nil, err
	}
	st, _ := js.lookup(cfg.Name)
	return st, nil
}
