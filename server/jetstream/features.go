package jetstream

import "github.com/keelhq/keel/server/jetstream/jsapi"

// What this layer implements, for the configuration checks (a request
// using anything else is refused with 10052 naming the field, never
// accepted and ignored: clarification 2) and for the API level Keel
// advertises (clarification 3).
//
// Not built yet: origins in another account or domain (external) and
// origins read through a named durable consumer, which need the consumer
// layer.
func defaultFeatures() jsapi.FeatureSet {
	return jsapi.NewFeatureSet(
		jsapi.FeatureMsgTTL,
		jsapi.FeatureSubjectDeleteMarkers,
		jsapi.FeatureMsgCounter,
		jsapi.FeatureAsyncPersist,
		jsapi.FeatureSubjectTransform,
		jsapi.FeatureRePublish,
		jsapi.FeatureCompression,
		jsapi.FeatureDirectGet,
		jsapi.FeatureMirrorDirect,
		jsapi.FeatureRollup,
		jsapi.FeatureAtomicPublish,
		jsapi.FeatureBatchPublish,
		jsapi.FeatureMsgSchedules,
		jsapi.FeatureMirror,
		jsapi.FeatureSources,
	)
}

// SupportFeature adds a feature to what stream configurations may use:
// the mirror/source layer calls it for what it builds.
func (js *JetStream) SupportFeature(f jsapi.Feature) {
	js.opMu.Lock()
	js.features[f] = true
	js.opMu.Unlock()
}

// streamAPILevel is the highest API level whose stream features are all
// built: level 1 (per-message TTLs, delete markers), level 2 (counters,
// atomic batches, schedules, async persistence) and level 3 (the snapshot
// window size). Level 4 adds fast batches (built) but also sourcing
// through a durable consumer, and level 5 the detection of a re-created
// source (built); both wait for the consumer layer.
const streamAPILevel = 3

// noConsumerLayer is the consumer layer's level until it reports one with
// SetConsumerAPILevel: there is no consumer API at all.
const noConsumerLayer = -1

// advertisedLevel is the API level Keel advertises. The lead's rule: while
// no consumer API exists at all, clients can only use streams, so the
// stream layer's level is advertised; once the consumer layer reports its
// level, the lower of the two is, so that a client never switches on a
// consumer feature Keel lacks (the consumer layer must then reach the
// stream layer's level not to hold it back).
func advertisedLevel(consumerLevel int) int {
	if consumerLevel == noConsumerLayer {
		return streamAPILevel
	}
	return min(consumerLevel, streamAPILevel)
}
