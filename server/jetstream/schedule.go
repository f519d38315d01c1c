package jetstream

import (
	"bytes"
	"container/heap"
	"strings"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Message schedules (allow_msg_schedules). A message with Nats-Schedule is
// a schedule: it stays in the stream (one per subject: it is stored with
// Nats-Rollup: sub) and, each time its pattern fires, the stream stores a
// new message on Nats-Schedule-Target with the schedule's payload (or the
// last message of Nats-Schedule-Source), headers naming the schedule
// (Nats-Scheduler) and its next firing (Nats-Schedule-Next, or "purge"
// for a one-off, which then removes the schedule).
//
// The scheduler only remembers, per schedule subject, the schedule's
// sequence and when it fires next; the schedules themselves are stream
// messages, so a restart finds them again (rebuildSchedulesLocked).

const (
	scheduleNextPurge  = "purge"
	minScheduleRearm   = 250 * time.Millisecond
	scheduleHdrPrefix  = "Nats-Schedule"
	expectedHdrsPrefix = "Nats-Expected-"
)

type schedEntry struct {
	subj  string
	seq   uint64
	at    int64
	index int
}

// scheduler is a stream's set of pending schedules, earliest first.
type scheduler struct {
	bySubj   map[string]*schedEntry
	queue    schedQueue
	inflight map[string]bool
	timer    *time.Timer
	at       int64
}

type schedQueue []*schedEntry

func (q schedQueue) Len() int           { return len(q) }
func (q schedQueue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q schedQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i]; q[i].index = i; q[j].index = j }
func (q *schedQueue) Push(x any)        { e := x.(*schedEntry); e.index = len(*q); *q = append(*q, e) }
func (q *schedQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func newScheduler() *scheduler {
	return &scheduler{bySubj: map[string]*schedEntry{}, inflight: map[string]bool{}}
}

// set records that the schedule on subj (message seq) fires at at.
func (s *scheduler) set(subj string, seq uint64, at int64) {
	if e, ok := s.bySubj[subj]; ok {
		e.seq, e.at = seq, at
		heap.Fix(&s.queue, e.index)
	} else {
		// The subject may alias a publisher's read buffer: the entry and
		// the map key both keep the copy, never the caller's string.
		e := &schedEntry{subj: strings.Clone(subj), seq: seq, at: at}
		s.bySubj[e.subj] = e
		heap.Push(&s.queue, e)
	}
	delete(s.inflight, subj)
}

// reschedule moves the next firing of the schedule on subj.
func (s *scheduler) reschedule(subj string, at int64) {
	if e, ok := s.bySubj[subj]; ok {
		e.at = at
		heap.Fix(&s.queue, e.index)
		delete(s.inflight, subj)
	}
}

func (s *scheduler) remove(subj string) {
	if e, ok := s.bySubj[subj]; ok {
		heap.Remove(&s.queue, e.index)
		delete(s.bySubj, subj)
		delete(s.inflight, subj)
	}
}

func (s *scheduler) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
}

// armScheduleLocked sets the timer for the earliest schedule (not firing
// more often than minScheduleRearm, so schedules do not slow ingest).
func (st *stream) armScheduleLocked() {
	s := st.sched
	if s == nil || len(s.queue) == 0 {
		if s != nil && s.timer != nil {
			s.timer.Stop()
			s.at = 0
		}
		return
	}
	at := s.queue[0].at
	d := max(time.Until(time.Unix(0, at)), minScheduleRearm)
	when := time.Now().Add(d).UnixNano()
	if s.at != 0 && s.at <= when && s.timer != nil {
		return // armed earlier already
	}
	s.at = when
	if s.timer == nil {
		s.timer = time.AfterFunc(d, st.fireSchedules)
	} else {
		s.timer.Reset(d)
	}
}

// scheduleLoc reads Nats-Schedule-Time-Zone: nil when absent, ok false
// when present but empty or unknown.
func scheduleLoc(hdr []byte) (*time.Location, bool) {
	if !hasHeader(hdr, jsapi.HdrScheduleTimeZone) {
		return nil, true
	}
	tz := headerValue(hdr, jsapi.HdrScheduleTimeZone)
	if len(tz) == 0 {
		return nil, false
	}
	loc, err := time.LoadLocation(string(tz))
	return loc, err == nil
}

// checkSchedule validates the schedule headers of a client publish (the
// reference's rules and errors); hdr may gain Nats-Rollup: sub.
func (st *stream) checkSchedule(cfg *jsapi.StreamConfig, subject string, hdr *[]byte) *jsapi.ApiError {
	h := *hdr
	allow := cfg.AllowMsgSchedules
	if hasHeader(h, jsapi.HdrSchedule) {
		loc, ok := scheduleLoc(h)
		if !ok {
			if !allow {
				return jsapi.ErrMessageSchedulesDisabled()
			}
			return jsapi.ErrMessageSchedulesTimeZoneInvalid()
		}
		next, _, ok := nextSchedule(string(headerValue(h, jsapi.HdrSchedule)), loc, time.Now().UnixNano())
		switch {
		case !ok && !allow:
			return jsapi.ErrMessageSchedulesDisabled()
		case !ok:
			return jsapi.ErrMessageSchedulesPatternInvalid()
		case !next.IsZero():
			if err := st.checkScheduleFields(cfg, subject, hdr); err != nil {
				return err
			}
		}
	}
	h = *hdr
	if next := headerValue(h, jsapi.HdrScheduleNext); len(next) > 0 {
		if string(next) != scheduleNextPurge {
			return jsapi.ErrMessageSchedulesSchedulerInvalid()
		}
		sched := string(headerValue(h, jsapi.HdrScheduler))
		if sched == "" || sched == subject || !jsapi.IsValidPublishSubject(sched) {
			return jsapi.ErrMessageSchedulesSchedulerInvalid()
		}
		if !allow {
			return jsapi.ErrMessageSchedulesDisabled()
		}
		if sm, err := st.store.LoadLastMsg(sched, &st.sm); err == nil && len(headerValue(sm.Header, jsapi.HdrSchedule)) == 0 {
			return jsapi.ErrMessageSchedulesSchedulerInvalid()
		}
	} else if len(headerValue(h, jsapi.HdrScheduler)) > 0 {
		return jsapi.ErrMessageSchedulesSchedulerInvalid()
	}
	return nil
}

func (st *stream) checkScheduleFields(cfg *jsapi.StreamConfig, subject string, hdr *[]byte) *jsapi.ApiError {
	h := *hdr
	if !cfg.AllowMsgSchedules {
		return jsapi.ErrMessageSchedulesDisabled()
	}
	ttl := headerValue(h, jsapi.HdrScheduleTTL)
	if len(ttl) > 0 {
		if _, ok := parseTTL(string(ttl)); !ok {
			return jsapi.ErrMessageSchedulesTTLInvalid()
		}
	}
	if r := headerValue(h, jsapi.HdrScheduleRollup); len(r) > 0 && string(r) != jsapi.RollupSubject {
		return jsapi.ErrMessageSchedulesRollupInvalid()
	}
	if len(ttl) > 0 && !cfg.AllowMsgTTL {
		return jsapi.ErrMessageTTLDisabled()
	}
	target := string(headerValue(h, jsapi.HdrScheduleTarget))
	if target == "" || !jsapi.IsValidPublishSubject(target) || target == subject {
		return jsapi.ErrMessageSchedulesTargetInvalid()
	}
	source := string(headerValue(h, jsapi.HdrScheduleSource))
	if source != "" && (source == target || source == subject || !jsapi.IsValidPublishSubject(source)) {
		return jsapi.ErrMessageSchedulesSourceInvalid()
	}
	inStream := func(s string) bool {
		for _, subj := range cfg.Subjects {
			if jsapi.SubjectsCollide(subj, s) {
				return true
			}
		}
		return false
	}
	if !inStream(target) {
		return jsapi.ErrMessageSchedulesTargetInvalid()
	}
	if source != "" && !inStream(source) {
		return jsapi.ErrMessageSchedulesSourceInvalid()
	}
	switch r := headerValue(h, jsapi.HdrRollup); {
	case len(r) == 0:
		*hdr = appendHeaderField(h, jsapi.HdrRollup, jsapi.RollupSubject)
	case string(r) != jsapi.RollupSubject:
		return jsapi.ErrMessageSchedulesRollupInvalid()
	}
	return nil
}

// noteScheduleLocked follows a stored message: a schedule is (re)set, a
// plain message on a schedule's subject ends the schedule, and a fired
// message moves its schedule on or, for a one-off, purges it.
func (st *stream) noteScheduleLocked(subject string, seq uint64, ts int64, hdr []byte) {
	s := st.sched
	if s == nil {
		return
	}
	scheduler := string(headerValue(hdr, jsapi.HdrScheduler))
	if loc, ok := scheduleLoc(hdr); ok && hasHeader(hdr, jsapi.HdrSchedule) {
		if next, _, ok := nextSchedule(string(headerValue(hdr, jsapi.HdrSchedule)), loc, ts); ok && !next.IsZero() {
			s.set(subject, seq, next.UnixNano())
			st.armScheduleLocked()
		}
	} else if scheduler == "" {
		s.remove(subject)
	}
	next := string(headerValue(hdr, jsapi.HdrScheduleNext))
	switch {
	case next == "" || scheduler == "":
	case next == scheduleNextPurge:
		s.remove(scheduler)
	default:
		if t, err := time.Parse(time.RFC3339Nano, next); err == nil {
			s.reschedule(scheduler, t.UnixNano())
			st.armScheduleLocked()
		}
	}
}

// fireSchedules stores the messages of the schedules that are due.
func (st *stream) fireSchedules() {
	st.mu.Lock()
	if st.closed || st.sched == nil {
		st.mu.Unlock()
		return
	}
	s := st.sched
	s.at = 0
	now := time.Now().UnixNano()
	var due []*schedEntry
	for _, e := range s.queue {
		if e.at <= now && !s.inflight[e.subj] {
			due = append(due, e)
		}
	}
	// In sequence order, as the schedules were stored.
	for i := 1; i < len(due); i++ {
		for j := i; j > 0 && due[j].seq < due[j-1].seq; j-- {
			due[j], due[j-1] = due[j-1], due[j]
		}
	}
	var pubs []markerPub
	for _, e := range due {
		in, ok := st.scheduledMessageLocked(e)
		if !ok {
			s.remove(e.subj)
			continue
		}
		s.inflight[e.subj] = true
		mp := markerPub{in: in}
		st.storeLocked(&mp.in, &mp.out)
		delete(s.inflight, e.subj)
		if mp.out.err != nil {
			st.js.host.Warnf("JetStream stream '%s' scheduled message from %q failed: %v", st.name, e.subj, mp.out.err)
			// Try again at the next interval rather than spinning.
			if ent, ok := s.bySubj[e.subj]; ok && ent.at <= now {
				s.reschedule(e.subj, now+int64(time.Second))
			}
			continue
		}
		pubs = append(pubs, mp)
	}
	st.armScheduleLocked()
	st.mu.Unlock()
	for i := range pubs {
		st.finishPublish(&pubs[i].in, &pubs[i].out)
	}
}

// scheduledMessageLocked builds the message a due schedule produces.
func (st *stream) scheduledMessageLocked(e *schedEntry) (inbound, bool) {
	sm, err := st.store.LoadMsg(e.seq, &st.sm)
	if err != nil || sm.Subject != e.subj {
		return inbound{}, false
	}
	pattern := string(headerValue(sm.Header, jsapi.HdrSchedule))
	loc, ok := scheduleLoc(sm.Header)
	if pattern == "" || !ok {
		return inbound{}, false
	}
	next, repeat, ok := nextSchedule(pattern, loc, e.at)
	target := string(headerValue(sm.Header, jsapi.HdrScheduleTarget))
	ttl := string(headerValue(sm.Header, jsapi.HdrScheduleTTL))
	if !ok || target == "" {
		return inbound{}, false
	}
	if ttl != "" {
		if _, ok := parseTTL(ttl); !ok {
			return inbound{}, false
		}
	}
	rollup := string(headerValue(sm.Header, jsapi.HdrScheduleRollup))
	hdr, data := append([]byte(nil), sm.Header...), append([]byte(nil), sm.Data...)
	if src := string(headerValue(sm.Header, jsapi.HdrScheduleSource)); src != "" {
		var srcMsg blockstore.StoreMsg
		if m, err := st.store.LoadLastMsg(src, &srcMsg); err == nil {
			hdr, data = append([]byte(nil), m.Header...), append([]byte(nil), m.Data...)
		}
	}
	hdr = removeHeaderPrefix(hdr, scheduleHdrPrefix)
	hdr = removeHeaderPrefix(hdr, expectedHdrsPrefix)
	for _, k := range []string{jsapi.HdrMsgID, jsapi.HdrTTL, jsapi.HdrRollup} {
		hdr = removeHeaderField(hdr, k)
	}
	hdr = appendHeaderField(hdr, jsapi.HdrScheduler, e.subj)
	if repeat {
		hdr = appendHeaderField(hdr, jsapi.HdrScheduleNext, next.Format(time.RFC3339Nano))
	} else {
		hdr = appendHeaderField(hdr, jsapi.HdrScheduleNext, scheduleNextPurge)
	}
	if ttl != "" {
		hdr = appendHeaderField(hdr, jsapi.HdrTTL, ttl)
	}
	if rollup != "" {
		hdr = appendHeaderField(hdr, jsapi.HdrRollup, rollup)
	}
	return inbound{subject: target, hdr: hdr, data: data, sourced: true}, true
}

// removeHeaderPrefix drops every header whose name starts with prefix.
func removeHeaderPrefix(hdr []byte, prefix string) []byte {
	if len(hdr) == 0 || !bytes.Contains(hdr, []byte(prefix)) {
		return hdr
	}
	out := make([]byte, 0, len(hdr))
	for i, line := range bytes.SplitAfter(hdr, []byte("\r\n")) {
		if i > 0 && bytes.HasPrefix(line, []byte(prefix)) {
			continue
		}
		out = append(out, line...)
	}
	if len(out) <= len(hdrLine)+2 {
		return nil
	}
	return out
}

// rebuildSchedulesLocked finds the schedules after a restart: each is the
// last message of its subject.
func (st *stream) rebuildSchedulesLocked() {
	if st.sched == nil {
		return
	}
	for subj, ss := range st.store.SubjectsState(">") {
		sm, err := st.store.LoadMsg(ss.Last, &st.sm)
		if err != nil || !hasHeader(sm.Header, jsapi.HdrSchedule) {
			continue
		}
		loc, ok := scheduleLoc(sm.Header)
		if !ok {
			continue
		}
		if next, _, ok := nextSchedule(string(headerValue(sm.Header, jsapi.HdrSchedule)), loc, sm.Time); ok && !next.IsZero() {
			st.sched.set(subj, ss.Last, next.UnixNano())
		}
	}
	st.armScheduleLocked()
}
