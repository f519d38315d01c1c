package blockstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keelhq/keel/wal"
)

// Recovery's last step: the WAL's records after each stream's state are
// applied again (see recover.go for the steps before).

// replayWAL applies the WAL's records to their streams (step 5).
func (e *Engine) replayWAL(byID map[uint64]*fileStream) error {
	from := uint64(0)
	for {
		err := e.wal.Replay(from, func(idx uint64, data []byte) error {
			var wc walCmd
			if isBatch(data) {
				// All of the batch or, when it does not decode, none.
				_, err := decodeBatch(data, func(rec []byte) error {
					if err := decodeCommand(rec, &wc); err != nil {
						return err
					}
					if s := byID[wc.stream]; s != nil {
						s.replayCommand(&wc, idx)
					}
					return nil
				})
				if err != nil {
					e.log.Errorf("blockstore: wal record %d: %v", idx, err)
				}
				return nil
			}
			if err := decodeCommand(data, &wc); err != nil {
				e.log.Errorf("blockstore: wal record %d: %v", idx, err)
				return nil
			}
			if s := byID[wc.stream]; s != nil {
				s.replayCommand(&wc, idx)
			}
			return nil
		})
		var de *wal.DamagedError
		if errors.As(err, &de) {
			e.log.Errorf("blockstore: wal record %d is damaged; the command it held is lost", de.Index)
			from = de.Index + 1
			continue
		}
		if err != nil {
			return fmt.Errorf("blockstore: replay wal: %w", err)
		}
		return nil
	}
}

func (s *fileStream) replayCommand(wc *walCmd, idx uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := &wc.cmd
	if cmd.Index <= s.c.applied {
		return
	}
	name := s.c.cfg.Name
	if wc.ext != nil {
		m, err := s.readExt(wc.ext, cmd.Seq)
		path := filepath.Join(s.dir, blockName(wc.ext.block, 0))
		switch {
		case err == nil:
			cmd.Header, cmd.Data = m.hdr, m.data
		case !errors.Is(err, errNotWritten) && validRecordAfter(path, int64(wc.ext.offset+wc.ext.length)):
			// Its record does not check out, and a valid one follows it:
			// not a write torn by a power cut (that loses a tail) but
			// damage to what was synced. The store still happens, of a
			// message that cannot be read: the commands after it then do
			// what they did (a limit removing the message it made one
			// too many), so the damage costs this message alone.
			s.e.addDamage(Damage{Stream: name, Seq: cmd.Seq, Block: path, Offset: int64(wc.ext.offset)})
			s.be.lostStore = true
			cmd.Header, cmd.Data = lostPayload(wc.ext.hlen), lostPayload(wc.ext.dlen)
		default:
			// Its block write never completed (or was torn at the file's
			// tail): it was never acknowledged. A skip stands for it,
			// keeping its time as the stream's last time.
			s.e.log.Warnf("blockstore: stream %s: message %d was not durable (%v); its sequence is skipped", name, cmd.Seq, err)
			cmd = &Command{Op: OpSkip, Index: cmd.Index, Seq: cmd.Seq, Time: cmd.Time}
		}
	}
	if cmd.Op == OpStore && cmd.Seq > s.c.last+1 {
		s.e.log.Errorf("blockstore: stream %s: messages %d to %d missing from the wal", name, s.c.last+1, cmd.Seq-1)
		s.c.skip(cmd.Seq - 1)
	}
	if err := s.c.check(cmd); err != nil {
		// Every WAL record was applied once. Refused now, its effect is
		// already in the blocks (compaction may have dropped a message whose
		// removal was not yet committed) or was lost with damaged data: the
		// stream still moves past it.
		if (cmd.Op == OpRemove || cmd.Op == OpErase) && (errors.Is(err, ErrDeleted) || errors.Is(err, ErrNotFound)) {
			s.e.log.Debugf("blockstore: stream %s: wal record %d: message %d already gone", name, idx, cmd.Seq)
		} else {
			s.e.log.Errorf("blockstore: stream %s: wal record %d not applied: %v", name, idx, err)
		}
		s.c.applied = max(s.c.applied, cmd.Index)
		s.be.lostStore = false
		s.walLast = idx
		if s.walUncovered == 0 {
			s.walUncovered = idx
		}
		s.dirty = true
		return
	}
	s.be.ext = nil
	s.c.apply(cmd)
	s.be.lostStore = false
	s.walLast = idx
	if s.walUncovered == 0 {
		s.walUncovered = idx
	}
	s.dirty, s.indexDirty = true, true
}

// validRecordAfter reports whether the block file at path holds a valid
// record frame at or after off.
func validRecordAfter(path string, off int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() <= off {
		return false
	}
	raw := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(raw, off); err != nil {
		return false
	}
	for i := nextMarker(raw, 0); i >= 0; i = nextMarker(raw, i+1) {
		if _, err := parseRecord(raw, i); err == nil {
			return true
		}
	}
	return false
}

// lostPayload stands for n bytes of a payload lost to damage: what is
// counted of it is its length (never stored).
func lostPayload(n int) []byte {
	if n == 0 {
		return nil
	}
	return make([]byte, n)
}

// errNotWritten says a large message's record is not (wholly) in its block
// file: the write never completed, so the message was never acknowledged.
var errNotWritten = errors.New("blockstore: record not written")

// readExt reads back a large message from the block position its WAL
// record names, checking it is exactly the record written.
func (s *fileStream) readExt(ext *extRef, seq uint64) (msgView, error) {
	var m msgView
	if ext.length < recMinSize || ext.length > maxRecord {
		return m, fmt.Errorf("%w: record length %d", errBlock, ext.length)
	}
	f, err := os.Open(filepath.Join(s.dir, blockName(ext.block, 0)))
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("%w: block %d: %v", errNotWritten, ext.block, err)
	}
	if err != nil {
		return m, err
	}
	defer f.Close()
	hb := make([]byte, blkHeaderSize)
	if _, err := f.ReadAt(hb, 0); err != nil {
		return m, err
	}
	h, err := decodeBlockHeader(hb)
	if err != nil {
		return m, err
	}
	if h.stream != s.id || h.block != ext.block {
		return m, fmt.Errorf("%w: block header names another block", errBlock)
	}
	codec, err := blockCodec(&h, s.e.key)
	if err != nil {
		return m, err
	}
	// The length comes from disk: allocate only what the file can hold.
	fi, err := f.Stat()
	if err != nil {
		return m, err
	}
	if ext.offset < blkHeaderSize {
		return m, fmt.Errorf("%w: record at %d", errBlock, ext.offset)
	}
	if ext.offset > uint64(fi.Size()) || ext.length > uint64(fi.Size())-ext.offset {
		return m, fmt.Errorf("%w: record at %d+%d beyond the file's %d bytes", errNotWritten, ext.offset, ext.length, fi.Size())
	}
	buf := make([]byte, ext.length)
	if _, err := f.ReadAt(buf, int64(ext.offset)); err != nil {
		return m, err
	}
	r, err := parseRecord(buf, 0)
	if err != nil {
		return m, err
	}
	if r.size != len(buf) || r.seq != seq || r.kind&kindMask != kindMsg ||
		binary.LittleEndian.Uint32(buf[len(buf)-4:]) != ext.crc {
		return m, fmt.Errorf("%w: not the record written", errBlock)
	}
	plain, err := codec.decode(nil, buf, r, ext.offset)
	if err != nil {
		return m, err
	}
	return decodeMsgBody(plain[recHeadSize : len(plain)-4])
}
