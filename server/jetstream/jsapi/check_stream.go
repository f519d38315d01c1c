package jsapi

import (
	"errors"
	"fmt"
)

// CheckStreamConfig is the reference's stream configuration check: it
// returns cfg completed with the defaults the reference fills in (and shows
// in its responses), or the error the reference gives. Checks run in the
// reference's order so that a configuration with several mistakes gets the
// same error. cfg itself is not modified.
//
// It covers what a configuration can be judged on alone or against the
// account's other streams (env.Streams: mirror and source origins, cycles).
// Overlap with other streams' subjects, num_replicas above 1 and unsupported
// features are checked by CheckStreamCreate and CheckStreamUpdate, which
// call this.
func CheckStreamConfig(cfg *StreamConfig, pedantic bool, env *Env) (StreamConfig, *ApiError) {
	if cfg == nil {
		return StreamConfig{}, ErrStreamInvalidConfig(errors.New("stream configuration invalid"))
	}
	if !IsValidName(cfg.Name) {
		return StreamConfig{}, ErrStreamInvalidConfig(errors.New(`stream name is required and can not contain '.', '*', '>', '\', '/'`))
	}
	if len(cfg.Name) > MaxNameLen {
		return StreamConfig{}, ErrStreamInvalidConfig(fmt.Errorf("stream name is too long, maximum allowed is %d", MaxNameLen))
	}
	if len(cfg.Description) > MaxDescriptionLen {
		return StreamConfig{}, ErrStreamInvalidConfig(fmt.Errorf("stream description is too long, maximum allowed is %d", MaxDescriptionLen))
	}
	if metadataLen(cfg.Metadata) > MaxMetadataLen {
		return StreamConfig{}, ErrStreamInvalidConfig(fmt.Errorf("stream metadata exceeds maximum size of %d bytes", MaxMetadataLen))
	}

	// Work on a deep copy: defaults are written into nested values too
	// (republish source), and the caller's request must stay as it was.
	c := *cfg.Clone()
	var lim Limits
	if env != nil {
		lim = env.Limits
	}

	if c.Retention < LimitsPolicy || c.Retention > WorkQueuePolicy {
		return c, ErrStreamInvalidConfig(errors.New("invalid retention"))
	}
	if c.Discard < DiscardOld || c.Discard > DiscardNew {
		return c, ErrStreamInvalidConfig(errors.New("invalid discard policy"))
	}
	if c.Compression < NoCompression || c.Compression > S2Compression {
		return c, ErrStreamInvalidConfig(errors.New("invalid compression"))
	}
	if c.Storage < FileStorage || c.Storage > MemoryStorage {
		return c, ErrStreamInvalidConfig(errors.New("invalid storage type"))
	}
	if err := applyLimitDefaults(&c, lim, pedantic); err != nil {
		return StreamConfig{}, err
	}
	if err := checkFeatureCombinations(&c, pedantic); err != nil {
		return StreamConfig{}, err
	}
	if err := checkOrigins(&c, pedantic, env); err != nil {
		return StreamConfig{}, err
	}
	if err := checkSubjects(&c); err != nil {
		return StreamConfig{}, err
	}

	if lim.MaxBytesRequired && c.MaxBytes <= 0 {
		return StreamConfig{}, ErrStreamMaxBytesRequired()
	}
	if limit := lim.maxStreamBytes(c.Storage); limit > 0 && c.MaxBytes > limit {
		return StreamConfig{}, ErrStreamMaxStreamBytesExceeded()
	}

	if t := c.SubjectTransform; t != nil {
		if t.Source != "" && !IsValidSubject(t.Source) {
			return StreamConfig{}, ErrStreamTransformInvalidSource(fmt.Errorf("%w %s", ErrBadSubject, t.Source))
		}
		if err := ValidateTransform(t.Source, t.Destination); err != nil {
			return StreamConfig{}, ErrStreamTransformInvalidDestination(err)
		}
	}
	if err := checkRePublish(&c, pedantic); err != nil {
		return StreamConfig{}, err
	}

	if p := c.Placement; p != nil && p.Cluster == "" && len(p.Tags) == 0 && p.Preferred == "" {
		c.Placement = nil
	}
	if c.Placement != nil && c.Placement.Preferred != "" {
		return StreamConfig{}, ErrStreamInvalidConfig(errors.New("preferred server not permitted in placement"))
	}
	return c, nil
}

func metadataLen(md map[string]string) int {
	n := 0
	for k, v := range md {
		n += len(k) + len(v)
	}
	return n
}

// checkFeatureCombinations refuses the combinations of options the
// reference refuses, and turns on what some options imply (delete markers
// and schedules need TTLs and roll-ups) unless pedantic.
func checkFeatureCombinations(c *StreamConfig, pedantic bool) *ApiError {
	invalid := func(msg string) *ApiError { return ErrStreamInvalidConfig(errors.New(msg)) }

	if c.DenyPurge && c.AllowRollupHdrs {
		return invalid("roll-ups require the purge permission")
	}
	if c.AllowMsgCounter {
		switch {
		case c.Discard == DiscardNew:
			return invalid("counter stream cannot use discard new")
		case c.AllowMsgTTL:
			return invalid("counter stream cannot use message TTLs")
		case c.AllowMsgSchedules:
			return invalid("counter stream cannot use message schedules")
		case c.Retention != LimitsPolicy:
			return invalid("counter stream can only use limits retention")
		}
	}
	if c.DiscardNewPerSubject {
		if c.Discard != DiscardNew {
			return invalid("discard new per subject requires discard new policy to be set")
		}
		if c.MaxMsgsPerSubject <= 0 {
			return invalid("discard new per subject requires max msgs per subject > 0")
		}
	}
	if c.SubjectDeleteMarkerTTL > 0 {
		if c.SubjectDeleteMarkerTTL < MinSubjectDeleteMarkerTTL {
			return invalid("subject delete marker TTL must be at least 1 second")
		}
		if !c.AllowMsgTTL {
			if pedantic {
				return invalid("subject delete marker cannot be set if message TTLs are disabled")
			}
			c.AllowMsgTTL = true
		}
		if !c.AllowRollupHdrs {
			if pedantic {
				return invalid("subject delete marker cannot be set if roll-ups are disabled")
			}
			c.AllowRollupHdrs, c.DenyPurge = true, false
		}
	} else if c.SubjectDeleteMarkerTTL < 0 {
		return invalid("subject delete marker TTL must not be negative")
	}
	if c.AllowMsgSchedules {
		if c.Discard == DiscardNew {
			return invalid("message scheduling cannot use discard new")
		}
		if !c.AllowRollupHdrs {
			if pedantic {
				return invalid("message scheduling cannot be set if roll-ups are disabled")
			}
			c.AllowRollupHdrs, c.DenyPurge = true, false
		}
	}
	if c.PersistMode == AsyncPersistMode {
		switch {
		case c.Storage != FileStorage:
			return invalid("async persist mode is only supported on file storage")
		case c.Replicas > 1:
			return invalid("async persist mode is not supported on replicated streams")
		case c.AllowAtomic:
			return invalid("async persist mode is not supported with atomic batch publish")
		}
	}
	return nil
}

// checkSubjects defaults the subjects of a plain stream to its name and
// checks configured subjects: valid, distinct, not overlapping each other,
// and clear of the server's own subject spaces unless no_ack.
func checkSubjects(c *StreamConfig) *ApiError {
	invalid := func(msg string) *ApiError { return ErrStreamInvalidConfig(errors.New(msg)) }
	if len(c.Subjects) == 0 {
		if c.Mirror == nil && len(c.Sources) == 0 {
			c.Subjects = []string{c.Name}
		}
	} else {
		if c.Mirror != nil {
			return ErrMirrorWithSubjects()
		}
		seen := make(map[string]bool, len(c.Subjects))
		for i, subj := range c.Subjects {
			if !IsValidSubject(subj) {
				return invalid("invalid subject")
			}
			if seen[subj] {
				return invalid("duplicate subjects detected")
			}
			if subj == ">" {
				if !c.NoAck {
					return invalid("capturing all subjects requires no-ack to be true")
				}
				if c.Replicas != 1 {
					return invalid("capturing all subjects requires replicas of 1")
				}
			}
			if !c.NoAck {
				// A stream acking its own API traffic would loop; $JS.EVENT
				// streams predate the rule and stay allowed.
				for _, ns := range []string{"$JS.>", "$JSC.>", "$NRG.>"} {
					if SubjectsCollide(subj, ns) && !SubjectIsSubsetOf(subj, "$JS.EVENT.>") {
						return invalid("subjects that overlap with jetstream api require no-ack to be true")
					}
				}
				if SubjectsCollide(subj, "$SYS.>") && !SubjectIsSubsetOf(subj, "$SYS.ACCOUNT.>") {
					return invalid("subjects that overlap with system api require no-ack to be true")
				}
			}
			for _, other := range c.Subjects[i+1:] {
				if SubjectsCollide(other, subj) {
					return ErrStreamInvalidConfig(fmt.Errorf("subject %q overlaps with %q", subj, other))
				}
			}
			seen[subj] = true
		}
	}
	if len(c.Subjects) == 0 && len(c.Sources) == 0 && c.Mirror == nil {
		return invalid("stream needs at least one configured subject or be a source/mirror")
	}
	return nil
}

// checkRePublish defaults an empty republish source to ">" (all subjects)
// and refuses a destination that would feed the stream again.
func checkRePublish(c *StreamConfig, pedantic bool) *ApiError {
	rp := c.RePublish
	if rp == nil {
		return nil
	}
	if rp.Source == "" {
		if pedantic {
			return ErrPedantic(errors.New("republish source can not be empty"))
		}
		rp.Source = ">"
	}
	// '>' to '>' would loop, unless a subject transform moves the single
	// stream subject elsewhere: then it means "republish the transformed
	// subjects".
	if rp.Destination == ">" && rp.Source == ">" && c.SubjectTransform != nil &&
		len(c.Subjects) == 1 && c.SubjectTransform.Source == c.Subjects[0] {
		if pedantic {
			return ErrPedantic(errors.New("implicit republish based on subject transform"))
		}
		rp.Source, rp.Destination = c.SubjectTransform.Destination, c.SubjectTransform.Destination
	}
	for _, subj := range c.Subjects {
		if SubjectsCollide(rp.Destination, subj) {
			return ErrStreamInvalidConfig(errors.New("stream configuration for republish destination forms a cycle"))
		}
	}
	if err := checkTransform(rp.Source, rp.Destination); err != nil {
		return ErrStreamInvalidConfig(fmt.Errorf("stream configuration for republish with transform from '%s' to '%s' not valid", rp.Source, rp.Destination))
	}
	return nil
}
