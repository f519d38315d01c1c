package jsapi

import (
	"fmt"
	"slices"
)

// Feature names an optional capability a stream configuration can ask for.
// Clarification 2 of the issues: a field Keel has not built yet must be
// refused with a clear error, never accepted and silently ignored. The
// JetStream layer lists what it implements in Env.Supported, and the checks
// refuse the rest after all of the reference's own checks (so a request the
// reference refuses for another reason gets the reference's error).
type Feature string

// The features, named by the configuration field that turns them on.
const (
	FeatureMsgTTL               Feature = "allow_msg_ttl"
	FeatureSubjectDeleteMarkers Feature = "subject_delete_marker_ttl"
	FeatureMsgCounter           Feature = "allow_msg_counter"
	FeatureAtomicPublish        Feature = "allow_atomic"
	FeatureBatchPublish         Feature = "allow_batched"
	FeatureMsgSchedules         Feature = "allow_msg_schedules"
	FeatureAsyncPersist         Feature = "persist_mode"
	FeatureMirror               Feature = "mirror"
	FeatureSources              Feature = "sources"
	FeatureExternalSource       Feature = "external"          // mirror or source in another account or domain
	FeatureSourceConsumer       Feature = "consumer"          // mirror or source through a named durable consumer
	FeatureSubjectTransform     Feature = "subject_transform" // also the transforms of mirrors and sources
	FeatureRePublish            Feature = "republish"
	FeatureCompression          Feature = "compression" // s2
	FeatureDirectGet            Feature = "allow_direct"
	FeatureMirrorDirect         Feature = "mirror_direct"
	FeatureRollup               Feature = "allow_rollup_hdrs"
)

// AllFeatures lists every Feature.
var AllFeatures = []Feature{
	FeatureMsgTTL, FeatureSubjectDeleteMarkers, FeatureMsgCounter,
	FeatureAtomicPublish, FeatureBatchPublish, FeatureMsgSchedules,
	FeatureAsyncPersist, FeatureMirror, FeatureSources, FeatureExternalSource,
	FeatureSourceConsumer, FeatureSubjectTransform, FeatureRePublish,
	FeatureCompression, FeatureDirectGet, FeatureMirrorDirect, FeatureRollup,
}

// FeatureSet is the set of features a server implements. A nil set means
// every feature.
type FeatureSet map[Feature]bool

// NewFeatureSet returns the set holding fs.
func NewFeatureSet(fs ...Feature) FeatureSet {
	s := make(FeatureSet, len(fs))
	for _, f := range fs {
		s[f] = true
	}
	return s
}

// Has reports whether f is in the set (always, for a nil set).
func (s FeatureSet) Has(f Feature) bool {
	return s == nil || s[f]
}

// UsedFeatures lists the features cfg asks for, in AllFeatures order.
func UsedFeatures(cfg *StreamConfig) []Feature {
	var used []Feature
	use := func(f Feature, on bool) {
		if on && !slices.Contains(used, f) {
			used = append(used, f)
		}
	}
	use(FeatureMsgTTL, cfg.AllowMsgTTL)
	use(FeatureSubjectDeleteMarkers, cfg.SubjectDeleteMarkerTTL > 0)
	use(FeatureMsgCounter, cfg.AllowMsgCounter)
	use(FeatureAtomicPublish, cfg.AllowAtomic)
	use(FeatureBatchPublish, cfg.AllowBatched)
	use(FeatureMsgSchedules, cfg.AllowMsgSchedules)
	use(FeatureAsyncPersist, cfg.PersistMode == AsyncPersistMode)
	use(FeatureMirror, cfg.Mirror != nil)
	use(FeatureSources, len(cfg.Sources) > 0)
	origins := append([]*StreamSource{cfg.Mirror}, cfg.Sources...)
	for _, o := range origins {
		if o == nil {
			continue
		}
		use(FeatureExternalSource, o.External != nil)
		use(FeatureSourceConsumer, o.Consumer != nil)
	}
	use(FeatureSubjectTransform, cfg.SubjectTransform != nil)
	for _, o := range origins {
		use(FeatureSubjectTransform, o != nil && len(o.SubjectTransforms) > 0)
	}
	use(FeatureRePublish, cfg.RePublish != nil)
	use(FeatureCompression, cfg.Compression != NoCompression)
	use(FeatureDirectGet, cfg.AllowDirect)
	use(FeatureMirrorDirect, cfg.MirrorDirect)
	use(FeatureRollup, cfg.AllowRollupHdrs)
	return used
}

// CheckFeatures refuses a configuration that asks for a feature outside
// supported, naming the field: 500/10052 "stream configuration field
// allow_msg_counter is not supported by this server".
func CheckFeatures(cfg *StreamConfig, supported FeatureSet) *ApiError {
	if supported == nil {
		return nil
	}
	for _, f := range UsedFeatures(cfg) {
		if !supported.Has(f) {
			return ErrStreamInvalidConfig(fmt.Errorf("stream configuration field %s is not supported by this server", f))
		}
	}
	return nil
}
