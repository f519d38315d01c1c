package jsapi

import "time"

// Advisory and metric subjects. Most are prefixes: the stream (and
// consumer) name follows as more tokens, e.g.
// $JS.EVENT.ADVISORY.STREAM.CREATED.<stream>.
const (
	AdvisoryPrefix = "$JS.EVENT.ADVISORY"
	MetricPrefix   = "$JS.EVENT.METRIC"

	// AdvisoryAPIAudit receives an APIAudit for every API request.
	AdvisoryAPIAudit = "$JS.EVENT.ADVISORY.API"

	AdvisoryStreamCreatedPre          = "$JS.EVENT.ADVISORY.STREAM.CREATED"
	AdvisoryStreamDeletedPre          = "$JS.EVENT.ADVISORY.STREAM.DELETED"
	AdvisoryStreamUpdatedPre          = "$JS.EVENT.ADVISORY.STREAM.UPDATED"
	AdvisoryStreamSnapshotCreatePre   = "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE"
	AdvisoryStreamSnapshotCompletePre = "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE"
	AdvisoryStreamRestoreCreatePre    = "$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE"
	AdvisoryStreamRestoreCompletePre  = "$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE"
	AdvisoryStreamLeaderElectedPre    = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED"
	AdvisoryStreamQuorumLostPre       = "$JS.EVENT.ADVISORY.STREAM.QUORUM_LOST"
	AdvisoryStreamBatchAbandonedPre   = "$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED"

	AdvisoryConsumerCreatedPre       = "$JS.EVENT.ADVISORY.CONSUMER.CREATED"
	AdvisoryConsumerDeletedPre       = "$JS.EVENT.ADVISORY.CONSUMER.DELETED"
	AdvisoryConsumerPausePre         = "$JS.EVENT.ADVISORY.CONSUMER.PAUSE"
	AdvisoryConsumerPinnedPre        = "$JS.EVENT.ADVISORY.CONSUMER.PINNED"
	AdvisoryConsumerUnpinnedPre      = "$JS.EVENT.ADVISORY.CONSUMER.UNPINNED"
	AdvisoryConsumerMaxDeliveryPre   = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
	AdvisoryConsumerMsgNakedPre      = "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED"
	AdvisoryConsumerMsgTerminatedPre = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED"
	AdvisoryConsumerLeaderElectedPre = "$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED"
	AdvisoryConsumerQuorumLostPre    = "$JS.EVENT.ADVISORY.CONSUMER.QUORUM_LOST"
	MetricConsumerAckPre             = "$JS.EVENT.METRIC.CONSUMER.ACK"

	AdvisoryDomainLeaderElected = "$JS.EVENT.ADVISORY.DOMAIN.LEADER_ELECTED"
	AdvisoryServerOutOfStorage  = "$JS.EVENT.ADVISORY.SERVER.OUT_OF_STORAGE"
	AdvisoryServerRemoved       = "$JS.EVENT.ADVISORY.SERVER.REMOVED"
	AdvisoryMetaRescue          = "$JS.EVENT.ADVISORY.SERVER.META_RESCUE"
	AdvisoryAPILimitReached     = "$JS.EVENT.ADVISORY.API.LIMIT_REACHED"
)

// Advisory "type" strings.
const (
	APIAuditType                      = "io.nats.jetstream.advisory.v1.api_audit"
	APILimitReachedAdvisoryType       = "io.nats.jetstream.advisory.v1.api_limit_reached"
	StreamActionAdvisoryType          = "io.nats.jetstream.advisory.v1.stream_action"
	ConsumerActionAdvisoryType        = "io.nats.jetstream.advisory.v1.consumer_action"
	ConsumerPauseAdvisoryType         = "io.nats.jetstream.advisory.v1.consumer_pause"
	ConsumerGroupPinnedAdvisoryType   = "io.nats.jetstream.advisory.v1.consumer_group_pinned"
	ConsumerGroupUnpinnedAdvisoryType = "io.nats.jetstream.advisory.v1.consumer_group_unpinned"
	ConsumerAckMetricType             = "io.nats.jetstream.metric.v1.consumer_ack"
	ConsumerDeliveryExceededType      = "io.nats.jetstream.advisory.v1.max_deliver"
	ConsumerDeliveryNakType           = "io.nats.jetstream.advisory.v1.nak"
	ConsumerDeliveryTerminatedType    = "io.nats.jetstream.advisory.v1.terminated"
	SnapshotCreateAdvisoryType        = "io.nats.jetstream.advisory.v1.snapshot_create"
	SnapshotCompleteAdvisoryType      = "io.nats.jetstream.advisory.v1.snapshot_complete"
	RestoreCreateAdvisoryType         = "io.nats.jetstream.advisory.v1.restore_create"
	RestoreCompleteAdvisoryType       = "io.nats.jetstream.advisory.v1.restore_complete"
	DomainLeaderElectedAdvisoryType   = "io.nats.jetstream.advisory.v1.domain_leader_elected"
	StreamLeaderElectedAdvisoryType   = "io.nats.jetstream.advisory.v1.stream_leader_elected"
	StreamQuorumLostAdvisoryType      = "io.nats.jetstream.advisory.v1.stream_quorum_lost"
	StreamBatchAbandonedAdvisoryType  = "io.nats.jetstream.advisory.v1.stream_batch_abandoned"
	ConsumerLeaderElectedAdvisoryType = "io.nats.jetstream.advisory.v1.consumer_leader_elected"
	ConsumerQuorumLostAdvisoryType    = "io.nats.jetstream.advisory.v1.consumer_quorum_lost"
	ServerOutOfStorageAdvisoryType    = "io.nats.jetstream.advisory.v1.server_out_of_space"
	ServerRemovedAdvisoryType         = "io.nats.jetstream.advisory.v1.server_removed"
	MetaRescueAdvisoryType            = "io.nats.jetstream.advisory.v1.meta_rescue"
)

// TypedEvent starts every advisory: its type, a unique id (a NUID in the
// reference) and when it happened (UTC).
type TypedEvent struct {
	Type string    `json:"type"`
	ID   string    `json:"id"`
	Time time.Time `json:"timestamp"`
}

// ClientInfo describes the client behind an API request, as advisories
// report it.
type ClientInfo struct {
	Start      *time.Time    `json:"start,omitempty"`
	Host       string        `json:"host,omitempty"`
	ID         uint64        `json:"id,omitempty"`
	Account    string        `json:"acc,omitempty"`
	Service    string        `json:"svc,omitempty"`
	User       string        `json:"user,omitempty"`
	Name       string        `json:"name,omitempty"`
	Lang       string        `json:"lang,omitempty"`
	Version    string        `json:"ver,omitempty"`
	RTT        time.Duration `json:"rtt,omitempty"`
	Server     string        `json:"server,omitempty"`
	Cluster    string        `json:"cluster,omitempty"`
	Alternates []string      `json:"alts,omitempty"`
	Stop       *time.Time    `json:"stop,omitempty"`
	Jwt        string        `json:"jwt,omitempty"`
	IssuerKey  string        `json:"issuer_key,omitempty"`
	NameTag    string        `json:"name_tag,omitempty"`
	Tags       []string      `json:"tags,omitempty"`
	Kind       string        `json:"kind,omitempty"`
	ClientType string        `json:"client_type,omitempty"`
	MQTTClient string        `json:"client_id,omitempty"`
	Nonce      string        `json:"nonce,omitempty"`
	Reply      string        `json:"reply,omitempty"`
}

// APIAudit reports one API request and its response, on AdvisoryAPIAudit.
type APIAudit struct {
	TypedEvent
	Server   string      `json:"server"`
	Client   *ClientInfo `json:"client"`
	Subject  string      `json:"subject"`
	Request  string      `json:"request,omitempty"`
	Response string      `json:"response"`
	Domain   string      `json:"domain,omitempty"`
}

// ActionAdvisoryType is the action of a stream or consumer advisory.
type ActionAdvisoryType string

const (
	CreateEvent ActionAdvisoryType = "create"
	DeleteEvent ActionAdvisoryType = "delete"
	ModifyEvent ActionAdvisoryType = "modify"
)

// StreamActionAdvisory reports a stream created, updated (modify) or deleted.
type StreamActionAdvisory struct {
	TypedEvent
	Stream string             `json:"stream"`
	Action ActionAdvisoryType `json:"action"`
	Domain string             `json:"domain,omitempty"`
}

// ConsumerActionAdvisory reports a consumer created or deleted.
type ConsumerActionAdvisory struct {
	TypedEvent
	Stream   string             `json:"stream"`
	Consumer string             `json:"consumer"`
	Action   ActionAdvisoryType `json:"action"`
	Domain   string             `json:"domain,omitempty"`
}

// ConsumerPauseAdvisory reports a consumer paused or resumed.
type ConsumerPauseAdvisory struct {
	TypedEvent
	Stream     string    `json:"stream"`
	Consumer   string    `json:"consumer"`
	Paused     bool      `json:"paused"`
	PauseUntil time.Time `json:"pause_until,omitempty"`
	Domain     string    `json:"domain,omitempty"`
}

// ConsumerAckMetric samples an acknowledgement's latency.
type ConsumerAckMetric struct {
	TypedEvent
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
	Delay       int64  `json:"ack_time"`
	Deliveries  uint64 `json:"deliveries"`
	Domain      string `json:"domain,omitempty"`
}

// ConsumerDeliveryExceededAdvisory reports a message past max_deliver.
type ConsumerDeliveryExceededAdvisory struct {
	TypedEvent
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
	Domain     string `json:"domain,omitempty"`
}

// ConsumerDeliveryNakAdvisory reports a message nak'ed.
type ConsumerDeliveryNakAdvisory struct {
	TypedEvent
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
	Deliveries  uint64 `json:"deliveries"`
	Domain      string `json:"domain,omitempty"`
}

// ConsumerDeliveryTerminatedAdvisory reports a message terminated (+TERM).
type ConsumerDeliveryTerminatedAdvisory struct {
	TypedEvent
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
	Deliveries  uint64 `json:"deliveries"`
	Reason      string `json:"reason,omitempty"`
	Domain      string `json:"domain,omitempty"`
}

// SnapshotCreateAdvisory reports a snapshot started.
type SnapshotCreateAdvisory struct {
	TypedEvent
	Stream string      `json:"stream"`
	State  StreamState `json:"state"`
	Client *ClientInfo `json:"client"`
	Domain string      `json:"domain,omitempty"`
}

// SnapshotCompleteAdvisory reports a snapshot finished, or failed (Error).
type SnapshotCompleteAdvisory struct {
	TypedEvent
	Stream string      `json:"stream"`
	Start  time.Time   `json:"start"`
	End    time.Time   `json:"end"`
	Client *ClientInfo `json:"client"`
	Domain string      `json:"domain,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// RestoreCreateAdvisory reports a restore started.
type RestoreCreateAdvisory struct {
	TypedEvent
	Stream string      `json:"stream"`
	Client *ClientInfo `json:"client"`
	Domain string      `json:"domain,omitempty"`
}

// RestoreCompleteAdvisory reports a restore finished.
type RestoreCompleteAdvisory struct {
	TypedEvent
	Stream string      `json:"stream"`
	Start  time.Time   `json:"start"`
	End    time.Time   `json:"end"`
	Bytes  int64       `json:"bytes"`
	Client *ClientInfo `json:"client"`
	Domain string      `json:"domain,omitempty"`
}

// StreamBatchAbandonedAdvisory reports a batch publish given up.
type StreamBatchAbandonedAdvisory struct {
	TypedEvent
	Account string             `json:"account,omitempty"`
	Stream  string             `json:"stream"`
	Domain  string             `json:"domain,omitempty"`
	BatchID string             `json:"batch"`
	Reason  BatchAbandonReason `json:"reason"`
}

// BatchAbandonReason says why a batch was abandoned.
type BatchAbandonReason string

const (
	BatchTimeout            BatchAbandonReason = "timeout"
	BatchLarge              BatchAbandonReason = "large"
	BatchIncomplete         BatchAbandonReason = "incomplete"
	BatchRequirementsNotMet BatchAbandonReason = "unsupported"
)

// ConsumerGroupPinnedAdvisory reports a client pinned in a priority group.
type ConsumerGroupPinnedAdvisory struct {
	TypedEvent
	Account        string `json:"account,omitempty"`
	Stream         string `json:"stream"`
	Consumer       string `json:"consumer"`
	Domain         string `json:"domain,omitempty"`
	Group          string `json:"group"`
	PinnedClientID string `json:"pinned_id"`
}

// ConsumerGroupUnpinnedAdvisory reports a pin removed ("admin" or "timeout").
type ConsumerGroupUnpinnedAdvisory struct {
	TypedEvent
	Account  string `json:"account,omitempty"`
	Stream   string `json:"stream"`
	Consumer string `json:"consumer"`
	Domain   string `json:"domain,omitempty"`
	Group    string `json:"group"`
	Reason   string `json:"reason"`
}

// StreamLeaderElectedAdvisory reports a new leader of a replicated stream.
type StreamLeaderElectedAdvisory struct {
	TypedEvent
	Account  string      `json:"account,omitempty"`
	Stream   string      `json:"stream"`
	Leader   string      `json:"leader"`
	Replicas []*PeerInfo `json:"replicas"`
	Domain   string      `json:"domain,omitempty"`
}

// StreamQuorumLostAdvisory reports a replicated stream without quorum.
type StreamQuorumLostAdvisory struct {
	TypedEvent
	Account  string      `json:"account,omitempty"`
	Stream   string      `json:"stream"`
	Replicas []*PeerInfo `json:"replicas"`
	Domain   string      `json:"domain,omitempty"`
}

// ServerOutOfSpaceAdvisory reports a server out of storage.
type ServerOutOfSpaceAdvisory struct {
	TypedEvent
	Server   string `json:"server"`
	ServerID string `json:"server_id"`
	Stream   string `json:"stream,omitempty"`
	Cluster  string `json:"cluster"`
	Domain   string `json:"domain,omitempty"`
}

// APILimitReachedAdvisory reports API requests dropped because the queue of
// pending requests was full.
type APILimitReachedAdvisory struct {
	TypedEvent
	Server  string `json:"server"`
	Domain  string `json:"domain,omitempty"`
	Dropped int64  `json:"dropped"`
}
