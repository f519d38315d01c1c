package conf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// context says where a key or value sits, because the format's rules
// differ slightly: at the top level (and inside a top-level `{ }` block) a
// value must start on its key's line; inside a map value it may not.
type context uint8

const (
	ctxTop context = iota
	ctxBlock
	ctxMap
	ctxArray
)

// shared is the state common to a parse and every file it includes.
type shared struct {
	includes []string        // absolute paths being parsed, outermost first
	budget   int64           // bytes that includes may still read
	envSeen  map[string]bool // environment variables being expanded
	// noInclude makes include an error (fuzzing must not read files).
	noInclude bool
}

func newShared() *shared {
	return &shared{budget: maxTotalBytes, envSeen: make(map[string]bool)}
}

type parser struct {
	src       string
	off       int
	line      int
	lineStart int
	file      string // as given, for positions
	dir       string // base of relative includes
	scopes    []*Map // maps being built, innermost last: where $VAR looks
	keys      []string
	depth     int
	sh        *shared
}

func newParser(src, file string, sh *shared) *parser {
	dir := "."
	if file != "" {
		dir = filepath.Dir(file)
	}
	return &parser{src: src, line: 1, file: file, dir: dir, sh: sh}
}

// parseTop parses a whole file. A file may be wrapped in braces, JSON
// style; blocks in braces and plain entries may follow each other.
func (p *parser) parseTop() (*Map, error) {
	m := NewMap()
	p.scopes = append(p.scopes, m)
	if err := p.body(ctxTop, m, p.pos()); err != nil {
		return nil, err
	}
	return m, nil
}

// body parses entries into m until EOF (top level) or the brace closing
// the one at open.
func (p *parser) body(ctx context, m *Map, open Pos) error {
	for {
		p.skipSpaceAndComments()
		c := p.peek()
		switch {
		case c == eof:
			if ctx != ctxTop {
				return p.errorAt(open, "missing '}' for the '{' here")
			}
			return nil
		case c == '}' && ctx != ctxTop:
			p.off++
			return nil
		case c == '{' && ctx != ctxMap:
			// A top-level block: its entries belong to the top level.
			at := p.pos()
			p.off++
			if err := p.enter(); err != nil {
				return err
			}
			err := p.body(ctxBlock, m, at)
			p.depth--
			if err != nil {
				return err
			}
			continue
		case c == ':' || c == '=':
			return p.errorf("unexpected key separator '%c'", c)
		case c == '}' || c == ']' || c == ',' || c == ';':
			return p.errorf("unexpected '%c' where a key was expected", c)
		case c == '/':
			return p.errorf("unexpected '/' where a key was expected (comments start with '//' or '#')")
		}
		if err := p.entry(ctx, m); err != nil {
			return err
		}
	}
}

// valueEnd checks what follows a value: blanks, then a comment, a new
// line, ';' or ','. The closing brace of a map or block is left for body.
func (p *parser) valueEnd(ctx context) error {
	p.skipBlank()
	if p.atComment() {
		p.skipComment()
		return nil
	}
	c := p.peek()
	switch {
	case isNL(c) || c == ';' || c == ',':
		p.advance(1)
		return nil
	case c == eof && ctx == ctxTop:
		return nil
	case c == '}' && ctx == ctxTop:
		// nats-server accepts a brace after a top-level value.
		p.off++
		return nil
	case c == '}':
		return nil
	case c == eof:
		return nil // body reports the missing brace
	}
	switch ctx {
	case ctxMap:
		return p.errorf("expected ',' or '}' after a map value, but got %s", p.describeNext())
	default:
		return p.errorf("expected a new line, ';', ',' or a comment after a value, but got %s", p.describeNext())
	}
}

// entry parses `key [:=] value` (or an include) into m.
func (p *parser) entry(ctx context, m *Map) error {
	at := p.pos()
	key, quoted, err := p.key()
	if err != nil {
		return err
	}
	if !quoted && strings.EqualFold(key, "include") && p.spaceLen() > 0 {
		if err := p.include(m, at); err != nil {
			return err
		}
		return p.valueEnd(ctx)
	}
	p.skipSpace()
	switch c := p.peek(); c {
	case ':', '=':
		p.off++
	case eof:
		return p.errorAt(at, "key %q has no value", key)
	}
	p.keys = append(p.keys, key)
	defer func() { p.keys = p.keys[:len(p.keys)-1] }()
	v, err := p.value(ctx)
	if err != nil {
		return err
	}
	m.Set(&Entry{Key: key, Pos: at, Value: v})
	return p.valueEnd(ctx)
}

// key reads a quoted key or a bare one, which runs to a space or a
// separator.
func (p *parser) key() (key string, quoted bool, err error) {
	if q := p.peek(); q == '"' || q == '\'' {
		at := p.pos()
		p.off++
		i := strings.IndexByte(p.src[p.off:], byte(q))
		if i < 0 {
			return "", true, p.errorAt(at, "unterminated quoted key")
		}
		key = p.src[p.off : p.off+i]
		p.advance(i + 1)
		return key, true, nil
	}
	start := p.off
	for {
		c := p.peek()
		if c == eof || c == ':' || c == '=' || p.spaceLen() > 0 {
			break
		}
		p.off++
	}
	return p.src[start:p.off], false, nil
}

// enter accounts for one more level of nesting.
func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf("maps and arrays nested deeper than %d levels", MaxDepth)
	}
	return nil
}

// value parses one value. Inside maps and arrays it may start on a later
// line; elsewhere it must start on the key's line.
func (p *parser) value(ctx context) (*Value, error) {
	if ctx == ctxMap || ctx == ctxArray {
		p.skipSpace()
	} else {
		p.skipBlank()
	}
	at := p.pos()
	c := p.peek()
	switch {
	case c == eof:
		if ctx == ctxMap || ctx == ctxArray {
			return nil, p.errorf("unexpected end of file where a value was expected")
		}
		// nats-server reads `key:` at the very end as an empty string.
		return &Value{Kind: KindString, Pos: at}, nil
	case isNL(c):
		return nil, p.errorf("expected a value but found a new line")
	case c == '[':
		p.off++
		return p.array(at)
	case c == '{':
		p.off++
		return p.mapValue(at)
	case c == '\'':
		p.off++
		return p.singleQuoted(at)
	case c == '"':
		p.off++
		return p.doubleQuoted(at)
	case c == '(':
		p.off++
		return p.blockString(at)
	case c == '-' || isDigit(c):
		return p.number(at, ctx == ctxArray)
	case c == '.':
		return nil, p.errorf("floats must start with a digit")
	case ctx == ctxMap && (c == ',' || c == '}'):
		return nil, p.errorf("expected a value but got '%c'", c)
	}
	return p.bare(p.off, at)
}

func (p *parser) array(at Pos) (*Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	v := &Value{Kind: KindArray, Pos: at, Array: []*Value{}}
	for {
		p.skipSpaceAndComments()
		switch c := p.peek(); c {
		case eof:
			return nil, p.errorAt(at, "missing ']' for the '[' here")
		case ']':
			p.off++
			return v, nil
		case ',':
			return nil, p.errorf("unexpected ',' in array")
		case '/':
			// As in nats-server: inside an array a lone '/' cannot start a
			// bare value (quote paths).
			return nil, p.errorf("unexpected '/' in array (quote values that start with '/')")
		}
		item, err := p.value(ctxArray)
		if err != nil {
			return nil, err
		}
		v.Array = append(v.Array, item)
		p.skipBlank()
		if p.atComment() {
			p.skipComment()
			continue
		}
		switch c := p.peek(); {
		case c == ',' || isNL(c):
			p.advance(1)
		case c == ']':
		case c == eof:
			return nil, p.errorAt(at, "missing ']' for the '[' here")
		default:
			return nil, p.errorf("expected ',' or ']' after an array item, but got %s", p.describeNext())
		}
	}
}

func (p *parser) mapValue(at Pos) (*Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	m := NewMap()
	p.scopes = append(p.scopes, m)
	err := p.body(ctxMap, m, at)
	p.scopes = p.scopes[:len(p.scopes)-1]
	p.depth--
	if err != nil {
		return nil, err
	}
	return &Value{Kind: KindMap, Pos: at, Map: m}, nil
}

// include parses another file and merges its entries into m, as if they
// were written here. Its variables do not see ours, as in nats-server, but
// ours see its keys from here on.
func (p *parser) include(m *Map, at Pos) error {
	p.skipBlank()
	name, err := p.includeName()
	if err != nil {
		return err
	}
	if p.sh.noInclude {
		return p.errorAt(at, "include %q: includes are disabled", name)
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, name)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return p.errorAt(at, "include %q: %v", name, err)
	}
	for _, open := range p.sh.includes {
		if open == abs {
			return p.errorAt(at, "include %q: include cycle", name)
		}
	}
	if len(p.sh.includes) > MaxIncludeDepth {
		return p.errorAt(at, "include %q: includes nested deeper than %d files", name, MaxIncludeDepth)
	}
	data, err := readLimited(path)
	if err != nil {
		return p.errorAt(at, "include %q: %v", name, unwrapPathError(err))
	}
	if p.sh.budget -= int64(len(data)); p.sh.budget < 0 {
		return p.errorAt(at, "include %q: includes read more than %d bytes in total", name, maxTotalBytes)
	}
	p.sh.includes = append(p.sh.includes, abs)
	sub := newParser(withoutBOM(data), path, p.sh)
	inc, err := sub.parseTop()
	p.sh.includes = p.sh.includes[:len(p.sh.includes)-1]
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return &Error{Pos: ce.Pos, Key: ce.Key, Msg: ce.Msg + " (included from " + at.String() + ")"}
		}
		return err
	}
	for _, e := range inc.Entries() {
		m.Set(e)
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// includeName reads the file name of an include: quoted (nothing inside
// is interpreted) or bare.
func (p *parser) includeName() (string, error) {
	c := p.peek()
	switch {
	case c == '"' || c == '\'':
		at := p.pos()
		p.off++
		i := strings.IndexByte(p.src[p.off:], byte(c))
		if i < 0 {
			return "", p.errorAt(at, "unterminated quoted include")
		}
		name := p.src[p.off : p.off+i]
		p.advance(i + 1)
		return name, nil
	case c == eof || isNL(c):
		return "", p.errorf("include needs a file name")
	case c == '[' || c == '{' || c == '(' || c == '-' || c == '\\' || isDigit(c):
		return "", p.errorf("expected a file name after include, but got %s", p.describeNext())
	}
	start := p.off
	for c := p.peek(); c != eof && !isNL(c) && c != ';' && c != '}' && c != ' ' && c != '\t' && c != '\''; c = p.peek() {
		p.off++
	}
	name := p.src[start:p.off]
	if p.peek() == '\'' {
		p.off++
	}
	return name, nil
}

// bcryptPrefix marks a bare "$2a$..." as a bcrypt hash rather than a
// variable, so that passwords need no quotes (as in nats-server).
const bcryptPrefix = "2a$"

// variable resolves $name: a key defined earlier in this map or an
// enclosing one, else an environment variable whose value is parsed as a
// configuration value. The result is a copy placed at the reference; maps
// and arrays inside it are shared, which keeps memory linear in the input.
func (p *parser) variable(name string, at Pos) (*Value, error) {
	if strings.HasPrefix(name, bcryptPrefix) {
		s := "$" + name
		return &Value{Kind: KindString, Pos: at, Str: s, Raw: s}, nil
	}
	for i := len(p.scopes) - 1; i >= 0; i-- {
		if e := p.scopes[i].Get(name); e != nil {
			e.Referenced = true
			v := *e.Value
			v.Pos, v.Var = at, name
			return &v, nil
		}
	}
	env, ok := os.LookupEnv(name)
	if !ok {
		return nil, p.errorAt(at, "variable %q is not defined in an enclosing map nor in the environment", "$"+name)
	}
	if p.sh.envSeen[name] {
		return nil, p.errorAt(at, "variable reference cycle for %q", "$"+name)
	}
	if len(p.sh.envSeen) >= maxEnvDepth {
		return nil, p.errorAt(at, "environment variables refer to each other more than %d deep", maxEnvDepth)
	}
	p.sh.envSeen[name] = true
	defer delete(p.sh.envSeen, name)
	const pk = "pk"
	sub := newParser(pk+"="+env, "", p.sh)
	sub.file = "$" + name
	m, err := sub.parseTop()
	if err != nil {
		return nil, p.errorAt(at, "environment variable %q could not be parsed: %v", name, err)
	}
	e := m.Get(pk)
	if e == nil {
		return nil, p.errorAt(at, "environment variable %q has no value", name)
	}
	v := *e.Value
	v.Pos, v.Var = at, name
	return &v, nil
}
