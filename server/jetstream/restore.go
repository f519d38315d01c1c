package jetstream

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nuid"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// STREAM.RESTORE: the requester gets a subject ($JS.SNAPSHOT.RESTORE.
// <stream>.<id>) and sends the backup there in chunks, each a request that
// is answered (empty) once the chunk is consumed, so the backup flows at
// the speed the engine takes it in; an empty message ends it and is
// answered with the stream's info (a stream_create_response) or the error.
// A chunk the restore cannot take is answered with the error at once.
// Five seconds without a chunk abandon the restore.
//
// The chunks are copied off the sender's goroutine into a queue; one
// goroutine feeds them through a pipe to another that decodes the backup
// (snapshot.go) into the engine (Engine.RestoreStream, or a memory stream),
// which checks every frame and count as it goes. Nothing is visible until
// the whole backup was read and checked: the stream is then configured
// with the request's configuration and installed.

// restoreIdle abandons a restore that receives nothing for this long.
const restoreIdle = 5 * time.Second

// restoreQueue bounds the chunks received but not yet consumed; a sender
// that does not wait for the answers overruns it and fails the restore.
const restoreQueue = 64

// transferSet tracks the snapshots and restores in progress: the names
// being restored (a second restore or a create of the same name must not
// race the first), and their goroutines, which Shutdown waits for before
// closing the engine.
type transferSet struct {
	mu        sync.Mutex
	restoring map[string]bool
	wg        sync.WaitGroup
}

func (t *transferSet) add()  { t.wg.Add(1) }
func (t *transferSet) done() { t.wg.Done() }
func (t *transferSet) wait() { t.wg.Wait() }

// begin claims name for a restore; false when one is in progress.
func (t *transferSet) begin(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.restoring[name] {
		return false
	}
	if t.restoring == nil {
		t.restoring = make(map[string]bool)
	}
	t.restoring[name] = true
	return true
}

func (t *transferSet) end(name string) {
	t.mu.Lock()
	delete(t.restoring, name)
	t.mu.Unlock()
}

// restoreChunk is one received chunk (empty data: the end).
type restoreChunk struct {
	reply string
	data  []byte
}

// restoreSession is one restore in progress.
type restoreSession struct {
	js      *JetStream
	req     *Request // the STREAM.RESTORE request, for advisories
	cfg     jsapi.StreamConfig
	subject string
	chunks  chan restoreChunk
	fail    chan error // a protocol error seen by the receiving callback
	sub     *server.InternalSub
	start   time.Time
	total   int64
}

// beginRestore subscribes to the restore's deliver subject, answers the
// request with it, and runs the restore. The name is claimed already.
func (js *JetStream) beginRestore(r *Request, cfg jsapi.StreamConfig) {
	const typ = jsapi.StreamRestoreResponseType
	acc := server.GlobalAccountName
	s := &restoreSession{
		js: js, req: r, cfg: cfg, start: time.Now().UTC(),
		subject: fmt.Sprintf(jsapi.RestoreDeliverT, cfg.Name, nuid.Next()),
		chunks:  make(chan restoreChunk, restoreQueue),
		fail:    make(chan error, 1),
	}
	js.host.Noticef("Starting restore for stream '%s > %s'", acc, cfg.Name)
	js.sendAdvisory(jsapi.AdvisoryStreamRestoreCreatePre+"."+cfg.Name, &jsapi.RestoreCreateAdvisory{
		TypedEvent: typedEvent(jsapi.RestoreCreateAdvisoryType),
		Stream:     cfg.Name, Client: js.clientInfo(r), Domain: js.cfg.Domain,
	})
	sub, err := js.host.SubscribeInternal(s.subject, "", s.receive)
	if err != nil {
		js.transfers.end(cfg.Name)
		js.RespondError(r, typ, jsapi.ErrRestoreSubscribeFailed(s.subject, err))
		return
	}
	s.sub = sub
	js.transfers.add()
	go s.run()
	js.Respond(r, &jsapi.StreamRestoreResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, DeliverSubject: s.subject})
}

// receive runs on the sender's goroutine: copy and queue, never block.
func (s *restoreSession) receive(m *server.InMsg) {
	if m.Reply == "" {
		s.failWith(fmt.Errorf("restore for stream '%s > %s' requires reply subject for each chunk", server.GlobalAccountName, s.cfg.Name))
		return
	}
	c := restoreChunk{reply: strings.Clone(m.Reply)}
	if len(m.Data) > 0 {
		c.data = append([]byte(nil), m.Data...)
	}
	select {
	case s.chunks <- c:
	default:
		s.failWith(fmt.Errorf("restore for stream '%s > %s' received chunks faster than it could store them", server.GlobalAccountName, s.cfg.Name))
	}
}

func (s *restoreSession) failWith(err error) {
	select {
	case s.fail <- err:
	default:
	}
}

// restoreResult is what decoding the backup produced.
type restoreResult struct {
	store   blockstore.Stream
	created time.Time
	err     error
}

func (s *restoreSession) run() {
	js := s.js
	defer js.transfers.done()
	defer js.transfers.end(s.cfg.Name)
	defer js.host.UnsubscribeInternal(s.sub)

	pr, pw := io.Pipe()
	results := make(chan restoreResult, 1)
	go func() {
		res := s.decode(pr)
		if res.err != nil {
			pr.CloseWithError(res.err)
		} else {
			pr.Close()
		}
		results <- res
	}()
	// abort ends the input with err and waits for the decoder to give up.
	abort := func(err error) restoreResult {
		pw.CloseWithError(err)
		res := <-results
		res.err = err
		return res
	}

	idle := time.NewTimer(restoreIdle)
	defer idle.Stop()
	for {
		select {
		case c := <-s.chunks:
			if len(c.data) == 0 {
				pw.Close()
				s.finish(c.reply, <-results)
				return
			}
			if _, err := pw.Write(c.data); err != nil {
				// The decoder refused the backup: answer this chunk with why.
				res := <-results
				if res.err == nil {
					res.err = err
				}
				s.finish(c.reply, res)
				return
			}
			s.total += int64(len(c.data))
			js.reply(c.reply, nil)
			idle.Reset(restoreIdle)
		case err := <-s.fail:
			js.host.Warnf("%v", err)
			s.finish("", abort(err))
			return
		case <-idle.C:
			err := fmt.Errorf("restore for stream '%s > %s' is stalled", server.GlobalAccountName, s.cfg.Name)
			js.host.Warnf("%v", err)
			s.finish("", abort(err))
			return
		case <-js.api.quit:
			s.finish("", abort(errShutdown))
			return
		}
	}
}

// decode reads the backup from r into a new engine stream.
func (s *restoreSession) decode(r io.Reader) restoreResult {
	zr := s2.NewReader(r)
	hdr, err := readBackupHeader(zr)
	if err != nil {
		return restoreResult{err: err}
	}
	name := s.cfg.Name
	var store blockstore.Stream
	if s.cfg.Storage == jsapi.MemoryStorage {
		store, err = blockstore.RestoreMemoryStream(name, zr)
	} else {
		store, err = s.js.engine.RestoreStream(name, zr)
	}
	if err != nil {
		return restoreResult{err: err}
	}
	// The engine stops reading at the snapshot's end frame.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		s.js.dropRestored(&s.cfg, store)
		return restoreResult{err: err}
	}
	res := restoreResult{store: store, created: time.Now().UTC()}
	if raw := store.Aux(streamConfigKey); raw != nil {
		if old, err := decodeStored(raw); err == nil && !old.Created.IsZero() {
			res.created = old.Created // the same stream, restored
		}
	}
	if err := s.js.prepareRestored(&s.cfg, store, hdr.NoConsumers); err != nil {
		s.js.dropRestored(&s.cfg, store)
		return restoreResult{err: err}
	}
	return res
}

// prepareRestored gives a restored engine stream the request's limits and
// drops the consumers' records when the backup was taken without them.
func (js *JetStream) prepareRestored(cfg *jsapi.StreamConfig, store blockstore.Stream, noConsumers bool) error {
	ec := engineConfig(cfg)
	if _, err := store.Apply(&blockstore.Command{Op: blockstore.OpConfig, Config: &ec}); err != nil {
		return err
	}
	if noConsumers {
		for _, k := range store.AuxKeys(ConsumerAuxPrefix) {
			if _, err := store.Apply(&blockstore.Command{Op: blockstore.OpSetAux, Key: k}); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropRestored removes a restored stream that will not be installed.
func (js *JetStream) dropRestored(cfg *jsapi.StreamConfig, store blockstore.Stream) {
	if cfg.Storage == jsapi.MemoryStorage {
		store.Close()
		return
	}
	if err := js.engine.DeleteStream(cfg.Name); err != nil {
		js.host.Warnf("JetStream restore of '%s': removing the partial stream: %v", cfg.Name, err)
	}
}

// finish installs the restored stream (when res holds one), answers reply
// with its info or the error, and reports the end.
func (s *restoreSession) finish(reply string, res restoreResult) {
	js, acc, name := s.js, server.GlobalAccountName, s.cfg.Name
	var st *stream
	err := res.err
	if err == nil && res.store != nil {
		if st, err = js.installRestoredStream(&s.cfg, res.store, res.created); err != nil {
			js.dropRestored(&s.cfg, res.store)
		}
	} else if res.store != nil {
		js.dropRestored(&s.cfg, res.store)
	}
	end := time.Now().UTC()
	js.sendAdvisory(jsapi.AdvisoryStreamRestoreCompletePre+"."+name, &jsapi.RestoreCompleteAdvisory{
		TypedEvent: typedEvent(jsapi.RestoreCompleteAdvisoryType),
		Stream:     name, Start: s.start, End: end, Bytes: s.total,
		Client: js.clientInfo(s.req), Domain: js.cfg.Domain,
	})
	resp := &jsapi.StreamCreateResponse{ApiResponse: jsapi.ApiResponse{Type: jsapi.StreamCreateResponseType}}
	if err != nil {
		resp.Error = jsapi.AsApiError(err, jsapi.ErrStreamRestore)
		js.host.Warnf("Restore failed for %s for stream '%s > %s' in %v: %v",
			friendlyBytes(s.total), acc, name, end.Sub(s.start), err)
	} else {
		cfg := *st.config()
		resp.StreamInfo = &jsapi.StreamInfo{
			Config:    jsapi.WithDynamicStreamMetadata(cfg, js.cfg.ServerVersion, js.APILevel()),
			Created:   st.created.UTC(),
			State:     st.state(false),
			TimeStamp: time.Now().UTC(),
		}
		js.host.Noticef("Completed restore of %s for stream '%s > %s' in %v",
			friendlyBytes(s.total), acc, name, end.Sub(s.start).Round(time.Millisecond))
	}
	if reply != "" {
		if b, merr := json.Marshal(resp); merr == nil {
			js.reply(reply, b)
		}
	}
}

// installRestoredStream makes the restored stream live, unless the name was
// taken meanwhile or the data does not fit the limits.
func (js *JetStream) installRestoredStream(cfg *jsapi.StreamConfig, store blockstore.Stream, created time.Time) (*stream, error) {
	js.opMu.Lock()
	defer js.opMu.Unlock()
	if js.isClosed() {
		return nil, errShutdown
	}
	if _, ok := js.lookup(cfg.Name); ok {
		return nil, jsapi.ErrStreamNameExistRestoreFailed()
	}
	if err := js.checkRestoredSize(cfg, store.State().Bytes); err != nil {
		return nil, err
	}
	return js.installRestored(cfg, store, created)
}

// checkRestoredSize refuses data beyond the server's or the account's room
// for its storage type.
func (js *JetStream) checkRestoredSize(cfg *jsapi.StreamConfig, size uint64) *jsapi.ApiError {
	var used, serverMax, accMax int64
	if cfg.Storage == jsapi.MemoryStorage {
		used, serverMax, accMax = js.memUsed.Load(), js.cfg.MaxMemory, js.cfg.Account.MaxMemory
	} else {
		used, serverMax, accMax = js.storeUsed.Load(), js.cfg.MaxStore, js.cfg.Account.MaxStore
	}
	if serverMax >= 0 && used+int64(size) > serverMax {
		return jsapi.ErrInsufficientResources()
	}
	if accMax >= 0 && used+int64(size) > accMax {
		return jsapi.ErrAccountResourcesExceeded()
	}
	return nil
}
