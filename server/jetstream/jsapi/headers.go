package jsapi

// Message headers with a meaning to JetStream.

// Headers a publisher may set.
const (
	HdrMsgID                   = "Nats-Msg-Id"
	HdrExpectedStream          = "Nats-Expected-Stream"
	HdrExpectedLastSeq         = "Nats-Expected-Last-Sequence"
	HdrExpectedLastSubjSeq     = "Nats-Expected-Last-Subject-Sequence"
	HdrExpectedLastSubjSeqSubj = "Nats-Expected-Last-Subject-Sequence-Subject"
	HdrExpectedLastMsgID       = "Nats-Expected-Last-Msg-Id"
	HdrRollup                  = "Nats-Rollup"
	HdrTTL                     = "Nats-TTL"
	HdrIncr                    = "Nats-Incr"
	HdrBatchID                 = "Nats-Batch-Id"
	HdrBatchSeq                = "Nats-Batch-Sequence"
	HdrBatchCommit             = "Nats-Batch-Commit"
	HdrSchedule                = "Nats-Schedule"
	HdrScheduleTimeZone        = "Nats-Schedule-Time-Zone"
	HdrScheduleTTL             = "Nats-Schedule-TTL"
	HdrScheduleRollup          = "Nats-Schedule-Rollup"
	HdrScheduleTarget          = "Nats-Schedule-Target"
	HdrScheduleSource          = "Nats-Schedule-Source"
)

// Values of Nats-Rollup.
const (
	RollupSubject = "sub" // purge the subject's earlier messages
	RollupAll     = "all" // purge the whole stream's earlier messages
)

// Headers the server sets on messages it stores, sources or republishes, and
// on direct get replies.
const (
	HdrStream          = "Nats-Stream"
	HdrSequence        = "Nats-Sequence"
	HdrTimeStamp       = "Nats-Time-Stamp"
	HdrSubject         = "Nats-Subject"
	HdrLastSequence    = "Nats-Last-Sequence"
	HdrNumPending      = "Nats-Num-Pending"
	HdrUpToSequence    = "Nats-UpTo-Sequence"
	HdrStreamSource    = "Nats-Stream-Source"
	HdrLastConsumer    = "Nats-Last-Consumer"
	HdrLastStream      = "Nats-Last-Stream"
	HdrConsumerStalled = "Nats-Consumer-Stalled"
	HdrMsgSize         = "Nats-Msg-Size"
	HdrResponseType    = "Nats-Response-Type"
	HdrMarkerReason    = "Nats-Marker-Reason"
	HdrCounterSources  = "Nats-Counter-Sources"
	HdrScheduler       = "Nats-Scheduler"
	HdrScheduleNext    = "Nats-Schedule-Next"
)

// Headers of $JS.API requests.
const (
	// HdrRequiredAPILevel asks the server to refuse the request unless its
	// API level is at least this (see CheckRequiredAPILevel).
	HdrRequiredAPILevel = "Nats-Required-Api-Level"
	// HdrStreamIdentity carries a stream's identity on consumer requests.
	HdrStreamIdentity = "Nats-Stream-Identity"
)

// Values of Nats-Marker-Reason on the delete markers that
// subject_delete_marker_ttl writes.
const (
	MarkerReasonMaxAge = "MaxAge"
	MarkerReasonPurge  = "Purge"
	MarkerReasonRemove = "Remove"
)

// KV-Operation, the header KV buckets set on deletes and purges.
const (
	HdrKVOperation   = "KV-Operation"
	KVOperationDel   = "DEL"
	KVOperationPurge = "PURGE"
)
