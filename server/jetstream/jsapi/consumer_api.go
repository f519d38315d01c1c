package jsapi

import "time"

// Requests and responses of the consumer API ($JS.API.CONSUMER.*), for the
// consumers issue.

// ConsumerCreateResponse answers CONSUMER.CREATE and DURABLE.CREATE.
type ConsumerCreateResponse struct {
	ApiResponse
	*ConsumerInfo
}

// ConsumerInfoResponse answers CONSUMER.INFO.
type ConsumerInfoResponse struct {
	ApiResponse
	*ConsumerInfo
}

// ConsumerDeleteResponse answers CONSUMER.DELETE.
type ConsumerDeleteResponse struct {
	ApiResponse
	Success bool `json:"success,omitempty"`
}

// JSApiConsumersRequest is the optional body of CONSUMER.NAMES and LIST.
type JSApiConsumersRequest struct {
	ApiPagedRequest
}

// ConsumerNamesResponse answers CONSUMER.NAMES.
type ConsumerNamesResponse struct {
	ApiResponse
	ApiPaged
	Consumers []string `json:"consumers"`
}

// ConsumerListResponse answers CONSUMER.LIST.
type ConsumerListResponse struct {
	ApiResponse
	ApiPaged
	Consumers []*ConsumerInfo   `json:"consumers"`
	Missing   []string          `json:"missing,omitempty"`
	Offline   map[string]string `json:"offline,omitempty"`
}

// JSApiConsumerGetNextRequest is the body of CONSUMER.MSG.NEXT (a pull).
type JSApiConsumerGetNextRequest struct {
	Expires   time.Duration `json:"expires,omitempty"`
	Batch     int           `json:"batch,omitempty"`
	MaxBytes  int           `json:"max_bytes,omitempty"`
	NoWait    bool          `json:"no_wait,omitempty"`
	Heartbeat time.Duration `json:"idle_heartbeat,omitempty"`
	PriorityGroup
}

// PriorityGroup is the priority group part of a pull request.
type PriorityGroup struct {
	Group         string `json:"group,omitempty"`
	MinPending    int64  `json:"min_pending,omitempty"`
	MinAckPending int64  `json:"min_ack_pending,omitempty"`
	ID            string `json:"id,omitempty"`
	Priority      int    `json:"priority,omitempty"`
}

// JSApiConsumerResetRequest is the body of CONSUMER.RESET.
type JSApiConsumerResetRequest struct {
	Seq uint64 `json:"seq,omitempty"`
}

// ConsumerResetResponse answers CONSUMER.RESET.
type ConsumerResetResponse struct {
	ApiResponse
	*ConsumerInfo
	ResetSeq uint64 `json:"reset_seq"`
}

// JSApiConsumerPauseRequest is the body of CONSUMER.PAUSE; a zero time resumes.
type JSApiConsumerPauseRequest struct {
	PauseUntil time.Time `json:"pause_until,omitempty"`
}

// ConsumerPauseResponse answers CONSUMER.PAUSE.
type ConsumerPauseResponse struct {
	ApiResponse
	Paused         bool          `json:"paused"`
	PauseUntil     time.Time     `json:"pause_until"`
	PauseRemaining time.Duration `json:"pause_remaining,omitempty"`
}

// JSApiConsumerUnpinRequest is the body of CONSUMER.UNPIN.
type JSApiConsumerUnpinRequest struct {
	Group string `json:"group"`
}

// ConsumerUnpinResponse answers CONSUMER.UNPIN.
type ConsumerUnpinResponse struct {
	ApiResponse
}

// Pull request status headers.
const (
	HdrPendingMessages = "Nats-Pending-Messages"
	HdrPendingBytes    = "Nats-Pending-Bytes"
	HdrPinID           = "Nats-Pin-Id"
)

// Consumer defaults the reference fills in (seen in its CONSUMER.CREATE
// replies: ack_wait 30s and max_deliver -1 for acked consumers, max_waiting
// 512 for pull consumers, max_ack_pending 1000, inactive_threshold 5s for
// ephemerals, num_replicas 0 meaning "as the stream").
const (
	DefaultAckWait           = 30 * time.Second
	DefaultMaxAckPending     = 1000
	DefaultMaxWaiting        = 512
	DefaultInactiveThreshold = 5 * time.Second
)
