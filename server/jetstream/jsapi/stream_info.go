package jsapi

import (
	"slices"
	"time"
)

// StreamInfo is a stream's configuration and state as STREAM.INFO, CREATE,
// UPDATE and LIST report them. Created and TimeStamp are UTC; a zero time
// marshals as "0001-01-01T00:00:00Z", as in the reference.
type StreamInfo struct {
	Config     StreamConfig        `json:"config"`
	Created    time.Time           `json:"created"`
	State      StreamState         `json:"state"`
	Domain     string              `json:"domain,omitempty"`
	Cluster    *ClusterInfo        `json:"cluster,omitempty"`
	Mirror     *StreamSourceInfo   `json:"mirror,omitempty"`
	Sources    []*StreamSourceInfo `json:"sources,omitempty"`
	Alternates []StreamAlternate   `json:"alternates,omitempty"`
	// TimeStamp is when the information was gathered.
	TimeStamp time.Time `json:"ts"`
}

// StreamState is the state of a stream's store.
type StreamState struct {
	Msgs      uint64    `json:"messages"`
	Bytes     uint64    `json:"bytes"`
	FirstSeq  uint64    `json:"first_seq"`
	FirstTime time.Time `json:"first_ts"`
	LastSeq   uint64    `json:"last_seq"`
	LastTime  time.Time `json:"last_ts"`
	// NumSubjects counts distinct subjects; Subjects (per-subject counts) is
	// only filled when STREAM.INFO asks with subjects_filter.
	NumSubjects int               `json:"num_subjects,omitempty"`
	Subjects    map[string]uint64 `json:"subjects,omitempty"`
	// NumDeleted counts interior deletes; Deleted lists them only when
	// STREAM.INFO asks with deleted_details.
	NumDeleted int             `json:"num_deleted,omitempty"`
	Deleted    []uint64        `json:"deleted,omitempty"`
	Lost       *LostStreamData `json:"lost,omitempty"`
	Consumers  int             `json:"consumer_count"`
}

// LostStreamData reports messages found damaged and dropped by the store.
type LostStreamData struct {
	Msgs  []uint64 `json:"msgs"`
	Bytes uint64   `json:"bytes"`
}

// StreamAlternate is another copy (mirror) of a stream a client may read.
type StreamAlternate struct {
	Name    string `json:"name"`
	Domain  string `json:"domain,omitempty"`
	Cluster string `json:"cluster"`
}

// ClusterInfo describes the servers that hold a stream or consumer.
type ClusterInfo struct {
	Name        string              `json:"name,omitempty"`
	RaftGroup   string              `json:"raft_group,omitempty"`
	Leader      string              `json:"leader,omitempty"`
	LeaderSince *time.Time          `json:"leader_since,omitempty"`
	SystemAcc   bool                `json:"system_account,omitempty"`
	TrafficAcc  string              `json:"traffic_account,omitempty"`
	Replicas    []*PeerInfo         `json:"replicas,omitempty"`
	Desired     *DesiredClusterInfo `json:"desired,omitempty"`
}

// PeerInfo is one replica of a stream or consumer.
type PeerInfo struct {
	Name    string        `json:"name"`
	Current bool          `json:"current"`
	Offline bool          `json:"offline,omitempty"`
	Active  time.Duration `json:"active"` // since the peer was last seen
	Lag     uint64        `json:"lag,omitempty"`
	Peer    string        `json:"peer"`
	Pending bool          `json:"pending,omitempty"`
}

// DesiredClusterInfo is the peer set a reconfiguration is moving towards.
type DesiredClusterInfo struct {
	Created  time.Time                 `json:"created"`
	Name     string                    `json:"name,omitempty"`
	Replicas []*DesiredPeerInfo        `json:"replicas,omitempty"`
	Origin   *DesiredClusterInfoOrigin `json:"origin,omitempty"`
	Status   *DesiredClusterInfoStatus `json:"status,omitempty"`
}

// DesiredClusterInfoOrigin is what a reconfiguration started from.
type DesiredClusterInfoOrigin struct {
	Replicas  int              `json:"replicas"`
	Placement *Placement       `json:"placement,omitempty"`
	Retention *RetentionPolicy `json:"retention,omitempty"`
}

// DesiredPeerInfo is one peer of the desired set.
type DesiredPeerInfo struct {
	Name    string `json:"name"`
	Offline bool   `json:"offline,omitempty"`
	Peer    string `json:"peer"`
}

// MigrationStatusType classifies what a reconfiguration waits for.
type MigrationStatusType string

const (
	MigrationStatusMeta        MigrationStatusType = "meta"
	MigrationStatusMembership  MigrationStatusType = "membership"
	MigrationStatusSnapshot    MigrationStatusType = "snapshot"
	MigrationStatusCatchup     MigrationStatusType = "catchup"
	MigrationStatusQuorum      MigrationStatusType = "quorum"
	MigrationStatusBlocked     MigrationStatusType = "blocked"
	MigrationStatusUnavailable MigrationStatusType = "unavailable"
)

// DesiredClusterInfoStatus says what a reconfiguration is doing now.
type DesiredClusterInfoStatus struct {
	Description string              `json:"description"`
	Type        MigrationStatusType `json:"type"`
	Err         string              `json:"err,omitempty"`
}

// StreamSourceInfo is the progress of a mirror or of one source.
type StreamSourceInfo struct {
	Name              string                   `json:"name"`
	External          *ExternalStream          `json:"external,omitempty"`
	Lag               uint64                   `json:"lag"`
	Seq               uint64                   `json:"seq,omitempty"`
	Active            time.Duration            `json:"active"` // since the last message; -1 when never
	Error             *ApiError                `json:"error,omitempty"`
	FilterSubject     string                   `json:"filter_subject,omitempty"`
	SubjectTransforms []SubjectTransformConfig `json:"subject_transforms,omitempty"`
}

// StoredMsg is a message as STREAM.MSG.GET returns it; Header and Data are
// base64 in JSON (encoding/json's []byte encoding).
type StoredMsg struct {
	Subject  string    `json:"subject"`
	Sequence uint64    `json:"seq"`
	Header   []byte    `json:"hdrs,omitempty"`
	Data     []byte    `json:"data,omitempty"`
	Time     time.Time `json:"time"`
}

// EmptyState is the state a new stream reports before its first message:
// with first_seq N configured, first_seq is N and last_seq N-1.
func EmptyState(cfg *StreamConfig) StreamState {
	if cfg.FirstSeq == 0 {
		return StreamState{}
	}
	return StreamState{FirstSeq: cfg.FirstSeq, LastSeq: cfg.FirstSeq - 1}
}

// NewStreamSourceInfo is the progress report of a mirror or source that has
// not received anything yet: what it reads (name, external prefixes, filter,
// transforms), lag 0 and active -1 ("never").
func NewStreamSourceInfo(src *StreamSource) *StreamSourceInfo {
	si := &StreamSourceInfo{Name: src.Name, Active: -1, FilterSubject: src.FilterSubject}
	if src.External != nil {
		e := *src.External
		si.External = &e
	}
	if len(src.SubjectTransforms) > 0 {
		si.SubjectTransforms = slices.Clone(src.SubjectTransforms)
	}
	return si
}
