package jetstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Recovery. Everything JetStream needs after a restart is in the engine:
// each file stream carries its configuration as an aux record
// (streamConfigKey), and the configurations of memory streams, whose
// messages do not survive a restart but whose definitions do (as in the
// reference), are aux records of a small internal file stream, metaStream.
// The duplicate window is rebuilt from the headers of the messages stored
// within it.

// metaStream holds the memory streams' configurations. The '.' makes the
// name impossible for a user stream.
const metaStream = "keel.jetstream.meta"

// memStreamKeyPrefix prefixes a memory stream's aux record in metaStream.
const memStreamKeyPrefix = "mem/"

func (js *JetStream) recover() error {
	meta, ok := js.engine.Stream(metaStream)
	if !ok {
		var err error
		if meta, err = js.engine.CreateStream(blockstore.Config{Name: metaStream}); err != nil {
			return fmt.Errorf("jetstream: create meta stream: %w", err)
		}
	}
	js.meta = meta
	for _, es := range js.engine.Streams() {
		name := es.Config().Name
		if name == metaStream {
			continue
		}
		raw := es.Aux(streamConfigKey)
		if raw == nil {
			// Created but never configured: a crash interrupted the create
			// before it was acknowledged.
			js.host.Warnf("JetStream removing stream '%s' left unconfigured by an interrupted create", name)
			if err := js.engine.DeleteStream(name); err != nil {
				js.host.Errorf("JetStream remove stream '%s': %v", name, err)
			}
			continue
		}
		ss, err := decodeStored(raw)
		if err != nil {
			js.host.Errorf("JetStream stream '%s' not recovered: %v", name, err)
			continue
		}
		if err := js.install(&ss.Config, es, ss.Created); err != nil {
			js.host.Errorf("JetStream stream '%s' not recovered: %v", name, err)
		}
	}
	for _, key := range meta.AuxKeys(memStreamKeyPrefix) {
		name := strings.TrimPrefix(key, memStreamKeyPrefix)
		ss, err := decodeStored(meta.Aux(key))
		if err != nil {
			js.host.Errorf("JetStream memory stream '%s' not recovered: %v", name, err)
			continue
		}
		ms, err := blockstore.NewMemoryStream(engineConfig(&ss.Config))
		if err != nil {
			js.host.Errorf("JetStream memory stream '%s' not recovered: %v", name, err)
			continue
		}
		if err := js.install(&ss.Config, ms, ss.Created); err != nil {
			js.host.Errorf("JetStream memory stream '%s' not recovered: %v", name, err)
		}
	}
	if n := len(js.streams); n > 0 {
		js.host.Noticef("  Restored %d streams", n)
	}
	return nil
}

// decodeStored reads a stream's aux record. A configuration written by a
// newer server is decoded leniently (jsapi.DecodeStoredConfig) and noted.
func decodeStored(raw []byte) (storedStream, error) {
	var env struct {
		Config  json.RawMessage `json:"config"`
		Created time.Time       `json:"created"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return storedStream{}, fmt.Errorf("decode configuration: %w", err)
	}
	cfg, _, err := jsapi.DecodeStoredConfig[jsapi.StreamConfig](env.Config)
	if err != nil {
		return storedStream{}, fmt.Errorf("decode configuration: %w", err)
	}
	if cfg.Name == "" {
		return storedStream{}, errors.New("configuration without a name")
	}
	return storedStream{Config: cfg, Created: env.Created}, nil
}

// install makes an opened engine stream live as a JetStream stream.
func (js *JetStream) install(cfg *jsapi.StreamConfig, store blockstore.Stream, created time.Time) error {
	st := newStream(js, cfg, store, created)
	if err := st.start(); err != nil {
		return err
	}
	js.mu.Lock()
	js.streams[cfg.Name] = st
	js.mu.Unlock()
	js.origins.streamsChanged()
	return nil
}

// rebuildDedupLocked restores the last message id and the duplicate
// window from the stored messages.
func (st *stream) rebuildDedupLocked(state blockstore.State) {
	if state.Msgs == 0 {
		return
	}
	if sm, err := st.store.LoadMsg(state.LastSeq, &st.sm); err == nil {
		st.lmsgID = append(st.lmsgID[:0], headerValue(sm.Header, jsapi.HdrMsgID)...)
	}
	window := st.dedup.window
	if window <= 0 {
		return
	}
	now := time.Now()
	start := st.store.SeqForTime(now.Add(-time.Duration(window)))
	if start == 0 {
		return
	}
	limit := int64(st.js.cfg.DedupMaxIDs)
	for seq := start; seq <= state.LastSeq; seq++ {
		sm, err := st.store.LoadNextMsg(">", seq, &st.sm)
		if err != nil || sm.Seq > state.LastSeq {
			break
		}
		seq = sm.Seq
		if id := headerValue(sm.Header, jsapi.HdrMsgID); len(id) > 0 {
			st.dedup.add(hashID(id), sm.Seq, sm.Time, limit)
		}
	}
	st.dedup.expire(now.UnixNano())
}
