package blockstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keelhq/keel/internal/fsutil"
)

// A checkpoint moves what the WAL holds into the blocks and lets the WAL
// go. For every stream changed since the last one:
//
//  1. under the stream's lock: write its buffered records to the active
//     block file and capture its state (applied index, sequences, config,
//     aux records, block position) — the state matches the file content;
//  2. wait until the WAL has committed the stream's last record (a state
//     must never claim commands the WAL might still lose) and sync the
//     block file;
//  3. write the state file (the commit point), and every IndexInterval an
//     index checkpoint;
//  4. remove the block files the state declared dead, cut the ones it
//     declared cut.
//
// Then the WAL is truncated before the oldest record any stream still
// needs: records applied after step 1 hold it back.

func (e *Engine) checkpointLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		case <-e.kick:
		}
		if err := e.checkpoint(false); err != nil {
			e.log.Errorf("blockstore: checkpoint: %v", err)
		}
		e.compactSome()
	}
}

// checkpoint checkpoints every open stream and truncates the WAL; index
// checkpoints too when forceIndex or IndexInterval has passed.
func (e *Engine) checkpoint(forceIndex bool) error {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	withIndex := forceIndex || time.Since(e.lastIndexAt) >= e.opts.IndexInterval
	e.mu.Lock()
	list := make([]*fileStream, 0, len(e.streams))
	for _, s := range e.streams {
		list = append(list, s)
	}
	e.mu.Unlock()
	err := e.checkpointLocked(list, withIndex)
	if withIndex {
		e.lastIndexAt = time.Now()
	}
	if terr := e.truncateWAL(); err == nil {
		err = terr
	}
	return err
}

// ckptWork is one stream's part of a checkpoint.
type ckptWork struct {
	s        *fileStream
	st       *streamState
	walLast  uint64
	sync     *syncFile   // the active block
	retired  []*syncFile // sealed blocks not yet synced: synced and closed
	newFiles bool
	index    []byte
	indexSeq uint64
	erasures []erasure
}

// deadIndexEvery bounds how long retired block files wait for an index
// checkpoint that no longer needs them.
const deadIndexEvery = 10 * time.Second

// checkpointStreams checkpoints the streams in list (and not the WAL).
func (e *Engine) checkpointStreams(list []*fileStream, withIndex bool) error {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	return e.checkpointLocked(list, withIndex)
}

func (e *Engine) checkpointLocked(list []*fileStream, withIndex bool) error {
	var works []*ckptWork
	var walLast uint64
	var errs []error
	for _, s := range list {
		w, err := s.prepareCheckpoint(withIndex)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if w != nil {
			works = append(works, w)
			walLast = max(walLast, w.walLast)
		}
	}
	if walLast > 0 {
		if err := e.wal.Wait(walLast); err != nil {
			return fmt.Errorf("blockstore: checkpoint: %w", err)
		}
	}
	for _, w := range works {
		if err := w.commit(e); err != nil {
			errs = append(errs, err)
			w.s.mu.Lock()
			w.s.dirty = true // try again next time
			w.s.mu.Unlock()
			continue
		}
		w.s.finishCheckpoint(w)
	}
	return errors.Join(errs...)
}

// prepareCheckpoint is step 1; nil when the stream has nothing to do.
func (s *fileStream) prepareCheckpoint(withIndex bool) (*ckptWork, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil
	}
	idx := (withIndex && s.indexDirty) || s.forceIndex
	if !idx && s.indexDirty && s.holdsDead() && time.Since(s.lastIndex) >= deadIndexEvery {
		idx = true
	}
	if !s.dirty && !idx && len(s.be.dead) == 0 && len(s.be.cuts) == 0 {
		s.trimIdle()
		return nil, nil
	}
	if err := s.failed(); err != nil {
		return nil, err
	}
	w := &ckptWork{s: s, walLast: s.walLast}
	if b := s.be.active; b != nil {
		s.be.flushRecords(b) // pending large records: by w.sync.sync()
		w.sync = b.sf
		b.pendingBig = false
	}
	w.retired, s.be.unsynced = s.be.unsynced, nil
	if err := s.failed(); err != nil {
		return nil, err
	}
	s.stateGen++
	w.st = s.stateLocked()
	w.st.gen = s.stateGen
	w.newFiles = s.be.newFiles
	s.be.newFiles = false
	s.walUncovered = 0
	s.dirty = false
	s.eraseRequested = false
	w.erasures, s.pendingErase = s.pendingErase, nil
	if idx {
		b, err := s.encodeIndex(w.st)
		if err != nil {
			s.e.log.Warnf("blockstore: stream %s: index checkpoint: %v", s.c.cfg.Name, err)
		} else {
			s.indexSeq++
			w.index, w.indexSeq = b, s.indexSeq
			s.indexDirty, s.forceIndex = false, false
			s.lastIndex = time.Now()
		}
	}
	return w, nil
}

// stateLocked captures the stream's state file content.
func (s *fileStream) stateLocked() *streamState {
	be := s.be
	st := &streamState{
		id: s.id, name: s.c.cfg.Name, cfg: s.c.cfg, applied: s.c.applied,
		first: s.c.first, last: s.c.last, lastTs: s.c.lastTs,
		nextID: be.nextID, epoch: s.epoch, aux: s.c.auxCopy(),
		dead: append([]deadBlock(nil), be.dead...),
		cuts: append([]blockCut(nil), be.cuts...),
	}
	if n := len(be.blocks); n > 0 {
		b := be.blocks[n-1]
		st.activeID, st.activeEnd = b.id, b.size
	}
	return st
}

// commit is steps 2 and 3.
func (w *ckptWork) commit(e *Engine) error {
	s := w.s
	for _, f := range w.retired {
		if err := f.close(); err != nil {
			return fmt.Errorf("blockstore: checkpoint %s: sync block: %w", w.st.name, err)
		}
	}
	if w.sync != nil {
		if err := w.sync.sync(); err != nil {
			return fmt.Errorf("blockstore: checkpoint %s: sync block: %w", w.st.name, err)
		}
	}
	if w.newFiles {
		if err := fsutil.SyncDir(s.dir); err != nil {
			return fmt.Errorf("blockstore: checkpoint %s: %w", w.st.name, err)
		}
	}
	if err := writeState(s.dir, w.st, e.key); err != nil {
		return err
	}
	if w.index != nil {
		if err := fsutil.WriteFileAtomic(s.dir, indexFileName, w.index, 0o640); err != nil {
			e.log.Warnf("blockstore: stream %s: write index checkpoint: %v", w.st.name, err)
		} else {
			s.mu.Lock()
			s.indexWritten = max(s.indexWritten, w.indexSeq)
			s.mu.Unlock()
		}
	}
	return nil
}

// holdsDead reports whether retired block files wait for an index
// checkpoint.
func (s *fileStream) holdsDead() bool {
	for _, d := range s.be.dead {
		if d.needIndex > s.indexWritten {
			return true
		}
	}
	return false
}

// finishCheckpoint is step 4, unless a snapshot is reading the files:
// then erasures wait for it and removals for a later checkpoint.
func (s *fileStream) finishCheckpoint(w *ckptWork) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committedActive, s.committedFirst = w.st.activeID, w.st.first
	if s.snapshots > 0 {
		s.deferredErase = append(s.deferredErase, w.erasures...)
		return
	}
	for _, er := range w.erasures {
		s.be.eraseFile(er.block, er.seq)
	}
	if len(w.st.dead) == 0 && len(w.st.cuts) == 0 {
		return
	}
	var gone []deadBlock
	for _, d := range w.st.dead {
		if d.needIndex > s.indexWritten {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, blockName(d.id, d.gen))); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.e.log.Warnf("blockstore: remove block: %v", err)
		}
		gone = append(gone, d)
	}
	w.st.dead = gone
	for _, c := range w.st.cuts {
		if err := cutBlock(filepath.Join(s.dir, blockName(c.id, c.gen)), c.end); err != nil {
			s.e.log.Warnf("blockstore: cut block: %v", err)
		}
	}
	fsutil.SyncDir(s.dir)
	s.be.dead = removeDead(s.be.dead, w.st.dead)
	s.be.cuts = removeDone(s.be.cuts, w.st.cuts)
	s.dirty = true // the next state forgets them
}

// removeDead drops the removed blocks from the dead list.
func removeDead(list, done []deadBlock) []deadBlock {
	out := list[:0]
	for _, x := range list {
		found := false
		for _, d := range done {
			if d.id == x.id && d.gen == x.gen {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

func removeDone[T comparable](list, done []T) []T {
	out := list[:0]
	for _, x := range list {
		found := false
		for _, d := range done {
			if d == x {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// cutBlock truncates a block file to end (when longer) and syncs it.
func cutBlock(path string, end int64) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Size() <= end {
		return nil
	}
	if err := os.Truncate(path, end); err != nil {
		return err
	}
	return fsutil.SyncPath(path)
}

// truncateWAL drops the WAL records every stream has checkpointed.
func (e *Engine) truncateWAL() error {
	target := e.wal.LastIndex() + 1
	e.mu.Lock()
	for _, s := range e.streams {
		s.mu.RLock()
		if u := s.walUncovered; u != 0 && u < target {
			target = u
		}
		s.mu.RUnlock()
	}
	e.mu.Unlock()
	if c := e.wal.Committed(); target > c+1 {
		target = c + 1
	}
	if target <= e.wal.FirstIndex() {
		return nil
	}
	if err := e.wal.TruncateFront(target); err != nil {
		return fmt.Errorf("blockstore: truncate wal: %w", err)
	}
	e.walBytes.Store(0)
	return nil
}
