package jetstream

import "github.com/keelhq/keel/blockstore"

// WrapStore replaces the store of stream name with wrap(store), so that a
// test can watch or disturb the commands the stream gives the engine.
func WrapStore(js *JetStream, name string, wrap func(blockstore.Stream) blockstore.Stream) bool {
	st, ok := js.lookup(name)
	if !ok {
		return false
	}
	st.mu.Lock()
	st.store = wrap(st.store)
	st.mu.Unlock()
	return true
}
