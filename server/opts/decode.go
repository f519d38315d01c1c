package opts

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/keelhq/keel/server/conf"
)

// This file holds the machinery that turns conf values into typed fields:
// typed readers that report a positioned error naming the key when the
// type is wrong, and block walking that reports unknown keys. Every
// problem is collected, so a user sees all mistakes of a file at once.

// Errors is every problem found while loading options, in file order.
type Errors []error

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// item is a value being decoded, with the dotted path of its key and the
// position errors point at (the key, or the array element).
type item struct {
	path string
	pos  conf.Pos
	v    *conf.Value
	ref  bool // a variable definition that was used as $path
}

// decoder collects problems and warnings while decoding.
type decoder struct {
	errs  Errors
	warns []string
	// strict turns the reference's warnings about the file (not the ones
	// about features Keel lacks) into errors, as nats-server -t does.
	strict bool
}

func (d *decoder) errorf(it item, format string, args ...any) {
	d.errs = append(d.errs, &conf.Error{Pos: it.pos, Key: it.path, Msg: fmt.Sprintf(format, args...)})
}

// warnf reports a doubtful but accepted setting (nats-server's warnings).
func (d *decoder) warnf(it item, format string, args ...any) {
	e := &conf.Error{Pos: it.pos, Key: it.path, Msg: fmt.Sprintf(format, args...)}
	if d.strict {
		d.errs = append(d.errs, e)
		return
	}
	d.warns = append(d.warns, e.Error())
}

// name is the last element of the item's path, for messages that quote
// the key as written.
func (it item) name() string {
	p := it.path
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		p = p[i+1:]
	}
	if i := strings.IndexByte(p, '['); i >= 0 {
		p = p[:i]
	}
	return p
}

func (d *decoder) typeErr(it item, want string) {
	d.errorf(it, "expected %s, got %s", want, it.v.Describe())
}

// fields maps lower-case keys (aliases included) to their decoders.
type fields map[string]func(it item)

// block decodes the map in it with fs. Keys are matched without regard to
// case, as nats-server does. An unknown key is an error unless it is a
// variable definition that was used.
func (d *decoder) block(it item, fs fields) bool {
	if it.v.Kind != conf.KindMap {
		d.typeErr(it, "a map")
		return false
	}
	d.entries(it.path, it.v.Map, fs)
	return true
}

func (d *decoder) entries(prefix string, m *conf.Map, fs fields) {
	for _, e := range m.Entries() {
		child := item{path: join(prefix, e.Key), pos: e.Pos, v: e.Value, ref: e.Referenced}
		if f, ok := fs[strings.ToLower(e.Key)]; ok {
			f(child)
			continue
		}
		if e.Referenced {
			continue
		}
		d.unknown(child, prefix)
	}
}

func (d *decoder) unknown(it item, prefix string) {
	e := &conf.Error{Pos: it.pos, Msg: fmt.Sprintf("unknown field %q", it.name())}
	if prefix != "" {
		e.Msg += fmt.Sprintf(" in %q", prefix)
	}
	d.errs = append(d.errs, e)
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// list returns the elements of an array.
func (d *decoder) list(it item) ([]item, bool) {
	if it.v.Kind != conf.KindArray {
		d.typeErr(it, "an array")
		return nil, false
	}
	out := make([]item, len(it.v.Array))
	for i, v := range it.v.Array {
		out[i] = item{path: fmt.Sprintf("%s[%d]", it.path, i), pos: v.Pos, v: v}
	}
	return out, true
}

func (d *decoder) str(it item) (string, bool) {
	if it.v.Kind != conf.KindString {
		d.typeErr(it, "a string")
		return "", false
	}
	return it.v.Str, true
}

// strs reads a string or an array of strings.
func (d *decoder) strs(it item) ([]string, bool) {
	if it.v.Kind == conf.KindString {
		return []string{it.v.Str}, true
	}
	if it.v.Kind != conf.KindArray {
		d.typeErr(it, "a string or an array of strings")
		return nil, false
	}
	out := make([]string, 0, len(it.v.Array))
	items, _ := d.list(it)
	ok := true
	for _, e := range items {
		s, good := d.str(e)
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

func (d *decoder) integer(it item) (int64, bool) {
	if it.v.Kind != conf.KindInt {
		d.typeErr(it, "an integer")
		return 0, false
	}
	return it.v.Int, true
}

// intIn reads an integer within [lo, hi].
func (d *decoder) intIn(it item, lo, hi int64) (int64, bool) {
	n, ok := d.integer(it)
	if !ok {
		return 0, false
	}
	if n < lo || n > hi {
		d.errorf(it, "%d is out of range [%d, %d]", n, lo, hi)
		return 0, false
	}
	return n, true
}

func (d *decoder) boolean(it item) (bool, bool) {
	if it.v.Kind != conf.KindBool {
		d.typeErr(it, "a boolean")
		return false, false
	}
	return it.v.Bool, true
}

// seconds reads a timeout written as seconds (integer or float) or as a
// duration string, as authorization and tls timeouts are.
func (d *decoder) seconds(it item) (time.Duration, bool) {
	switch it.v.Kind {
	case conf.KindInt:
		if dur, ok := rawDuration(it.v); ok {
			return dur, true
		}
		return time.Duration(it.v.Int) * time.Second, true
	case conf.KindFloat:
		return time.Duration(it.v.Float * float64(time.Second)), true
	case conf.KindString:
		dur, err := time.ParseDuration(it.v.Str)
		if err != nil {
			d.errorf(it, "error parsing %s: %v", it.name(), err)
			return 0, false
		}
		return dur, true
	}
	d.typeErr(it, "a number of seconds or a duration")
	return 0, false
}

// rawDuration recognizes an unquoted duration such as 2m, which the file
// format reads as the integer 2000000 (m is a size suffix). In a duration
// setting the user meant two minutes; nats-server takes it as seconds.
func rawDuration(v *conf.Value) (time.Duration, bool) {
	if v.Kind != conf.KindInt || v.Raw == strconv.FormatInt(v.Int, 10) {
		return 0, false
	}
	dur, err := time.ParseDuration(v.Raw)
	return dur, err == nil
}

// duration reads a duration string ("10s", "1h30m"). When legacy is set,
// an integer is accepted as seconds with the reference's warning.
func (d *decoder) duration(it item, legacy bool) (time.Duration, bool) {
	switch it.v.Kind {
	case conf.KindString:
		dur, err := time.ParseDuration(it.v.Str)
		if err != nil {
			d.errorf(it, "error parsing %s: %v", it.name(), err)
			return 0, false
		}
		return dur, true
	case conf.KindInt:
		if dur, ok := rawDuration(it.v); ok {
			d.warnf(it, "invalid use of field %q: unquoted duration %s: Keel reads it as %v, nats-server as %d seconds; quote it (\"%s\")",
				it.name(), it.v.Raw, dur, it.v.Int, it.v.Raw)
			return dur, true
		}
		if legacy && it.v.Raw == strconv.FormatInt(it.v.Int, 10) {
			d.warnf(it, "invalid use of field %q: %s should be converted to a duration", it.name(), it.name())
			return time.Duration(it.v.Int) * time.Second, true
		}
	}
	d.typeErr(it, `a duration such as "30s"`)
	return 0, false
}

// size reads a byte count: an integer (with the format's suffixes) or a
// string such as "10G" (K, M, G, T are powers of 1024), as the jetstream
// block accepts.
func (d *decoder) size(it item) (int64, bool) {
	switch it.v.Kind {
	case conf.KindInt:
		return it.v.Int, true
	case conf.KindString:
		s := it.v.Str
		if s == "" {
			return 0, true
		}
		shift, ok := map[byte]uint{'K': 10, 'M': 20, 'G': 30, 'T': 40}[s[len(s)-1]]
		if !ok {
			d.errorf(it, "sizes defined as strings must end in K, M, G, T")
			return 0, false
		}
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		if err != nil || n > math.MaxInt64>>shift || n < math.MinInt64>>shift {
			d.errorf(it, "invalid size %q", s)
			return 0, false
		}
		return n << shift, true
	}
	d.typeErr(it, "a size")
	return 0, false
}

// listen reads "host:port" or a port alone.
func (d *decoder) listen(it item) (host string, port int, ok bool) {
	switch it.v.Kind {
	case conf.KindInt:
		p, ok := d.intIn(it, -1, 65535)
		return "", int(p), ok
	case conf.KindString:
		h, p, err := net.SplitHostPort(it.v.Str)
		if err != nil {
			d.errorf(it, "could not parse address string %q", it.v.Str)
			return "", 0, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < -1 || n > 65535 {
			d.errorf(it, "could not parse port %q", p)
			return "", 0, false
		}
		return h, n, true
	}
	d.typeErr(it, "a port or host:port")
	return "", 0, false
}

// Setters for the common case of a field taking the value as is.

func (d *decoder) setStr(dst *string) func(item) {
	return func(it item) {
		if s, ok := d.str(it); ok {
			*dst = s
		}
	}
}

func (d *decoder) setStrs(dst *[]string) func(item) {
	return func(it item) {
		if s, ok := d.strs(it); ok {
			*dst = s
		}
	}
}

func (d *decoder) setBool(dst *bool) func(item) {
	return func(it item) {
		if b, ok := d.boolean(it); ok {
			*dst = b
		}
	}
}

func (d *decoder) setInt(dst *int) func(item) {
	return func(it item) {
		if n, ok := d.intIn(it, math.MinInt32, math.MaxInt32); ok {
			*dst = int(n)
		}
	}
}

func (d *decoder) setInt64(dst *int64) func(item) {
	return func(it item) {
		if n, ok := d.integer(it); ok {
			*dst = n
		}
	}
}

func (d *decoder) setSize(dst *int64) func(item) {
	return func(it item) {
		if n, ok := d.size(it); ok {
			*dst = n
		}
	}
}

func (d *decoder) setDur(dst *time.Duration, legacy bool) func(item) {
	return func(it item) {
		if v, ok := d.duration(it, legacy); ok {
			*dst = v
		}
	}
}

func (d *decoder) setSeconds(dst *time.Duration) func(item) {
	return func(it item) {
		if v, ok := d.seconds(it); ok {
			*dst = v
		}
	}
}

func (d *decoder) setListen(host *string, port *int) func(item) {
	return func(it item) {
		if h, p, ok := d.listen(it); ok {
			*host, *port = h, p
		}
	}
}

// strMap reads a map whose values are all strings.
func (d *decoder) strMap(it item) (map[string]string, bool) {
	if it.v.Kind != conf.KindMap {
		d.typeErr(it, "a map")
		return nil, false
	}
	out := make(map[string]string, it.v.Map.Len())
	ok := true
	for _, e := range it.v.Map.Entries() {
		s, good := d.str(item{path: join(it.path, e.Key), pos: e.Pos, v: e.Value})
		ok = ok && good
		out[e.Key] = s
	}
	return out, ok
}

// writeTimeout reads a write_timeout policy.
func (d *decoder) writeTimeout(dst *string) func(item) {
	return func(it item) {
		s, ok := d.str(it)
		if !ok {
			return
		}
		switch s {
		case "default", "close", "retry":
			*dst = s
		default:
			d.errorf(it, "write_timeout must be 'default', 'close' or 'retry'")
		}
	}
}
