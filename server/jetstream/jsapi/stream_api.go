package jsapi

import (
	"slices"
	"time"
)

// Requests and responses of the stream API ($JS.API.STREAM.*). Field order
// is the reference's, which fixes the order of keys in the marshalled JSON.
//
// What the reference puts in the stream info of each response (the
// JetStream layer fills StreamInfo accordingly):
//   - CREATE: config with WithDynamicStreamMetadata, created, state, mirror
//     and sources progress, ts; no domain; did_create true (also when the
//     create was idempotent).
//   - UPDATE: the same plus domain; no did_create.
//   - INFO: the same as UPDATE plus cluster ({"leader":<server name>} and
//     the cluster name when there is one, also when not clustered) and
//     alternates; state with subjects / deleted only when asked.
//   - LIST: stored config (no _nats.ver / _nats.level), domain, no cluster.
//   - SNAPSHOT: stored config and state, no StreamInfo.
//
// Request types keep the reference's Go names (JSApiStreamInfoRequest...):
// encoding/json names the decoded type in type errors ("cannot unmarshal
// string into Go struct field JSApiStreamInfoRequest.ApiPagedRequest.offset
// of type int") and the server returns that text in its invalid JSON error.

// StreamCreateResponse answers STREAM.CREATE.
type StreamCreateResponse struct {
	ApiResponse
	*StreamInfo
	DidCreate bool `json:"did_create,omitempty"`
}

// StreamUpdateResponse answers STREAM.UPDATE.
type StreamUpdateResponse struct {
	ApiResponse
	*StreamInfo
}

// JSApiStreamInfoRequest is the optional body of STREAM.INFO.
type JSApiStreamInfoRequest struct {
	ApiPagedRequest
	DeletedDetails bool   `json:"deleted_details,omitempty"`
	SubjectsFilter string `json:"subjects_filter,omitempty"`
}

// StreamInfoResponse answers STREAM.INFO; the paging fields describe the
// page of state.subjects when subjects_filter was given (and are zeros, but
// present, otherwise, errors included).
type StreamInfoResponse struct {
	ApiResponse
	ApiPaged
	*StreamInfo
}

// SubjectsPage cuts the page of per-subject counts that STREAM.INFO with
// subjects_filter returns: all of them when they fit from offset 0, else
// the page of MaxSubjectDetails subjects (in name order) starting at
// offset. The paging fields stay zero when no subject matches.
func SubjectsPage(totals map[string]uint64, offset int) (map[string]uint64, ApiPaged) {
	if len(totals) == 0 {
		return nil, ApiPaged{}
	}
	offset = max(offset, 0)
	paged := ApiPaged{Total: len(totals), Offset: offset, Limit: MaxSubjectDetails}
	if offset == 0 && len(totals) <= MaxSubjectDetails {
		return totals, paged
	}
	names := make([]string, 0, len(totals))
	for s := range totals {
		names = append(names, s)
	}
	slices.Sort(names)
	// The reply keeps the offset asked for, also past the end (as the
	// reference's does).
	page, _ := Page(names, offset, MaxSubjectDetails)
	if len(page) == 0 {
		return nil, paged
	}
	out := make(map[string]uint64, len(page))
	for _, s := range page {
		out[s] = totals[s]
	}
	return out, paged
}

// StreamDeleteResponse answers STREAM.DELETE.
type StreamDeleteResponse struct {
	ApiResponse
	Success bool `json:"success,omitempty"`
}

// JSApiStreamNamesRequest is the optional body of STREAM.NAMES; Subject keeps the
// streams whose subjects collide with it.
type JSApiStreamNamesRequest struct {
	ApiPagedRequest
	Subject string `json:"subject,omitempty"`
}

// StreamNamesResponse answers STREAM.NAMES. Streams is null, not [], when
// there are none, as in the reference.
type StreamNamesResponse struct {
	ApiResponse
	ApiPaged
	Streams []string `json:"streams"`
}

// JSApiStreamListRequest is the optional body of STREAM.LIST.
type JSApiStreamListRequest struct {
	ApiPagedRequest
	Subject string `json:"subject,omitempty"`
}

// StreamListResponse answers STREAM.LIST. The reference starts Streams as an
// empty slice, so an empty list marshals as [].
type StreamListResponse struct {
	ApiResponse
	ApiPaged
	Streams []*StreamInfo     `json:"streams"`
	Missing []string          `json:"missing,omitempty"`
	Offline map[string]string `json:"offline,omitempty"`
}

// JSApiStreamPurgeRequest is the optional body of STREAM.PURGE. Sequence purges
// up to but not including it; Keep keeps that many newest; Subject (JSON
// "filter") limits either to matching messages. Sequence and Keep together
// are a bad request.
type JSApiStreamPurgeRequest struct {
	Sequence uint64 `json:"seq,omitempty"`
	Subject  string `json:"filter,omitempty"`
	Keep     uint64 `json:"keep,omitempty"`
}

// Check refuses the combinations the reference refuses.
func (r *JSApiStreamPurgeRequest) Check() *ApiError {
	if r.Sequence > 0 && r.Keep > 0 {
		return ErrBadRequest()
	}
	return nil
}

// StreamPurgeResponse answers STREAM.PURGE.
type StreamPurgeResponse struct {
	ApiResponse
	Success bool   `json:"success,omitempty"`
	Purged  uint64 `json:"purged"`
}

// JSApiMsgDeleteRequest is the body of STREAM.MSG.DELETE; without no_erase the
// payload is overwritten, not only unlinked.
type JSApiMsgDeleteRequest struct {
	Seq     uint64 `json:"seq"`
	NoErase bool   `json:"no_erase,omitempty"`
}

// MsgDeleteResponse answers STREAM.MSG.DELETE.
type MsgDeleteResponse struct {
	ApiResponse
	Success bool `json:"success,omitempty"`
}

// JSApiMsgGetRequest is the body of STREAM.MSG.GET and of DIRECT.GET (which alone
// accepts the batch and multi_last fields).
type JSApiMsgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`

	// Batch asks for up to this many messages (direct get only).
	Batch int `json:"batch,omitempty"`
	// MaxBytes bounds a batch's payload (direct get only).
	MaxBytes int `json:"max_bytes,omitempty"`
	// StartTime starts at the first message at or after this time.
	StartTime *time.Time `json:"start_time,omitempty"`

	// MultiLastFor asks for the last message of each matching subject.
	MultiLastFor []string `json:"multi_last,omitempty"`
	// UpToSeq and UpToTime bound a multi_last or batch request.
	UpToSeq  uint64     `json:"up_to_seq,omitempty"`
	UpToTime *time.Time `json:"up_to_time,omitempty"`
	// NoHeaders leaves the stored headers out.
	NoHeaders bool `json:"no_hdr,omitempty"`
}

// CheckMsgGet applies STREAM.MSG.GET's rules: no batching, and exactly one
// way of choosing the message (seq, last_by_subj, next_by_subj optionally
// with seq, or start_time optionally with next_by_subj).
func (r *JSApiMsgGetRequest) CheckMsgGet() *ApiError {
	if r.Batch > 0 || r.MaxBytes > 0 {
		return ErrBadRequest()
	}
	switch {
	case r.Seq > 0 && r.LastFor != "",
		r.Seq == 0 && r.LastFor == "" && r.NextFor == "" && r.StartTime == nil,
		r.Seq > 0 && r.StartTime != nil,
		r.StartTime != nil && r.LastFor != "",
		r.LastFor != "" && r.NextFor != "":
		return ErrBadRequest()
	}
	return nil
}

// MsgGetResponse answers STREAM.MSG.GET.
type MsgGetResponse struct {
	ApiResponse
	Message *StoredMsg `json:"message,omitempty"`
}

// JSApiStreamSnapshotRequest is the body of STREAM.SNAPSHOT.
type JSApiStreamSnapshotRequest struct {
	// DeliverSubject receives the chunks; the client acks each one.
	DeliverSubject string `json:"deliver_subject"`
	NoConsumers    bool   `json:"no_consumers,omitempty"`
	ChunkSize      int    `json:"chunk_size,omitempty"`
	WindowSize     int    `json:"window_size,omitempty"`
	// CheckMsgs verifies every message's checksum before the snapshot.
	CheckMsgs bool `json:"jsck,omitempty"`
}

// Snapshot chunking defaults and bounds.
const (
	DefaultSnapshotChunkSize  = 128 * 1024
	DefaultSnapshotWindowSize = 8 * 1024 * 1024
	MinSnapshotChunkSize      = 1024
	MaxSnapshotChunkSize      = 1024 * 1024
	MinSnapshotWindowSize     = 1024
	MaxSnapshotWindowSize     = 32 * 1024 * 1024
	DefaultSnapshotAckTimeout = 5 * time.Second
)

// Chunking returns the chunk and window sizes to use: the request's, or the
// defaults when zero, clamped to their bounds, with a window of at least one
// chunk. window/chunk is the number of unacknowledged chunks allowed.
func (r *JSApiStreamSnapshotRequest) Chunking() (chunk, window int) {
	chunk, window = r.ChunkSize, r.WindowSize
	if chunk == 0 {
		chunk = DefaultSnapshotChunkSize
	}
	if window == 0 {
		window = DefaultSnapshotWindowSize
	}
	chunk = min(max(chunk, MinSnapshotChunkSize), MaxSnapshotChunkSize)
	window = min(max(window, MinSnapshotWindowSize), MaxSnapshotWindowSize)
	return chunk, max(window, chunk)
}

// Check refuses a deliver subject that is not a valid literal subject or
// that lies in a reserved space.
func (r *JSApiStreamSnapshotRequest) Check() *ApiError {
	if !IsValidPublishSubject(r.DeliverSubject) || IsReservedSubject(r.DeliverSubject) {
		return ErrSnapshotDeliverSubjectInvalid()
	}
	return nil
}

// StreamSnapshotResponse answers STREAM.SNAPSHOT before the chunks flow.
type StreamSnapshotResponse struct {
	ApiResponse
	Config *StreamConfig `json:"config,omitempty"`
	State  *StreamState  `json:"state,omitempty"`
}

// JSApiStreamRestoreRequest is the body of STREAM.RESTORE.
type JSApiStreamRestoreRequest struct {
	Config StreamConfig `json:"config"`
	State  StreamState  `json:"state"`
}

// StreamRestoreResponse answers STREAM.RESTORE with the subject to send the
// snapshot's chunks to.
type StreamRestoreResponse struct {
	ApiResponse
	DeliverSubject string `json:"deliver_subject"`
}

// JSApiStreamRemovePeerRequest is the body of STREAM.PEER.REMOVE and
// STREAM.PEER.EVACUATE (clustered only).
type JSApiStreamRemovePeerRequest struct {
	Peer string `json:"peer"`
}

// SuccessResponse answers the requests that only report success: peer
// removal and evacuation, leader step-downs.
type SuccessResponse struct {
	ApiResponse
	Success bool `json:"success,omitempty"`
}

// JSApiLeaderStepdownRequest is the optional body of the step-down requests.
type JSApiLeaderStepdownRequest struct {
	Placement *Placement `json:"placement,omitempty"`
}
