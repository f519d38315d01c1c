package jetstream_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The scripts in testdata/oracle are the request sequences of
// /work/shared/tools/oracle.sh (api mode: req, pub, sleep; directives in
// comments: "#conf", "#jetstream", "#unchecked"). Each
// <name>.golden holds the reference's replies to its script, normalized;
// TestOracleScripts replays every script against Keel and compares. The
// golden files are written from the reference itself:
//
//	go test ./server/jetstream -run TestOracleScripts -jsref -update
var updateGolden = flag.Bool("update", false, "with -jsref: rewrite testdata/oracle/*.golden from the reference's replies")

func TestOracleScripts(t *testing.T) {
	t.Parallel()
	scripts, err := filepath.Glob("testdata/oracle/*.txt")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	if *updateGolden && !*jsRef {
		t.Fatal("-update needs -jsref: golden files come from the reference")
	}
	for _, path := range scripts {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			steps, err := parseScript(string(src))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if testing.Short() && scriptSleeps(steps) > time.Second {
				t.Skip("sleeps; not in -short")
			}
			tg := startTarget(t, "", scriptConfig(t, string(src)))
			got := replayScript(t, tg, steps)
			checkGolden(t, strings.TrimSuffix(path, ".txt")+".golden", got, diffTranscripts)
		})
	}
}

// scriptConfig builds the server configuration a script asks for in its
// directive comments: "#conf <line>" adds a line at the top level,
// "#jetstream <line>" one inside the jetstream block.
func scriptConfig(t *testing.T, src string) string {
	var conf, js []string
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "#conf "); ok {
			conf = append(conf, v)
		} else if v, ok := strings.CutPrefix(l, "#jetstream "); ok {
			js = append(js, v)
		}
	}
	if len(js) == 0 {
		return strings.Join(conf, "\n")
	}
	return strings.Join(conf, "\n") + "\njetstream {\n  store_dir: " + strconv.Quote(t.TempDir()) + "\n  " + strings.Join(js, "\n  ") + "\n}\n"
}

type scriptStep struct {
	line    int
	src     string
	kind    string // req, pub, sleep
	subject string
	payload []byte
	headers [][2]string
	sleep   time.Duration
	// unchecked steps run but their replies are not compared: a
	// "#unchecked <why>" line before the step says why.
	unchecked bool
}

func scriptSleeps(steps []scriptStep) (d time.Duration) {
	for _, s := range steps {
		d += s.sleep
	}
	return d
}

// parseScript reads the oracle's api script format.
func parseScript(src string) ([]scriptStep, error) {
	var steps []scriptStep
	unchecked := false
	for i, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#unchecked") {
			unchecked = true
			continue
		}
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		kind, arg, _ := strings.Cut(l, " ")
		arg = strings.TrimSpace(arg)
		st := scriptStep{line: i + 1, src: l, kind: kind, unchecked: unchecked}
		unchecked = false
		switch kind {
		case "req":
			subj, payload, _ := strings.Cut(arg, " ")
			st.subject = subj
			if payload = strings.TrimSpace(payload); payload != `""` {
				st.payload = expandScriptPayload(payload)
			}
		case "pub":
			toks, err := scriptTokens(arg)
			if err != nil || len(toks) == 0 {
				return nil, fmt.Errorf("line %d: bad pub: %v", i+1, err)
			}
			st.subject, toks = toks[0].s, toks[1:]
			if len(toks) > 0 && !(toks[0].s == "header" && !toks[0].quoted) {
				if toks[0].quoted {
					st.payload = []byte(toks[0].s)
				} else {
					st.payload = expandScriptPayload(toks[0].s)
				}
				toks = toks[1:]
			}
			for len(toks) >= 2 && toks[0].s == "header" {
				k, v, ok := strings.Cut(toks[1].s, ":")
				if !ok {
					return nil, fmt.Errorf("line %d: header must be K:V", i+1)
				}
				st.headers = append(st.headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
				toks = toks[2:]
			}
			if len(toks) > 0 {
				return nil, fmt.Errorf("line %d: trailing %q", i+1, toks[0].s)
			}
		case "sleep":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", i+1, err)
			}
			st.sleep = d
		default:
			return nil, fmt.Errorf("line %d: unknown step %q", i+1, kind)
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// expandScriptPayload expands {payload:N} into N bytes of 'x'.
func expandScriptPayload(p string) []byte {
	var out []byte
	for {
		i := strings.Index(p, "{payload:")
		if i < 0 {
			return append(out, p...)
		}
		j := strings.IndexByte(p[i:], '}')
		n, err := strconv.Atoi(p[i+len("{payload:") : i+j])
		if j < 0 || err != nil {
			return append(out, p...)
		}
		out = append(append(out, p[:i]...), bytes.Repeat([]byte("x"), n)...)
		p = p[i+j+1:]
	}
}

type scriptToken struct {
	s      string
	quoted bool
}

func scriptTokens(s string) ([]scriptToken, error) {
	var out []scriptToken
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, nil
		}
		if s[0] != '"' {
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			out, s = append(out, scriptToken{s: s[:end]}), s[end:]
			continue
		}
		end := 1
		for ; end < len(s) && s[end] != '"'; end++ {
			if s[end] == '\\' {
				end++
			}
		}
		if end >= len(s) {
			return nil, fmt.Errorf("unterminated quote")
		}
		u, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return nil, err
		}
		out, s = append(out, scriptToken{s: u, quoted: true}), s[end+1:]
	}
}

// replayScript runs the steps and renders every reply, normalized.
func replayScript(t *testing.T, tg *target, steps []scriptStep) string {
	nc, err := nats.Connect(tg.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var w strings.Builder
	for _, st := range steps {
		if st.kind == "sleep" {
			time.Sleep(st.sleep)
			continue
		}
		fmt.Fprintf(&w, "== line %d: %s\n", st.line, st.src)
		if st.unchecked {
			w.WriteString("<unchecked>\n")
		}
		m := nats.NewMsg(st.subject)
		m.Data = st.payload
		for _, h := range st.headers {
			m.Header.Add(h[0], h[1])
		}
		if len(m.Header) == 0 {
			m.Header = nil
		}
		// Long enough for a file stream's fsyncs on a loaded machine; a
		// step the reference leaves unanswered costs this much.
		reply, err := nc.RequestMsg(m, replyWait)
		switch {
		case err == nats.ErrNoResponders:
			w.WriteString("<no responders>\n")
		case err != nil:
			fmt.Fprintf(&w, "<no reply: %v>\n", err)
		case st.unchecked:
		default:
			renderReply(&w, reply)
		}
	}
	return w.String()
}

// replyWait is how long a script step waits for its reply.
const replyWait = 3 * time.Second

// Fields whose values differ between any two servers or runs.
var volatileKeys = map[string]bool{
	"created": true, "ts": true, "time": true, "now": true, "server_id": true, "server_name": true,
	"leader": true, "uptime": true, "first_ts": true, "last_ts": true, "last_active": true, "active": true,
	"_nats.ver": true,
	// Keel advertises the API level it implements, below the reference's;
	// apilevel tests check the value.
	"_nats.level": true, "level": true,
}

var volatilePaths = []string{"api.total", "api.errors", "api.inflight", "cluster.name"}

func renderReply(w *strings.Builder, m *nats.Msg) {
	if len(m.Header) > 0 {
		keys := make([]string, 0, len(m.Header))
		for k := range m.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := strings.Join(m.Header[k], ",")
			if k == "Nats-Time-Stamp" {
				v = "<volatile>"
			}
			fmt.Fprintf(w, "hdr %s: %s\n", k, v)
		}
	}
	if len(m.Data) == 0 {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		fmt.Fprintf(w, "body %q\n", m.Data)
		return
	}
	v = maskVolatile(v, "")
	b, _ := json.MarshalIndent(v, "", "  ")
	w.Write(b)
	w.WriteByte('\n')
}

func maskVolatile(v any, path string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if volatileKeys[k] && e != nil {
				x[k] = "<volatile>"
				continue
			}
			masked := false
			for _, s := range volatilePaths {
				if p == s || strings.HasSuffix(p, "."+s) {
					x[k], masked = "<volatile>", true
				}
			}
			if !masked {
				x[k] = maskVolatile(e, p)
				if (k == "hdrs") && isString(e) {
					if raw, err := base64.StdEncoding.DecodeString(e.(string)); err == nil {
						x[k] = sortedHeaderBlock(string(raw))
					}
				}
			}
		}
	case []any:
		for i, e := range x {
			x[i] = maskVolatile(e, path)
		}
	}
	return v
}

// sortedHeaderBlock sorts the fields of a stored header block (nats.go
// writes a message's headers in map order, so their order in a stored
// message says nothing about the server) and masks time stamps.
func sortedHeaderBlock(h string) string {
	lines := strings.Split(strings.TrimSuffix(h, "\r\n\r\n"), "\r\n")
	if len(lines) > 1 {
		sort.Strings(lines[1:])
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "Nats-Time-Stamp: ") {
			lines[i] = "Nats-Time-Stamp: <volatile>"
		}
	}
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

func isString(v any) bool { _, ok := v.(string); return ok }

// diffTranscripts shows the steps whose replies differ.
func diffTranscripts(want, got string) string {
	split := func(s string) map[string]string {
		out := map[string]string{}
		for _, part := range strings.Split(s, "== ")[1:] {
			title, body, _ := strings.Cut(part, "\n")
			out[title] = body
		}
		return out
	}
	ws, gs := split(want), split(got)
	var titles []string
	for k := range ws {
		titles = append(titles, k)
	}
	for k := range gs {
		if _, ok := ws[k]; !ok {
			titles = append(titles, k)
		}
	}
	sort.Slice(titles, func(i, j int) bool { return lineOf(titles[i]) < lineOf(titles[j]) })
	var d strings.Builder
	for _, k := range titles {
		if ws[k] == gs[k] {
			continue
		}
		fmt.Fprintf(&d, "== %s\n", k)
		wl, gl := strings.Split(ws[k], "\n"), strings.Split(gs[k], "\n")
		for i := 0; i < max(len(wl), len(gl)); i++ {
			var a, b string
			if i < len(wl) {
				a = wl[i]
			}
			if i < len(gl) {
				b = gl[i]
			}
			if a != b {
				fmt.Fprintf(&d, "- %s\n+ %s\n", a, b)
			}
		}
	}
	return d.String()
}

func lineOf(title string) int {
	var n int
	fmt.Sscanf(title, "line %d:", &n)
	return n
}
