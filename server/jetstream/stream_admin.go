package jetstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Creating, updating and deleting streams. The API handlers (api_stream.go)
// have checked the request; these make the change in the engine, wait for
// it to be durable, and bring the stream's subscriptions in line. They run
// under js.opMu.

func timeNowUTC() time.Time { return time.Now().UTC() }

// recordConfig stores a stream's configuration where recovery finds it
// (the stream's aux record; the meta stream's for a memory stream) and
// waits until that is durable.
func (js *JetStream) recordConfig(cfg *jsapi.StreamConfig, store blockstore.Stream, created time.Time) error {
	rec, err := json.Marshal(storedStream{Config: *cfg, Created: created})
	if err != nil {
		return err
	}
	target, key := store, streamConfigKey
	if cfg.Storage == jsapi.MemoryStorage {
		target, key = js.meta, memStreamKeyPrefix+cfg.Name
	}
	r, err := target.Apply(&blockstore.Command{Op: blockstore.OpSetAux, Key: key, Data: rec})
	if err != nil {
		return fmt.Errorf("record stream configuration: %w", err)
	}
	js.dur.waitDurable(r.Ticket)
	return nil
}

// createStream creates a stream with a checked configuration.
func (js *JetStream) createStream(cfg *jsapi.StreamConfig) (*stream, error) {
	created := timeNowUTC()
	var (
		store blockstore.Stream
		err   error
	)
	if cfg.Storage == jsapi.MemoryStorage {
		store, err = blockstore.NewMemoryStream(engineConfig(cfg))
	} else {
		store, err = js.engine.CreateStream(engineConfig(cfg))
	}
	if err != nil {
		return nil, err
	}
	if err := js.recordConfig(cfg, store, created); err != nil {
		js.dropStore(cfg, store)
		return nil, err
	}
	st := newStream(js, cfg, store, created)
	if err := st.start(); err != nil {
		js.dropStore(cfg, store)
		return nil, err
	}
	js.mu.Lock()
	js.streams[cfg.Name] = st
	js.mu.Unlock()
	js.origins.streamsChanged()
	return st, nil
}

// dropStore removes a stream's data and definition.
func (js *JetStream) dropStore(cfg *jsapi.StreamConfig, store blockstore.Stream) error {
	if cfg.Storage == jsapi.MemoryStorage {
		store.Close()
		r, err := js.meta.Apply(&blockstore.Command{Op: blockstore.OpSetAux, Key: memStreamKeyPrefix + cfg.Name})
		if err != nil {
			return err
		}
		js.dur.waitDurable(r.Ticket)
		return nil
	}
	return js.engine.DeleteStream(cfg.Name)
}

// deleteStream stops a stream and removes it with its messages.
func (js *JetStream) deleteStream(st *stream) error {
	st.stop()
	js.mu.Lock()
	delete(js.streams, st.name)
	js.mu.Unlock()
	js.origins.streamsChanged()
	js.addUsage(st.storage, -st.bytes.Swap(0))
	if err := js.dropStore(st.config(), st.store); err != nil {
		return err
	}
	return nil
}

// update applies a checked new configuration.
func (st *stream) update(ncfg *jsapi.StreamConfig) error {
	js := st.js
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return errStreamClosed
	}
	old := st.config()
	var ticket blockstore.Ticket
	if oe, ne := engineConfig(old), engineConfig(ncfg); oe != ne {
		st.cmd = blockstore.Command{Op: blockstore.OpConfig, Config: &ne}
		r, err := st.applyLocked()
		if err != nil {
			st.mu.Unlock()
			return err
		}
		ticket = r.Ticket
	}
	rec, err := json.Marshal(storedStream{Config: *ncfg, Created: st.created})
	if err != nil {
		st.mu.Unlock()
		return err
	}
	var r blockstore.Result
	if ncfg.Storage == jsapi.MemoryStorage {
		r, err = js.meta.Apply(&blockstore.Command{Op: blockstore.OpSetAux, Key: memStreamKeyPrefix + ncfg.Name, Data: rec})
	} else {
		st.cmd = blockstore.Command{Op: blockstore.OpSetAux, Key: streamConfigKey, Data: rec}
		r, err = st.applyLocked()
	}
	if err != nil {
		st.mu.Unlock()
		return err
	}
	ticket = max(ticket, r.Ticket)
	if err := st.applyConfigLocked(ncfg); err != nil {
		st.mu.Unlock()
		return err
	}
	st.cfg.Store(ncfg)
	st.afterChangeLocked()
	st.mu.Unlock()
	js.dur.waitDurable(ticket)

	if !slices.Equal(old.Subjects, ncfg.Subjects) || old.AllowDirect != ncfg.AllowDirect ||
		old.MirrorDirect != ncfg.MirrorDirect || !reflect.DeepEqual(old.Mirror, ncfg.Mirror) {
		if err := st.subscribe(ncfg); err != nil {
			return err
		}
	}
	// Mirror removed (the stream is promoted), sources added or removed.
	st.syncOrigins(ncfg)
	return nil
}

// purge applies a purge request; it returns how many messages went.
func (st *stream) purge(req *jsapi.JSApiStreamPurgeRequest) (uint64, error) {
	cmd := blockstore.Command{Op: blockstore.OpPurge}
	if req != nil {
		cmd.Subject, cmd.Seq, cmd.Keep = req.Subject, req.Sequence, req.Keep
	}
	r, err := st.apply(cmd)
	if err != nil {
		return 0, err
	}
	st.js.dur.waitDurable(r.Ticket)
	return r.Removed, nil
}

var (
	errStoreEOF   = errors.New("stream store EOF")
	errNoMsgFound = errors.New("no message found")
)

// deleteMsg removes one message, overwriting its bytes unless noErase.
// It reports false when there is no such message.
func (st *stream) deleteMsg(seq uint64, noErase bool) (bool, error) {
	op := blockstore.OpErase
	if noErase {
		op = blockstore.OpRemove
	}
	r, err := st.apply(blockstore.Command{Op: op, Seq: seq})
	if errors.Is(err, blockstore.ErrNotFound) || errors.Is(err, blockstore.ErrDeleted) {
		// The reference's file store reports a sequence outside the
		// stream as an error of its own; its memory store does not.
		if st.storage == jsapi.FileStorage && errors.Is(err, blockstore.ErrNotFound) {
			if seq > st.store.State().LastSeq {
				return false, errStoreEOF
			}
			return false, errNoMsgFound
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st.js.dur.waitDurable(r.Ticket)
	return r.Removed > 0, nil
}
