package server

import (
	"bytes"
	"strconv"

	"github.com/keelhq/keel/server/proto"
)

// Protocol tracing (-V, trace_headers, max_traced_msg_len, trace_verbose)
// in nats-server's format, so that a trace reads the same on both:
//
//	<<- [PUB foo 5]           what the client sent
//	<<- MSG_PAYLOAD: ["hello"]
//	->> [MSG foo 1 5]         what the server delivered
//	->> MSG_PAYLOAD: ["hello"]
//	<-> [DELSUB 1]            a subscription went away
//
// Nothing here runs unless tracing is on.

func (c *client) traceMsgIn(m *proto.Msg, hdrLen int, data []byte) {
	switch {
	case m.HdrLen >= 0 && m.Reply != nil:
		c.Tracef("<<- [HPUB %s %s %d %d]", m.Subject, m.Reply, m.HdrLen, m.Size)
	case m.HdrLen >= 0:
		c.Tracef("<<- [HPUB %s %d %d]", m.Subject, m.HdrLen, m.Size)
	case m.Reply != nil:
		c.Tracef("<<- [PUB %s %s %d]", m.Subject, m.Reply, m.Size)
	default:
		c.Tracef("<<- [PUB %s %d]", m.Subject, m.Size)
	}
	c.traceMsgPayload("<<-", data, hdrLen)
}

// traceInternalPub traces a message the server publishes itself, with
// trace_verbose (nats-server traces its system account's clients then).
func (c *client) traceInternalPub(subject, reply []byte, hdrLen int, data []byte) {
	switch {
	case hdrLen >= 0 && len(reply) > 0:
		c.Tracef("<<- [HPUB %s %s %d %d]", subject, reply, hdrLen, len(data))
	case hdrLen >= 0:
		c.Tracef("<<- [HPUB %s %d %d]", subject, hdrLen, len(data))
	case len(reply) > 0:
		c.Tracef("<<- [PUB %s %s %d]", subject, reply, len(data))
	default:
		c.Tracef("<<- [PUB %s %d]", subject, len(data))
	}
	c.traceMsgPayload("<<-", data, hdrLen)
}

// traceMsgOut traces a delivery to c; payload is what c receives (with
// the header block when withHdr).
func (c *client) traceMsgOut(subject, sid, reply []byte, hdrLen int, payload []byte, withHdr bool) {
	op, hdr := "MSG", ""
	if withHdr {
		op, hdr = "HMSG", strconv.Itoa(hdrLen)+" "
	} else {
		hdrLen = -1
	}
	if len(reply) > 0 {
		c.Tracef("->> [%s %s %s %s %s%d]", op, subject, sid, reply, hdr, len(payload))
	} else {
		c.Tracef("->> [%s %s %s %s%d]", op, subject, sid, hdr, len(payload))
	}
	c.traceMsgPayload("->>", payload, hdrLen)
}

// traceMsgPayload traces a message's bytes as nats-server does: quoted,
// headers included; only the header block (without its blank line) with
// trace_headers; cut at max_traced_msg_len; nothing for an empty message.
func (c *client) traceMsgPayload(dir string, msg []byte, hdrLen int) {
	o := c.srv.getOpts()
	if o.TraceHeaders {
		if hdrLen <= 0 || len(msg) < hdrLen {
			return
		}
		msg = msg[:max(hdrLen-4, 0)]
	}
	if len(msg) == 0 {
		return
	}
	if n := o.MaxTracedMsgLen; n > 0 && len(msg) > n {
		q := strconv.Quote(string(msg[:n]))
		c.Tracef("%s MSG_PAYLOAD: [\"%s...\"]", dir, q[1:len(q)-1])
		return
	}
	c.Tracef("%s MSG_PAYLOAD: [%q]", dir, msg)
}

// traceDelSub traces a subscription leaving, for whatever reason.
func (c *client) traceDelSub(sid []byte) {
	if c.srv.trace.Load() {
		c.Tracef("<-> [DELSUB %s]", sid)
	}
}

// secretKeys are the CONNECT fields whose values never reach the log.
var secretKeys = [][]byte{[]byte(`"pass"`), []byte(`"auth_token"`), []byte(`"sig"`), []byte(`"nkey"`), []byte(`"proxy_sig"`)}

// redactConnect returns CONNECT's JSON as the client sent it, with the
// values of secret fields replaced by [REDACTED]. It works on the bytes
// (not by decoding and encoding again) so that the trace shows the fields
// in the client's order, even for JSON the server then rejects.
func redactConnect(arg []byte) string {
	out := arg
	copied := false
	for _, key := range secretKeys {
		from := 0
		for {
			i := bytes.Index(out[from:], key)
			if i < 0 {
				break
			}
			start, end, ok := jsonValueAfter(out, from+i+len(key))
			if !ok {
				from += i + len(key)
				continue
			}
			if !copied {
				out, copied = bytes.Clone(out), true
			}
			red := append([]byte(nil), out[:start]...)
			red = append(red, "[REDACTED]"...)
			red = append(red, out[end:]...)
			out = red
			from = start + len("[REDACTED]")
		}
	}
	return string(out)
}

// jsonValueAfter finds the value that follows a key ending at i: it skips
// blanks and the colon, and returns the span to replace: the inside of a
// string, or a bare value up to the next comma or brace.
func jsonValueAfter(b []byte, i int) (start, end int, ok bool) {
	skip := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
	}
	skip()
	if i >= len(b) || b[i] != ':' {
		return 0, 0, false
	}
	i++
	skip()
	if i >= len(b) {
		return 0, 0, false
	}
	if b[i] == '"' {
		start = i + 1
		for j := start; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return start, j, true
			}
		}
		return start, len(b), true
	}
	start = i
	for i < len(b) && b[i] != ',' && b[i] != '}' {
		i++
	}
	return start, i, true
}
