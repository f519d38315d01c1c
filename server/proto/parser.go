package proto

import "bytes"

type state uint8

const (
	sStart   state = iota
	sVerb          // matching the rest of a verb's letters
	sP             // after 'P': PUB, PING or PONG
	sNeedSpc       // verb done, a space or tab must follow
	sSpc           // skipping blanks before the argument
	sArg           // reading the argument line up to '\n'
	sSkip          // PING/PONG/+OK: ignore the rest of the line
	sPayload       // reading a split payload into msgBuf
)

type op uint8

const (
	opNone op = iota
	opConnect
	opInfo
	opPub
	opHPub
	opMsg
	opHMsg
	opSub
	opUnsub
	opPing
	opPong
	opOK
	opErr
)

var verbs = [...]string{
	opConnect: "CONNECT", opInfo: "INFO", opPub: "PUB", opHPub: "HPUB",
	opMsg: "MSG", opHMsg: "HMSG", opSub: "SUB", opUnsub: "UNSUB",
	opPing: "PING", opPong: "PONG", opOK: "+OK", opErr: "-ERR",
}

// Parser is the protocol state machine for one connection. The zero value
// is a server-mode parser with no limits; set the exported fields before
// the first Parse. It is not safe for concurrent use.
type Parser struct {
	// MaxControlLine bounds a control line (0: unlimited).
	MaxControlLine int
	// MaxPayload bounds an announced message size (0: unlimited).
	MaxPayload int
	// RequireConnect rejects any first command other than CONNECT with
	// ErrAuthRequired. The handler clears it once a CONNECT is accepted.
	RequireConnect bool
	// Headers accepts HPUB (server mode); the server sets it once a
	// CONNECT asked for headers. Without it HPUB fails with
	// ErrHeadersNotSupported, as in the reference.
	Headers bool

	mode  Mode
	h     Handler
	state state
	op    op
	vi    int // letters of the verb matched so far

	// argBuf holds a control line that spans reads (and, once its payload
	// spans reads, the control line the pending message's slices point
	// into). argSplit says whether it is in use.
	argBuf   []byte
	argSplit bool
	msg      Msg
	msgBuf   []byte
	scratch  [4][]byte
}

// maxKeptBuf is the largest scratch buffer kept between messages; larger
// ones (from a rare big split payload) are released.
const maxKeptBuf = 64 * 1024

// New returns a parser in the given mode calling h.
func New(mode Mode, h Handler) *Parser { return &Parser{mode: mode, h: h} }

// Reset forgets any partial command, ready for a new connection.
func (p *Parser) Reset() {
	p.state, p.op, p.vi = sStart, opNone, 0
	p.argBuf, p.argSplit, p.msgBuf = p.argBuf[:0], false, nil
}

// Parse consumes one read. It returns the first error from the protocol
// or the handler; the connection should then be closed.
func (p *Parser) Parse(buf []byte) error {
	as := 0 // start of the argument in buf when it began in this read
	for i := 0; i < len(buf); i++ {
		b := buf[i]
		switch p.state {
		case sStart:
			if p.RequireConnect && b != 'C' && b != 'c' {
				return ErrAuthRequired
			}
			p.vi = 1
			p.state = sVerb
			switch b | 0x20 { // lower-case letters; '+'/'-' unchanged below
			case 'c':
				p.op = opConnect
			case 'i':
				p.op = opInfo
			case 's':
				p.op = opSub
			case 'u':
				p.op = opUnsub
			case 'p':
				p.state = sP
			case 'h':
				p.op = opHPub
				if p.mode == ClientMode {
					p.op = opHMsg
				}
			case 'm':
				if p.mode != ClientMode {
					return ErrUnknownOp
				}
				p.op = opMsg
			default:
				switch b {
				case '+':
					p.op = opOK
				case '-':
					p.op = opErr
				default:
					return ErrUnknownOp
				}
			}
		case sP:
			switch b | 0x20 {
			case 'u':
				p.op = opPub
			case 'i':
				p.op = opPing
			case 'o':
				p.op = opPong
			default:
				return ErrUnknownOp
			}
			p.vi, p.state = 2, sVerb
		case sVerb:
			v := verbs[p.op]
			if upper(b) != v[p.vi] {
				return ErrUnknownOp
			}
			if p.vi++; p.vi < len(v) {
				continue
			}
			switch p.op {
			case opPing, opPong, opOK:
				p.state = sSkip
			case opConnect, opInfo:
				p.state = sSpc
			default:
				p.state = sNeedSpc
			}
		case sNeedSpc:
			if b != ' ' && b != '\t' {
				return ErrUnknownOp
			}
			p.state = sSpc
		case sSpc:
			if b == ' ' || b == '\t' {
				continue
			}
			p.state, as = sArg, i
			i-- // the argument starts with this byte
		case sSkip:
			if b != '\n' {
				continue
			}
			p.state = sStart
			var err error
			switch p.op {
			case opPing:
				err = p.h.Ping()
			case opPong:
				err = p.h.Pong()
			default:
				err = p.h.OK()
			}
			if err != nil {
				return err
			}
		case sArg:
			j := bytes.IndexByte(buf[i:], '\n')
			if j < 0 {
				if !p.argSplit {
					p.argBuf, p.argSplit = p.argBuf[:0], true
				}
				p.argBuf = append(p.argBuf, buf[as:]...)
				if p.MaxControlLine > 0 && len(p.argBuf) > p.MaxControlLine {
					return ErrMaxControlLine
				}
				return nil
			}
			end := i + j
			var line []byte
			if p.argSplit {
				p.argBuf = append(p.argBuf, buf[as:end]...)
				line = p.argBuf
			} else {
				line = buf[as:end]
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if p.MaxControlLine > 0 && len(line) > p.MaxControlLine {
				return ErrMaxControlLine
			}
			i = end
			next, err := p.control(line, buf, end+1)
			if err != nil {
				return err
			}
			if next < 0 { // payload spans reads: all of buf consumed
				return nil
			}
			i = next - 1
		case sPayload:
			need := p.msg.Size + 2 - len(p.msgBuf)
			n := min(need, len(buf)-i)
			p.msgBuf = append(p.msgBuf, buf[i:i+n]...)
			i += n - 1
			if n < need {
				return nil
			}
			if err := p.deliver(p.msgBuf); err != nil {
				return err
			}
		}
	}
	return nil
}

// control dispatches one complete control line. For PUB-like commands it
// also consumes the payload when it is all in buf, returning the index to
// resume at; it returns -1 when the payload continues in a later read.
func (p *Parser) control(line, buf []byte, pos int) (int, error) {
	p.state = sStart
	var err error
	switch p.op {
	case opPub, opHPub, opMsg, opHMsg:
		if err = p.msgArgs(line); err != nil {
			return 0, err
		}
		total := p.msg.Size + 2
		if len(buf)-pos >= total {
			if err = p.deliver(buf[pos : pos+total]); err != nil {
				return 0, err
			}
			return pos + total, nil
		}
		// The payload spans reads: keep the control line and what has
		// arrived of the payload in scratch space.
		if !p.argSplit {
			p.argBuf, p.argSplit = append(p.argBuf[:0], line...), true
			if err = p.msgArgs(p.argBuf); err != nil {
				return 0, err
			}
		}
		if cap(p.msgBuf) < total {
			p.msgBuf = make([]byte, 0, total)
		}
		p.msgBuf = append(p.msgBuf[:0], buf[pos:]...)
		p.state = sPayload
		return -1, nil
	case opConnect:
		err = p.h.Connect(line)
	case opInfo:
		err = p.h.Info(line)
	case opSub:
		args := splitArgs(line, p.scratch[:0], true)
		switch len(args) {
		case 2:
			err = p.h.Sub(args[0], nil, args[1])
		case 3:
			err = p.h.Sub(args[0], args[1], args[2])
		default:
			err = &ArgError{"SUB", string(line)}
		}
	case opUnsub:
		args := splitArgs(line, p.scratch[:0], true)
		switch len(args) {
		case 1:
			err = p.h.Unsub(args[0], -1)
		case 2:
			err = p.h.Unsub(args[0], int64(ParseSize(args[1])))
		default:
			err = &ArgError{"UNSUB", string(line)}
		}
	case opErr:
		err = p.h.Err(line)
	}
	p.argBuf, p.argSplit = p.argBuf[:0], false
	return pos, err
}

// deliver checks the CRLF that must end the data and hands the message to
// the handler.
func (p *Parser) deliver(data []byte) error {
	n := p.msg.Size
	p.state = sStart
	if data[n] != '\r' || data[n+1] != '\n' {
		return ErrUnknownOp
	}
	err := p.h.Msg(&p.msg, data[:n])
	p.argBuf, p.argSplit = p.argBuf[:0], false
	if cap(p.msgBuf) > maxKeptBuf {
		p.msgBuf = nil
	} else {
		p.msgBuf = p.msgBuf[:0]
	}
	if cap(p.argBuf) > maxKeptBuf {
		p.argBuf = nil
	}
	return err
}

// msgArgs parses the arguments of PUB, HPUB, MSG and HMSG into p.msg.
func (p *Parser) msgArgs(line []byte) error {
	var a [6][]byte
	args := splitArgs(line, a[:0], false)
	m := &p.msg
	m.Reply, m.Sid, m.HdrLen = nil, nil, -1
	var size, hdr []byte
	switch p.op {
	case opPub:
		switch len(args) {
		case 2:
			m.Subject, size = args[0], args[1]
		case 3:
			m.Subject, m.Reply, size = args[0], args[1], args[2]
		default:
			return &ArgError{"PUB", string(line)}
		}
	case opHPub:
		if !p.Headers {
			return ErrHeadersNotSupported
		}
		switch len(args) {
		case 3:
			m.Subject, hdr, size = args[0], args[1], args[2]
		case 4:
			m.Subject, m.Reply, hdr, size = args[0], args[1], args[2], args[3]
		default:
			return &ArgError{"HPUB", string(line)}
		}
	case opMsg:
		switch len(args) {
		case 3:
			m.Subject, m.Sid, size = args[0], args[1], args[2]
		case 4:
			m.Subject, m.Sid, m.Reply, size = args[0], args[1], args[2], args[3]
		default:
			return &ArgError{"MSG", string(line)}
		}
	case opHMsg:
		switch len(args) {
		case 4:
			m.Subject, m.Sid, hdr, size = args[0], args[1], args[2], args[3]
		case 5:
			m.Subject, m.Sid, m.Reply, hdr, size = args[0], args[1], args[2], args[3], args[4]
		default:
			return &ArgError{"HMSG", string(line)}
		}
	}
	if m.Size = ParseSize(size); m.Size < 0 {
		return &ArgError{verbs[p.op], string(line)}
	}
	if hdr != nil {
		if m.HdrLen = ParseSize(hdr); m.HdrLen < 0 || m.HdrLen > m.Size {
			return &ArgError{verbs[p.op], string(line)}
		}
	}
	if p.MaxPayload > 0 && m.Size > p.MaxPayload && p.mode == ServerMode {
		return &PayloadError{Size: m.Size, Max: p.MaxPayload}
	}
	return nil
}

// splitArgs splits on blanks (and, with lines, CR/LF as well), appending
// to args without growing it past its capacity.
func splitArgs(line []byte, args [][]byte, lines bool) [][]byte {
	start := -1
	for i, b := range line {
		blank := b == ' ' || b == '\t' || (lines && (b == '\r' || b == '\n'))
		switch {
		case blank && start >= 0:
			args = appendArg(args, line[start:i])
			start = -1
		case !blank && start < 0:
			start = i
		}
	}
	if start >= 0 {
		args = appendArg(args, line[start:])
	}
	return args
}

func appendArg(args [][]byte, a []byte) [][]byte {
	if len(args) == cap(args) {
		// Too many arguments: drop the rest. Every caller's array is
		// larger than its longest valid form, so a full slice already
		// reads as "too many".
		return args
	}
	return append(args, a)
}

// ParseSize parses a non-negative decimal of at most 9 digits (as the
// reference does); it returns -1 for anything else.
func ParseSize(d []byte) int {
	if len(d) == 0 || len(d) > 9 {
		return -1
	}
	n := 0
	for _, c := range d {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}
