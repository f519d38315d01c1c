package jetstream

import (
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Resource limits: the server's (max_memory_store, max_file_store) and the
// account's (max_memory, max_file, max_streams, max_consumers...), checked
// where the reference checks them, with its errors.
//
// Streams reserve their max_bytes when they set one; a new stream or an
// update that raises max_bytes must fit the account's and the server's
// remaining room. Usage (bytes stored) is checked at every publish.

// checkPublishLimits refuses a message when the server is out of room for
// its storage type (503 insufficient resources) or the account's limit
// would be passed (account resources exceeded).
func (js *JetStream) checkPublishLimits(cfg *jsapi.StreamConfig, subj string, hdr, data []byte) *jsapi.ApiError {
	return js.checkRoom(cfg, int64(storedSize(cfg.Storage, subj, hdr, data)))
}

// checkRoom is checkPublishLimits for size bytes about to be stored (the
// whole of an atomic batch).
func (js *JetStream) checkRoom(cfg *jsapi.StreamConfig, size int64) *jsapi.ApiError {
	var used, serverMax, accMax int64
	if cfg.Storage == jsapi.MemoryStorage {
		used, serverMax, accMax = js.memUsed.Load(), js.cfg.MaxMemory, js.cfg.Account.MaxMemory
	} else {
		used, serverMax, accMax = js.storeUsed.Load(), js.cfg.MaxStore, js.cfg.Account.MaxStore
	}
	if serverMax >= 0 && used > serverMax {
		return jsapi.ErrInsufficientResources()
	}
	if accMax >= 0 && used+size > accMax {
		return jsapi.ErrAccountResourcesExceeded()
	}
	return nil
}

// reserved is the sum of max_bytes of the streams of a storage type,
// other than skip.
func (js *JetStream) reserved(storage jsapi.StorageType, skip string) int64 {
	var total int64
	for _, st := range js.streamList() {
		c := st.config()
		if c.Name == skip || c.Storage != storage || c.MaxBytes <= 0 {
			continue
		}
		total = addSaturate(total, c.MaxBytes*int64(max(c.Replicas, 1)))
	}
	return total
}

// checkStreamLimits is jsapi.Env.CheckLimits: on create (old nil) the
// stream count and the room for cfg's reservation; on update the room for
// the increase of max_bytes.
func (js *JetStream) checkStreamLimits(old, cfg *jsapi.StreamConfig) *jsapi.ApiError {
	acc := js.cfg.Account
	if old == nil && acc.MaxStreams > 0 {
		n := 0
		for _, st := range js.streamList() {
			if st.name != cfg.Name {
				n++
			}
		}
		if n >= acc.MaxStreams {
			return jsapi.ErrMaximumStreamsLimit()
		}
	}
	if cfg.MaxConsumers > 0 && acc.MaxConsumers > 0 && cfg.MaxConsumers > acc.MaxConsumers {
		return jsapi.ErrMaximumConsumersLimit()
	}
	add := cfg.MaxBytes
	reserved := js.reserved(cfg.Storage, cfg.Name)
	if old != nil {
		diff := max(cfg.MaxBytes, 0) - max(old.MaxBytes, 0)
		add = max(diff, 0)
		if rest := cfg.MaxBytes - add; rest > 0 {
			reserved = addSaturate(reserved, rest)
		}
	}
	if add < 0 {
		add = 1
	}
	accMax, serverMax := acc.MaxStore, js.cfg.MaxStore
	exceeded := jsapi.ErrStorageResourcesExceeded
	if cfg.Storage == jsapi.MemoryStorage {
		accMax, serverMax = acc.MaxMemory, js.cfg.MaxMemory
		exceeded = jsapi.ErrMemoryResourcesExceeded
	}
	if accMax >= 0 && (reserved > accMax || add > accMax-reserved) {
		return exceeded()
	}
	// The server's reservations span every account (one, for now).
	if reserved > serverMax || add > serverMax-reserved {
		return exceeded()
	}
	return nil
}

func addSaturate(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return int64(^uint64(0) >> 1)
}

// limitsEnv is the environment the configuration checks run in.
func (js *JetStream) limitsEnv() *jsapi.Env {
	lim := js.cfg.Account.Limits()
	lim.MaxDuplicateWindow = js.cfg.MaxDuplicateWindow
	return &jsapi.Env{
		Streams:     catalog{js},
		Limits:      lim,
		Supported:   js.features,
		CheckLimits: js.checkStreamLimits,
	}
}

// catalog shows the configuration checks the existing streams.
type catalog struct{ js *JetStream }

func (c catalog) LookupStream(name string) (*jsapi.StreamConfig, bool) {
	st, ok := c.js.lookup(name)
	if !ok {
		return nil, false
	}
	return st.config(), true
}

func (c catalog) RangeStreams(fn func(cfg *jsapi.StreamConfig) bool) {
	for _, st := range c.js.streamList() {
		if !fn(st.config()) {
			return
		}
	}
}
