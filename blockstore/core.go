package blockstore

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/index"
)

// backend is where a store keeps its messages. The core (this file, limits.go
// and query.go) owns every decision — sequences, limits, per-subject state,
// expiry — so the memory and file stores behave identically; a backend only
// stores, finds and forgets messages.
type backend interface {
	// store appends a message whose seq is above every stored one.
	store(seq uint64, ts, ttl int64, subj string, hdr, data []byte)
	// load fills sm with the live message seq, or fails with ErrNotFound
	// (never stored, or below the first sequence) or ErrDeleted.
	load(seq uint64, sm *StoreMsg) (*StoreMsg, error)
	// peek fills m with what the core needs of the live message seq
	// (subject, sizes, time, TTL) without copying its payload.
	peek(seq uint64, m *msgMeta) error
	// subject returns the subject of the live message seq without copying
	// its payload (scans by subject), or "".
	subject(seq uint64) string
	// scan calls fn with the sequence and subject of every live message in
	// [from, to], in order, until fn returns false.
	scan(from, to uint64, fn func(seq uint64, subj string) bool)
	// findSubject returns the first live message in [from, to] whose subject
	// matches filter (equals it when literal), looking at no more than
	// limit messages when limit > 0; last is the last sequence looked at.
	// It is scan without a closure, for the read paths that must not
	// allocate.
	findSubject(from, to uint64, filter string, literal bool, limit uint64) (found, last uint64)
	// remove forgets the live message m (just peeked), one at a time;
	// erase also overwrites its bytes.
	remove(m *msgMeta, erase bool)
	// dropRange forgets every message in [from, to] at once, below the new
	// first sequence (purge, compact); the core has accounted for them.
	dropRange(from, to uint64)
	// truncate forgets every message from seq from on; those sequences
	// will be stored again.
	truncate(from uint64)
	// skip records that sequences [from, to] hold no message; gap says they
	// lie inside the stream's range (it has messages).
	skip(from, to uint64, gap bool)
	// trim tells the backend the stream's first sequence moved to first.
	trim(first uint64)
	// forget tells the backend that message m goes with the range drop
	// or truncation that follows.
	forget(m *msgMeta)
	// nextLive is the first live sequence in [seq, last], 0 when none.
	nextLive(seq, last uint64) uint64
	// prevLive is the last live sequence in [first, seq], 0 when none.
	prevLive(seq, first uint64) uint64
	// liveBetween counts live messages in [from, to].
	liveBetween(from, to uint64) uint64
	// skipFor returns the smallest sequence >= seq at which a message on
	// the literal subject may be stored (seq itself when unknown), so scans
	// can jump over blocks that cannot hold it.
	skipFor(seq uint64, subj string) uint64
	// lost reports whether seq was a message lost to damage (not live,
	// and not removed by a command since); takeLost also forgets it.
	lost(seq uint64) bool
	takeLost(seq uint64) bool
	// damaged reports whether messages the counts still hold were found
	// lost to damage and not yet absorbed (see damage.go): a scan then
	// passes over live messages that have no readable record.
	damaged() bool
}

// msgMeta is what the core needs of a stored message besides its payload.
type msgMeta struct {
	seq        uint64
	subj       string
	hlen, dlen int
	ts, ttl    int64
}

// core is the deterministic state machine shared by both stores. It is not
// safe for concurrent use: the stream wrapping it holds a lock.
type core struct {
	cfg      Config
	applied  uint64
	first    uint64 // first live sequence; last+1 when empty
	last     uint64
	lastTs   int64
	msgs     uint64
	bytes    uint64
	subjs    *index.Tree
	ttls     ttlHeap
	aux      map[string][]byte
	onRemove RemoveFunc
	be       backend
	sizeOf   func(subj, hdr, data int) uint64
	peeked   msgMeta // internal peeks
	// settle (file streams) absorbs messages found lost to damage, taking
	// them out of the counts (see damage.go); it reports whether there
	// were any. Called with the stream locked, between the steps of a
	// command, never inside one.
	settle func() bool
	// ageFrom: every live message in [first, ageFrom) never expires (TTL
	// -1), so the search for the oldest one MaxAge can expire starts here
	// (see firstAgeable). Messages are only added above last, so it stays
	// true until a truncation, which lowers it.
	ageFrom atomic.Uint64
	// restoreEnd holds a snapshot's stream-level values until its messages
	// are in (see finishRestore).
	restoreEnd snapMeta
}

func newCore(cfg Config, be backend) *core {
	c := &core{cfg: cfg, subjs: new(index.Tree), aux: make(map[string][]byte), be: be}
	c.sizeOf = fileMsgSize
	if cfg.Storage == MemoryStorage {
		c.sizeOf = memMsgSize
	}
	fs := cfg.FirstSeq
	if fs == 0 {
		fs = 1
	}
	c.first, c.last = fs, fs-1
	return c
}

// The byte accounting the reference reports for its stores, so stream info
// shows the same numbers as nats-server for the same messages.
func fileMsgSize(subj, hdr, data int) uint64 {
	if hdr == 0 {
		return uint64(22 + subj + data + 8)
	}
	return uint64(22 + subj + 4 + hdr + data + 8)
}

func memMsgSize(subj, hdr, data int) uint64 { return uint64(subj + hdr + data + 16) }

// check validates cmd against the current state without changing anything.
func (c *core) check(cmd *Command) error {
	if cmd.Index != 0 && cmd.Index <= c.applied {
		return fmt.Errorf("blockstore: command index %d not above last applied %d: %w", cmd.Index, c.applied, ErrSequence)
	}
	switch cmd.Op {
	case OpStore:
		return c.checkStore(cmd)
	case OpRemove, OpErase:
		if cmd.Seq < c.first || cmd.Seq > c.last {
			return ErrNotFound
		}
		// A message lost to damage is still there as far as commands go:
		// damage must not change which commands a replica accepts.
		if c.be.nextLive(cmd.Seq, cmd.Seq) != cmd.Seq && !c.be.lost(cmd.Seq) {
			return ErrDeleted
		}
	case OpSkip:
		if cmd.Seq != 0 && cmd.Seq <= c.last {
			return fmt.Errorf("blockstore: skip to %d, last is %d: %w", cmd.Seq, c.last, ErrSequence)
		}
	case OpConfig:
		if cmd.Config == nil {
			return errors.New("blockstore: config command without a config")
		}
	case OpSetAux:
		return checkAux(cmd)
	case OpPurge, OpCompact, OpTruncate, OpExpire:
	default:
		return fmt.Errorf("blockstore: unknown command op %d", cmd.Op)
	}
	return nil
}

const (
	maxAuxKey     = 1 << 10
	maxSubjectLen = 1<<16 - 1
)

// checkStoreFields checks what a store needs whatever the stream holds:
// its sequence (the next after last), subject and sizes.
func (c *core) checkStoreFields(cmd *Command, last uint64) error {
	if cmd.Seq != 0 && cmd.Seq != last+1 {
		return fmt.Errorf("blockstore: store at %d, expected %d: %w", cmd.Seq, last+1, ErrSequence)
	}
	if cmd.Subject == "" || len(cmd.Subject) > maxSubjectLen {
		return fmt.Errorf("blockstore: store needs a subject of 1 to %d bytes", maxSubjectLen)
	}
	if len(cmd.Data) > maxPayload || len(cmd.Header) > maxPayload {
		return ErrMaxMsgSize
	}
	if c.cfg.MaxMsgSize > 0 && len(cmd.Header)+len(cmd.Data) > int(c.cfg.MaxMsgSize) {
		return ErrMaxMsgSize
	}
	return nil
}

func checkAux(cmd *Command) error {
	if cmd.Key == "" {
		return errors.New("blockstore: aux record without a key")
	}
	if len(cmd.Key) > maxAuxKey {
		return fmt.Errorf("blockstore: aux key of %d bytes exceeds %d", len(cmd.Key), maxAuxKey)
	}
	return nil
}

func (c *core) checkStore(cmd *Command) error {
	if err := c.checkStoreFields(cmd, c.last); err != nil {
		return err
	}
	if c.cfg.Discard != DiscardNew {
		return nil
	}
	ss := c.subjs.Lookup(cmd.Subject)
	atSubjLimit := ss != nil && c.cfg.MaxMsgsPerSubject > 0 && ss.Msgs >= uint64(c.cfg.MaxMsgsPerSubject)
	if atSubjLimit && c.cfg.DiscardNewPerSubject {
		return ErrMaxMsgsPerSubj
	}
	// At a subject's limit the new message replaces that subject's oldest,
	// so the stream-wide counts do not grow.
	if c.cfg.MaxMsgs > 0 && c.msgs >= uint64(c.cfg.MaxMsgs) && !atSubjLimit {
		return ErrMaxMsgs
	}
	size := c.sizeOf(len(cmd.Subject), len(cmd.Header), len(cmd.Data))
	if c.cfg.MaxBytes > 0 && c.bytes+size > uint64(c.cfg.MaxBytes) {
		if !atSubjLimit {
			return ErrMaxBytes
		}
		var old msgMeta
		err := c.be.peek(c.exactFirst(cmd.Subject, ss), &old)
		if err != nil || c.sizeOf(len(old.subj), old.hlen, old.dlen) < size {
			return ErrMaxBytes
		}
	}
	return nil
}

// maxPayload bounds one header or payload so a record length always fits
// the on-disk framing.
const maxPayload = 1 << 30

// apply executes a checked command.
func (c *core) apply(cmd *Command) Result {
	if cmd.Index != 0 {
		c.applied = cmd.Index
	} else {
		c.applied++
	}
	var r Result
	switch cmd.Op {
	case OpStore:
		r = c.storeMsg(cmd)
	case OpRemove, OpErase:
		if c.removeMsg(cmd.Seq, cmd.Op == OpErase) {
			r.Removed = 1
		}
		r.Seq = cmd.Seq
	case OpPurge:
		r.Removed = c.purge(cmd.Subject, cmd.Seq, cmd.Keep)
		r.Seq = c.first
	case OpCompact:
		r.Removed = c.compact(cmd.Seq)
		r.Seq = c.first
	case OpTruncate:
		r.Removed = c.truncate(cmd.Seq)
		r.Seq = c.last
	case OpExpire:
		r.Removed = c.expire(cmd.Time)
		r.Seq = c.first
	case OpSkip:
		c.skip(cmd.Seq)
		if cmd.Time != 0 {
			c.lastTs = cmd.Time
		}
		r.Seq = c.last
	case OpConfig:
		r.Removed = c.setConfig(*cmd.Config)
	case OpSetAux:
		if len(cmd.Data) == 0 {
			delete(c.aux, cmd.Key)
		} else {
			c.aux[cmd.Key] = append([]byte(nil), cmd.Data...)
		}
	}
	// Damage the command came across (a removal over a damaged message, a
	// scan reading a damaged block) leaves the counts as they were for
	// the messages it could not read: absorbing it now makes them exact.
	c.settleDamage()
	return r
}

func (c *core) settleDamage() bool { return c.settle != nil && c.settle() }

// live reports whether seq holds a live message.
func (c *core) live(seq uint64) bool {
	return seq >= c.first && seq <= c.last && c.be.nextLive(seq, seq) == seq
}

// nextFirst is the first live sequence at or after from, or last+1 when
// there is none (with damage not yet absorbed the counts may still say
// otherwise; absorbing fixes them).
func (c *core) nextFirst(from uint64) uint64 {
	if n := c.be.nextLive(from, c.last); n != 0 {
		return n
	}
	return c.last + 1
}

func (c *core) storeMsg(cmd *Command) Result {
	seq := c.last + 1
	ts := cmd.Time
	c.be.store(seq, ts, cmd.TTL, cmd.Subject, cmd.Header, cmd.Data)
	if c.msgs == 0 {
		c.first = seq
	}
	c.last, c.lastTs = seq, ts
	c.msgs++
	c.bytes += c.sizeOf(len(cmd.Subject), len(cmd.Header), len(cmd.Data))
	c.subjs.AddMsg(cmd.Subject, seq)
	if c.cfg.AllowMsgTTL && cmd.TTL > 0 {
		c.ttls.push(ts+cmd.TTL, seq)
	}
	r := Result{Seq: seq, Time: ts}
	r.Removed = c.enforceLimits(cmd.Subject)
	return r
}

// removeMsg removes the live message seq, keeping every count and the
// subject index exact. It reports false when seq is not live.
func (c *core) removeMsg(seq uint64, erase bool) bool {
	m := &c.peeked
	if err := c.be.peek(seq, m); err != nil {
		// Lost to damage: once absorbed it is gone, which is what the
		// removal wanted. Its subject went with its record. (A damage
		// error means seq was live: absorbing it counts as its removal
		// even when the first sequence moved past it, which forgets it
		// as lost.)
		absorbed := isDamage(err) && c.settleDamage()
		if !c.live(seq) && (c.be.takeLost(seq) || absorbed) {
			if c.onRemove != nil {
				c.onRemove(seq, "")
			}
			return true
		}
		return false
	}
	c.unaccount(m)
	c.be.remove(m, erase)
	if c.msgs == 0 {
		c.first = c.last + 1
		c.be.trim(c.first)
	} else if seq == c.first {
		c.first = c.nextFirst(seq + 1)
		c.be.trim(c.first)
	}
	if c.onRemove != nil {
		c.onRemove(seq, m.subj)
	}
	return true
}

// unaccount takes a message out of the counts and the subject index before
// the backend forgets it.
func (c *core) unaccount(m *msgMeta) {
	c.msgs--
	c.bytes -= c.sizeOf(len(m.subj), m.hlen, m.dlen)
	c.subjs.RemoveMsg(m.subj, m.seq)
}

func (c *core) skip(seq uint64) {
	if seq == 0 {
		seq = c.last + 1
	}
	c.be.skip(c.last+1, seq, c.msgs > 0)
	c.last = seq
	if c.msgs == 0 {
		c.first = seq + 1
		c.be.trim(c.first)
	}
}

// purge removes messages matching subject (all when empty) below seq
// (exclusive, 0: no bound), keeping the newest keep of them.
func (c *core) purge(subject string, seq, keep uint64) uint64 {
	if seq == 1 {
		return 0
	}
	if isAll(subject) {
		if keep == 0 && seq == 0 {
			return c.purgeAll(c.last + 1)
		}
		if keep == 0 {
			return c.compact(seq)
		}
	}
	fs := c.filtered(1, subject)
	if fs.Msgs == 0 {
		return 0
	}
	var quota uint64
	if keep > 0 {
		if keep >= fs.Msgs {
			return 0
		}
		quota = fs.Msgs - keep
	}
	last := fs.Last
	if seq > 0 && seq <= last {
		last = seq - 1
	}
	var purged uint64
	lit := isLiteral(subject) && !isAll(subject)
	// Collect first: removing while scanning would change the blocks.
	var seqs []uint64
	c.be.scan(fs.First, last, func(s uint64, subj string) bool {
		if (lit && subj == subject) || (!lit && subjectMatches(subj, subject)) {
			seqs = append(seqs, s)
			if quota > 0 && uint64(len(seqs)) >= quota {
				return false
			}
		}
		return true
	})
	if quota > 0 && c.be.damaged() {
		seqs = c.keepOverDamage(subject, quota, fs.Msgs, last, seqs)
	}
	for _, s := range seqs {
		if c.removeMsg(s, false) {
			purged++
		}
	}
	return purged
}

// keepOverDamage corrects the messages a purge keeping the newest ones
// removes (seqs, the first quota matching messages with a readable
// record, up to last) when the stream still counts messages lost to
// damage. The quota counted such a message when its subject matched, as
// the command did when first applied (recovery replays it over damage
// found since), but the scan found no record of it: taking a readable
// message in its place would remove one message too many, an
// acknowledged one. So a lost message takes its own place among those
// removed (absorbing it is its removal), and the same messages as without
// the damage go. total is what the quota was computed from.
func (c *core) keepOverDamage(subject string, quota, total, last uint64, seqs []uint64) []uint64 {
	to := last
	if uint64(len(seqs)) >= quota {
		to = seqs[len(seqs)-1]
	}
	lost := c.lostIn(c.first, to)
	if len(lost) == 0 {
		return seqs // the damage lies among the kept: it changes nothing here
	}
	// Which lost messages matched is told by the counts absorbing them
	// takes off: when they all did (or none did) that settles it; when
	// some did, which ones is unknown and they are left to count as
	// removed by nothing (rare: several messages lost at once).
	msgs := c.msgs
	if !c.settleDamage() {
		return seqs
	}
	absorbed, matched := msgs-c.msgs, total-c.filtered(1, subject).Msgs
	if matched == 0 || matched != absorbed {
		return seqs
	}
	out := seqs[:0]
	for i, n := 0, uint64(0); i < len(seqs) && n < quota; n++ {
		if len(lost) > 0 && lost[0] < seqs[i] {
			lost = lost[1:] // gone already
			continue
		}
		out = append(out, seqs[i])
		i++
	}
	return out
}

// lostIn lists the live sequences in [from, to] that have no readable
// record: messages lost to damage that the counts still hold. It looks
// up each message: only for when damage is pending (be.damaged).
func (c *core) lostIn(from, to uint64) []uint64 {
	var out []uint64
	for q := c.be.nextLive(from, to); q != 0; q = c.be.nextLive(q+1, to) {
		if c.be.subject(q) == "" {
			out = append(out, q)
		}
		if q == to {
			break
		}
	}
	return out
}

// purgeAll empties the stream; the next message gets sequence next.
func (c *core) purgeAll(next uint64) uint64 {
	n := c.msgs
	if n > 0 {
		c.be.dropRange(c.first, c.last)
	}
	c.msgs, c.bytes = 0, 0
	c.subjs = new(index.Tree)
	c.ttls.reset()
	if next > c.last+1 {
		c.be.skip(c.last+1, next-1, false)
		c.last = next - 1
	}
	c.first = c.last + 1
	c.be.trim(c.first)
	if n > 0 && c.onRemove != nil {
		c.onRemove(0, "")
	}
	return n
}

// compact removes everything below seq.
func (c *core) compact(seq uint64) uint64 {
	if seq == 0 {
		return c.purgeAll(c.last + 1)
	}
	if seq <= c.first {
		return 0
	}
	if seq > c.last {
		return c.purgeAll(seq)
	}
	return c.dropWalk(c.first, seq-1, true)
}

// truncate removes everything above seq; seq 0 resets the stream to empty
// with no sequence used.
func (c *core) truncate(seq uint64) uint64 {
	if seq >= c.last {
		return 0
	}
	var n uint64
	if c.msgs > 0 {
		n = c.dropWalk(max(seq+1, c.first), c.last, false)
	}
	c.be.truncate(seq + 1)
	if c.ageFrom.Load() > seq+1 {
		c.ageFrom.Store(seq + 1)
	}
	if err := c.be.peek(seq, &c.peeked); err == nil {
		c.lastTs = c.peeked.ts
	}
	c.last = seq
	if seq == 0 {
		c.lastTs = 0
	}
	if c.msgs == 0 {
		c.first = c.last + 1
		c.be.trim(c.first)
	}
	return n
}

// dropWalk removes every live message in [from, to] with one backend range
// drop, visiting each to keep the subject index exact.
func (c *core) dropWalk(from, to uint64, front bool) uint64 {
	var n uint64
	for s := c.be.nextLive(from, to); s != 0; s = c.be.nextLive(s+1, to) {
		m := &c.peeked
		if err := c.be.peek(s, m); err != nil {
			continue
		}
		c.unaccount(m)
		c.be.forget(m)
		n++
		if c.onRemove != nil {
			c.onRemove(s, m.subj)
		}
		if s == to {
			break
		}
	}
	if front {
		c.be.dropRange(from, to)
		if c.msgs == 0 {
			c.first = c.last + 1
		} else {
			c.first = c.nextFirst(to + 1)
		}
		c.be.trim(c.first)
	}
	return n
}

// firstTime is the timestamp of the first live message (0 when empty).
func (c *core) firstTime() int64 {
	var m msgMeta
	if c.msgs == 0 || c.be.peek(c.first, &m) != nil {
		return 0
	}
	return m.ts
}

func (c *core) state(withDeleted bool) State {
	st := State{
		Msgs:        c.msgs,
		Bytes:       c.bytes,
		FirstSeq:    c.first,
		LastSeq:     c.last,
		NumSubjects: c.subjs.Len(),
		LastApplied: c.applied,
	}
	if ft := c.firstTime(); ft != 0 {
		st.FirstTime = time.Unix(0, ft).UTC()
	}
	if c.lastTs != 0 {
		st.LastTime = time.Unix(0, c.lastTs).UTC()
	}
	if c.msgs > 0 {
		st.NumDeleted = int(c.last - c.first + 1 - c.msgs)
	}
	if withDeleted && st.NumDeleted > 0 {
		st.Deleted = make([]uint64, 0, st.NumDeleted)
		for s := c.first; s <= c.last; {
			n := c.be.nextLive(s, c.last)
			if n == 0 {
				n = c.last + 1
			}
			for ; s < n; s++ {
				st.Deleted = append(st.Deleted, s)
			}
			s = n + 1
		}
	}
	return st
}
