package blockstore

import "fmt"

// Atomic batches (Stream.ApplyBatch): several commands applied together,
// all or none. The batch is checked as a whole before anything changes,
// applied in order under one hold of the stream's lock (no reader, no
// checkpoint sees part of it), and logged as one WAL record, so recovery
// replays all of it or none of it: a kill before that record is durable
// loses the whole batch, never a part.
//
// The WAL record of a batch (version 1):
//
//	u8 version (1), u8 op (opBatch), u8 flags (0)
//	uvarint stream id, uvarint command count n
//	n times: uvarint length, then a command record (command.go)
//
// Its commands are numbered (LastApplied) one by one as if applied alone;
// they share the record's ticket.

// opBatch marks a batch record; it is no Op a command may carry.
const opBatch = 0x40

// MaxBatch bounds the commands of one batch.
const MaxBatch = 1 << 16

// checkBatch checks every command of a batch against the state the ones
// before it leave, without changing anything. A batch holds stores and aux
// records: other commands remove messages, which a check cannot foresee
// without applying them. A store that would replace its subject's oldest
// message under DiscardNew with MaxBytes is checked as alone only for the
// first of its subject in the batch, and refused after that when the bytes
// would exceed the limit (a conservative answer where the exact one would
// need the earlier stores applied).
func (c *core) checkBatch(cmds []*Command) error {
	if len(cmds) == 0 || len(cmds) > MaxBatch {
		return fmt.Errorf("%w: %d commands (1 to %d)", ErrBatch, len(cmds), MaxBatch)
	}
	applied, last := c.applied, c.last
	msgs, bytes := c.msgs, c.bytes
	var added map[string]uint64 // stores of the batch per subject, under a per-subject limit
	var replaced map[string]bool
	for i, cmd := range cmds {
		if cmd == nil {
			return fmt.Errorf("%w: command %d missing", ErrBatch, i)
		}
		if cmd.Index != 0 {
			if cmd.Index <= applied {
				return fmt.Errorf("blockstore: batch command %d: index %d not above %d: %w", i, cmd.Index, applied, ErrSequence)
			}
			applied = cmd.Index
		} else {
			applied++
		}
		switch cmd.Op {
		case OpSetAux:
			if err := checkAux(cmd); err != nil {
				return fmt.Errorf("blockstore: batch command %d: %w", i, err)
			}
			continue
		case OpStore:
		default:
			return fmt.Errorf("%w: command %d: op %d (a batch holds stores and aux records)", ErrBatch, i, cmd.Op)
		}
		if err := c.checkStoreFields(cmd, last); err != nil {
			return fmt.Errorf("blockstore: batch command %d: %w", i, err)
		}
		last++
		size := c.sizeOf(len(cmd.Subject), len(cmd.Header), len(cmd.Data))
		grow := true // false: the store replaces its subject's oldest message
		if max := c.cfg.MaxMsgsPerSubject; max > 0 {
			if added == nil {
				added, replaced = make(map[string]uint64), make(map[string]bool)
			}
			n := added[cmd.Subject]
			if ss := c.subjs.Lookup(cmd.Subject); ss != nil {
				n += ss.Msgs
			}
			if n >= uint64(max) {
				if c.cfg.Discard == DiscardNew && c.cfg.DiscardNewPerSubject {
					return fmt.Errorf("blockstore: batch command %d: %w", i, ErrMaxMsgsPerSubj)
				}
				grow = false
			} else {
				added[cmd.Subject]++
			}
		}
		if c.cfg.Discard != DiscardNew {
			continue // limits remove old messages: nothing to refuse
		}
		if grow && c.cfg.MaxMsgs > 0 && msgs >= uint64(c.cfg.MaxMsgs) {
			return fmt.Errorf("blockstore: batch command %d: %w", i, ErrMaxMsgs)
		}
		if c.cfg.MaxBytes > 0 && bytes+size > uint64(c.cfg.MaxBytes) {
			if grow || replaced[cmd.Subject] || added[cmd.Subject] > 0 {
				return fmt.Errorf("blockstore: batch command %d: %w", i, ErrMaxBytes)
			}
			var old msgMeta
			ss := c.subjs.Lookup(cmd.Subject)
			if err := c.be.peek(c.exactFirst(cmd.Subject, ss), &old); err != nil ||
				c.sizeOf(len(old.subj), old.hlen, old.dlen) < size {
				return fmt.Errorf("blockstore: batch command %d: %w", i, ErrMaxBytes)
			}
			bytes -= c.sizeOf(len(old.subj), old.hlen, old.dlen)
			replaced[cmd.Subject] = true
		}
		if grow {
			msgs++
		}
		bytes += size
	}
	return nil
}

// applyBatch applies a checked batch, calling logged after each command
// (the file stream encodes it for the WAL there).
func (c *core) applyBatch(cmds []*Command, rs []Result, logged func(i int, cmd *Command, r Result)) {
	for i, cmd := range cmds {
		rs[i] = c.apply(cmd)
		if logged != nil {
			logged(i, cmd, rs[i])
		}
	}
}

// appendBatchHead starts the WAL record of a batch of n commands.
func appendBatchHead(b []byte, stream uint64, n int) []byte {
	b = append(b, cmdVersion, opBatch, 0)
	b = appendUvarint(b, stream)
	return appendUvarint(b, uint64(n))
}

// isBatch reports whether a WAL payload is a batch record.
func isBatch(b []byte) bool { return len(b) >= 2 && b[0] == cmdVersion && b[1] == opBatch }

// decodeBatch calls fn with each command record of a batch record, in
// order, after checking the whole frame: a record that does not parse
// gives an error and no call at all (all or nothing).
func decodeBatch(b []byte, fn func(rec []byte) error) (stream uint64, err error) {
	d := decoder{b: b}
	if v, op, flags := d.u8(), d.u8(), d.u8(); d.err == nil && (v != cmdVersion || op != opBatch || flags != 0) {
		return 0, fmt.Errorf("%w: batch header", errCmd)
	}
	stream = d.uvarint()
	n := d.uvarint()
	if d.err != nil || n == 0 || n > MaxBatch || n > uint64(len(d.b)) {
		return 0, fmt.Errorf("%w: batch of %d commands", errCmd, n)
	}
	recs := make([][]byte, 0, n)
	for i := uint64(0); i < n; i++ {
		rec := d.bytes()
		if d.err != nil || len(rec) == 0 {
			return 0, fmt.Errorf("%w: batch command %d", errCmd, i)
		}
		recs = append(recs, rec)
	}
	if len(d.b) != 0 {
		return 0, fmt.Errorf("%w: trailing bytes after a batch", errCmd)
	}
	var wc walCmd
	for i, rec := range recs {
		if err := decodeCommand(rec, &wc); err != nil {
			return 0, fmt.Errorf("batch command %d: %w", i, err)
		}
		if wc.stream != stream {
			return 0, fmt.Errorf("%w: batch command %d of stream %d in a batch of %d", errCmd, i, wc.stream, stream)
		}
	}
	for _, rec := range recs {
		if err := fn(rec); err != nil {
			return stream, err
		}
	}
	return stream, nil
}
