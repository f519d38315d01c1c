package fuzz

import (
	"bytes"
	"fmt"

	"github.com/keelhq/keel/blockstore"
)

// When an injection costs records that recovery needed, the engine does
// not simply lose a suffix of history: it replays the WAL around the hole.
// A modelBase replays a stream's commands the way recovery does then, so
// that the store can still be compared with an exact expectation:
//
//   - a command whose WAL record is lost is not applied; when a later
//     store names a sequence beyond the next one, the sequences in between
//     are skipped first ("messages N to M missing from the wal");
//   - a store whose message record (written straight to its block) was
//     never wholly written, or torn at the file's tail, becomes a skip of
//     its sequence ("message N was not durable"); one damaged after it was
//     synced stays a message that cannot be read (unreadable, reported);
//   - a command the engine then refuses (a limit the lost command would
//     have made room for) is not applied.
//
// Command indexes may then differ from the store's, so LastApplied is not
// compared with such a model.

// modelBase is the model as it was before a check advanced it, with the
// commands issued since.
type modelBase struct {
	snap []byte
	idx  uint64
	hist []*issued
}

func (sl *streamLedger) saveBase() *modelBase {
	var buf bytes.Buffer
	if err := sl.model.Snapshot(&buf); err != nil {
		return nil
	}
	b := &modelBase{snap: buf.Bytes(), idx: sl.modelIdx}
	for idx := sl.modelIdx + 1; sl.pending[idx] != nil; idx++ {
		b.hist = append(b.hist, sl.pending[idx])
	}
	return b
}

// replay rebuilds the model up to command index to, without the commands
// in drop (their WAL records lost) and with the stores of the sequences in
// skip turned into skips (their messages lost). Stores must have their
// sequences (set when the model first applied them).
func (b *modelBase) replay(name string, to uint64, skip, drop map[uint64]bool) (blockstore.Stream, error) {
	m, err := blockstore.RestoreMemoryStream(name, bytes.NewReader(b.snap))
	if err != nil {
		return nil, err
	}
	for i, p := range b.hist {
		idx := b.idx + uint64(i) + 1
		if idx > to {
			break
		}
		if drop[idx] {
			continue
		}
		cmd := p.spec.command(m.Config())
		if p.spec.Op == blockstore.OpStore {
			if p.seq == 0 {
				return nil, fmt.Errorf("store %d has no sequence", idx)
			}
			if last := m.State().LastSeq; p.seq > last+1 {
				if _, err := m.Apply(&blockstore.Command{Op: blockstore.OpSkip, Seq: p.seq - 1}); err != nil {
					return nil, fmt.Errorf("skip before %d: %w", idx, err)
				}
			}
			cmd.Seq = p.seq // as the WAL record has it: refused if a lost truncate moved the end
			if skip[p.seq] {
				// Recovery's skip keeps the store's time as the last time.
				cmd = &blockstore.Command{Op: blockstore.OpSkip, Seq: p.seq, Time: cmd.Time}
			}
		}
		m.Apply(cmd) // a refusal leaves the command out, as recovery does
	}
	return m, nil
}
