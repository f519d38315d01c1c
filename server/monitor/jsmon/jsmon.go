// Package jsmon connects the JetStream layer to monitoring: it presents a
// *jetstream.JetStream as a monitor.JetStream, so that package monitor
// depends only on the JetStream API types (jsapi), not on the layer.
package jsmon

import (
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream"
	"github.com/keelhq/keel/server/monitor"
)

// Source is a monitor.JetStream backed by a running JetStream layer.
type Source struct{ js *jetstream.JetStream }

// New adapts js; it returns nil (no JetStream for monitoring) when js is
// nil, so a disabled layer can be passed through as it is.
func New(js *jetstream.JetStream) monitor.JetStream {
	if js == nil {
		return nil
	}
	return Source{js}
}

// Overview reports JetStream's configuration, limits and usage.
func (s Source) Overview() monitor.JSOverview {
	c := s.js.Config()
	cfg := monitor.JSConfig{
		MaxMemory: c.MaxMemory,
		MaxStore:  c.MaxStore,
		StoreDir:  c.StoreDir,
		Domain:    c.Domain,
		Strict:    c.Strict,
		// The reference says compress_ok only when its limits were
		// configured rather than sized from the machine.
		CompressOK: c.ExplicitMax,
	}
	// Keel's SyncInterval zero means every acknowledged write is synced.
	if c.SyncInterval > 0 {
		cfg.SyncInterval = c.SyncInterval
	} else {
		cfg.SyncAlways = true
	}
	return monitor.JSOverview{
		Config: cfg,
		Limits: monitor.JSLimits{
			MaxRequestBatch:           c.MaxRequestBatch,
			MaxAckPending:             c.MaxAckPending,
			MaxHAAssets:               c.MaxHAAssets,
			Duplicates:                c.MaxDuplicateWindow,
			DefaultMaxConsumers:       c.MaxConsumersPerStream,
			MaxBatchInflightPerStream: c.BatchLimits.InflightPerStream,
			MaxBatchInflightTotal:     c.BatchLimits.InflightTotal,
			MaxBatchSize:              c.BatchLimits.MaxSize,
			MaxBatchTimeout:           c.BatchLimits.Timeout,
		},
		Stats: s.js.ServerStats(),
	}
}

// Accounts reports the global account, the only one with JetStream until
// multiple accounts land. Consumer details are asked for in vain: there is
// no consumer layer yet to describe them.
//
// An account's reserved_memory and reserved_storage in /jsz are its
// limits (max_memory, max_storage), as the reference reports them there,
// not the streams' reservations that $JS.API.INFO reports under the same
// names: unlimited (-1) shows as the largest uint64.
func (s Source) Accounts(bool) []monitor.JSAccount {
	st := s.js.AccountStats()
	a := monitor.JSAccount{
		Name:           server.GlobalAccountName,
		Memory:         st.Memory,
		Store:          st.Store,
		ReservedMemory: uint64(st.Limits.MaxMemory),
		ReservedStore:  uint64(st.Limits.MaxStore),
		API:            st.API,
	}
	for _, ss := range s.js.Streams() {
		a.Streams = append(a.Streams, monitor.JSStream{
			Name: ss.Name, Created: ss.Created, Config: ss.Config, State: ss.State,
		})
	}
	return []monitor.JSAccount{a}
}
