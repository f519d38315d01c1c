package fuzz

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keelhq/keel/blockstore"
)

// The child reports to the parent in lines of space-separated fields, one
// event per line, written to a pipe (never to the store's disk):
//
//	C <stream>                                   stream created
//	O <stream> <applied> <msgs> <first> <last>   stream opened: its recovered state
//	R <durable>                                  ready: the workload starts
//	I <stream> <command>                         about to apply command (before Apply)
//	T <stream> <idx> <ticket> <seq>              applied, with its ticket and result sequence
//	F <stream> <idx> <reason>                    refused: the command changed nothing
//	A <stream> <idx> <seq> <hash>                durable: message seq stored, payload hash
//	X <stream> <idx> <seq>                       durable: message seq removed
//	K <stream> <idx>                             durable: another command
//	W <ticket>                                   the durable watermark reached ticket
//	E <text>                                     the child failed
//
// An intent is written (one write call) before its Apply starts, so a
// command the store may hold is always known to the parent. Durable lines
// are written only after Engine.Durable() has passed the command's ticket.
// The line a kill cuts short is ignored.

// cmdSpec is one engine command in a form both processes can rebuild
// exactly: payloads are generated from PSeed.
type cmdSpec struct {
	Idx     uint64 // the stream's command index (LastApplied after it)
	Op      blockstore.Op
	Seq     uint64
	Keep    uint64
	Time    int64
	TTL     int64
	Subject string
	Size    int    // payload bytes
	Hdr     bool   // with a header
	PSeed   uint64 // payload seed
	Key     string // aux key
	Cfg     *limits
}

// limits are the configuration fields a workload changes (OpConfig); the
// rest of the configuration stays the stream's.
type limits struct {
	MaxMsgs    int64
	MaxAge     time.Duration
	MaxPerSubj int64
	Discard    blockstore.DiscardPolicy
	TTL        bool
}

func (l *limits) apply(cfg blockstore.Config) blockstore.Config {
	cfg.MaxMsgs, cfg.MaxAge, cfg.MaxMsgsPerSubject = l.MaxMsgs, l.MaxAge, l.MaxPerSubj
	cfg.Discard, cfg.AllowMsgTTL = l.Discard, l.TTL
	return cfg
}

func limitsOf(cfg blockstore.Config) limits {
	return limits{MaxMsgs: cfg.MaxMsgs, MaxAge: cfg.MaxAge, MaxPerSubj: cfg.MaxMsgsPerSubject,
		Discard: cfg.Discard, TTL: cfg.AllowMsgTTL}
}

// command builds the engine command; cfg is the stream's configuration
// (for OpConfig). Index is left zero: the engine numbers commands itself.
func (c *cmdSpec) command(cfg blockstore.Config) *blockstore.Command {
	cmd := &blockstore.Command{Op: c.Op, Seq: c.Seq, Keep: c.Keep, Time: c.Time, TTL: c.TTL,
		Subject: c.Subject, Key: c.Key}
	switch c.Op {
	case blockstore.OpStore:
		cmd.Header, cmd.Data = header(c.PSeed, c.Hdr), payload(c.PSeed, c.Size)
	case blockstore.OpSetAux:
		cmd.Data = payload(c.PSeed, c.Size)
	case blockstore.OpConfig:
		nc := c.Cfg.apply(cfg)
		cmd.Config = &nc
	}
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func undash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// appendSpec appends the fields of c (after "I <stream> ").
func appendSpec(b []byte, c *cmdSpec) []byte {
	b = strconv.AppendUint(b, c.Idx, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(c.Op), 10)
	for _, v := range []uint64{c.Seq, c.Keep} {
		b = append(b, ' ')
		b = strconv.AppendUint(b, v, 10)
	}
	for _, v := range []int64{c.Time, c.TTL} {
		b = append(b, ' ')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, ' ')
	b = append(b, dash(c.Subject)...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(c.Size), 10)
	b = append(b, ' ')
	b = strconv.AppendBool(b, c.Hdr)
	b = append(b, ' ')
	b = strconv.AppendUint(b, c.PSeed, 16)
	b = append(b, ' ')
	b = append(b, dash(c.Key)...)
	b = append(b, ' ')
	if c.Cfg == nil {
		return append(b, '-')
	}
	l := c.Cfg
	return fmt.Appendf(b, "%d,%d,%d,%d,%t", l.MaxMsgs, int64(l.MaxAge), l.MaxPerSubj, l.Discard, l.TTL)
}

var errLine = errors.New("fuzz: bad report line")

// parseSpec parses the fields appendSpec wrote.
func parseSpec(f []string) (*cmdSpec, error) {
	if len(f) != 12 {
		return nil, fmt.Errorf("%w: %d command fields", errLine, len(f))
	}
	var c cmdSpec
	var err error
	u := func(s string, base int) uint64 {
		v, e := strconv.ParseUint(s, base, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	i := func(s string) int64 {
		v, e := strconv.ParseInt(s, 10, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	c.Idx, c.Op, c.Seq, c.Keep = u(f[0], 10), blockstore.Op(u(f[1], 10)), u(f[2], 10), u(f[3], 10)
	c.Time, c.TTL, c.Subject = i(f[4]), i(f[5]), undash(f[6])
	c.Size, c.Hdr, c.PSeed, c.Key = int(i(f[7])), f[8] == "true", u(f[9], 16), undash(f[10])
	if f[11] != "-" {
		p := strings.Split(f[11], ",")
		if len(p) != 5 {
			return nil, fmt.Errorf("%w: config %q", errLine, f[11])
		}
		c.Cfg = &limits{MaxMsgs: i(p[0]), MaxAge: time.Duration(i(p[1])), MaxPerSubj: i(p[2]),
			Discard: blockstore.DiscardPolicy(i(p[3])), TTL: p[4] == "true"}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errLine, err)
	}
	return &c, nil
}

// removes reports whether a durable c names the one message it removed.
func (c *cmdSpec) removes() bool { return c.Op == blockstore.OpRemove || c.Op == blockstore.OpErase }
