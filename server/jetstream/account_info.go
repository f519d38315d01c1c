package jetstream

import (
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// $JS.API.INFO and the usage figures behind it, /jsz and /varz.

func handleAccountInfo(js *JetStream, r *Request) {
	stats := js.AccountStats()
	js.Respond(r, &jsapi.AccountInfoResponse{
		ApiResponse:  jsapi.ApiResponse{Type: jsapi.AccountInfoResponseType},
		AccountStats: &stats,
	})
}

// AccountStats is the global account's JetStream usage, limits and API
// counters, as $JS.API.INFO reports them.
func (js *JetStream) AccountStats() jsapi.AccountStats {
	var mem, store uint64
	streams := js.streamList()
	for _, st := range streams {
		b := st.store.State().Bytes
		if st.storage == jsapi.MemoryStorage {
			mem += b
		} else {
			store += b
		}
	}
	consumers := 0
	for _, st := range streams {
		consumers += st.numConsumers()
	}
	return jsapi.AccountStats{
		Tier: jsapi.Tier{
			Memory: mem, Store: store,
			ReservedMemory: uint64(max(js.reserved(jsapi.MemoryStorage, ""), 0)),
			ReservedStore:  uint64(max(js.reserved(jsapi.FileStorage, ""), 0)),
			Streams:        len(streams),
			Consumers:      consumers,
			Limits:         js.cfg.Account,
		},
		Domain: js.cfg.Domain,
		API:    js.apiStats(),
	}
}

func (js *JetStream) apiStats() jsapi.APIStats {
	return jsapi.APIStats{
		Level:  js.APILevel(),
		Total:  js.apiTotal.Load(),
		Errors: js.apiErrors.Load(),
	}
}

// ServerStats is JetStream's usage across the server, for /varz and /jsz.
func (js *JetStream) ServerStats() jsapi.ServerStats {
	return jsapi.ServerStats{
		Memory:         uint64(max(js.memUsed.Load(), 0)),
		Store:          uint64(max(js.storeUsed.Load(), 0)),
		ReservedMemory: uint64(max(js.reserved(jsapi.MemoryStorage, ""), 0)),
		ReservedStore:  uint64(max(js.reserved(jsapi.FileStorage, ""), 0)),
		Accounts:       1,
		API:            js.apiStats(),
	}
}

// StreamSnapshot is one stream as monitoring sees it.
type StreamSnapshot struct {
	Name    string
	Created time.Time
	Config  jsapi.StreamConfig
	State   jsapi.StreamState
	// DedupIDs and DedupBytes are the duplicate window's size.
	DedupIDs   int
	DedupBytes int64
}

// Streams returns every stream's configuration and state, sorted by name
// (/jsz?streams=true).
func (js *JetStream) Streams() []StreamSnapshot {
	list := js.streamList()
	out := make([]StreamSnapshot, 0, len(list))
	for _, st := range list {
		st.mu.Lock()
		ids, mem := st.dedup.len(), st.dedup.memory()
		st.mu.Unlock()
		out = append(out, StreamSnapshot{
			Name: st.name, Created: st.created.UTC(), Config: *st.config(),
			State: st.state(false), DedupIDs: ids, DedupBytes: mem,
		})
	}
	return out
}

// usageLoop keeps the usage figures exact (publishes update them by
// estimate in between) and expires idle duplicate windows.
func (js *JetStream) usageLoop() {
	defer js.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-js.api.quit:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		for _, st := range js.streamList() {
			st.mu.Lock()
			if !st.closed {
				st.refreshUsage()
				st.dedup.expire(now)
				if st.dedup.evict > 0 {
					js.host.Warnf("JetStream stream '%s' forgot %d message ids before their duplicate window ended (server-wide limit of %d ids)",
						st.name, st.dedup.evict, js.cfg.DedupMaxIDs)
					st.dedup.evict = 0
				}
			}
			st.mu.Unlock()
		}
	}
}
