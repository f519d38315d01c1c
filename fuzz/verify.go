package fuzz

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/keelhq/keel/blockstore"
)

// verdict is what the checks of one round found.
type verdict struct {
	lost, corrupt int
	reset         bool // the store no longer matches the model: start afresh
	problems      []string
	info          []string
	log           []string // the engine's log during the check
}

// merge adds the findings of w.
func (v *verdict) merge(w *verdict) {
	v.lost += w.lost
	v.corrupt += w.corrupt
	v.reset = v.reset || w.reset
	v.problems = append(v.problems, w.problems...)
	v.info = append(v.info, w.info...)
}

// fail counts one finding in counter (lost or corrupt) and records it.
func (v *verdict) fail(counter *int, format string, a ...any) {
	*counter++
	v.problems = append(v.problems, fmt.Sprintf(format, a...))
	v.reset = true
}

// verify opens the killed store and checks every invariant (see the
// package doc). It opens the store itself, or a copy when the next child
// is to recover the original.
func (h *harness) verify(p *plan, in *injection, v *verdict) {
	dir := h.store
	if p.copy {
		dir = filepath.Join(h.work, "verify")
		if err := copyTree(h.store, dir); err != nil {
			v.fail(&v.corrupt, "copy the store: %v", err)
			return
		}
		defer os.RemoveAll(dir)
	}
	log := &captureLog{}
	defer func() { v.log = log.tail(40) }()
	e, err := blockstore.Open(dir, h.options(log))
	if err != nil {
		v.fail(&v.corrupt, "open after the kill: %v", err)
		return
	}
	closed := false
	defer func() {
		if !closed {
			e.Close()
		}
	}()
	h.assignDirs(dir)
	dev := map[string]map[uint64]bool{} // per stream: tolerated sequences that deviate
	for _, sl := range h.led.streams {
		dev[sl.spec.Cfg.Name] = h.verifyStream(e, sl, in, v)
	}
	h.checkDamage(e, in, log, dev, v)

	// What the index gives must equal what a rebuild from the blocks
	// gives: close (which writes the index checkpoints), remove them,
	// open again and compare.
	dumps := map[string]string{}
	states := map[string]blockstore.State{}
	for _, s := range e.Streams() {
		dumps[s.Config().Name] = dump(s)
		states[s.Config().Name] = s.State()
	}
	durable := uint64(e.Durable())
	closed = true
	if err := e.Close(); err != nil {
		v.fail(&v.corrupt, "close after the check: %v", err)
		return
	}
	if v.reset {
		return
	}
	if in.kind != injectDamage {
		h.checkRebuild(dir, dumps, log, v)
	}
	if v.reset {
		return
	}
	for _, sl := range h.led.streams {
		sl.settle(states[sl.spec.Cfg.Name].LastSeq)
	}
	if p.copy {
		// The next child opens the original: it must find the same.
		h.expOpen = map[string]openedState{}
		for name, st := range states {
			h.expOpen[name] = openedState{st.LastApplied, st.Msgs, st.FirstSeq, st.LastSeq}
		}
	} else {
		h.led.durable = max(h.led.durable, durable) // everything is synced now
	}
	h.lastCp = p.copy
}

// assignDirs learns the folder of a stream whose creation the kill hid:
// the one folder no other stream claims.
func (h *harness) assignDirs(dir string) {
	var unknown []*streamLedger
	claimed := map[string]bool{}
	for _, sl := range h.led.streams {
		if sl.dir == "" {
			unknown = append(unknown, sl)
		} else {
			claimed[sl.dir] = true
		}
	}
	var free []string
	for _, d := range streamDirs(dir) {
		if !claimed[d] {
			free = append(free, d)
		}
	}
	if len(unknown) == 1 && len(free) == 1 {
		unknown[0].dir = free[0]
	}
}

// verifyStream checks one stream against its ledger and model, and its
// own consistency. It returns the tolerated sequences (torn or hit) whose
// message differs from the model.
func (h *harness) verifyStream(e *blockstore.Engine, sl *streamLedger, in *injection, v *verdict) map[uint64]bool {
	name := sl.spec.Cfg.Name
	dev := map[uint64]bool{}
	s, ok := e.Stream(name)
	if !ok {
		if sl.created {
			v.fail(&v.corrupt, "%s: the stream is gone", name)
		}
		return dev
	}
	sl.created = true
	L := s.LastApplied()
	if L < sl.modelIdx {
		v.fail(&v.corrupt, "%s: LastApplied went back from %d to %d", name, sl.modelIdx, L)
		return dev
	}
	tol := hitsOf(in, name)
	for q := range in.torn[name] {
		tol[q] = true
	}
	drops := map[uint64]bool{}
	for _, w := range in.walHits {
		if w.stream == name {
			drops[w.idx] = true
		}
	}
	var base *modelBase
	if len(tol) > 0 || len(drops) > 0 {
		base = sl.saveBase() // before the acknowledged commands: a lost WAL record may hold one
	}
	if err := sl.advance(sl.ackedIdx); err != nil {
		v.fail(&v.corrupt, "%s: %v", name, err)
		return dev
	}
	sut := scanStream(s)
	for _, pr := range sut.problems {
		v.fail(&v.corrupt, "%s: %s", name, pr)
	}
	// A damaged WAL record may hold the last acknowledged commands.
	tail := L
	for tail < sl.ackedIdx && drops[tail+1] {
		tail++
	}
	if tail < sl.ackedIdx {
		// Commands acknowledged durable are gone: count the messages.
		model := scanStream(sl.model)
		for _, m := range model.msgs {
			if sl.acked[m.seq] != m.hash || tol[m.seq] {
				continue
			}
			if got, ok := sut.find(m.seq); !ok || got != m {
				v.fail(&v.lost, "%s: acknowledged message %d lost (%v)", name, m.seq, m)
			}
		}
		v.fail(&v.corrupt, "%s: LastApplied %d is below the last acknowledged command %d", name, L, sl.ackedIdx)
		return dev
	}
	if err := sl.advance(max(L, sl.ackedIdx)); err != nil {
		v.fail(&v.corrupt, "%s: %v", name, err)
		return dev
	}
	model := scanStream(sl.model)
	v1 := &verdict{}
	h.compare(sl, s, sl.model, sut, model, tol, dev, v1, true)
	holds := len(dev) == 0 && len(v1.problems) == 0
	if !holds && base != nil {
		v1, holds = h.replayAround(sl, s, in, base, max(L, sl.ackedIdx), model, sut, tol, drops, v1, v)
	}
	v.merge(v1)
	if !holds {
		// Torn or damaged messages are gone and the model has them: the
		// history cannot go on from here.
		if len(dev) > 0 {
			v.info = append(v.info, fmt.Sprintf("%s: %d messages differ from the model as the injection allows; the store starts afresh", name, len(dev)))
		}
		v.reset = true
	}
	for _, pr := range checkScan(s, sut, sl.spec.Prefix) {
		v.fail(&v.corrupt, "%s: %s", name, pr)
	}
	checkSnapshot(s, sut, v)
	return dev
}

// replayAround compares the stream with a model that replays the commands
// the way recovery must when the injection cost records it needed (see
// model.go): stores of the lacking sequences skipped, the dropped commands
// lost. When that model explains the store it becomes the stream's model;
// when it explains more than the plain one, its findings are reported. It
// returns the findings to report and whether the model now holds.
func (h *harness) replayAround(sl *streamLedger, s blockstore.Stream, in *injection, base *modelBase, to uint64,
	model, sut *scan, tol, drops map[uint64]bool, v1, v *verdict) (*verdict, bool) {
	name := sl.spec.Cfg.Name
	lacking := map[uint64]bool{}
	for q := range tol {
		if _, had := model.find(q); had && !slices.Contains(sut.unreadable, q) {
			if _, has := sut.find(q); !has {
				lacking[q] = true
			}
		}
	}
	alt, err := base.replay(name, to, lacking, drops)
	if err != nil {
		v.info = append(v.info, fmt.Sprintf("%s: no replay model: %v", name, err))
		return v1, false
	}
	v2, dev2 := &verdict{}, map[uint64]bool{}
	h.compare(sl, s, alt, sut, scanStream(alt), hitsOf(in, name), dev2, v2, false)
	if len(v2.problems) > 0 {
		if len(v2.problems) >= len(v1.problems) {
			// Say what the replayed model did not explain either: the
			// failure report then shows both expectations.
			for _, p := range v2.problems {
				v1.info = append(v1.info, fmt.Sprintf("%s: replayed around stores %v, commands %v: %s",
					name, slices.Sorted(maps.Keys(lacking)), slices.Sorted(maps.Keys(drops)), p))
			}
			return v1, false
		}
		// Something else is wrong too: report it against the expectation
		// that accounts for the injection.
		v2.info = append(v2.info, fmt.Sprintf("%s: compared with the model replayed around the lost records", name))
		markWAL(in, name)
		return v2, false
	}
	L := s.LastApplied()
	if alt.LastApplied() < L {
		alt.Apply(&blockstore.Command{Op: blockstore.OpExpire, Index: L}) // align LastApplied; removes nothing
	}
	v.info = append(v.info, fmt.Sprintf("%s: recovery replayed around the lost records (stores %v skipped, commands %v lost)",
		name, slices.Sorted(maps.Keys(lacking)), slices.Sorted(maps.Keys(drops))))
	sl.model, sl.modelIdx = alt, L
	markWAL(in, name)
	return v2, len(dev2) == 0 && alt.LastApplied() == L
}

// markWAL notes that the WAL records damaged in stream were needed.
func markWAL(in *injection, stream string) {
	for _, w := range in.walHits {
		if w.stream == stream {
			w.changed = true
		}
	}
}

// hitsOf returns the sequences of stream that injected damage hit.
func hitsOf(in *injection, stream string) map[uint64]bool {
	out := map[uint64]bool{}
	for _, x := range in.hits {
		if x.stream == stream {
			out[x.seq] = true
		}
	}
	return out
}

// compare checks the store's messages, state, aux records and
// configuration against the model m (model is its scan). Sequences in tol
// may differ: those that do go to dev. Unless exact, command indexes are
// not compared (see model.go).
func (h *harness) compare(sl *streamLedger, s, m blockstore.Stream, sut, model *scan, tol, dev map[uint64]bool, v *verdict, exact bool) {
	name := sl.spec.Cfg.Name
	unreadable := map[uint64]bool{}
	for _, q := range sut.unreadable {
		unreadable[q] = true
		if tol[q] {
			dev[q] = true
		} else {
			v.fail(&v.corrupt, "%s: message %d unreadable though nothing damaged it", name, q)
		}
	}
	for _, m := range model.msgs {
		got, ok := sut.find(m.seq)
		if ok && got == m {
			continue
		}
		switch {
		case tol[m.seq]:
			dev[m.seq] = true
		case unreadable[m.seq]:
		case !ok && sl.acked[m.seq] == m.hash:
			v.fail(&v.lost, "%s: acknowledged message %d lost (%v)", name, m.seq, m)
		case !ok:
			v.fail(&v.corrupt, "%s: message %d of a surviving command missing (%v)", name, m.seq, m)
		case sl.acked[m.seq] == m.hash:
			v.fail(&v.corrupt, "%s: acknowledged message %d differs: %v, want %v", name, m.seq, got, m)
		default:
			v.fail(&v.corrupt, "%s: message %d differs: %v, want %v", name, m.seq, got, m)
		}
	}
	for _, got := range sut.msgs {
		if _, ok := model.find(got.seq); ok {
			continue
		}
		switch {
		case tol[got.seq]:
			dev[got.seq] = true
		case sl.removed[got.seq]:
			v.fail(&v.corrupt, "%s: durably removed message %d came back (%v)", name, got.seq, got)
		default:
			v.fail(&v.corrupt, "%s: message %d should not be there (%v)", name, got.seq, got)
		}
	}
	st, ms := s.State(), m.State()
	if st.LastSeq != ms.LastSeq || (exact && st.LastApplied != ms.LastApplied) {
		v.fail(&v.corrupt, "%s: state last %d applied %d, model %d %d", name, st.LastSeq, st.LastApplied, ms.LastSeq, ms.LastApplied)
	}
	if len(dev) == 0 && (st.Msgs != ms.Msgs || st.FirstSeq != ms.FirstSeq || st.NumDeleted != ms.NumDeleted ||
		st.NumSubjects != ms.NumSubjects || !st.FirstTime.Equal(ms.FirstTime) || !st.LastTime.Equal(ms.LastTime)) {
		v.fail(&v.corrupt, "%s: state %+v, model %+v", name, brief(st), brief(ms))
	}
	keys, mkeys := s.AuxKeys(""), m.AuxKeys("")
	if !slices.Equal(keys, mkeys) {
		v.fail(&v.corrupt, "%s: aux keys %v, model %v", name, keys, mkeys)
	}
	for _, k := range mkeys {
		if !bytes.Equal(s.Aux(k), m.Aux(k)) {
			v.fail(&v.corrupt, "%s: aux %s differs from the model", name, k)
		}
	}
	cfg, mcfg := s.Config(), m.Config()
	mcfg.Storage = cfg.Storage
	if cfg != mcfg {
		v.fail(&v.corrupt, "%s: config %+v, model %+v", name, cfg, mcfg)
	}
}

func brief(st blockstore.State) string {
	return fmt.Sprintf("msgs %d first %d last %d deleted %d subjects %d applied %d first time %v last time %v",
		st.Msgs, st.FirstSeq, st.LastSeq, st.NumDeleted, st.NumSubjects, st.LastApplied,
		st.FirstTime.UnixNano(), st.LastTime.UnixNano())
}

// checkSnapshot restores a snapshot of s into a memory stream, which must
// hold the same messages.
func checkSnapshot(s blockstore.Stream, sut *scan, v *verdict) {
	name := s.Config().Name
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		v.fail(&v.corrupt, "%s: snapshot: %v", name, err)
		return
	}
	m, err := blockstore.RestoreMemoryStream(name, &buf)
	if err != nil {
		v.fail(&v.corrupt, "%s: restore the snapshot: %v", name, err)
		return
	}
	got := scanStream(m)
	if !slices.Equal(got.msgs, sut.msgs) {
		v.fail(&v.corrupt, "%s: the snapshot holds %d messages, the stream %d (or other ones)", name, len(got.msgs), len(sut.msgs))
	}
	// A message lost to damage is counted by the stream but has no bytes
	// to copy, so the snapshot leaves it out: the restored stream is short
	// by exactly those messages, and starts later only when one of them
	// was the first.
	lost := uint64(len(sut.unreadable))
	a, b := m.State(), s.State()
	firstOK := a.FirstSeq == b.FirstSeq || (slices.Contains(sut.unreadable, b.FirstSeq) && a.FirstSeq > b.FirstSeq)
	if a.LastSeq != b.LastSeq || !firstOK || a.Msgs+lost != b.Msgs {
		v.fail(&v.corrupt, "%s: the snapshot's state %s, the stream's %s", name, brief(a), brief(b))
	}
}

// checkDamage checks the records hit by injected damage: each is intact
// or reported by sequence, and nothing else was reported damaged in a
// round that damaged nothing.
func (h *harness) checkDamage(e *blockstore.Engine, in *injection, log *captureLog, dev map[string]map[uint64]bool, v *verdict) {
	reported := map[string]map[uint64]string{}
	add := func(stream string, seq uint64, how string) {
		if reported[stream] == nil {
			reported[stream] = map[uint64]string{}
		}
		if _, ok := reported[stream][seq]; !ok {
			reported[stream][seq] = how
		}
	}
	for _, d := range e.Damaged() {
		add(d.Stream, d.Seq, "Engine.Damaged")
	}
	for _, r := range log.reported() {
		for q := r.from; q <= r.to && q-r.from < 1<<16; q++ {
			add(r.stream, q, "the recovery log")
		}
	}
	for _, x := range in.hits {
		how, ok := reported[x.stream][x.seq]
		switch {
		case !dev[x.stream][x.seq] && !ok:
			v.info = append(v.info, fmt.Sprintf("damage to %s %d (%s): message intact", x.stream, x.seq, x.where))
		case ok:
			v.info = append(v.info, fmt.Sprintf("damage to %s %d (%s): reported by %s", x.stream, x.seq, x.where, how))
		default:
			v.fail(&v.corrupt, "damage to %s message %d (%s) changed it and was not reported", x.stream, x.seq, x.where)
		}
	}
	for _, w := range in.walHits {
		how := log.walReport(w.index)
		switch {
		case !w.changed:
			v.info = append(v.info, fmt.Sprintf("damage to WAL record %d (%s): the stream did not need it", w.index, w.where))
		case how != "":
			v.info = append(v.info, fmt.Sprintf("damage to WAL record %d (%s %s command %d): reported: %s", w.index, w.stream, w.op, w.idx, how))
		default:
			v.fail(&v.corrupt, "damage to WAL record %d (%s %s command %d, %s) lost the command and was not reported",
				w.index, w.stream, w.op, w.idx, w.where)
		}
	}
	for stream, d := range dev {
		for q := range d {
			if in.torn[stream][q] && !isHit(in.hits, stream, q) {
				v.info = append(v.info, fmt.Sprintf("torn unacknowledged %s %d: not recovered", stream, q))
			}
		}
	}
	if in.kind == injectNone {
		for _, d := range e.Damaged() {
			v.fail(&v.corrupt, "damage reported where none was done: %+v", d)
		}
	}
}

func isHit(hits []hit, stream string, seq uint64) bool {
	for _, x := range hits {
		if x.stream == stream && x.seq == seq {
			return true
		}
	}
	return false
}

// checkRebuild opens dir again without its index checkpoints: the rebuilt
// index must show exactly what the checkpointed one showed.
func (h *harness) checkRebuild(dir string, dumps map[string]string, log *captureLog, v *verdict) {
	idx, _ := filepath.Glob(filepath.Join(dir, "keel", "streams", "*", "INDEX"))
	for _, f := range idx {
		if err := os.Remove(f); err != nil {
			v.fail(&v.corrupt, "remove index checkpoint: %v", err)
			return
		}
	}
	e, err := blockstore.Open(dir, h.options(log))
	if err != nil {
		v.fail(&v.corrupt, "open without index checkpoints: %v", err)
		return
	}
	defer e.Close()
	for name, want := range dumps {
		s, ok := e.Stream(name)
		if !ok {
			v.fail(&v.corrupt, "%s: gone after an index rebuild", name)
			continue
		}
		if got := dump(s); got != want {
			v.fail(&v.corrupt, "%s: the rebuilt index differs from the checkpointed one: %s", name, firstDiff(got, want))
		}
	}
}
