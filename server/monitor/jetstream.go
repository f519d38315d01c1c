package monitor

import (
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// JetStream is what monitoring reads from the JetStream layer, for /jsz,
// the jetstream section of /varz and the JetStream health check. The
// composition root connects it (Sources.JetStream or SetJetStream); the
// JetStream layer implements it directly or through a small adapter.
//
// Both methods are called on every request to those endpoints, from HTTP
// goroutines, concurrently with everything else: they must be safe for
// concurrent use and return copies the caller may keep.
type JetStream interface {
	// Overview is the configuration JetStream runs with, the limits it
	// enforces and its usage across the server.
	Overview() JSOverview
	// Accounts describes every JetStream-enabled account (in any order)
	// with all of its streams, configuration and state included. Consumer
	// details cost more and are filled only when withConsumers is true.
	Accounts(withConsumers bool) []JSAccount
}

// JSOverview is JetStream as a whole.
type JSOverview struct {
	Config JSConfig
	Limits JSLimits
	Stats  JSStats
}

// JSConfig is the configuration JetStream runs with, limits resolved (the
// reference's JetStreamConfig: config in /varz jetstream and in /jsz).
type JSConfig struct {
	MaxMemory    int64         `json:"max_memory"`
	MaxStore     int64         `json:"max_storage"`
	StoreDir     string        `json:"store_dir,omitempty"`
	SyncInterval time.Duration `json:"sync_interval,omitempty"`
	SyncAlways   bool          `json:"sync_always,omitempty"`
	Domain       string        `json:"domain,omitempty"`
	CompressOK   bool          `json:"compress_ok,omitempty"`
	UniqueTag    string        `json:"unique_tag,omitempty"`
	Strict       bool          `json:"strict,omitempty"`
}

// JSLimits are the server-wide JetStream limits in force (jetstream {
// limits {} }, with defaults applied).
type JSLimits struct {
	MaxRequestBatch           int           `json:"max_request_batch,omitempty"`
	MaxAckPending             int           `json:"max_ack_pending,omitempty"`
	MaxHAAssets               int           `json:"max_ha_assets,omitempty"`
	Duplicates                time.Duration `json:"max_duplicate_window,omitempty"`
	MaxBatchInflightPerStream int           `json:"max_batch_inflight_per_stream,omitempty"`
	MaxBatchInflightTotal     int           `json:"max_batch_inflight_total,omitempty"`
	MaxBatchSize              int           `json:"max_batch_size,omitempty"`
	MaxBatchTimeout           time.Duration `json:"max_batch_timeout,omitempty"`
	DefaultMaxConsumers       int           `json:"default_max_consumers,omitempty"`
}

// JSStats is JetStream's usage: memory and storage used and reserved,
// accounts, and API request counters.
type JSStats = jsapi.ServerStats

// JSAccount is one JetStream-enabled account.
type JSAccount struct {
	Name string
	// Memory and Store are the bytes the account's streams hold;
	// ReservedMemory and ReservedStore what its limits reserve.
	Memory, Store                 uint64
	ReservedMemory, ReservedStore uint64
	API                           jsapi.APIStats
	Streams                       []JSStream
	// Unrecovered names streams found in the store that could not be
	// loaded: the health check reports them.
	Unrecovered []string
}

// JSStream is one stream.
type JSStream struct {
	Name    string
	Created time.Time
	Config  jsapi.StreamConfig
	State   jsapi.StreamState
	// Cluster, Mirror and Sources are as in STREAM.INFO (nil when none).
	Cluster *jsapi.ClusterInfo
	Mirror  *jsapi.StreamSourceInfo
	Sources []*jsapi.StreamSourceInfo
	// Consumers, with their configuration; filled only when asked for.
	Consumers []*jsapi.ConsumerInfo
	// WriteErr is set while the stream cannot persist what it accepts:
	// the health check reports it.
	WriteErr error
}
