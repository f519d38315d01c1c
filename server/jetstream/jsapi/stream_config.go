package jsapi

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// StreamConfigRequest is the body of STREAM.CREATE and STREAM.UPDATE: a
// configuration plus the request-scoped pedantic flag, which makes the
// server refuse instead of silently adjusting a setting.
//
// The type names StreamConfigRequest and StreamConfig, and the Go types of
// the fields, are kept as the reference has them: encoding/json names them in
// type errors ("cannot unmarshal string into Go struct field
// StreamConfigRequest.StreamConfig.max_age of type time.Duration"), which the
// server returns verbatim inside an invalid JSON error.
type StreamConfigRequest struct {
	StreamConfig
	Pedantic bool `json:"pedantic,omitempty"`
}

// StreamConfig is a stream's configuration, every field of nats-server
// v2.15.3 with its JSON key and omitempty choice. Durations are nanoseconds.
type StreamConfig struct {
	Name              string           `json:"name"`
	Description       string           `json:"description,omitempty"`
	Subjects          []string         `json:"subjects,omitempty"`
	Retention         RetentionPolicy  `json:"retention"`
	MaxConsumers      int              `json:"max_consumers"`
	MaxMsgs           int64            `json:"max_msgs"`
	MaxBytes          int64            `json:"max_bytes"`
	MaxAge            time.Duration    `json:"max_age"`
	MaxMsgsPerSubject int64            `json:"max_msgs_per_subject"`
	MaxMsgSize        int32            `json:"max_msg_size,omitempty"`
	Discard           DiscardPolicy    `json:"discard"`
	Storage           StorageType      `json:"storage"`
	Replicas          int              `json:"num_replicas"`
	NoAck             bool             `json:"no_ack,omitempty"`
	DuplicateWindow   time.Duration    `json:"duplicate_window,omitempty"`
	Placement         *Placement       `json:"placement,omitempty"`
	Mirror            *StreamSource    `json:"mirror,omitempty"`
	Sources           []*StreamSource  `json:"sources,omitempty"`
	Compression       StoreCompression `json:"compression"`
	FirstSeq          uint64           `json:"first_seq,omitempty"`

	// SubjectTransform rewrites the subject of incoming messages before
	// anything else happens to them.
	SubjectTransform *SubjectTransformConfig `json:"subject_transform,omitempty"`
	// RePublish sends every stored message on to another subject.
	RePublish *RePublish `json:"republish,omitempty"`

	AllowDirect          bool `json:"allow_direct"`
	MirrorDirect         bool `json:"mirror_direct"`
	DiscardNewPerSubject bool `json:"discard_new_per_subject,omitempty"`

	// Once true, these four can not be turned off by an update (sealed,
	// deny_delete, deny_purge); allow_rollup_hdrs can.
	Sealed          bool `json:"sealed"`
	DenyDelete      bool `json:"deny_delete"`
	DenyPurge       bool `json:"deny_purge"`
	AllowRollupHdrs bool `json:"allow_rollup_hdrs"`

	// ConsumerLimits are defaults and ceilings for the stream's consumers.
	ConsumerLimits StreamConsumerLimits `json:"consumer_limits"`

	AllowMsgTTL            bool          `json:"allow_msg_ttl"`
	SubjectDeleteMarkerTTL time.Duration `json:"subject_delete_marker_ttl,omitempty"`
	AllowMsgCounter        bool          `json:"allow_msg_counter,omitempty"`
	AllowAtomic            bool          `json:"allow_atomic,omitempty"`
	AllowMsgSchedules      bool          `json:"allow_msg_schedules,omitempty"`
	PersistMode            PersistMode   `json:"persist_mode,omitempty"`
	AllowBatched           bool          `json:"allow_batched,omitempty"`

	Metadata map[string]string `json:"metadata,omitempty"`
}

// Placement asks for a cluster and server tags.
type Placement struct {
	Cluster   string   `json:"cluster,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	Preferred string   `json:"preferred,omitempty"`
}

// StreamSource names a stream to mirror or to source from.
type StreamSource struct {
	Name              string                   `json:"name"`
	OptStartSeq       uint64                   `json:"opt_start_seq,omitempty"`
	OptStartTime      *time.Time               `json:"opt_start_time,omitempty"`
	FilterSubject     string                   `json:"filter_subject,omitempty"`
	SubjectTransforms []SubjectTransformConfig `json:"subject_transforms,omitempty"`
	External          *ExternalStream          `json:"external,omitempty"`
	Consumer          *StreamConsumerSource    `json:"consumer,omitempty"`
}

// StreamConsumerSource asks a source or mirror to read through a durable
// consumer with this name, delivering on this subject.
type StreamConsumerSource struct {
	Name           string `json:"name,omitempty"`
	DeliverSubject string `json:"deliver_subject,omitempty"`
}

// ExternalStream reaches a source in another account or domain through API
// and delivery prefixes.
type ExternalStream struct {
	APIPrefix     string `json:"api"`
	DeliverPrefix string `json:"deliver"`
}

// Domain is the domain named by an API prefix of the form $JS.<domain>.API.
func (e *ExternalStream) Domain() string {
	if e == nil || e.APIPrefix == "" {
		return ""
	}
	toks := strings.Split(e.APIPrefix, ".")
	if len(toks) < 2 {
		return ""
	}
	return toks[1]
}

// SubjectTransformConfig maps subjects matching Source onto Destination.
type SubjectTransformConfig struct {
	Source      string `json:"src"`
	Destination string `json:"dest"`
}

// RePublish republishes stored messages matching Source to Destination.
type RePublish struct {
	Source      string `json:"src,omitempty"`
	Destination string `json:"dest"`
	HeadersOnly bool   `json:"headers_only,omitempty"`
}

// StreamConsumerLimits bound the consumers of a stream.
type StreamConsumerLimits struct {
	InactiveThreshold time.Duration `json:"inactive_threshold,omitempty"`
	MaxAckPending     int           `json:"max_ack_pending,omitempty"`
}

// Clone returns a deep copy: nothing in the copy aliases the original.
func (c *StreamConfig) Clone() *StreamConfig {
	if c == nil {
		return nil
	}
	n := *c
	n.Subjects = slices.Clone(c.Subjects)
	if c.Placement != nil {
		p := *c.Placement
		p.Tags = slices.Clone(p.Tags)
		n.Placement = &p
	}
	n.Mirror = c.Mirror.Clone()
	if c.Sources != nil {
		n.Sources = make([]*StreamSource, len(c.Sources))
		for i, s := range c.Sources {
			n.Sources[i] = s.Clone()
		}
	}
	if c.SubjectTransform != nil {
		t := *c.SubjectTransform
		n.SubjectTransform = &t
	}
	if c.RePublish != nil {
		r := *c.RePublish
		n.RePublish = &r
	}
	n.Metadata = maps.Clone(c.Metadata)
	return &n
}

// Clone returns a deep copy of the source.
func (s *StreamSource) Clone() *StreamSource {
	if s == nil {
		return nil
	}
	n := *s
	if s.OptStartTime != nil {
		t := *s.OptStartTime
		n.OptStartTime = &t
	}
	n.SubjectTransforms = slices.Clone(s.SubjectTransforms)
	if s.External != nil {
		e := *s.External
		n.External = &e
	}
	if s.Consumer != nil {
		c := *s.Consumer
		n.Consumer = &c
	}
	return &n
}

// Key identifies a source within one stream's configuration: two sources
// with the same key would feed the same messages twice, which the reference
// refuses ("duplicate source configuration detected"). An empty filter or
// transform side stands for ">".
func (s *StreamSource) Key() string {
	var b strings.Builder
	b.WriteString(s.Name)
	if s.External != nil {
		b.WriteString(":api=")
		b.WriteString(s.External.APIPrefix)
	}
	if s.Consumer != nil {
		b.WriteString(":consumer=")
		b.WriteString(s.Consumer.Name)
	}
	orAll := func(x string) string {
		if x == "" {
			return ">"
		}
		return x
	}
	if len(s.SubjectTransforms) == 0 {
		b.WriteString(" " + orAll(s.FilterSubject) + " >")
		return b.String()
	}
	srcs := make([]string, len(s.SubjectTransforms))
	dsts := make([]string, len(s.SubjectTransforms))
	for i, t := range s.SubjectTransforms {
		srcs[i], dsts[i] = orAll(t.Source), orAll(t.Destination)
	}
	// \f can not occur in a valid subject, so joined lists stay unambiguous.
	b.WriteString(" " + strings.Join(srcs, "\f") + " " + strings.Join(dsts, "\f"))
	return b.String()
}

// consumerKey identifies the durable consumer a source reads through; two
// sources of the same stream may not share one.
func (s *StreamSource) consumerKey() string {
	k := s.Name
	if s.External != nil {
		k += ":api=" + s.External.APIPrefix
	}
	if s.Consumer != nil {
		k += " " + s.Consumer.Name
	}
	return k
}
