package jsapi

// ApiResponse starts every $JS.API response: its type string and, on
// failure, the error. The reference sends "type" in every response body,
// success or error, and embeds this struct first so "type" and "error" are
// the first keys.
type ApiResponse struct {
	Type  string    `json:"type"`
	Error *ApiError `json:"error,omitempty"`
}

// ToError returns the response's error as an error, or a true nil.
func (r *ApiResponse) ToError() error {
	if r.Error == nil {
		return nil
	}
	return r.Error
}

// ApiPaged reports the page of a list response.
type ApiPaged struct {
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// ApiPagedRequest asks for the page starting at Offset.
type ApiPagedRequest struct {
	Offset int `json:"offset"`
}

// Response type strings, as the reference sends them in "type".
const (
	SystemResponseType     = "io.nats.jetstream.api.v1.system_response"
	OverloadedResponseType = "io.nats.jetstream.api.v1.system_overloaded"

	AccountInfoResponseType  = "io.nats.jetstream.api.v1.account_info_response"
	AccountPurgeResponseType = "io.nats.jetstream.api.v1.account_purge_response"

	StreamCreateResponseType         = "io.nats.jetstream.api.v1.stream_create_response"
	StreamUpdateResponseType         = "io.nats.jetstream.api.v1.stream_update_response"
	StreamInfoResponseType           = "io.nats.jetstream.api.v1.stream_info_response"
	StreamDeleteResponseType         = "io.nats.jetstream.api.v1.stream_delete_response"
	StreamNamesResponseType          = "io.nats.jetstream.api.v1.stream_names_response"
	StreamListResponseType           = "io.nats.jetstream.api.v1.stream_list_response"
	StreamPurgeResponseType          = "io.nats.jetstream.api.v1.stream_purge_response"
	StreamMsgGetResponseType         = "io.nats.jetstream.api.v1.stream_msg_get_response"
	StreamMsgDeleteResponseType      = "io.nats.jetstream.api.v1.stream_msg_delete_response"
	StreamSnapshotResponseType       = "io.nats.jetstream.api.v1.stream_snapshot_response"
	StreamRestoreResponseType        = "io.nats.jetstream.api.v1.stream_restore_response"
	StreamRemovePeerResponseType     = "io.nats.jetstream.api.v1.stream_remove_peer_response"
	StreamEvacuatePeerResponseType   = "io.nats.jetstream.api.v1.stream_evacuate_peer_response"
	StreamLeaderStepDownResponseType = "io.nats.jetstream.api.v1.stream_leader_stepdown_response"
	StreamCancelMoveResponseType     = "io.nats.jetstream.api.v1.stream_cancel_move_response"

	ConsumerCreateResponseType         = "io.nats.jetstream.api.v1.consumer_create_response"
	ConsumerDeleteResponseType         = "io.nats.jetstream.api.v1.consumer_delete_response"
	ConsumerInfoResponseType           = "io.nats.jetstream.api.v1.consumer_info_response"
	ConsumerNamesResponseType          = "io.nats.jetstream.api.v1.consumer_names_response"
	ConsumerListResponseType           = "io.nats.jetstream.api.v1.consumer_list_response"
	ConsumerPauseResponseType          = "io.nats.jetstream.api.v1.consumer_pause_response"
	ConsumerUnpinResponseType          = "io.nats.jetstream.api.v1.consumer_unpin_response"
	ConsumerResetResponseType          = "io.nats.jetstream.api.v1.consumer_reset_response"
	ConsumerLeaderStepDownResponseType = "io.nats.jetstream.api.v1.consumer_leader_stepdown_response"
	ConsumerRemovePeerResponseType     = "io.nats.jetstream.api.v1.consumer_remove_peer_response"
	ConsumerEvacuatePeerResponseType   = "io.nats.jetstream.api.v1.consumer_evacuate_peer_response"

	MetaLeaderStepDownResponseType = "io.nats.jetstream.api.v1.meta_leader_stepdown_response"
	MetaServerRemoveResponseType   = "io.nats.jetstream.api.v1.meta_server_remove_response"
	MetaServerEvacuateResponseType = "io.nats.jetstream.api.v1.meta_server_evacuate_response"
	MetaRescueResponseType         = "io.nats.jetstream.api.v1.meta_rescue_response"
)

// Page sizes of the list APIs.
const (
	NamesLimit        = 1024    // STREAM.NAMES, CONSUMER.NAMES
	ListLimit         = 256     // STREAM.LIST, CONSUMER.LIST
	MaxSubjectDetails = 100_000 // subjects per STREAM.INFO page (subjects_filter)
)

// Page cuts one page out of a sorted list: it clamps a negative offset to
// zero and an offset past the end to the end, as the reference does, and
// reports the paging fields to send back.
func Page[T any](all []T, offset, limit int) ([]T, ApiPaged) {
	offset = max(offset, 0)
	if offset > len(all) {
		offset = len(all)
	}
	end := len(all)
	if limit > 0 && end-offset > limit {
		end = offset + limit
	}
	return all[offset:end], ApiPaged{Total: len(all), Offset: offset, Limit: limit}
}
