package fuzz

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/keelhq/keel/blockstore"
)

// scanned is one message found by a full scan (the payload as a hash).
type scanned struct {
	seq     uint64
	subject string
	hash    uint64
	size    uint64 // the file store's accounting size
	ts, ttl int64
}

func (m scanned) String() string {
	return fmt.Sprintf("seq %d %s hash %x ts %d ttl %d", m.seq, m.subject, m.hash, m.ts, m.ttl)
}

// fileSize is the file store's byte accounting of a message, the one the
// reference server reports (blockstore documents it for State.Bytes).
func fileSize(subj, hdr, data int) uint64 {
	if hdr == 0 {
		return uint64(22 + subj + data + 8)
	}
	return uint64(22 + subj + 4 + hdr + data + 8)
}

// scan is a stream read message by message from its first sequence.
type scan struct {
	msgs       []scanned
	unreadable []uint64 // live sequences whose load fails (damage)
	problems   []string
}

func (sc *scan) find(seq uint64) (scanned, bool) {
	i, ok := slices.BinarySearchFunc(sc.msgs, seq, func(m scanned, q uint64) int { return compareU64(m.seq, q) })
	if !ok {
		return scanned{}, false
	}
	return sc.msgs[i], true
}

// scanStream reads every live message of s with LoadNextMsg, checking that
// sequences strictly increase. A load that fails is retried one sequence
// at a time to find the unreadable message and go on after it.
func scanStream(s blockstore.Stream) *scan {
	sc := &scan{}
	st := s.State()
	var sm blockstore.StoreMsg
	add := func(m *blockstore.StoreMsg) {
		sc.msgs = append(sc.msgs, scanned{seq: m.Seq, subject: m.Subject, hash: msgHash(m.Header, m.Data),
			size: fileSize(len(m.Subject), len(m.Header), len(m.Data)), ts: m.Time, ttl: m.TTL})
	}
	next := uint64(0)
	for {
		m, err := s.LoadNextMsg("", next, &sm)
		if errors.Is(err, blockstore.ErrNotFound) {
			return sc
		}
		if err == nil {
			if m.Seq < next {
				sc.problems = append(sc.problems, fmt.Sprintf("LoadNextMsg from %d returned %d", next, m.Seq))
				return sc
			}
			add(m)
			next = m.Seq + 1
			continue
		}
		// Find the sequence that fails, keeping the readable ones before it.
		found := false
		for q := max(next, st.FirstSeq); q <= st.LastSeq && q != 0; q++ {
			m, err := s.LoadMsg(q, &sm)
			if err == nil {
				add(m)
				continue
			}
			if errors.Is(err, blockstore.ErrDeleted) || errors.Is(err, blockstore.ErrNotFound) {
				continue
			}
			sc.unreadable = append(sc.unreadable, q)
			next, found = q+1, true
			break
		}
		if !found {
			sc.problems = append(sc.problems, fmt.Sprintf("LoadNextMsg from %d fails (%v) but every LoadMsg works", next, err))
			return sc
		}
	}
}

// checkScan checks that the stream's own summaries agree with a full scan:
// State counts, SubjectsState, FilteredState, NumPending, LoadLastMsg and
// LoadPrevMsg. With unreadable messages only the counts are checked.
func checkScan(s blockstore.Stream, sc *scan, prefix string) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	st := s.State()
	n := uint64(len(sc.msgs) + len(sc.unreadable))
	if st.Msgs != n {
		bad("State.Msgs %d, scan finds %d (%d unreadable)", st.Msgs, n, len(sc.unreadable))
	}
	if n == 0 {
		if st.NumDeleted != 0 || st.FirstSeq != st.LastSeq+1 {
			bad("empty stream with first %d last %d deleted %d", st.FirstSeq, st.LastSeq, st.NumDeleted)
		}
		return out
	}
	first, last := uint64(0), uint64(0)
	if len(sc.msgs) > 0 {
		first, last = sc.msgs[0].seq, sc.msgs[len(sc.msgs)-1].seq
	}
	for _, q := range sc.unreadable {
		if first == 0 || q < first {
			first = q
		}
		last = max(last, q)
	}
	if st.FirstSeq != first || st.LastSeq < last {
		bad("State first %d last %d, scan first %d last %d", st.FirstSeq, st.LastSeq, first, last)
	}
	if want := int(st.LastSeq - st.FirstSeq + 1 - n); st.NumDeleted != want && st.FirstSeq == first {
		bad("State.NumDeleted %d, scan gives %d", st.NumDeleted, want)
	}
	if len(sc.unreadable) > 0 {
		return out
	}
	var bytes uint64
	subjects := map[string]blockstore.SubjectState{}
	for _, m := range sc.msgs {
		bytes += m.size
		ss := subjects[m.subject]
		if ss.Msgs == 0 {
			ss.First = m.seq
		}
		ss.Msgs++
		ss.Last = m.seq
		subjects[m.subject] = ss
	}
	if st.Bytes != bytes {
		bad("State.Bytes %d, scan gives %d", st.Bytes, bytes)
	}
	if st.NumSubjects != len(subjects) {
		bad("State.NumSubjects %d, scan finds %d", st.NumSubjects, len(subjects))
	}
	if got := s.SubjectsState(">"); !maps.Equal(got, subjects) {
		bad("SubjectsState(>) differs from the scan: %s", mapDiff(got, subjects))
	}
	// Filters of every shape, from the first sequence and from the middle.
	hot := sc.msgs[len(sc.msgs)/2].subject
	mid := sc.msgs[len(sc.msgs)/2].seq
	for _, filter := range []string{">", prefix + ".eu.>", prefix + ".*.a.*", hot} {
		for _, start := range []uint64{first, mid} {
			var want blockstore.SimpleState
			lastOf := map[string]uint64{}
			for _, m := range sc.msgs {
				if m.seq < start || !matches(m.subject, filter) {
					continue
				}
				if want.Msgs == 0 {
					want.First = m.seq
				}
				want.Msgs++
				want.Last = m.seq
				lastOf[m.subject] = m.seq
			}
			if got := s.FilteredState(start, filter); got != want {
				bad("FilteredState(%d, %s) %+v, scan %+v", start, filter, got, want)
			}
			if got := s.NumPending(start, filter, false); got != want.Msgs {
				bad("NumPending(%d, %s) %d, scan %d", start, filter, got, want.Msgs)
			}
			// Last per subject: subjects whose newest message is at or
			// after start.
			perSubj := uint64(0)
			for subj, ss := range subjects {
				if matches(subj, filter) && ss.Last >= start {
					perSubj++
				}
			}
			if got := s.NumPending(start, filter, true); got != perSubj {
				bad("NumPending(%d, %s, last per subject) %d, scan %d", start, filter, got, perSubj)
			}
		}
	}
	if due := nextDue(s.Config(), sc.msgs); due != 0 {
		// NextExpiry may be early (an entry of a message removed since),
		// never late or missing: that would keep a message past its time.
		if got := s.NextExpiry(); got.IsZero() || got.UnixNano() > due {
			bad("NextExpiry %v, but a message is due at %v", got, time.Unix(0, due).UTC())
		}
	}
	var sm blockstore.StoreMsg
	if m, err := s.LoadLastMsg(hot, &sm); err != nil || m.Seq != subjects[hot].Last {
		bad("LoadLastMsg(%s): %v %v, scan says %d", hot, seqOf(m), err, subjects[hot].Last)
	}
	if m, err := s.LoadPrevMsg(st.LastSeq, &sm); err != nil || m.Seq != last {
		bad("LoadPrevMsg(%d): %v %v, scan says %d", st.LastSeq, seqOf(m), err, last)
	}
	return out
}

func seqOf(m *blockstore.StoreMsg) any {
	if m == nil {
		return "none"
	}
	return m.Seq
}

// nextDue is when the first of msgs expires by the stream's MaxAge (the
// oldest message that may expire) or its TTL; 0 when none does.
func nextDue(cfg blockstore.Config, msgs []scanned) int64 {
	var at int64
	if cfg.MaxAge > 0 {
		for _, m := range msgs {
			if m.ttl >= 0 {
				at = m.ts + int64(cfg.MaxAge)
				break
			}
		}
	}
	if cfg.AllowMsgTTL {
		for _, m := range msgs {
			if t := m.ts + m.ttl; m.ttl > 0 && (at == 0 || t < at) {
				at = t
			}
		}
	}
	return at
}

// matches reports whether subject matches filter (">" and "*" wildcards).
func matches(subject, filter string) bool {
	if filter == "" || filter == ">" {
		return true
	}
	st, ft := strings.Split(subject, "."), strings.Split(filter, ".")
	for i, f := range ft {
		if f == ">" {
			return len(st) > i
		}
		if i >= len(st) || (f != "*" && f != st[i]) {
			return false
		}
	}
	return len(st) == len(ft)
}

func mapDiff[V comparable](got, want map[string]V) string {
	var d []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			d = append(d, fmt.Sprintf("%s: got %v want %v", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("%s: got %v, not in the scan", k, v))
		}
	}
	slices.Sort(d)
	if len(d) > 5 {
		d = append(d[:5], fmt.Sprintf("... %d more", len(d)-5))
	}
	return strings.Join(d, "; ")
}

// dump renders everything observable about a stream, for comparing two
// opens of the same store (the index against a rebuild).
func dump(s blockstore.Stream) string {
	var b strings.Builder
	st := s.State()
	st.Deleted = nil
	fmt.Fprintf(&b, "state %+v\n", st)
	subj := s.SubjectsState(">")
	for _, k := range slices.Sorted(maps.Keys(subj)) {
		fmt.Fprintf(&b, "subject %s %+v\n", k, subj[k])
	}
	for _, k := range s.AuxKeys("") {
		fmt.Fprintf(&b, "aux %s %x\n", k, msgHash(nil, s.Aux(k)))
	}
	sc := scanStream(s)
	for _, m := range sc.msgs {
		fmt.Fprintf(&b, "%s\n", m)
	}
	fmt.Fprintf(&b, "unreadable %v problems %v\n", sc.unreadable, sc.problems)
	return b.String()
}

// firstDiff shows where two dumps part.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d: %q vs %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(la), len(lb))
}
