package conf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// render prints a parsed map compactly with types: i1, f1.5, s"x", btrue,
// t2016-..., {..} with sorted keys, [..].
func render(m *Map) string {
	keys := make([]string, 0, m.Len())
	for _, e := range m.Entries() {
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q:%s", k, renderValue(m.Get(k).Value))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func renderValue(v *Value) string {
	switch v.Kind {
	case KindMap:
		return render(v.Map)
	case KindArray:
		parts := make([]string, len(v.Array))
		for i, item := range v.Array {
			parts[i] = renderValue(item)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case KindString:
		return fmt.Sprintf("s%q", v.Str)
	case KindInt:
		return fmt.Sprintf("i%d", v.Int)
	case KindFloat:
		return fmt.Sprintf("f%v", v.Float)
	case KindBool:
		return fmt.Sprintf("b%v", v.Bool)
	case KindTime:
		return "t" + v.Time.UTC().Format(time.RFC3339)
	}
	return "?"
}

// The expected trees below were checked against nats-server v2.15.3's
// conf package, except where a comment says Keel differs on purpose.
func TestParseValid(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"colon", "a: 1", `{"a":i1}`},
		{"equals", "a = 1", `{"a":i1}`},
		{"space", "a 1", `{"a":i1}`},
		{"tab", "a\t1", `{"a":i1}`},
		{"value on next line after bare key", "a\n1", `{"a":i1}`},
		{"semicolons", "a: x;b: 2", `{"a":s"x","b":i2}`},
		{"commas", "a: 1, b: 2", `{"a":i1,"b":i2}`},
		{"trailing separators", "a: 1;", `{"a":i1}`},
		{"empty file", "", `{}`},
		{"only comments", "# one\n// two\n", `{}`},
		{"hash comment after value", "a: 1 # c", `{"a":i1}`},
		{"slash comment after value", "a: 1 // c", `{"a":i1}`},
		{"hash inside bare string", "a: foo#bar", `{"a":s"foo#bar"}`},
		{"quoted keys", `"a b": 1` + "\n'c': 2", `{"a b":i1,"c":i2}`},
		{"dotted key", "a.b.c: 1", `{"a.b.c":i1}`},
		{"empty key at end of file", "a:", `{"a":s""}`},
		{"last value wins", "a: 1\na: 2", `{"a":i2}`},

		{"negative", "a: -5", `{"a":i-5}`},
		{"zero padded", "a: 007", `{"a":i7}`},
		{"float", "a: 1.5\nb: -0.5", `{"a":f1.5,"b":f-0.5}`},
		{"k", "a: 2k", `{"a":i2000}`},
		{"K", "a: 2K", `{"a":i2000}`},
		{"kb", "a: 2kb", `{"a":i2048}`},
		{"KiB", "a: 2KiB", `{"a":i2048}`},
		{"ki", "a: 2ki", `{"a":i2048}`},
		{"m", "a: 1m", `{"a":i1000000}`},
		{"MB", "a: 1MB", `{"a":i1048576}`},
		{"G", "a: 1G", `{"a":i1000000000}`},
		{"GB", "a: 1GB", `{"a":i1073741824}`},
		{"Ti", "a: 1Ti", `{"a":i1099511627776}`},
		{"P", "a: 1P", `{"a":i1000000000000000}`},
		{"e is a size", "a: 5E", `{"a":i5000000000000000000}`},
		{"negative size", "a: -1k", `{"a":i-1000}`},
		{"exponent is a string", "a: 1e6", `{"a":s"1e6"}`},
		{"duration is a string", "a: 10s\nb: 1h30m\nc: 500ms", `{"a":s"10s","b":s"1h30m","c":s"500ms"}`},
		{"hex is a string", "a: 0x10", `{"a":s"0x10"}`},
		{"digits then text", "a: 12abc", `{"a":s"12abc"}`},
		{"ip address", "a: 127.0.0.1:4222\nb: 10.0.0.1", `{"a":s"127.0.0.1:4222","b":s"10.0.0.1"}`},
		{"version-like", "a: 1.5.6", `{"a":s"1.5.6"}`},
		{"datetime", "a: 2016-05-04T18:53:41Z", `{"a":t2016-05-04T18:53:41Z}`},

		{"booleans", "a: true\nb: FALSE\nc: yes\nd: No\ne: on\nf: OFF", `{"a":btrue,"b":bfalse,"c":btrue,"d":bfalse,"e":btrue,"f":bfalse}`},
		{"not a boolean", "a: truex", `{"a":s"truex"}`},
		{"quoted boolean is a string", `a: "true"`, `{"a":s"true"}`},

		{"double quoted escapes", `a: "x\ty\n\r\"\\\x41"`, `{"a":s"x\ty\n\r\"\\A"}`},
		{"single quoted raw", `a: 'x\y'`, `{"a":s"x\\y"}`},
		{"bare escapes", `a: x\ty`, `{"a":s"x\ty"}`},
		{"multi-line double quoted", "a: \"multi\nline\"", `{"a":s"multi\nline"}`},
		{"bare string with colon", "a: x:y", `{"a":s"x:y"}`},
		{"url", "a: nats://u:p@host:4222", `{"a":s"nats://u:p@host:4222"}`},
		{"path", "a: /var/run/keel.pid", `{"a":s"/var/run/keel.pid"}`},
		{"bcrypt needs no quotes", "a: $2a$11$abc", `{"a":s"$2a$11$abc"}`},
		{"block string", "a: (\nhello\n  world\n)\nb: 1", `{"a":s"\nhello\n  world\n","b":i1}`},
		{"block string with inner paren", "a: (x) \n)\n", `{"a":s"x) \n"}`},
		// nats-server keeps the ')' when the block ends the file.
		{"block string at end of file", "a: (\nx\n)", `{"a":s"\nx\n"}`},

		{"array commas", "a: [1, 2, 3]", `{"a":[i1,i2,i3]}`},
		{"array newlines", "a: [\n  1\n  2\n]", `{"a":[i1,i2]}`},
		{"array trailing comma", "a: [1,2,]", `{"a":[i1,i2]}`},
		{"array comments", "a: [ # c\n 1, // d\n 2 # e\n]", `{"a":[i1,i2]}`},
		{"array strings", `a: ["x", 'y', z]`, `{"a":[s"x",s"y",s"z"]}`},
		// nats-server rejects a number directly before ']'.
		{"number before bracket", "a: [1]\nb: [1k]", `{"a":[i1],"b":[i1000]}`},
		{"nested arrays", "a: [[1, 2], [3]]", `{"a":[[i1,i2],[i3]]}`},
		{"array of maps", "a: [{b: 1}, {c: 2}]", `{"a":[{"b":i1},{"c":i2}]}`},
		{"empty array and map", "a: []\nb: {}\nc: [ ]\nd: { }", `{"a":[],"b":{},"c":[],"d":{}}`},

		{"map without separator", "a { b: 1 }", `{"a":{"b":i1}}`},
		{"map entries", "a {\n b: 1\n c = 2; d 3\n}", `{"a":{"b":i1,"c":i2,"d":i3}}`},
		{"map trailing comma", "a: { b: 1, }", `{"a":{"b":i1}}`},
		{"map value on next line", "a: {b:\n1}", `{"a":{"b":i1}}`},
		{"map separator on next line", "a: {b\n: 1}", `{"a":{"b":i1}}`},
		{"map comments", "a: { # c\n  b: 1 # d\n  // e\n  c: 2\n}", `{"a":{"b":i1,"c":i2}}`},
		{"deep maps", "a { b { c { d: 1 } } }", `{"a":{"b":{"c":{"d":i1}}}}`},

		{"json", `{"a": 1, "b": [1, 2 ], "c": {"d": "e"}}`, `{"a":i1,"b":[i1,i2],"c":{"d":s"e"}}`},
		{"json multi-line", "{\n \"a\": 1,\n \"b\": { \"c\": \"d\" }\n}", `{"a":i1,"b":{"c":s"d"}}`},
		{"braces then entries", "{ a: 1 }\nb: 2", `{"a":i1,"b":i2}`},
		{"brace after top-level value", "a: 1}", `{"a":i1}`},

		{"variable", "b: 1\na: $b", `{"a":i1,"b":i1}`},
		{"variable in nested map", "b: 1\nc { a: $b }", `{"b":i1,"c":{"a":i1}}`},
		{"variable from enclosing map", "c { b: 1; d { a: $b } }", `{"c":{"b":i1,"d":{"a":i1}}}`},
		{"inner variable shadows outer", "x: 1\nm { x: 2, y: $x }", `{"m":{"x":i2,"y":i2},"x":i1}`},
		{"variable holding an array", "x: [1, 2]\ny: $x", `{"x":[i1,i2],"y":[i1,i2]}`},
		{"variable holding a map", "p { a: 1 }\nq: $p", `{"p":{"a":i1},"q":{"a":i1}}`},
		{"variable in array", "x: 5\ny: [$x, 6]", `{"x":i5,"y":[i5,i6]}`},
		{"windows line ends", "a: 1\r\nb {\r\n  c: x\r\n}\r\nd: [1,\r\n2]\r\ne: (\r\nblock\r\n)\r\n", `{"a":i1,"b":{"c":s"x"},"d":[i1,i2],"e":s"\r\nblock\r\n"}`},
		// Keel drops a byte order mark; nats-server reads it into the key.
		{"byte order mark", "\ufeffport: 1", `{"port":i1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.in), "test.conf")
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := render(m); got != tc.want {
				t.Fatalf("Parse(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

// Every malformed file fails with the file, line, column and (when a key
// was being read) the key in the message.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		line, col int
		key       string
		msg       string
	}{
		{"key without value at end", "port: 4222\nhost", 2, 1, "", `key "host" has no value`},
		{"value on next line after separator", "a:\n1", 1, 3, "a", "found a new line"},
		{"garbage after value", `a: "x" b`, 1, 8, "a", "but got 'b'"},
		{"two bare words", "a: x y", 1, 6, "a", "but got 'y'"},
		{"map key without value", "a = {b:}", 1, 8, "a.b", "expected a value"},
		{"map missing terminator", "a: {b: 1 c: 2}", 1, 10, "a.b", "expected ',' or '}'"},
		{"unclosed map", "x: 1\na: {b: 1\n", 2, 4, "a", "missing '}'"},
		{"unclosed array", "a: [1, 2\n", 1, 4, "a", "missing ']'"},
		{"unclosed top-level brace", "{\na: 1\n", 1, 1, "", "missing '}'"},
		{"leading comma in array", "a: [,1]", 1, 5, "a", "unexpected ','"},
		{"double comma in array", "a: [1,,2]", 1, 7, "a", "unexpected ','"},
		{"array items without comma", "a: [x y]", 1, 7, "a", "expected ',' or ']'"},
		{"slash in array", "a: [/tmp/x]", 1, 5, "a", "unexpected '/'"},
		{"unterminated double quote", "a: \"open\n", 1, 4, "a", "unterminated quoted string"},
		{"unterminated single quote", "a: 'open", 1, 4, "a", "unterminated quoted string"},
		{"unterminated block", "a: (\nopen\n", 1, 4, "a", "unterminated block string"},
		{"unterminated quoted key", `"a: 1`, 1, 1, "", "unterminated quoted key"},
		{"bad escape", `a: "\u0041"`, 1, 6, "a", "invalid escape character 'u'"},
		{"bad bare escape", `path: C:\path`, 1, 10, "path", "invalid escape character 'p'"},
		{"bad hex escape", `a: "\x4g"`, 1, 7, "a", "hexadecimal"},
		{"float without leading digit", "a: .5", 1, 4, "a", "floats must start with a digit"},
		{"float without trailing digit", "a: 1.", 1, 6, "a", "digit after the '.'"},
		{"float with suffix", "a: 1.5k", 1, 7, "a", "but got 'k'"},
		{"minus alone", "a: -x", 1, 5, "a", "expected a digit"},
		{"short date", "a: 2016-05-04", 1, 14, "a", "ISO8601"},
		{"dash in number", "a: 1-2", 1, 5, "a", "full Zulu form"},
		{"impossible date", "a: 2016-13-01T00:00:00Z", 1, 4, "a", "Zulu formatted datetime"},
		{"integer overflow", "a: 9223372036854775808", 1, 4, "a", "out of range"},
		// nats-server silently wraps or drops these.
		{"size overflow", "a: 10000EB", 1, 4, "a", "out of range"},
		{"unknown suffix", "a: 1kbb", 1, 4, "a", `invalid size suffix "kbb"`},
		{"key separator first", ": 1", 1, 1, "", "unexpected key separator"},
		{"stray closing brace", "}", 1, 1, "", "unexpected '}'"},
		{"lone slash", "/a: 1", 1, 1, "", "unexpected '/'"},
		{"undefined variable", "a: $nope_not_defined_anywhere", 1, 4, "a", `"$nope_not_defined_anywhere" is not defined`},
		{"variable from sibling map is out of scope", "c { b: 1 }\nd { a: $b }", 2, 8, "d.a", "is not defined"},
		{"variable defined later", "a: $x\nx: 1", 1, 4, "a", "is not defined"},
		{"error deep inside", "a {\n  b {\n    c: [1, {d: \"x}]\n  }\n}", 3, 16, "a.b.c.d", "unterminated quoted string"},
		{"include without name", "include \n", 1, 9, "", "include needs a file name"},
		{"include of missing file", "include nothere.conf", 1, 1, "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), "bad.conf")
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.in)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%q) error %T %v is not *conf.Error", tc.in, err, err)
			}
			if ce.Pos.File != "bad.conf" || ce.Pos.Line != tc.line || ce.Pos.Col != tc.col || ce.Key != tc.key {
				t.Errorf("Parse(%q) error at %s key %q, want bad.conf:%d:%d key %q (%v)",
					tc.in, ce.Pos, ce.Key, tc.line, tc.col, tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse(%q) error %q does not mention %q", tc.in, err, tc.msg)
			}
			prefix := fmt.Sprintf("bad.conf:%d:%d: ", tc.line, tc.col)
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
		})
	}
}

func TestPositions(t *testing.T) {
	in := "# header\nport: 4222\njetstream {\n  store_dir: \"/tmp/x\"\n  limits: [1, 2]\n}\n"
	m, err := Parse([]byte(in), "p.conf")
	if err != nil {
		t.Fatal(err)
	}
	port := m.Get("port")
	if got := port.Pos.String(); got != "p.conf:2:1" {
		t.Errorf("port key at %s", got)
	}
	if got := port.Value.Pos.String(); got != "p.conf:2:7" {
		t.Errorf("port value at %s", got)
	}
	js := m.Get("jetstream").Value.Map
	if got := js.Get("store_dir").Pos.String(); got != "p.conf:4:3" {
		t.Errorf("store_dir at %s", got)
	}
	limits := js.Get("limits").Value.Array
	if got := limits[1].Pos.String(); got != "p.conf:5:15" {
		t.Errorf("second limit at %s", got)
	}
	if port.Value.Raw != "4222" {
		t.Errorf("raw %q", port.Value.Raw)
	}
}

func TestVariableReferencesAreMarked(t *testing.T) {
	m, err := Parse([]byte("used: 1\nunused: 2\nx: $used\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !m.Get("used").Referenced || m.Get("unused").Referenced || m.Get("x").Referenced {
		t.Fatalf("referenced flags: used=%v unused=%v x=%v",
			m.Get("used").Referenced, m.Get("unused").Referenced, m.Get("x").Referenced)
	}
	x := m.Get("x").Value
	if x.Var != "used" || x.Pos.Line != 3 || x.Pos.Col != 4 {
		t.Fatalf("x came from %q at %s", x.Var, x.Pos)
	}
}

func TestEnvironmentVariables(t *testing.T) {
	t.Setenv("KEEL_T_PORT", "4333")
	t.Setenv("KEEL_T_SIZE", "1k")
	t.Setenv("KEEL_T_WORD", "hello")
	t.Setenv("KEEL_T_QUOTED", `"q w"`)
	t.Setenv("KEEL_T_EMPTY", "")
	t.Setenv("KEEL_T_REF", "$KEEL_T_WORD")
	t.Setenv("KEEL_T_MAP", "{a: 1}")
	t.Setenv("KEEL_T_BOOL", "yes")
	t.Setenv("KEEL_T_SHADOWED", "from-env")
	in := `port: $KEEL_T_PORT
size: $KEEL_T_SIZE
word: $KEEL_T_WORD
quoted: $KEEL_T_QUOTED
empty: $KEEL_T_EMPTY
ref: $KEEL_T_REF
map: $KEEL_T_MAP
bool: $KEEL_T_BOOL
KEEL_T_SHADOWED: from-file
shadowed: $KEEL_T_SHADOWED
`
	m, err := Parse([]byte(in), "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"KEEL_T_SHADOWED":s"from-file","bool":btrue,"empty":s"","map":{"a":i1},"port":i4333,"quoted":s"q w","ref":s"hello","shadowed":s"from-file","size":i1000,"word":s"hello"}`
	if got := render(m); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestEnvironmentErrors(t *testing.T) {
	t.Setenv("KEEL_T_A", "$KEEL_T_B")
	t.Setenv("KEEL_T_B", "$KEEL_T_A")
	t.Setenv("KEEL_T_TWO_WORDS", "hello world")
	for _, tc := range []struct{ in, msg string }{
		{"a: $KEEL_T_A", "cycle"},
		{"a: $KEEL_T_TWO_WORDS", `environment variable "KEEL_T_TWO_WORDS" could not be parsed`},
	} {
		_, err := Parse([]byte(tc.in), "e.conf")
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "e.conf:1:4: key \"a\"") {
			t.Errorf("Parse(%q) = %v, want an error at e.conf:1:4 mentioning %q", tc.in, err, tc.msg)
		}
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestIncludes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.conf":         "port: 1\ninclude sub/auth.conf\nuser_copy: $user\njetstream {\n  include 'sub/js.conf'\n}\ninclude \"sub/override.conf\"\n",
		"sub/auth.conf":     "user: alice\npass: secret\n",
		"sub/js.conf":       "store_dir: /data\nmax_mem: 1G\n",
		"sub/override.conf": "port: 2\n",
	})
	m, err := ParseFile(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"jetstream":{"max_mem":i1000000000,"store_dir":s"/data"},"pass":s"secret","port":i2,"user":s"alice","user_copy":s"alice"}`
	if got := render(m); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if p := m.Get("user").Pos; p.File != filepath.Join(dir, "sub/auth.conf") || p.Line != 1 {
		t.Errorf("included key at %s", p)
	}
	if p := m.Get("port").Pos; p.File != filepath.Join(dir, "sub/override.conf") {
		t.Errorf("overridden key at %s", p)
	}
}

func TestIncludeErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"cycle.conf":  "a: 1\ninclude cycle2.conf\n",
		"cycle2.conf": "include cycle.conf\n",
		"bad.conf":    "x: 1\ninclude broken.conf\n",
		"broken.conf": "ok: 1\noops: [1,\n",
		"scope.conf":  "secret: 1\ninclude uses.conf\n",
		"uses.conf":   "copy: $secret\n",
		"abs.conf":    "include " + filepath.Join("ABS", "x.conf") + "\n",
	})
	for _, tc := range []struct{ file, msg, at string }{
		{"cycle.conf", "include cycle", filepath.Join(dir, "cycle2.conf") + ":1:1"},
		{"bad.conf", "missing ']'", filepath.Join(dir, "broken.conf") + ":2:7"},
		// An included file does not see the includer's variables.
		{"scope.conf", `"$secret" is not defined`, filepath.Join(dir, "uses.conf") + ":1:7"},
	} {
		_, err := ParseFile(filepath.Join(dir, tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), tc.at) {
			t.Errorf("%s: got %v, want %q at %s", tc.file, err, tc.msg, tc.at)
		}
		if err != nil && tc.file == "bad.conf" && !strings.Contains(err.Error(), "included from "+filepath.Join(dir, "bad.conf")+":2:1") {
			t.Errorf("%s: %v does not say where it was included from", tc.file, err)
		}
	}
}

func TestIncludeAbsolutePath(t *testing.T) {
	inc := writeFiles(t, map[string]string{"x.conf": "from_abs: true\n"})
	dir := writeFiles(t, map[string]string{"main.conf": "include " + filepath.Join(inc, "x.conf") + "\n"})
	m, err := ParseFile(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got := render(m); got != `{"from_abs":btrue}` {
		t.Fatalf("got %s", got)
	}
}

func TestParseFileErrors(t *testing.T) {
	if _, err := ParseFile(filepath.Join(t.TempDir(), "missing.conf")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ParseFile(t.TempDir()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Parse([]byte("a: "+deep), ""); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep arrays: %v", err)
	}
	deepMaps := strings.Repeat("a {", MaxDepth+1) + strings.Repeat("}", MaxDepth+1)
	if _, err := Parse([]byte(deepMaps), ""); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep maps: %v", err)
	}
	ok := "a: " + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(ok), ""); err != nil {
		t.Errorf("nesting at the limit: %v", err)
	}
}

// The digest is nats-server's: the value printed by
// `nats-server -t -c FILE` for the same file.
func TestDigestMatchesReference(t *testing.T) {
	m, err := Parse([]byte("port: 4333\nmax_payload: 2MB\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	const want = "sha256:f89daaa2c7ea00fe41f6c76bf6c3f60557afa3879e7c838654422ff4b8dbce58"
	if got := m.Digest(); got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
}
