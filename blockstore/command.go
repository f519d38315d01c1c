package blockstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The command record is what a file stream writes to the shared WAL for each
// applied command (the WAL adds its own framing and checksum):
//
//	u8      format version (cmdVersion)
//	u8      op
//	u8      flags (cmdExternal: payload lives in a block, see below)
//	uvarint stream id
//	uvarint command index (the stream's LastApplied after this command)
//	uvarint seq, varint time, varint ttl, uvarint keep
//	bytes   subject, key, header, data (each uvarint length + bytes)
//	u8      config present, then the config encoding (OpConfig)
//	with cmdExternal: uvarint block id, uvarint file offset, uvarint record
//	length, u32 record CRC — the block record that holds the message —
//	and, with cmdExtSizes (2), the message's header and data lengths
//	(uvarints).
//
// An external (large) store carries no header or data: the message was
// written once, straight into the stream's block file, which is synced
// before the WAL batch holding this record is reported durable.

const (
	cmdVersion  = 1
	cmdExternal = 1 << 0
	// cmdExtSizes: the external pointer is followed by the message's
	// header and data lengths (uvarints), so that a message whose block
	// record is lost to damage still counts its bytes.
	cmdExtSizes = 1 << 1
)

// errCmd wraps every command decoding failure.
var errCmd = errors.New("blockstore: bad command record")

// extRef locates a message written straight into a block file.
type extRef struct {
	block      uint64
	offset     uint64
	length     uint64
	crc        uint32
	hlen, dlen int // the message's header and data lengths (0 when not recorded)
}

// walCmd is a decoded command record.
type walCmd struct {
	stream uint64
	cmd    Command
	ext    *extRef
	extBuf extRef
	cfgBuf Config
}

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeCommand appends the record of cmd (with its final index) to b.
// With ext set the header and data are left out.
func encodeCommand(b []byte, stream, index uint64, cmd *Command, ext *extRef) []byte {
	var flags byte
	if ext != nil {
		flags |= cmdExternal | cmdExtSizes
	}
	b = append(b, cmdVersion, byte(cmd.Op), flags)
	b = appendUvarint(b, stream)
	b = appendUvarint(b, index)
	b = appendUvarint(b, cmd.Seq)
	b = binary.AppendVarint(b, cmd.Time)
	b = binary.AppendVarint(b, cmd.TTL)
	b = appendUvarint(b, cmd.Keep)
	b = appendString(b, cmd.Subject)
	b = appendString(b, cmd.Key)
	if ext != nil {
		b = appendBytes(b, nil)
		b = appendBytes(b, nil)
	} else {
		b = appendBytes(b, cmd.Header)
		b = appendBytes(b, cmd.Data)
	}
	if cmd.Config != nil {
		b = append(b, 1)
		b = encodeConfig(b, cmd.Config)
	} else {
		b = append(b, 0)
	}
	if ext != nil {
		b = appendUvarint(b, ext.block)
		b = appendUvarint(b, ext.offset)
		b = appendUvarint(b, ext.length)
		b = binary.LittleEndian.AppendUint32(b, ext.crc)
		b = appendUvarint(b, uint64(ext.hlen))
		b = appendUvarint(b, uint64(ext.dlen))
	}
	return b
}

// decoder reads the primitive fields of the record formats; the first
// failure sticks and every later read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCmd, what)
	}
}

func (d *decoder) u8() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail("short")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u32() uint32 {
	if d.err != nil || len(d.b) < 4 {
		d.fail("short")
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail("short")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a length-prefixed field aliasing the input.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length beyond record")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	if n == 0 {
		return nil
	}
	return v
}

func (d *decoder) str() string { return string(d.bytes()) }

// decodeCommand parses a command record. Header and Data alias b; strings
// are copied.
func decodeCommand(b []byte, wc *walCmd) error {
	d := decoder{b: b}
	if v := d.u8(); d.err == nil && v != cmdVersion {
		return fmt.Errorf("%w: version %d", errCmd, v)
	}
	*wc = walCmd{}
	c := &wc.cmd
	c.Op = Op(d.u8())
	flags := d.u8()
	wc.stream = d.uvarint()
	c.Index = d.uvarint()
	c.Seq = d.uvarint()
	c.Time = d.varint()
	c.TTL = d.varint()
	c.Keep = d.uvarint()
	c.Subject = d.str()
	c.Key = d.str()
	c.Header = d.bytes()
	c.Data = d.bytes()
	if d.u8() == 1 {
		if err := decodeConfig(&d, &wc.cfgBuf); err != nil {
			return err
		}
		c.Config = &wc.cfgBuf
	}
	if flags&cmdExternal != 0 {
		wc.extBuf = extRef{block: d.uvarint(), offset: d.uvarint(), length: d.uvarint(), crc: d.u32()}
		if flags&cmdExtSizes != 0 {
			h, l := d.uvarint(), d.uvarint()
			if h > maxPayload || l > maxPayload {
				d.fail("payload lengths")
			}
			wc.extBuf.hlen, wc.extBuf.dlen = int(h), int(l)
		}
		wc.ext = &wc.extBuf
	}
	if d.err != nil {
		return d.err
	}
	if c.Op < OpStore || c.Op > OpSetAux || flags&^(cmdExternal|cmdExtSizes) != 0 ||
		(flags&cmdExtSizes != 0 && flags&cmdExternal == 0) {
		return fmt.Errorf("%w: op %d flags %#x", errCmd, c.Op, flags)
	}
	if wc.ext != nil && c.Op != OpStore {
		return fmt.Errorf("%w: external payload on op %d", errCmd, c.Op)
	}
	return nil
}

// encodeConfig appends the binary form of cfg (used by commands, stream
// state files and snapshots).
func encodeConfig(b []byte, cfg *Config) []byte {
	b = append(b, 1) // config encoding version
	b = appendString(b, cfg.Name)
	b = appendUvarint(b, uint64(cfg.Storage))
	b = binary.AppendVarint(b, cfg.MaxMsgs)
	b = binary.AppendVarint(b, cfg.MaxBytes)
	b = binary.AppendVarint(b, int64(cfg.MaxAge))
	b = binary.AppendVarint(b, cfg.MaxMsgsPerSubject)
	b = binary.AppendVarint(b, int64(cfg.MaxMsgSize))
	b = appendUvarint(b, uint64(cfg.Discard))
	var flags uint64
	if cfg.DiscardNewPerSubject {
		flags |= 1
	}
	if cfg.AllowMsgTTL {
		flags |= 2
	}
	b = appendUvarint(b, flags)
	b = appendUvarint(b, uint64(cfg.Compression))
	b = appendUvarint(b, cfg.FirstSeq)
	b = binary.AppendVarint(b, cfg.BlockSize)
	return b
}

func decodeConfig(d *decoder, cfg *Config) error {
	if v := d.u8(); d.err == nil && v != 1 {
		return fmt.Errorf("%w: config version %d", errCmd, v)
	}
	cfg.Name = d.str()
	cfg.Storage = StorageType(d.uvarint())
	cfg.MaxMsgs = d.varint()
	cfg.MaxBytes = d.varint()
	cfg.MaxAge = time.Duration(d.varint())
	cfg.MaxMsgsPerSubject = d.varint()
	mms := d.varint()
	cfg.Discard = DiscardPolicy(d.uvarint())
	flags := d.uvarint()
	cfg.DiscardNewPerSubject = flags&1 != 0
	cfg.AllowMsgTTL = flags&2 != 0
	cfg.Compression = Compression(d.uvarint())
	cfg.FirstSeq = d.uvarint()
	cfg.BlockSize = d.varint()
	if d.err != nil {
		return d.err
	}
	if mms < math.MinInt32 || mms > math.MaxInt32 || cfg.Storage > MemoryStorage ||
		cfg.Discard > DiscardNew || cfg.Compression > S2Compression {
		return fmt.Errorf("%w: config field out of range", errCmd)
	}
	cfg.MaxMsgSize = int32(mms)
	return nil
}
