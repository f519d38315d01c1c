package jsapi

import (
	"encoding/json"
	"errors"
	"fmt"
)

// APIPrefix is the subject prefix of the JetStream API in the local domain.
const APIPrefix = "$JS.API"

// checkOrigins checks a mirror or the sources: their own settings, their
// transforms, external prefixes, and that following origins through the
// account's streams does not lead back to this stream.
func checkOrigins(c *StreamConfig, pedantic bool, env *Env) *ApiError {
	// Subjects of the local origins, and the external prefixes, for the
	// prefix overlap checks below.
	var originSubjects, deliverPrefixes, apiPrefixes []string
	external := func(e *ExternalStream) {
		if e.DeliverPrefix != "" {
			deliverPrefixes = append(deliverPrefixes, e.DeliverPrefix)
		}
		if e.APIPrefix != "" {
			apiPrefixes = append(apiPrefixes, e.APIPrefix)
		}
	}

	if m := c.Mirror; m != nil {
		if err := checkMirror(c, m); err != nil {
			return err
		}
		if m.External == nil {
			if !IsValidName(m.Name) {
				return ErrMirrorInvalidStreamName()
			}
			// The origin need not exist yet; when it does, the mirror must
			// hold its largest message and inherits its direct get.
			if origin, ok := env.lookup(m.Name); ok {
				originSubjects = append(originSubjects, origin.Subjects...)
				if c.MaxMsgSize > 0 && origin.MaxMsgSize > 0 && c.MaxMsgSize < origin.MaxMsgSize {
					return ErrMirrorMaxMessageSizeTooBig()
				}
				if pedantic && c.MirrorDirect != origin.AllowDirect {
					return ErrPedantic(errors.New("origin stream has direct get set, mirror has it disabled"))
				}
				c.MirrorDirect = origin.AllowDirect
			}
		} else {
			external(m.External)
		}
	}

	if len(c.Sources) > 0 && c.AllowMsgSchedules {
		return ErrSourceWithMsgSchedules()
	}
	keys := make(map[string]bool, len(c.Sources))
	consumers := make(map[string]bool)
	for _, src := range c.Sources {
		if src == nil || !IsValidName(src.Name) {
			return ErrSourceInvalidStreamName()
		}
		if k := src.Key(); keys[k] {
			return ErrSourceDuplicateDetected()
		} else {
			keys[k] = true
		}
		if err := checkSource(src); err != nil {
			return err
		}
		if src.Consumer != nil {
			if k := src.consumerKey(); consumers[k] {
				return ErrSourceDurableConsumerDuplicateDetected()
			} else {
				consumers[k] = true
			}
		}
		if src.External == nil {
			if origin, ok := env.lookup(src.Name); ok {
				originSubjects = append(originSubjects, origin.Subjects...)
				if c.MaxMsgSize > 0 && origin.MaxMsgSize > 0 && c.MaxMsgSize < origin.MaxMsgSize {
					return ErrSourceMaxMessageSizeTooBig()
				}
			}
		} else {
			external(src.External)
		}
	}

	for _, pfx := range deliverPrefixes {
		if !IsValidPublishSubject(pfx) {
			return ErrStreamInvalidExternalDeliverySubj(pfx)
		}
		for _, subj := range originSubjects {
			if SubjectsCollide(subj, pfx+"."+subj) {
				return ErrStreamExternalDelPrefixOverlaps(pfx, subj)
			}
		}
	}
	for _, pfx := range apiPrefixes {
		if !IsValidPublishSubject(pfx) {
			return ErrStreamInvalidConfig(fmt.Errorf("stream external api prefix %q must be a valid subject without wildcards", pfx))
		}
		if SubjectsCollide(pfx, APIPrefix) {
			return ErrStreamExternalApiOverlap(pfx, APIPrefix)
		}
	}
	return checkCycles(c, env)
}

// checkMirror checks what a mirror may not combine with, and its consumer
// and transforms.
func checkMirror(c *StreamConfig, m *StreamSource) *ApiError {
	switch {
	case c.FirstSeq > 0:
		return ErrMirrorWithFirstSeq()
	case len(c.Subjects) > 0:
		return ErrMirrorWithSubjects()
	case len(c.Sources) > 0:
		return ErrMirrorWithSources()
	case c.AllowMsgCounter:
		return ErrMirrorWithCounters()
	case c.AllowAtomic:
		return ErrMirrorWithAtomicPublish()
	case c.AllowBatched:
		return ErrMirrorWithBatchPublish()
	case c.AllowMsgSchedules:
		return ErrMirrorWithMsgSchedules()
	}
	if m.Consumer != nil && !consumerSourceOK(m) {
		return ErrMirrorDurableConsumerCfgInvalid()
	}
	if m.FilterSubject != "" && len(m.SubjectTransforms) != 0 {
		return ErrMirrorMultipleFiltersNotAllowed()
	}
	if c.SubjectDeleteMarkerTTL > 0 {
		// Markers would take sequence numbers the origin does not have.
		return ErrStreamInvalidConfig(errors.New("subject delete markers forbidden on mirrors"))
	}
	for i, t := range m.SubjectTransforms {
		if t.Source != "" && !IsValidSubject(t.Source) {
			return ErrMirrorInvalidSubjectFilter(fmt.Errorf("%w %s", ErrBadSubject, t.Source))
		}
		if err := ValidateTransform(t.Source, t.Destination); err != nil {
			return ErrMirrorInvalidTransformDestination(err)
		}
		for j, u := range m.SubjectTransforms {
			if i != j && SubjectsCollide(t.Source, u.Source) {
				return ErrMirrorOverlappingSubjectFilters()
			}
		}
	}
	return nil
}

// checkSource checks one source's filter, transforms and consumer.
func checkSource(src *StreamSource) *ApiError {
	if src.FilterSubject != "" && len(src.SubjectTransforms) != 0 {
		return ErrSourceMultipleFiltersNotAllowed()
	}
	for _, t := range src.SubjectTransforms {
		if t.Source != "" && !IsValidSubject(t.Source) {
			return ErrSourceInvalidSubjectFilter(fmt.Errorf("%w %s", ErrBadSubject, t.Source))
		}
		if err := ValidateTransform(t.Source, t.Destination); err != nil {
			return ErrSourceInvalidTransformDestination(err)
		}
	}
	// Unlike a mirror's, a source's filters may collide as long as neither
	// contains the other.
	for i, t := range src.SubjectTransforms {
		for j, u := range src.SubjectTransforms {
			if i != j && SubjectIsSubsetOf(t.Source, u.Source) {
				return ErrSourceOverlappingSubjectFilters()
			}
		}
	}
	if src.Consumer != nil && !consumerSourceOK(src) {
		return ErrSourceDurableConsumerCfgInvalid()
	}
	return nil
}

// consumerSourceOK reports whether an origin read through a named consumer
// is well formed: a valid name, a literal deliver subject, and no start or
// filter of its own (the consumer has them).
func consumerSourceOK(o *StreamSource) bool {
	c := o.Consumer
	return IsValidName(c.Name) && IsLiteralSubject(c.DeliverSubject) && IsValidSubject(c.DeliverSubject) &&
		o.OptStartSeq == 0 && o.OptStartTime == nil && o.FilterSubject == ""
}

// checkCycles follows sources and mirrors through the account's streams and
// refuses a configuration whose messages could come back to it. A source
// seen twice is only a cycle when its filter can match the subjects of the
// stream reading it.
func checkCycles(c *StreamConfig, env *Env) *ApiError {
	cycle := ErrStreamInvalidConfig(errors.New("detected cycle"))
	queue := []*StreamConfig{c}
	visited := map[string]bool{}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		visited[cur.Name] = true
		for _, src := range cur.Sources {
			if src.External != nil {
				continue
			}
			if visited[src.Name] {
				if filterOverlaps(cur.Subjects, src.FilterSubject) {
					return cycle
				}
			} else if next, ok := env.lookup(src.Name); ok {
				queue = append(queue, next)
			}
		}
		if m := cur.Mirror; m != nil && m.External == nil {
			if visited[m.Name] {
				return cycle
			}
			if next, ok := env.lookup(m.Name); ok {
				queue = append(queue, next)
			}
		}
	}
	return nil
}

func filterOverlaps(subjects []string, filter string) bool {
	if filter == "" {
		return true
	}
	for _, s := range subjects {
		if SubjectsCollide(s, filter) {
			return true
		}
	}
	return false
}

// sameSource reports whether two mirror configurations are the same, as
// their JSON says (a time's location does not count).
func sameSource(a, b *StreamSource) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
