package fuzz

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/keelhq/keel/blockstore"
)

// ledger is the parent's record of a store's history: per stream, the
// model (a memory stream holding the commands known to have survived), the
// commands issued since, and what was acknowledged.
type ledger struct {
	mu      sync.Mutex
	streams []*streamLedger
	byName  map[string]*streamLedger
	// durable is the highest durable watermark reported: WAL records at or
	// below it were synced, so a tear must leave them.
	durable uint64
	// tearable is false until this round's child has opened the store
	// (which syncs what the previous process left in the page cache).
	tearable bool
	ready    chan struct{}
	opened   map[string]openedState
	childErr []string
	bad      []string // lines that did not parse
	lines    int
}

type streamLedger struct {
	spec     streamSpec
	dir      string // folder name under keel/streams, "" when unknown
	created  bool
	model    blockstore.Stream
	modelIdx uint64
	pending  map[uint64]*issued // commands above modelIdx, by index
	ackedIdx uint64             // highest command index acknowledged durable
	// ackedSeq is the highest sequence an acknowledgement covers (stored
	// or removed), never lowered: block records at or below it are durable.
	ackedSeq uint64
	acked    map[uint64]uint64 // acknowledged stores still expected: seq -> payload hash
	removed  map[uint64]bool   // acknowledged removals (remove, erase)
}

// issued is a command the child announced.
type issued struct {
	spec    *cmdSpec
	ticket  uint64
	seq     uint64
	applied bool
}

// openedState is what a child found when it opened a stream.
type openedState struct {
	applied, msgs, first, last uint64
}

func newLedger(specs []streamSpec) *ledger {
	l := &ledger{byName: make(map[string]*streamLedger)}
	for _, sp := range specs {
		m, err := blockstore.NewMemoryStream(sp.Cfg)
		if err != nil {
			panic(err) // a static configuration
		}
		sl := &streamLedger{spec: sp, model: m, pending: make(map[uint64]*issued),
			acked: make(map[uint64]uint64), removed: make(map[uint64]bool)}
		l.streams = append(l.streams, sl)
		l.byName[sp.Cfg.Name] = sl
	}
	return l
}

// startRound prepares for a new child's lines.
func (l *ledger) startRound() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ready = make(chan struct{})
	l.opened = make(map[string]openedState)
	l.childErr, l.bad = nil, nil
	l.tearable = false
	l.lines = 0
}

// handle applies one report line.
func (l *ledger) handle(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines++
	if err := l.handleLocked(line); err != nil {
		if len(l.bad) < 10 {
			l.bad = append(l.bad, fmt.Sprintf("%q: %v", line, err))
		}
	}
}

func (l *ledger) handleLocked(line string) error {
	f := strings.Fields(line)
	if len(f) == 0 {
		return errLine
	}
	if f[0] == "E" {
		l.childErr = append(l.childErr, strings.TrimPrefix(line, "E "))
		return nil
	}
	if f[0] == "R" || f[0] == "W" {
		if len(f) != 2 {
			return errLine
		}
		w, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return err
		}
		l.durable = max(l.durable, w)
		if f[0] == "R" {
			l.tearable = true
			close(l.ready)
		}
		return nil
	}
	if len(f) < 2 {
		return errLine
	}
	sl := l.byName[f[1]]
	if sl == nil {
		return fmt.Errorf("unknown stream %q", f[1])
	}
	// Numeric fields after the stream name; an A line's last is the hash.
	want := map[string]int{"C": 0, "I": 0, "O": 4, "T": 3, "F": 1, "A": 3, "X": 2, "K": 1}
	n, ok := want[f[0]]
	if !ok || len(f) < 2+n {
		return errLine
	}
	nums := make([]uint64, n)
	for i := range nums {
		base := 10
		if f[0] == "A" && i == 2 {
			base = 16
		}
		v, err := strconv.ParseUint(f[2+i], base, 64)
		if err != nil {
			return err
		}
		nums[i] = v
	}
	switch f[0] {
	case "C":
		sl.created = true
		if len(f) > 2 && f[2] != "-" {
			sl.dir = f[2]
		}
	case "O":
		sl.created = true
		l.opened[f[1]] = openedState{nums[0], nums[1], nums[2], nums[3]}
	case "I":
		cs, err := parseSpec(f[2:])
		if err != nil {
			return err
		}
		sl.pending[cs.Idx] = &issued{spec: cs}
	case "F":
		delete(sl.pending, nums[0])
	case "T":
		if p := sl.pending[nums[0]]; p != nil {
			p.ticket, p.seq, p.applied = nums[1], nums[2], true
		}
	case "A":
		sl.ack(nums[0], nums[1])
		sl.acked[nums[1]] = nums[2]
		delete(sl.removed, nums[1])
	case "X":
		sl.ack(nums[0], nums[1])
		sl.removed[nums[1]] = true
	case "K":
		sl.ack(nums[0], 0)
	}
	return nil
}

func (sl *streamLedger) ack(idx, seq uint64) {
	sl.ackedIdx = max(sl.ackedIdx, idx)
	sl.ackedSeq = max(sl.ackedSeq, seq)
}

// advance applies the issued commands (modelIdx, to] to the model. It fails
// when one is unknown or the model refuses it: then the store holds a
// command the child never applied, or the engine and the model disagree.
func (sl *streamLedger) advance(to uint64) error {
	for idx := sl.modelIdx + 1; idx <= to; idx++ {
		p := sl.pending[idx]
		if p == nil {
			return fmt.Errorf("command %d was never issued (model at %d)", idx, sl.modelIdx)
		}
		cmd := p.spec.command(sl.model.Config())
		cmd.Index = idx
		res, err := sl.model.Apply(cmd)
		if err != nil {
			return fmt.Errorf("command %d (%s) applied by the store, refused by the model: %v", idx, opName(p.spec.Op), err)
		}
		if p.spec.Op == blockstore.OpStore {
			if p.applied && res.Seq != p.seq {
				return fmt.Errorf("command %d stored sequence %d in the store, %d in the model", idx, p.seq, res.Seq)
			}
			p.seq = res.Seq // known now even if the kill hid it
		}
		delete(sl.pending, idx)
		sl.modelIdx = idx
	}
	return nil
}

// settle forgets what the model now covers once a round is verified: the
// commands not applied are dropped (the next child reuses their indexes),
// acknowledged stores no longer live leave the ledger, and removals are
// checked through the model from now on.
func (sl *streamLedger) settle(lastSeq uint64) {
	clear(sl.pending)
	sl.ackedIdx = sl.modelIdx
	sl.ackedSeq = max(sl.ackedSeq, lastSeq)
	var sm blockstore.StoreMsg
	for seq, h := range sl.acked {
		m, err := sl.model.LoadMsg(seq, &sm)
		if err != nil || msgHash(m.Header, m.Data) != h {
			delete(sl.acked, seq)
		}
	}
	clear(sl.removed)
}

// lastAcked describes the stream's acknowledgement position for logs.
func (sl *streamLedger) lastAcked() string {
	seqs := slices.Sorted(maps.Keys(sl.acked))
	last := uint64(0)
	if len(seqs) > 0 {
		last = seqs[len(seqs)-1]
	}
	return fmt.Sprintf("%s: acked command %d, last acked store %d, model at %d, %d issued since",
		sl.spec.Cfg.Name, sl.ackedIdx, last, sl.modelIdx, len(sl.pending))
}

func opName(op blockstore.Op) string {
	names := []string{"?", "store", "remove", "erase", "purge", "compact", "truncate", "expire", "skip", "config", "aux"}
	if int(op) < len(names) {
		return names[op]
	}
	return fmt.Sprintf("op%d", op)
}
