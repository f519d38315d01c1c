package jsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// API levels. A server advertises the highest level it fully implements in
// $JS.API.INFO (api.level) and INFO (api_lvl); clients switch features on by
// it. Every stream and consumer configuration is stamped with the level its
// features need (_nats.req.level), so that a server too old for an asset
// can recognise it and leave it alone.
const (
	// APILevel is the level of nats-server v2.15.3. Keel advertises its
	// own, which may be lower until every feature of a level is built.
	APILevel = 5

	// MetaRequiredLevel is stored with the configuration.
	MetaRequiredLevel = "_nats.req.level"
	// MetaServerVersion and MetaServerLevel are added to configurations in
	// responses only, never stored.
	MetaServerVersion = "_nats.ver"
	MetaServerLevel   = "_nats.level"
)

// StreamRequiredAPILevel is the lowest API level that implements everything
// cfg uses: 1 for per-message TTLs and delete markers (v2.11), 2 for
// counters, atomic batches, schedules and async persistence (v2.12), 4 for
// fast batches (v2.14).
func StreamRequiredAPILevel(cfg *StreamConfig) int {
	level := 0
	needs := func(l int, used bool) {
		if used && l > level {
			level = l
		}
	}
	needs(1, cfg.AllowMsgTTL || cfg.SubjectDeleteMarkerTTL > 0)
	needs(2, cfg.AllowMsgCounter)
	needs(2, cfg.AllowAtomic)
	needs(2, cfg.AllowMsgSchedules)
	needs(2, cfg.PersistMode == AsyncPersistMode)
	needs(4, cfg.AllowBatched)
	return level
}

// ConsumerRequiredAPILevel is the same for a consumer: 1 for pausing and
// priority groups (v2.11), 4 for the flow-control ack policy (v2.14).
func ConsumerRequiredAPILevel(cfg *ConsumerConfig) int {
	level := 0
	needs := func(l int, used bool) {
		if used && l > level {
			level = l
		}
	}
	needs(1, cfg.PauseUntil != nil && !cfg.PauseUntil.IsZero())
	needs(1, cfg.PriorityPolicy != PriorityNone || cfg.PinnedTTL != 0 || len(cfg.PriorityGroups) > 0)
	needs(4, cfg.AckPolicy == AckFlowControl)
	return level
}

// SetStaticStreamMetadata stamps cfg's metadata with _nats.req.level and
// drops the response-only keys, before the configuration is checked and
// stored. The metadata map is always non-nil afterwards.
func SetStaticStreamMetadata(cfg *StreamConfig) {
	cfg.Metadata = staticMetadata(cfg.Metadata, StreamRequiredAPILevel(cfg))
}

// SetStaticConsumerMetadata is SetStaticStreamMetadata for consumers.
func SetStaticConsumerMetadata(cfg *ConsumerConfig) {
	cfg.Metadata = staticMetadata(cfg.Metadata, ConsumerRequiredAPILevel(cfg))
}

func staticMetadata(md map[string]string, level int) map[string]string {
	if md == nil {
		md = make(map[string]string, 1)
	}
	delete(md, MetaServerVersion)
	delete(md, MetaServerLevel)
	md[MetaRequiredLevel] = strconv.Itoa(level)
	return md
}

// WithDynamicStreamMetadata returns a copy of cfg for a response: its
// metadata (copied) gains _nats.ver and _nats.level. cfg is not changed.
func WithDynamicStreamMetadata(cfg StreamConfig, version string, level int) StreamConfig {
	cfg.Metadata = dynamicMetadata(cfg.Metadata, version, level)
	return cfg
}

// WithDynamicConsumerMetadata is WithDynamicStreamMetadata for consumers.
func WithDynamicConsumerMetadata(cfg ConsumerConfig, version string, level int) ConsumerConfig {
	cfg.Metadata = dynamicMetadata(cfg.Metadata, version, level)
	return cfg
}

func dynamicMetadata(md map[string]string, version string, level int) map[string]string {
	out := make(map[string]string, len(md)+2)
	maps.Copy(out, md)
	out[MetaServerVersion] = version
	out[MetaServerLevel] = strconv.Itoa(level)
	return out
}

// carryRequiredLevel makes cfg's versioning metadata comparable with
// prev's: response-only keys go, and _nats.req.level is taken from prev
// (or removed when prev has none), so that re-creating a stream with its
// own configuration is not mistaken for a change.
func carryRequiredLevel(md, prev map[string]string) map[string]string {
	if md != nil {
		delete(md, MetaServerVersion)
		delete(md, MetaServerLevel)
	}
	if v, ok := prev[MetaRequiredLevel]; ok {
		if md == nil {
			md = make(map[string]string, 1)
		}
		md[MetaRequiredLevel] = v
		return md
	}
	delete(md, MetaRequiredLevel)
	if len(md) == 0 {
		return nil
	}
	return md
}

// RequiredLevel returns an asset's stored _nats.req.level, or "".
func RequiredLevel(md map[string]string) string {
	return md[MetaRequiredLevel]
}

// SupportsRequiredLevel reports whether a server at level can run an asset
// with this metadata: no level stored, or a number no higher than level.
func SupportsRequiredLevel(md map[string]string, level int) bool {
	l := RequiredLevel(md)
	if l == "" {
		return true
	}
	n, err := strconv.Atoi(l)
	return err == nil && n <= level
}

// UnsupportedReason is the offline reason of an asset needing a higher API
// level than the server's.
func UnsupportedReason(md map[string]string, level int) string {
	return fmt.Sprintf("unsupported - required API level: %s, current API level: %d", RequiredLevel(md), level)
}

// CheckRequiredAPILevel applies the Nats-Required-Api-Level request header
// (its raw value; empty when absent): a value that is not a number, or one
// above the server's level, refuses the request with
// ErrRequiredApiLevel (412/10185). Direct gets answer with the status line
// RequiredAPILevelStatus instead.
func CheckRequiredAPILevel(header string, level int) *ApiError {
	if header == "" {
		return nil
	}
	n, err := strconv.Atoi(header)
	if err != nil || n > level {
		return ErrRequiredApiLevel()
	}
	return nil
}

// ErrInvalidConfigValue marks a stored configuration value this server can
// not decode, such as an enumeration value from a newer version.
var ErrInvalidConfigValue = errors.New("invalid value")

// DecodeStoredConfig decodes a configuration read back from storage (or
// from a peer) that may have been written by a newer server. It decodes
// strictly first; when that fails it decodes leniently, field by field, so
// one field this server does not know leaves the others intact. strictErr
// reports why the strict decode failed (the asset should then be marked
// unsupported); err is set only when the bytes are not a JSON object at all.
func DecodeStoredConfig[T any](buf []byte) (cfg T, strictErr, err error) {
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.DisallowUnknownFields()
	if strictErr = dec.Decode(&cfg); strictErr == nil {
		return cfg, nil, nil
	}
	var zero T
	cfg = zero
	if err = json.Unmarshal(buf, &cfg); err == nil {
		return cfg, strictErr, nil
	}
	var fields map[string]json.RawMessage
	if err = json.Unmarshal(buf, &fields); err != nil {
		return zero, strictErr, err
	}
	cfg = zero
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		one, merr := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		if merr != nil {
			continue
		}
		// Decode into a scratch value first: a field that fails must leave
		// cfg untouched.
		var probe T
		if uerr := json.Unmarshal(one, &probe); uerr != nil {
			if !errors.Is(strictErr, ErrInvalidConfigValue) {
				if v := fields[k]; len(v) > 0 && v[0] != '{' && v[0] != '[' {
					strictErr = fmt.Errorf("%w %s for field %q", ErrInvalidConfigValue, v, k)
				} else {
					strictErr = fmt.Errorf("%w for field %q", ErrInvalidConfigValue, k)
				}
			}
			continue
		}
		_ = json.Unmarshal(one, &cfg)
	}
	return cfg, strictErr, nil
}
