package jsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CheckStreamCreate runs every check of STREAM.CREATE.<subjectName> on a
// decoded request, in the reference's order, and returns the configuration
// to create: defaults filled in and _nats.req.level stamped (store it as
// is; add the response-only keys with WithDynamicStreamMetadata when
// answering). req is not modified.
//
// When a stream of that name exists with the same configuration the
// request is idempotent: exists is true and cfg is the stored
// configuration. With a different configuration it fails with
// ErrStreamNameExist (10058).
//
// The caller has already applied Nats-Required-Api-Level
// (CheckRequiredAPILevel) and decoded the body (DecodeRequest), which is
// where the reference checks those.
func CheckStreamCreate(subjectName string, req *StreamConfigRequest, env *Env) (cfg StreamConfig, exists bool, apiErr *ApiError) {
	in := req.StreamConfig.Clone()
	SetStaticStreamMetadata(in)

	switch {
	case subjectName != in.Name:
		return StreamConfig{}, false, ErrStreamMismatch()
	case strings.ContainsAny(subjectName, `\/`):
		return StreamConfig{}, false, ErrStreamNameContainsPathSeparators()
	case in.Sealed:
		return StreamConfig{}, false, ErrStreamInvalidConfig(errors.New("stream configuration for create can not be sealed"))
	case in.MirrorDirect && in.Mirror == nil:
		return StreamConfig{}, false, ErrStreamInvalidConfig(errors.New("stream has no mirror but does have mirror direct"))
	}
	if env != nil && env.CheckLimits != nil {
		if err := env.CheckLimits(nil, in); err != nil {
			return StreamConfig{}, false, err
		}
	}

	cfg, apiErr = CheckStreamConfig(in, req.Pedantic, env)
	if apiErr != nil {
		return StreamConfig{}, false, apiErr
	}
	if cfg.Replicas > 1 && (env == nil || !env.Clustered) {
		return StreamConfig{}, false, ErrStreamReplicasNotSupported()
	}
	if old, ok := env.lookup(cfg.Name); ok {
		if SameStreamConfig(&cfg, old) {
			return *old.Clone(), true, nil
		}
		return StreamConfig{}, false, ErrStreamNameExist()
	}
	if err := checkOriginFilters(&cfg); err != nil {
		return StreamConfig{}, false, ErrStreamCreate(err)
	}
	if _, overlap := OverlappingStream(env, cfg.Subjects, cfg.Name); overlap {
		return StreamConfig{}, false, ErrStreamSubjectOverlap()
	}
	if env != nil {
		if err := CheckFeatures(&cfg, env.Supported); err != nil {
			return StreamConfig{}, false, err
		}
	}
	return cfg, false, nil
}

// CheckStreamUpdate runs every check of STREAM.UPDATE.<subjectName> in the
// reference's order. old is the stored configuration of the stream named
// by the subject, nil when there is none. It returns the configuration to
// store (defaults filled in, _nats.req.level stamped, the settings a sealed
// stream implies applied).
func CheckStreamUpdate(subjectName string, req *StreamConfigRequest, old *StreamConfig, env *Env) (StreamConfig, *ApiError) {
	// The reference checks the request before it looks the stream up, so
	// a broken configuration wins over a missing stream.
	cfg, apiErr := CheckStreamConfig(&req.StreamConfig, req.Pedantic, env)
	if apiErr != nil {
		return StreamConfig{}, apiErr
	}
	if subjectName != cfg.Name {
		return StreamConfig{}, ErrStreamMismatch()
	}
	if old == nil {
		return StreamConfig{}, ErrStreamNotFound()
	}
	SetStaticStreamMetadata(&cfg)
	if cfg, apiErr = CheckStreamConfig(&cfg, req.Pedantic, env); apiErr != nil {
		return StreamConfig{}, apiErr
	}
	if err := checkUpdateRules(old, &cfg, env); err != nil {
		return StreamConfig{}, err
	}
	if env != nil && env.CheckLimits != nil {
		if err := env.CheckLimits(old, &cfg); err != nil {
			return StreamConfig{}, err
		}
	}
	if env != nil && env.Consumers != nil {
		if err := checkConsumerLimits(old, &cfg, env.Consumers(cfg.Name)); err != nil {
			return StreamConfig{}, err
		}
	}
	if _, overlap := OverlappingStream(env, cfg.Subjects, cfg.Name); overlap {
		return StreamConfig{}, ErrStreamSubjectOverlap()
	}
	if env != nil {
		if err := CheckFeatures(&cfg, env.Supported); err != nil {
			return StreamConfig{}, err
		}
	}
	return cfg, nil
}

// CheckStreamRestore runs the checks of STREAM.RESTORE.<subjectName> on a
// decoded request, in the reference's order, and returns the configuration
// to restore into (defaults filled in; the name taken from the subject when
// the request has none). The restore may not replace a stream:
// ErrStreamNameExistRestoreFailed (10130). Pedantic mode does not apply.
func CheckStreamRestore(subjectName string, req *JSApiStreamRestoreRequest, env *Env) (StreamConfig, *ApiError) {
	in := req.Config.Clone()
	if in.Name == "" {
		in.Name = subjectName
	}
	if subjectName != in.Name {
		return StreamConfig{}, ErrStreamMismatch()
	}
	if strings.ContainsAny(subjectName, `\/`) {
		return StreamConfig{}, ErrStreamNameContainsPathSeparators()
	}
	cfg, apiErr := CheckStreamConfig(in, false, env)
	if apiErr != nil {
		return StreamConfig{}, apiErr
	}
	if env != nil && env.CheckLimits != nil {
		if err := env.CheckLimits(nil, &cfg); err != nil {
			return StreamConfig{}, err
		}
	}
	if _, exists := env.lookup(cfg.Name); exists {
		return StreamConfig{}, ErrStreamNameExistRestoreFailed()
	}
	return cfg, nil
}

// checkUpdateRules is what an update may not change.
func checkUpdateRules(old, cfg *StreamConfig, env *Env) *ApiError {
	invalid := func(msg string) *ApiError { return ErrStreamInvalidConfig(errors.New(msg)) }
	if cfg.Name != old.Name {
		return invalid("stream configuration name must match original")
	}
	if cfg.Replicas > 1 && (env == nil || !env.Clustered) {
		return ErrStreamReplicasNotSupported()
	}
	if cfg.Storage != old.Storage {
		return invalid("stream configuration update can not change storage type")
	}
	if cfg.Retention != old.Retention && (old.Retention == WorkQueuePolicy || cfg.Retention == WorkQueuePolicy) {
		return invalid("stream configuration update can not change retention policy to/from workqueue")
	}
	if old.Sealed && !cfg.Sealed {
		return invalid("stream configuration update can not unseal a sealed stream")
	}
	if old.DenyDelete && !cfg.DenyDelete {
		return invalid("stream configuration update can not cancel deny message deletes")
	}
	if old.DenyPurge && !cfg.DenyPurge {
		return invalid("stream configuration update can not cancel deny purge")
	}
	// Removing the mirror promotes the stream; changing it is refused.
	if cfg.Mirror != nil && !sameSource(cfg.Mirror, old.Mirror) {
		return ErrStreamMirrorNotUpdatable()
	}
	if cfg.DiscardNewPerSubject {
		if cfg.Discard != DiscardNew {
			return invalid("discard new per subject requires discard new policy to be set")
		}
		if cfg.MaxMsgsPerSubject <= 0 {
			return invalid("discard new per subject requires max msgs per subject > 0")
		}
	}
	if old.AllowMsgTTL && !cfg.AllowMsgTTL {
		return invalid("message TTL status can not be disabled")
	}
	if cfg.AllowMsgCounter != old.AllowMsgCounter {
		return invalid("stream configuration update can not change message counter setting")
	}
	if old.AllowMsgSchedules && !cfg.AllowMsgSchedules {
		return invalid("message schedules can not be disabled")
	}
	if old.PersistMode != cfg.PersistMode {
		return invalid("stream configuration update can not change persist mode")
	}
	// A sealed stream keeps everything: no expiry, no new messages, no
	// deletes, purges or roll-ups.
	if cfg.Sealed {
		cfg.MaxAge = 0
		cfg.Discard = DiscardNew
		cfg.DenyDelete, cfg.DenyPurge = true, true
		cfg.AllowRollupHdrs = false
	}
	return nil
}

// checkConsumerLimits refuses new consumer_limits that an existing consumer
// already exceeds.
func checkConsumerLimits(old, cfg *StreamConfig, consumers map[string]*ConsumerConfig) *ApiError {
	oldL, newL := old.ConsumerLimits, cfg.ConsumerLimits
	changed := (newL.InactiveThreshold > 0 && newL.InactiveThreshold != oldL.InactiveThreshold) ||
		(newL.MaxAckPending > 0 && newL.MaxAckPending != oldL.MaxAckPending)
	if !changed {
		return nil
	}
	var bad []string
	for name, c := range consumers {
		if (newL.InactiveThreshold > 0 && c.InactiveThreshold > newL.InactiveThreshold) ||
			(newL.MaxAckPending > 0 && c.MaxAckPending > newL.MaxAckPending) {
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return ErrStreamInvalidConfig(fmt.Errorf("change to limits violates consumers: %s", strings.Join(bad, ", ")))
}

// checkOriginFilters checks the filter subjects of a new stream's mirror
// and sources, which the reference checks only when it creates the stream.
// The errors are plain: the caller wraps them in ErrStreamCreate.
func checkOriginFilters(cfg *StreamConfig) error {
	if m := cfg.Mirror; m != nil {
		if len(m.SubjectTransforms) == 0 {
			if m.FilterSubject != "" && !IsValidSubject(m.FilterSubject) {
				return fmt.Errorf("subject filter '%s' for the mirror %w", m.FilterSubject, ErrBadSubject)
			}
		}
		for _, t := range m.SubjectTransforms {
			if t.Source != "" && !IsValidSubject(t.Source) {
				return fmt.Errorf("invalid subject transform source '%s' for the mirror: %w", t.Source, ErrBadSubject)
			}
			if err := checkTransform(t.Source, t.Destination); err != nil {
				return fmt.Errorf("subject transform from '%s' to '%s' for the mirror: %w", t.Source, t.Destination, err)
			}
		}
	}
	for _, s := range cfg.Sources {
		if len(s.SubjectTransforms) == 0 {
			if s.FilterSubject != "" && !IsValidSubject(s.FilterSubject) {
				return fmt.Errorf("subject filter '%s' for the source: %w", s.FilterSubject, ErrBadSubject)
			}
		}
		for _, t := range s.SubjectTransforms {
			if t.Source != "" && !IsValidSubject(t.Source) {
				return fmt.Errorf("subject filter '%s' for the source: %w", t.Source, ErrBadSubject)
			}
			if err := checkTransform(t.Source, t.Destination); err != nil {
				return fmt.Errorf("subject transform from '%s' to '%s' for the source: %w", t.Source, t.Destination, err)
			}
		}
	}
	return nil
}

// OverlappingStream returns the name of a stream other than self whose
// subjects collide with subjects: a message could then belong to two
// streams, which the reference refuses (ErrStreamSubjectOverlap).
func OverlappingStream(env *Env, subjects []string, self string) (string, bool) {
	var found string
	env.rangeStreams(func(other *StreamConfig) bool {
		if other.Name == self {
			return true
		}
		for _, a := range other.Subjects {
			for _, b := range subjects {
				if SubjectsCollide(b, a) {
					found = other.Name
					return false
				}
			}
		}
		return true
	})
	return found, found != ""
}

// SameStreamConfig reports whether a create request's checked
// configuration equals a stored one, as the reference decides whether a
// repeated create is idempotent: versioning metadata aside, the JSON must
// be identical.
func SameStreamConfig(cfg, stored *StreamConfig) bool {
	a := cfg.Clone()
	a.Metadata = carryRequiredLevel(a.Metadata, stored.Metadata)
	b := stored.Clone()
	b.Metadata = carryRequiredLevel(b.Metadata, stored.Metadata)
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
