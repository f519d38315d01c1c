package server

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keelhq/keel/server/opts"
)

// traceLines returns the [TRC] lines logged so far, without the client
// prefix ("127.0.0.1:5555 - cid:3 - ").
func traceLines(l *memLogger) []string {
	prefix := regexp.MustCompile(`^\[TRC\] \S+ - cid:\d+ - ("[^"]*" - )?`)
	var out []string
	for _, line := range l.Lines() {
		if strings.HasPrefix(line, "[TRC] ") {
			out = append(out, prefix.ReplaceAllString(line, ""))
		}
	}
	return out
}

// TestTraceFormat checks -V output line by line against what nats-server
// v2.15.3 logs for the same input (compared with the reference binary).
func TestTraceFormat(t *testing.T) {
	const connect = "CONNECT {\"verbose\":false,\"headers\":true}\r\n"
	const connectTrace = `<<- [CONNECT {"verbose":false,"headers":true}]`
	tests := []struct {
		name string
		mod  func(o *opts.Options)
		send string
		want []string
	}{
		{"publish and delivery", nil, "SUB foo 1\r\nPUB foo 5\r\nhello\r\n", []string{
			"<<- [SUB foo 1]", "<<- [PUB foo 5]", `<<- MSG_PAYLOAD: ["hello"]`,
			"->> [MSG foo 1 5]", `->> MSG_PAYLOAD: ["hello"]`,
		}},
		{"reply subject", nil, "SUB foo 1\r\nPUB foo r 2\r\nhi\r\n", []string{
			"<<- [SUB foo 1]", "<<- [PUB foo r 2]", `<<- MSG_PAYLOAD: ["hi"]`,
			"->> [MSG foo 1 r 2]", `->> MSG_PAYLOAD: ["hi"]`,
		}},
		{"empty payload is not traced", nil, "SUB foo 1\r\nPUB foo 0\r\n\r\n", []string{
			"<<- [SUB foo 1]", "<<- [PUB foo 0]", "->> [MSG foo 1 0]",
		}},
		{"max_traced_msg_len quotes and cuts", func(o *opts.Options) { o.MaxTracedMsgLen = 4 }, "SUB foo 1\r\nPUB foo 6\r\nab\r\ncd\r\n", []string{
			"<<- [SUB foo 1]", "<<- [PUB foo 6]", `<<- MSG_PAYLOAD: ["ab\r\n..."]`,
			"->> [MSG foo 1 6]", `->> MSG_PAYLOAD: ["ab\r\n..."]`,
		}},
		{"headers", nil, "SUB foo 1\r\nHPUB foo 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n", []string{
			"<<- [SUB foo 1]", "<<- [HPUB foo 18 23]", `<<- MSG_PAYLOAD: ["NATS/1.0\r\nA: b\r\n\r\nhello"]`,
			"->> [HMSG foo 1 18 23]", `->> MSG_PAYLOAD: ["NATS/1.0\r\nA: b\r\n\r\nhello"]`,
		}},
		{"trace_headers traces headers only", func(o *opts.Options) { o.TraceHeaders = true },
			"SUB foo 1\r\nHPUB foo 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\nPUB foo 2\r\nhi\r\n", []string{
				"<<- [SUB foo 1]", "<<- [HPUB foo 18 23]", `<<- MSG_PAYLOAD: ["NATS/1.0\r\nA: b"]`,
				"->> [HMSG foo 1 18 23]", `->> MSG_PAYLOAD: ["NATS/1.0\r\nA: b"]`,
				"<<- [PUB foo 2]", "->> [MSG foo 1 2]",
			}},
		{"empty header block is a plain message", nil, "SUB foo 1\r\nHPUB foo 0 2\r\nhi\r\n", []string{
			"<<- [SUB foo 1]", "<<- [HPUB foo 0 2]", `<<- MSG_PAYLOAD: ["hi"]`,
			"->> [MSG foo 1 2]", `->> MSG_PAYLOAD: ["hi"]`,
		}},
		{"unsubscribe", nil, "SUB bar 2\r\nUNSUB 2\r\n", []string{
			"<<- [SUB bar 2]", "<<- [UNSUB 2]", "<-> [DELSUB 2]",
		}},
		{"error", nil, "SUB foo..bar 3\r\n", []string{
			"<<- [SUB foo..bar 3]", "->> [-ERR Invalid Subject]",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := runServer(t, func(o *opts.Options) {
				o.Trace = true
				if tc.mod != nil {
					tc.mod(o)
				}
			})
			log := &memLogger{}
			s.SetLogger(log)
			rc := dialRaw(t, s)
			rc.send(connect + tc.send + "PING\r\n")
			for rc.readLine() != "PONG\r\n" {
			}
			want := append(append([]string{connectTrace}, tc.want...), "<<- [PING]", "->> [PONG]")
			if got := traceLines(log); !slices.Equal(got, want) {
				t.Fatalf("trace:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// A closing client's subscriptions are traced as they go, after the
// debug line saying why it closed.
func TestTraceOnClose(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.Trace, o.Debug = true, true })
	log := &memLogger{}
	s.SetLogger(log)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false}\r\nSUB a 1\r\n")
	rc.sync()
	rc.conn.Close()
	waitFor(t, 2*time.Second, "DELSUB traced", func() bool { return log.Contains("<-> [DELSUB 1]") })
	closed, delsub := -1, -1
	for i, l := range log.Lines() {
		switch {
		case strings.Contains(l, "Client connection closed: Client Closed"):
			closed = i
		case strings.Contains(l, "<-> [DELSUB 1]"):
			delsub = i
		}
	}
	if closed < 0 || closed > delsub {
		t.Fatalf("closed at line %d, DELSUB at %d", closed, delsub)
	}
}

// trace_verbose (-VV) also traces what the server publishes itself, as
// nats-server traces its system account; plain -V does not.
func TestTraceVerboseInternal(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		s := runServer(t, func(o *opts.Options) { o.Trace, o.TraceVerbose = true, verbose })
		log := &memLogger{}
		s.SetLogger(log)
		s.Publish("internal.subject", "", nil, []byte("data"))
		for _, want := range []string{"internal - <<- [PUB internal.subject 4]", `internal - <<- MSG_PAYLOAD: ["data"]`} {
			if log.Contains(want) != verbose {
				t.Errorf("trace_verbose=%v: trace has %q: %v", verbose, want, !verbose)
			}
		}
	}
}

func TestRedactConnect(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"verbose":false}`, `{"verbose":false}`},
		{`{"user":"u","pass":"hunter2","name":"n"}`, `{"user":"u","pass":"[REDACTED]","name":"n"}`},
		{`{"auth_token":"a\"b","sig":"s", "nkey" : "UABC","proxy_sig":"p"}`,
			`{"auth_token":"[REDACTED]","sig":"[REDACTED]", "nkey" : "[REDACTED]","proxy_sig":"[REDACTED]"}`},
		{`{"pass":12345}`, `{"pass":[REDACTED]}`},
		{`{"name":"pass","pass":"x"}`, `{"name":"pass","pass":"[REDACTED]"}`},
		{`{"pass":"unterminated`, `{"pass":"[REDACTED]`},
		{`{"jwt":"eyJ","sig":""}`, `{"jwt":"eyJ","sig":"[REDACTED]"}`},
	}
	for _, tc := range tests {
		if got := redactConnect([]byte(tc.in)); got != tc.want {
			t.Errorf("redactConnect(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzRedactConnect: tracing a CONNECT never panics, whatever a client
// sends, and a password sent as a JSON string never reaches the log.
func FuzzRedactConnect(f *testing.F) {
	f.Add([]byte(`{"user":"u","pass":"p"}`), "hunter2")
	f.Add([]byte(`{"pass":`), "x")
	f.Add([]byte(`"pass" : "\`), "secret\"quoted")
	f.Fuzz(func(t *testing.T, raw []byte, secret string) {
		_ = redactConnect(raw)
		if len(secret) < 8 {
			return
		}
		b, err := json.Marshal(map[string]string{"name": "client", "pass": secret})
		if err != nil {
			return
		}
		enc, _ := json.Marshal(secret)
		if got := redactConnect(b); strings.Contains(got, string(enc[1:len(enc)-1])) {
			t.Fatalf("%s traced as %s", b, got)
		}
	})
}
