package jetstream

import "github.com/keelhq/keel/server/jetstream/jsapi"

// What this layer implements, for the configuration checks (a request
// using anything else is refused with 10052 naming the field, never
// accepted and ignored: clarification 2) and for the API level Keel
// advertises (clarification 3).
//
// Not built yet: mirrors and sources (and so external origins, origin
// consumers and origin transforms).
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
// built: level 1 (per-message TTLs, delete markers) and level 2 (counters,
// atomic batches, schedules, async persistence). Fast batches (level 4)
// are built too, but level 3 also covers the snapshot window size, which
// comes with STREAM.SNAPSHOT; raise this to 5 then.
const streamAPILevel = 2

// consumerAPILevelDefault is the consumer layer's level until it reports
// its own with SetConsumerAPILevel: without consumers, none.
const consumerAPILevelDefault = 0
