package conf

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file holds the character-level half of the parser: positions,
// whitespace and comments, and the scalar values (strings, numbers,
// booleans, datetimes). parse.go builds maps and arrays from them.

const eof = -1

// peek returns the byte at the cursor, or eof.
func (p *parser) peek() int {
	if p.off >= len(p.src) {
		return eof
	}
	return int(p.src[p.off])
}

// peekAt returns the byte n bytes after the cursor, or eof.
func (p *parser) peekAt(n int) int {
	if p.off+n >= len(p.src) {
		return eof
	}
	return int(p.src[p.off+n])
}

// advance moves the cursor n bytes forward, counting lines.
func (p *parser) advance(n int) {
	for end := p.off + n; p.off < end; p.off++ {
		if p.src[p.off] == '\n' {
			p.line++
			p.lineStart = p.off + 1
		}
	}
}

func (p *parser) pos() Pos {
	return Pos{File: p.file, Line: p.line, Col: p.off - p.lineStart + 1}
}

// errorf reports a problem at the cursor.
func (p *parser) errorf(format string, args ...any) error {
	return p.errorAt(p.pos(), format, args...)
}

func (p *parser) errorAt(at Pos, format string, args ...any) error {
	return &Error{Pos: at, Key: strings.Join(p.keys, "."), Msg: fmt.Sprintf(format, args...)}
}

// describeNext names the character at the cursor for error messages.
func (p *parser) describeNext() string {
	if p.off >= len(p.src) {
		return "end of file"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.off:])
	switch r {
	case '\n':
		return `'\n'`
	case '\r':
		return `'\r'`
	case '\t':
		return `'\t'`
	}
	return fmt.Sprintf("'%c'", r)
}

// spaceLen returns the length of the Unicode space at the cursor, or 0.
func (p *parser) spaceLen() int {
	c := p.peek()
	switch {
	case c == eof:
		return 0
	case c < utf8.RuneSelf:
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
			return 1
		}
		return 0
	}
	r, n := utf8.DecodeRuneInString(p.src[p.off:])
	if unicode.IsSpace(r) {
		return n
	}
	return 0
}

// skipBlank skips spaces and tabs only: a value must start on the line of
// its key at the top level.
func (p *parser) skipBlank() {
	for c := p.peek(); c == ' ' || c == '\t'; c = p.peek() {
		p.off++
	}
}

// skipSpace skips all Unicode white space, new lines included.
func (p *parser) skipSpace() {
	for n := p.spaceLen(); n > 0; n = p.spaceLen() {
		p.advance(n)
	}
}

// atComment reports whether a comment starts at the cursor.
func (p *parser) atComment() bool {
	c := p.peek()
	return c == '#' || (c == '/' && p.peekAt(1) == '/')
}

// skipComment skips to the end of the line (the new line is left).
func (p *parser) skipComment() {
	i := strings.IndexAny(p.src[p.off:], "\n\r")
	if i < 0 {
		p.off = len(p.src)
		return
	}
	p.off += i
}

// skipSpaceAndComments skips everything that cannot start a token.
func (p *parser) skipSpaceAndComments() {
	for {
		p.skipSpace()
		if !p.atComment() {
			return
		}
		p.skipComment()
	}
}

func isNL(c int) bool { return c == '\n' || c == '\r' }

func isDigit(c int) bool { return c >= '0' && c <= '9' }

// isNumberEnd reports whether c ends a number. In an array ']' does too:
// nats-server leaves it out, which turns `[1]` into an error; Keel
// accepts it. Elsewhere "12]" stays a string, as in nats-server.
func isNumberEnd(c int, inArray bool) bool {
	switch c {
	case eof, '\n', '\r', '}', ';', ',', ' ', '\t':
		return true
	case ']':
		return inArray
	}
	return false
}

// isBareEnd reports whether c ends a bare (unquoted) string.
func isBareEnd(c int) bool {
	switch c {
	case eof, '\n', '\r', ';', ',', ']', '}', ' ', '\t':
		return true
	}
	return false
}

func isSizeSuffix(c int) bool {
	switch c {
	case 'k', 'K', 'm', 'M', 'g', 'G', 't', 'T', 'p', 'P', 'e', 'E':
		return true
	}
	return false
}

// escape reads one escape sequence after a backslash (already consumed)
// and appends its meaning to sb.
func (p *parser) escape(sb *strings.Builder) error {
	c := p.peek()
	switch c {
	case 't':
		sb.WriteByte('\t')
	case 'n':
		sb.WriteByte('\n')
	case 'r':
		sb.WriteByte('\r')
	case '"':
		sb.WriteByte('"')
	case '\\':
		sb.WriteByte('\\')
	case 'x':
		p.off++
		if p.off+2 > len(p.src) || isNL(p.peek()) || isNL(p.peekAt(1)) {
			return p.errorf(`expected two hexadecimal digits after '\x', but hit end of line`)
		}
		b, err := hex.DecodeString(p.src[p.off : p.off+2])
		if err != nil {
			return p.errorf(`expected two hexadecimal digits after '\x', but got %q`, p.src[p.off:p.off+2])
		}
		sb.Write(b)
		p.off += 2
		return nil
	default:
		return p.errorf(`invalid escape character %s; only \xXX, \t, \n, \r, \", \\ are allowed`, p.describeNext())
	}
	p.off++
	return nil
}

// singleQuoted reads a 'string' (the quote is consumed); nothing inside is
// interpreted.
func (p *parser) singleQuoted(at Pos) (*Value, error) {
	i := strings.IndexByte(p.src[p.off:], '\'')
	if i < 0 {
		return nil, p.errorAt(at, "unterminated quoted string")
	}
	s := p.src[p.off : p.off+i]
	p.advance(i + 1)
	return &Value{Kind: KindString, Pos: at, Str: s, Raw: s}, nil
}

// doubleQuoted reads a "string" with escapes (the quote is consumed).
func (p *parser) doubleQuoted(at Pos) (*Value, error) {
	var sb strings.Builder
	lit := p.off
	for {
		i := strings.IndexAny(p.src[p.off:], "\"\\\n")
		if i < 0 {
			return nil, p.errorAt(at, "unterminated quoted string")
		}
		p.off += i
		switch p.src[p.off] {
		case '\n':
			p.advance(1)
			continue
		case '"':
			sb.WriteString(p.src[lit:p.off])
			p.off++
			s := sb.String()
			return &Value{Kind: KindString, Pos: at, Str: s, Raw: s}, nil
		}
		sb.WriteString(p.src[lit:p.off])
		p.off++
		if err := p.escape(&sb); err != nil {
			return nil, err
		}
		lit = p.off
	}
}

// blockString reads a block string: everything after '(' up to and
// including the new line before a line holding only ')'.
func (p *parser) blockString(at Pos) (*Value, error) {
	start := p.off
	for i := p.off; i < len(p.src); i++ {
		if p.src[i] != ')' || i == 0 || p.src[i-1] != '\n' {
			continue
		}
		if i+1 < len(p.src) && p.src[i+1] != '\n' && p.src[i+1] != '\r' {
			continue
		}
		s := p.src[start:i]
		p.advance(i + 1 - p.off)
		return &Value{Kind: KindString, Pos: at, Str: s, Raw: s}, nil
	}
	return nil, p.errorAt(at, "unterminated block string: a ')' alone on a line must end it")
}

// bare reads an unquoted string whose first bytes, from start, are already
// consumed, and classifies it: a boolean word, a $variable or a string.
func (p *parser) bare(start int, at Pos) (*Value, error) {
	var sb strings.Builder
	escaped, quoteEnd := false, false
	lit := start
scan:
	for {
		c := p.peek()
		switch {
		case isBareEnd(c):
			break scan
		case c == '\'':
			// nats-server ends a bare string at a quote and swallows it.
			quoteEnd = true
			break scan
		case c == '\\':
			escaped = true
			sb.WriteString(p.src[lit:p.off])
			p.off++
			if err := p.escape(&sb); err != nil {
				return nil, err
			}
			lit = p.off
		default:
			p.off++
		}
	}
	sb.WriteString(p.src[lit:p.off])
	if quoteEnd {
		p.off++
	}
	s := sb.String()
	raw := p.src[start:p.off]
	if !escaped && !quoteEnd {
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			return &Value{Kind: KindBool, Pos: at, Bool: true, Raw: s}, nil
		case "false", "no", "off":
			return &Value{Kind: KindBool, Pos: at, Bool: false, Raw: s}, nil
		}
		if strings.HasPrefix(s, "$") {
			return p.variable(s[1:], at)
		}
	}
	return &Value{Kind: KindString, Pos: at, Str: s, Raw: raw}, nil
}

// number reads a value that starts with a digit or '-': an integer with an
// optional size suffix, a float, a datetime, an IP address (as a string),
// or, when more text follows the digits, a bare string such as "10s".
func (p *parser) number(at Pos, inArray bool) (*Value, error) {
	start := p.off
	neg := p.peek() == '-'
	if neg {
		p.off++
		if c := p.peek(); !isDigit(c) {
			if c == '.' {
				return nil, p.errorf("floats must start with a digit, not '.'")
			}
			return nil, p.errorf("expected a digit but got %s", p.describeNext())
		}
	}
	for isDigit(p.peek()) {
		p.off++
	}
	c := p.peek()
	switch {
	case c == '-' && !neg:
		if p.off-start != 4 {
			return nil, p.errorf("all ISO8601 dates must be in full Zulu form")
		}
		return p.datetime(start, at)
	case c == '.':
		return p.float(start, at)
	case isSizeSuffix(c):
		p.off++
		for c := p.peek(); c == 'b' || c == 'B' || c == 'i' || c == 'I'; c = p.peek() {
			p.off++
		}
		if isNumberEnd(p.peek(), inArray) {
			return p.integer(start, at)
		}
		return p.bare(start, at)
	case neg || isNumberEnd(c, inArray):
		// nats-server ends a negative number at the first non-digit; what
		// follows must then be a valid value end.
		return p.integer(start, at)
	}
	// Digits followed by anything else make a bare string ("10s"). As in
	// nats-server, the first character after the digits is taken as is,
	// even a quote or a backslash.
	p.off++
	return p.bare(start, at)
}

var sizeMultipliers = map[string]int64{
	"":  1,
	"k": 1000, "kb": 1 << 10, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1000 * 1000, "mb": 1 << 20, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1000 * 1000 * 1000, "gb": 1 << 30, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1000 * 1000 * 1000 * 1000, "tb": 1 << 40, "ti": 1 << 40, "tib": 1 << 40,
	"p": 1000 * 1000 * 1000 * 1000 * 1000, "pb": 1 << 50, "pi": 1 << 50, "pib": 1 << 50,
	"e": 1000 * 1000 * 1000 * 1000 * 1000 * 1000, "eb": 1 << 60, "ei": 1 << 60, "eib": 1 << 60,
}

func (p *parser) integer(start int, at Pos) (*Value, error) {
	raw := p.src[start:p.off]
	digits := len(raw)
	for i := 0; i < len(raw); i++ {
		if !isDigit(int(raw[i])) && raw[i] != '-' {
			digits = i
			break
		}
	}
	n, err := strconv.ParseInt(raw[:digits], 10, 64)
	if err != nil {
		return nil, p.errorAt(at, "integer %q is out of range", raw)
	}
	suffix := strings.ToLower(raw[digits:])
	mult, ok := sizeMultipliers[suffix]
	if !ok {
		return nil, p.errorAt(at, "invalid size suffix %q in %q", raw[digits:], raw)
	}
	if n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return nil, p.errorAt(at, "integer %q is out of range", raw)
	}
	return &Value{Kind: KindInt, Pos: at, Int: n * mult, Raw: raw}, nil
}

func (p *parser) float(start int, at Pos) (*Value, error) {
	p.off++ // '.'
	if !isDigit(p.peek()) {
		return nil, p.errorf("floats must have a digit after the '.', but got %s", p.describeNext())
	}
	for isDigit(p.peek()) {
		p.off++
	}
	if p.peek() == '.' {
		// A second dot: an IP address such as 127.0.0.1:4222, kept as a string.
		for c := p.peek(); isDigit(c) || c == '.' || c == ':' || c == '-'; c = p.peek() {
			p.off++
		}
		s := p.src[start:p.off]
		return &Value{Kind: KindString, Pos: at, Str: s, Raw: s}, nil
	}
	raw := p.src[start:p.off]
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return nil, p.errorAt(at, "float %q is out of range", raw)
	}
	return &Value{Kind: KindFloat, Pos: at, Float: f, Raw: raw}, nil
}

// datetime reads the rest of "YYYY-MM-DDTHH:MM:SSZ" after the year.
func (p *parser) datetime(start int, at Pos) (*Value, error) {
	const layout = "-00-00T00:00:00Z"
	for i := 0; i < len(layout); i++ {
		c := p.peek()
		if layout[i] == '0' {
			if !isDigit(c) {
				return nil, p.errorf("expected a digit in ISO8601 datetime, but found %s", p.describeNext())
			}
		} else if c != int(layout[i]) {
			return nil, p.errorf("expected '%c' in ISO8601 datetime, but found %s", layout[i], p.describeNext())
		}
		p.off++
	}
	raw := p.src[start:p.off]
	t, err := time.Parse("2006-01-02T15:04:05Z", raw)
	if err != nil {
		return nil, p.errorAt(at, "expected a Zulu formatted datetime, but got %q", raw)
	}
	return &Value{Kind: KindTime, Pos: at, Time: t, Raw: raw}, nil
}
