package jsapi

// Catalog shows configuration checks the other streams of the account:
// mirrors and sources look up their origin, cycles are followed through
// them, and new subjects must not overlap theirs.
type Catalog interface {
	// LookupStream returns the stored configuration of a stream.
	LookupStream(name string) (*StreamConfig, bool)
	// RangeStreams calls fn for every stream until fn returns false.
	RangeStreams(fn func(cfg *StreamConfig) bool)
}

// MapCatalog is a Catalog over a map from stream name to configuration.
type MapCatalog map[string]*StreamConfig

func (m MapCatalog) LookupStream(name string) (*StreamConfig, bool) {
	c, ok := m[name]
	return c, ok
}

func (m MapCatalog) RangeStreams(fn func(cfg *StreamConfig) bool) {
	for _, c := range m {
		if !fn(c) {
			return
		}
	}
}

// Env is everything a stream configuration check needs to know besides the
// configuration itself.
type Env struct {
	// Streams are the account's existing streams; nil means none.
	Streams Catalog
	// Limits bound the configuration; the zero value bounds nothing.
	Limits Limits
	// Clustered allows num_replicas above 1. Without it such a request is
	// refused with ErrStreamReplicasNotSupported (10074), the reference's
	// answer in non-clustered mode.
	Clustered bool
	// Supported lists the optional features the JetStream layer
	// implements; a configuration using any other one is refused (see
	// Feature). Nil means all of them.
	Supported FeatureSet
	// CheckLimits, if set, runs the account's resource checks (stream
	// count, storage reservations) where the reference runs them. On
	// create, old is nil and cfg is the configuration as requested, before
	// the configuration checks. On update, old is the stored configuration
	// and cfg the checked new one, after the update rules.
	CheckLimits func(old, cfg *StreamConfig) *ApiError
	// Consumers, if set, returns the configurations of a stream's
	// consumers, by name: an update lowering consumer_limits below what a
	// consumer uses is refused.
	Consumers func(stream string) map[string]*ConsumerConfig
}

func (e *Env) lookup(name string) (*StreamConfig, bool) {
	if e == nil || e.Streams == nil {
		return nil, false
	}
	return e.Streams.LookupStream(name)
}

func (e *Env) rangeStreams(fn func(*StreamConfig) bool) {
	if e == nil || e.Streams == nil {
		return
	}
	e.Streams.RangeStreams(fn)
}
