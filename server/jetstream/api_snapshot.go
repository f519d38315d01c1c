package jetstream

import (
	"io"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// STREAM.SNAPSHOT and STREAM.RESTORE are not served yet: they belong to the
// mirrors/sources/backup work that builds on this package. This file is
// where they go. What they need from the stream core:
//
//   - js.HandleAPI(jsapi.APIStreamSnapshot, jsapi.StreamSnapshotResponseType, h)
//     and the same for jsapi.APIStreamRestore register the handlers.
//   - snapshotStream writes a stream's consistent image (messages, its
//     configuration aux record, consumer state aux records) with the
//     engine's Stream.Snapshot; the chunked delivery protocol
//     ($JS.SNAPSHOT.ACK...) is the handler's.
//   - restoreStream turns an uploaded image into a live stream: the engine
//     restores it (Engine.RestoreStream or blockstore.RestoreMemoryStream),
//     then installRestored makes it serve, with the configuration from the
//     request checked by jsapi.CheckStreamRestore.
//
// Until then requests on those subjects get no answer, as for any API
// subject without a handler.

// snapshotStream writes st's snapshot to w.
func (js *JetStream) snapshotStream(st *stream, w io.Writer) error {
	return st.store.Snapshot(w)
}

// installRestored makes a restored engine stream live under cfg (already
// checked), recording cfg so a restart finds it. Caller holds js.opMu.
func (js *JetStream) installRestored(cfg *jsapi.StreamConfig, store blockstore.Stream) (*stream, error) {
	created := timeNowUTC()
	if err := js.recordConfig(cfg, store, created); err != nil {
		return nil, err
	}
	if err := js.install(cfg, store, created); err != nil {
		return nil, err
	}
	st, _ := js.lookup(cfg.Name)
	return st, nil
}
