package blockstore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"
)

// A snapshot is a self-contained, versioned stream of checksummed frames:
//
//	"KEELSNAP"  u16 version (1)  u16 flags (0)
//	frames: u8 type, u32 payload length, payload, u32 CRC32C of type|length|payload
//	  1 meta  config encoding, u64 first, u64 last, i64 last time,
//	          u64 last applied, u64 message count
//	  2 aux   uvarint key length, key, value (rest of the payload)
//	  3 msg   u64 seq, i64 time, i64 ttl, uvarint subject length, subject,
//	          uvarint header length, header, data (rest)
//	  4 end   u64 message count, u64 aux count
//
// Frames come in that order (meta, aux..., msg... by increasing sequence,
// end); a reader rejects anything else and checks the end frame's counts
// against the frames read, so a truncated or spliced snapshot never
// restores as a smaller stream. The meta frame's count may exceed the
// messages written when some were found lost to damage while writing.

const (
	snapVersion = 1
	frameMeta   = 1
	frameAux    = 2
	frameMsg    = 3
	frameEnd    = 4
	// maxFrame bounds one frame: a message of maxPayload header and data.
	maxFrame = 2*maxPayload + 1<<17
)

var snapMagic = [8]byte{'K', 'E', 'E', 'L', 'S', 'N', 'A', 'P'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapMeta is the stream-level part of a snapshot.
type snapMeta struct {
	cfg     Config
	first   uint64
	last    uint64
	lastTs  int64
	applied uint64
	msgs    uint64
}

// snapImage is a consistent point-in-time view a stream hands to
// writeSnapshot; each visits the messages in sequence order. state is the
// stream's state when it was taken; writeSnapshot counts what it wrote
// into msgs and bytes (sizeOf is the stream's byte accounting).
type snapImage struct {
	meta   snapMeta
	aux    map[string][]byte
	each   func(fn func(sm *StoreMsg) error) error
	state  State
	sizeOf func(subj, hdr, data int) uint64
	msgs   uint64
	bytes  uint64
}

// snapState is the state a written snapshot holds.
func (img *snapImage) snapState() State {
	st := img.state
	st.Msgs, st.Bytes = img.msgs, img.bytes
	if st.Msgs > 0 {
		st.NumDeleted = int(st.LastSeq - st.FirstSeq + 1 - st.Msgs)
	}
	return st
}

// filterAux drops the aux records whose key starts with one of prefixes.
func filterAux(aux map[string][]byte, prefixes []string) {
	for k := range aux {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				delete(aux, k)
				break
			}
		}
	}
}

// image captures the core's state for a snapshot; the caller supplies the
// message walk.
func (c *core) meta() snapMeta {
	return snapMeta{cfg: c.cfg, first: c.first, last: c.last, lastTs: c.lastTs, applied: c.applied, msgs: c.msgs}
}

func (c *core) auxCopy() map[string][]byte {
	m := make(map[string][]byte, len(c.aux))
	for k, v := range c.aux {
		m[k] = v // values are replaced, never changed in place
	}
	return m
}

// image of a memory stream: messages are immutable once stored, so copying
// the slices gives a stable view.
func (c *core) image() *snapImage {
	b := c.be.(*memBackend)
	seqs := append([]uint64(nil), b.seqs...)
	msgs := append([]*memMsg(nil), b.msgs...)
	live := append(bitmap(nil), b.live...)
	return &snapImage{meta: c.meta(), aux: c.auxCopy(), state: c.state(false), sizeOf: c.sizeOf, each: func(fn func(*StoreMsg) error) error {
		var sm StoreMsg
		for i, m := range msgs {
			if !live.has(uint64(i)) || m == nil {
				continue
			}
			sm = StoreMsg{Subject: m.subj, Header: m.buf[:m.hlen], Data: m.buf[m.hlen:], Seq: seqs[i], Time: m.ts, TTL: m.ttl}
			if err := fn(&sm); err != nil {
				return err
			}
		}
		return nil
	}}
}

type frameWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (fw *frameWriter) frame(typ byte, payload []byte) error {
	var h [5]byte
	h[0] = typ
	binary.LittleEndian.PutUint32(h[1:], uint32(len(payload)))
	crc := crc32.Update(crc32.Checksum(h[:], castagnoli), castagnoli, payload)
	fw.w.Write(h[:])
	fw.w.Write(payload)
	var t [4]byte
	binary.LittleEndian.PutUint32(t[:], crc)
	_, err := fw.w.Write(t[:])
	return err
}

// writeSnapshot writes img to w in the snapshot format.
func writeSnapshot(w io.Writer, img *snapImage) error {
	fw := &frameWriter{w: bufio.NewWriterSize(w, 256<<10)}
	var hdr [12]byte
	copy(hdr[:], snapMagic[:])
	binary.LittleEndian.PutUint16(hdr[8:], snapVersion)
	if _, err := fw.w.Write(hdr[:]); err != nil {
		return fmt.Errorf("blockstore: snapshot: %w", err)
	}
	m := &img.meta
	b := encodeConfig(fw.buf[:0], &m.cfg)
	b = binary.LittleEndian.AppendUint64(b, m.first)
	b = binary.LittleEndian.AppendUint64(b, m.last)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.lastTs))
	b = binary.LittleEndian.AppendUint64(b, m.applied)
	b = binary.LittleEndian.AppendUint64(b, m.msgs)
	if err := fw.frame(frameMeta, b); err != nil {
		return fmt.Errorf("blockstore: snapshot: %w", err)
	}
	keys := make([]string, 0, len(img.aux))
	for k := range img.aux {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = appendString(b[:0], k)
		b = append(b, img.aux[k]...)
		if err := fw.frame(frameAux, b); err != nil {
			return fmt.Errorf("blockstore: snapshot: %w", err)
		}
	}
	var n uint64
	err := img.each(func(sm *StoreMsg) error {
		b = binary.LittleEndian.AppendUint64(b[:0], sm.Seq)
		b = binary.LittleEndian.AppendUint64(b, uint64(sm.Time))
		b = binary.LittleEndian.AppendUint64(b, uint64(sm.TTL))
		b = appendString(b, sm.Subject)
		b = appendBytes(b, sm.Header)
		b = append(b, sm.Data...)
		n++
		img.msgs++
		if img.sizeOf != nil {
			img.bytes += img.sizeOf(len(sm.Subject), len(sm.Header), len(sm.Data))
		}
		return fw.frame(frameMsg, b)
	})
	if err != nil {
		return fmt.Errorf("blockstore: snapshot: %w", err)
	}
	b = binary.LittleEndian.AppendUint64(b[:0], n)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(keys)))
	if err := fw.frame(frameEnd, b); err != nil {
		return fmt.Errorf("blockstore: snapshot: %w", err)
	}
	if err := fw.w.Flush(); err != nil {
		return fmt.Errorf("blockstore: snapshot: %w", err)
	}
	return nil
}

// snapSink receives a snapshot's content while it is read.
type snapSink interface {
	meta(m *snapMeta) error
	aux(key string, val []byte) error
	msg(sm *StoreMsg) error
}

// readSnapshot parses a snapshot from r into sink, checking every frame,
// the frame order and the final counts. Memory grows only with the bytes
// actually read, whatever lengths the input claims.
func readSnapshot(r io.Reader, sink snapSink) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return fmt.Errorf("%w: header: %v", ErrSnapshot, err)
	}
	if !bytes.Equal(hdr[:8], snapMagic[:]) {
		return fmt.Errorf("%w: not a Keel snapshot", ErrSnapshot)
	}
	if v := binary.LittleEndian.Uint16(hdr[8:]); v != snapVersion {
		return fmt.Errorf("%w: version %d not supported", ErrSnapshot, v)
	}
	var (
		payload  bytes.Buffer
		state    = frameMeta
		msgs     uint64
		auxes    uint64
		lastSeq  uint64
		metaLast uint64
		metaMsgs uint64
	)
	for {
		var fh [5]byte
		if _, err := io.ReadFull(br, fh[:]); err != nil {
			return fmt.Errorf("%w: frame header: %v", ErrSnapshot, err)
		}
		typ, n := fh[0], binary.LittleEndian.Uint32(fh[1:])
		if n > maxFrame {
			return fmt.Errorf("%w: frame of %d bytes", ErrSnapshot, n)
		}
		payload.Reset()
		if _, err := io.CopyN(&payload, br, int64(n)); err != nil {
			return fmt.Errorf("%w: frame payload: %v", ErrSnapshot, err)
		}
		var tr [4]byte
		if _, err := io.ReadFull(br, tr[:]); err != nil {
			return fmt.Errorf("%w: frame checksum: %v", ErrSnapshot, err)
		}
		p := payload.Bytes()
		if crc32.Update(crc32.Checksum(fh[:], castagnoli), castagnoli, p) != binary.LittleEndian.Uint32(tr[:]) {
			return fmt.Errorf("%w: frame checksum mismatch", ErrSnapshot)
		}
		d := decoder{b: p}
		switch {
		case typ == frameMeta && state == frameMeta:
			var m snapMeta
			if err := decodeConfig(&d, &m.cfg); err != nil {
				return fmt.Errorf("%w: meta: %v", ErrSnapshot, err)
			}
			m.first, m.last, m.lastTs = d.u64(), d.u64(), int64(d.u64())
			m.applied, m.msgs = d.u64(), d.u64()
			if d.err != nil || len(d.b) != 0 || m.first == 0 || m.first > m.last+1 {
				return fmt.Errorf("%w: meta frame", ErrSnapshot)
			}
			metaLast, metaMsgs = m.last, m.msgs
			lastSeq = m.first - 1
			if err := sink.meta(&m); err != nil {
				return err
			}
			state = frameAux
		case typ == frameAux && state == frameAux:
			key := d.str()
			if d.err != nil || key == "" || len(key) > maxAuxKey || len(d.b) == 0 {
				return fmt.Errorf("%w: aux frame", ErrSnapshot)
			}
			auxes++
			if err := sink.aux(key, d.b); err != nil {
				return err
			}
		case typ == frameMsg && (state == frameAux || state == frameMsg):
			state = frameMsg
			var sm StoreMsg
			sm.Seq, sm.Time, sm.TTL = d.u64(), int64(d.u64()), int64(d.u64())
			subj := d.bytes()
			sm.Header = d.bytes()
			sm.Data = d.b
			if d.err != nil || len(subj) == 0 || len(subj) > maxSubjectLen ||
				sm.Seq <= lastSeq || sm.Seq > metaLast || len(sm.Data) > maxPayload {
				return fmt.Errorf("%w: message frame", ErrSnapshot)
			}
			sm.Subject = string(subj)
			lastSeq = sm.Seq
			msgs++
			if err := sink.msg(&sm); err != nil {
				return err
			}
		case typ == frameEnd && state != frameMeta:
			n, a := d.u64(), d.u64()
			// The meta frame's count is what the stream counted when the
			// snapshot began; messages found lost to damage while it was
			// written are left out, so it may hold fewer, never more.
			if d.err != nil || len(d.b) != 0 || n != msgs || a != auxes || msgs > metaMsgs {
				return fmt.Errorf("%w: counts do not match (%d messages, %d aux records read)", ErrSnapshot, msgs, auxes)
			}
			return nil
		default:
			return fmt.Errorf("%w: frame type %d out of order", ErrSnapshot, typ)
		}
	}
}

// coreSink rebuilds a core from a snapshot.
type coreSink struct{ c *core }

func (s *coreSink) meta(m *snapMeta) error { return s.c.restoreMeta(m) }

func (s *coreSink) aux(key string, val []byte) error {
	s.c.aux[key] = append([]byte(nil), val...)
	return nil
}

func (s *coreSink) msg(sm *StoreMsg) error { s.c.restoreMsg(sm); return nil }

func (c *core) restoreMeta(m *snapMeta) error {
	cfg := m.cfg
	cfg.Name, cfg.Storage = c.cfg.Name, c.cfg.Storage
	c.cfg = cfg
	if m.first-1 > c.last {
		c.be.skip(c.last+1, m.first-1, false)
	}
	c.first, c.last = m.first, m.first-1
	c.ageFrom.Store(0)
	c.restoreEnd = *m
	return nil
}

// restoreMsg stores a snapshot message without applying limits: the
// snapshot already reflects them.
func (c *core) restoreMsg(sm *StoreMsg) {
	if sm.Seq > c.last+1 {
		c.be.skip(c.last+1, sm.Seq-1, c.msgs > 0)
	}
	c.be.store(sm.Seq, sm.Time, sm.TTL, sm.Subject, sm.Header, sm.Data)
	if c.msgs == 0 {
		c.first = sm.Seq
	}
	c.last, c.lastTs = sm.Seq, sm.Time
	c.msgs++
	c.bytes += c.sizeOf(len(sm.Subject), len(sm.Header), len(sm.Data))
	c.subjs.AddMsg(sm.Subject, sm.Seq)
}

// finishRestore sets what only the end of a snapshot tells.
func (c *core) finishRestore() {
	m := c.restoreEnd
	if m.last > c.last {
		c.be.skip(c.last+1, m.last, c.msgs > 0)
	}
	c.last, c.lastTs, c.applied = m.last, m.lastTs, m.applied
	if c.msgs == 0 {
		c.first = c.last + 1
	}
	if c.cfg.AllowMsgTTL {
		c.indexTTLs()
	}
}
