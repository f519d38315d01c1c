package jsapi

// $JS.API.INFO: an account's JetStream usage, limits and API counters.

// AccountInfoResponse answers $JS.API.INFO. The stats are embedded, so their
// keys sit next to "type" at the top level.
type AccountInfoResponse struct {
	ApiResponse
	*AccountStats
}

// AccountStats is an account's JetStream usage. When the account has tiered
// limits (R1, R3...), the embedded Tier holds the totals with empty limits
// and Tiers holds each tier.
type AccountStats struct {
	Tier
	Domain string          `json:"domain,omitempty"`
	API    APIStats        `json:"api"`
	Tiers  map[string]Tier `json:"tiers,omitempty"`
}

// Tier is the usage and limits of one tier (or of the whole account).
type Tier struct {
	Memory         uint64        `json:"memory"`
	Store          uint64        `json:"storage"`
	ReservedMemory uint64        `json:"reserved_memory"`
	ReservedStore  uint64        `json:"reserved_storage"`
	Streams        int           `json:"streams"`
	Consumers      int           `json:"consumers"`
	Limits         AccountLimits `json:"limits"`
}

// AccountLimits are an account's JetStream limits; -1 is unlimited.
type AccountLimits struct {
	MaxMemory            int64 `json:"max_memory"`
	MaxStore             int64 `json:"max_storage"`
	MaxStreams           int   `json:"max_streams"`
	MaxConsumers         int   `json:"max_consumers"`
	MaxAckPending        int   `json:"max_ack_pending"`
	MemoryMaxStreamBytes int64 `json:"memory_max_stream_bytes"`
	StoreMaxStreamBytes  int64 `json:"storage_max_stream_bytes"`
	MaxBytesRequired     bool  `json:"max_bytes_required"`
}

// UnlimitedAccountLimits are the limits of an account with JetStream
// enabled and no limits configured, as the reference reports them.
var UnlimitedAccountLimits = AccountLimits{
	MaxMemory:            -1,
	MaxStore:             -1,
	MaxStreams:           -1,
	MaxConsumers:         -1,
	MaxAckPending:        -1,
	MemoryMaxStreamBytes: -1,
	StoreMaxStreamBytes:  -1,
}

// APIStats counts API requests. Level is the API level the server
// implements; Total and Errors count requests since start.
type APIStats struct {
	Level    int    `json:"level"`
	Total    uint64 `json:"total"`
	Errors   uint64 `json:"errors"`
	Inflight uint64 `json:"inflight,omitempty"`
}

// ServerStats is JetStream's usage across the server (/varz, /jsz).
type ServerStats struct {
	Memory         uint64   `json:"memory"`
	Store          uint64   `json:"storage"`
	ReservedMemory uint64   `json:"reserved_memory"`
	ReservedStore  uint64   `json:"reserved_storage"`
	Accounts       int      `json:"accounts"`
	HAAssets       int      `json:"ha_assets"`
	API            APIStats `json:"api"`
}

// Limits returns the stream configuration limits an account's limits
// impose (Limits also carries the server's max_duplicate_window, which the
// caller sets).
func (l AccountLimits) Limits() Limits {
	return Limits{
		MaxBytesRequired:     l.MaxBytesRequired,
		MemoryMaxStreamBytes: l.MemoryMaxStreamBytes,
		StoreMaxStreamBytes:  l.StoreMaxStreamBytes,
	}
}
