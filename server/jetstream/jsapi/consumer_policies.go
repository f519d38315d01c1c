package jsapi

import "fmt"

// The consumer enumerations; see policies.go for the conventions.

// DeliverPolicy chooses a consumer's first message.
type DeliverPolicy int

const (
	DeliverAll             DeliverPolicy = iota // "all"
	DeliverLast                                 // "last"
	DeliverNew                                  // "new"
	DeliverByStartSequence                      // "by_start_sequence"
	DeliverByStartTime                          // "by_start_time"
	DeliverLastPerSubject                       // "last_per_subject"
)

var deliverNames = []string{"all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"}

func (p DeliverPolicy) String() string {
	if p >= 0 && int(p) < len(deliverNames) {
		return deliverNames[p]
	}
	return "undefined"
}

// MarshalJSON writes "undefined" for an unknown value rather than failing.
func (p DeliverPolicy) MarshalJSON() ([]byte, error) {
	return []byte(`"` + p.String() + `"`), nil
}

// UnmarshalJSON takes "undefined" as "all".
func (p *DeliverPolicy) UnmarshalJSON(data []byte) error {
	if string(data) == `"undefined"` {
		*p = DeliverAll
		return nil
	}
	i, err := unmarshalEnum(data, deliverNames, false)
	if err == nil {
		*p = DeliverPolicy(i)
	}
	return err
}

// AckPolicy says what a consumer's client must acknowledge.
type AckPolicy int

const (
	AckNone        AckPolicy = iota // "none"
	AckAll                          // "all": an ack covers every earlier message
	AckExplicit                     // "explicit": every message
	AckFlowControl                  // "flow_control": acks ride on flow control
)

var ackNames = []string{"none", "all", "explicit", "flow_control"}

func (a AckPolicy) String() string {
	switch a {
	case AckNone, AckAll, AckFlowControl:
		return ackNames[a]
	}
	return "explicit"
}

func (a AckPolicy) MarshalJSON() ([]byte, error) { return marshalEnum(int(a), ackNames, a) }

func (a *AckPolicy) UnmarshalJSON(data []byte) error {
	i, err := unmarshalEnum(data, ackNames, false)
	if err == nil {
		*a = AckPolicy(i)
	}
	return err
}

// ReplayPolicy says how fast stored messages are replayed.
type ReplayPolicy int

const (
	ReplayInstant  ReplayPolicy = iota // "instant"
	ReplayOriginal                     // "original": with the original gaps
)

var replayNames = []string{"instant", "original"}

func (r ReplayPolicy) String() string {
	if r == ReplayInstant {
		return "instant"
	}
	return "original"
}

func (r ReplayPolicy) MarshalJSON() ([]byte, error) { return marshalEnum(int(r), replayNames, r) }

func (r *ReplayPolicy) UnmarshalJSON(data []byte) error {
	i, err := unmarshalEnum(data, replayNames, false)
	if err == nil {
		*r = ReplayPolicy(i)
	}
	return err
}

// PriorityPolicy chooses among the pull requests of a priority group.
type PriorityPolicy int

const (
	PriorityNone         PriorityPolicy = iota // "none"
	PriorityOverflow                           // "overflow"
	PriorityPinnedClient                       // "pinned_client"
	PriorityPrioritized                        // "prioritized"
)

var priorityNames = []string{"none", "overflow", "pinned_client", "prioritized"}

func (p PriorityPolicy) String() string {
	if p > PriorityNone && int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	return "none"
}

func (p PriorityPolicy) MarshalJSON() ([]byte, error) {
	if p < 0 || int(p) >= len(priorityNames) {
		return nil, fmt.Errorf("unknown priority policy: %v", int(p))
	}
	return []byte(`"` + priorityNames[p] + `"`), nil
}

func (p *PriorityPolicy) UnmarshalJSON(data []byte) error {
	if i, err := unmarshalEnum(data, priorityNames, false); err == nil {
		*p = PriorityPolicy(i)
		return nil
	}
	return fmt.Errorf("unknown priority policy: %v", string(data))
}

// ConsumerAction says whether CONSUMER.CREATE may create, update or both.
type ConsumerAction int

const (
	ActionCreateOrUpdate ConsumerAction = iota // ""
	ActionUpdate                               // "update"
	ActionCreate                               // "create"
)

var actionNames = []string{"", "update", "create"}

func (a ConsumerAction) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return ""
}

func (a ConsumerAction) MarshalJSON() ([]byte, error) {
	if a < 0 || int(a) >= len(actionNames) {
		return nil, fmt.Errorf("can not marshal %v", int(a))
	}
	return []byte(`"` + actionNames[a] + `"`), nil
}

func (a *ConsumerAction) UnmarshalJSON(data []byte) error {
	if i, err := unmarshalEnum(data, actionNames, false); err == nil {
		*a = ConsumerAction(i)
		return nil
	}
	return fmt.Errorf("unknown consumer action: %v", string(data))
}
