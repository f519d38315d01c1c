package proto

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder turns callbacks into a readable trace.
type recorder struct {
	out []string
	p   *Parser
	// clearAuth emulates a server accepting CONNECT.
	clearAuth bool
}

func (r *recorder) add(f string, a ...any) error {
	r.out = append(r.out, fmt.Sprintf(f, a...))
	return nil
}
func (r *recorder) Connect(arg []byte) error {
	if r.clearAuth {
		r.p.RequireConnect = false
	}
	return r.add("CONNECT %s", arg)
}
func (r *recorder) Info(arg []byte) error { return r.add("INFO %s", arg) }
func (r *recorder) Msg(m *Msg, data []byte) error {
	return r.add("MSG s=%s r=%s sid=%s h=%d n=%d %q", m.Subject, m.Reply, m.Sid, m.HdrLen, m.Size, data)
}
func (r *recorder) Sub(s, q, sid []byte) error        { return r.add("SUB %s q=%s %s", s, q, sid) }
func (r *recorder) Unsub(sid []byte, max int64) error { return r.add("UNSUB %s %d", sid, max) }
func (r *recorder) Ping() error                       { return r.add("PING") }
func (r *recorder) Pong() error                       { return r.add("PONG") }
func (r *recorder) OK() error                         { return r.add("+OK") }
func (r *recorder) Err(arg []byte) error              { return r.add("-ERR %s", arg) }

type parseCase struct {
	name string
	mode Mode
	in   string
	want []string
	err  error // nil, a sentinel, or errArg for *ArgError
}

var errArg = errors.New("arg error")

var parseCases = []parseCase{
	{"connect", ServerMode, "CONNECT {\"verbose\":false}\r\n", []string{`CONNECT {"verbose":false}`}, nil},
	{"connect no space", ServerMode, "CONNECT{}\r\n", []string{`CONNECT {}`}, nil},
	{"lower case", ServerMode, "connect {}\r\nping\r\npong\r\npub a 1\r\nx\r\nsub a 1\r\nunsub 1\r\n",
		[]string{"CONNECT {}", "PING", "PONG", `MSG s=a r= sid= h=-1 n=1 "x"`, "SUB a q= 1", "UNSUB 1 -1"}, nil},
	{"mixed case", ServerMode, "PiNg\r\nPuB a 0\r\n\r\n", []string{"PING", `MSG s=a r= sid= h=-1 n=0 ""`}, nil},
	{"pub reply", ServerMode, "PUB foo bar 5\r\nhello\r\n", []string{`MSG s=foo r=bar sid= h=-1 n=5 "hello"`}, nil},
	{"pub tabs", ServerMode, "PUB\tfoo \t bar\t5\r\nhello\r\n", []string{`MSG s=foo r=bar sid= h=-1 n=5 "hello"`}, nil},
	{"pub LF only", ServerMode, "PUB foo 2\nhi\r\n", []string{`MSG s=foo r= sid= h=-1 n=2 "hi"`}, nil},
	{"payload with CRLF", ServerMode, "PUB foo 4\r\n\r\n\r\n\r\n", []string{`MSG s=foo r= sid= h=-1 n=4 "\r\n\r\n"`}, nil},
	{"hpub", ServerMode, "HPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", []string{`MSG s=foo r=r sid= h=12 n=14 "NATS/1.0\r\n\r\nhi"`}, nil},
	{"hpub no reply", ServerMode, "HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n", []string{`MSG s=foo r= sid= h=12 n=12 "NATS/1.0\r\n\r\n"`}, nil},
	{"sub queue", ServerMode, "SUB foo bar 1\r\n", []string{"SUB foo q=bar 1"}, nil},
	{"unsub max", ServerMode, "UNSUB 1 10\r\nUNSUB 2 x\r\n", []string{"UNSUB 1 10", "UNSUB 2 -1"}, nil},
	{"ping with junk", ServerMode, "PING x y\r\n+OK\r\n", []string{"PING", "+OK"}, nil},
	{"err", ServerMode, "-ERR 'x'\r\n", []string{"-ERR 'x'"}, nil},
	{"info", ServerMode, "INFO {}\r\n", []string{"INFO {}"}, nil},
	{"msg client", ClientMode, "MSG foo 1 2\r\nhi\r\nMSG foo 1 r 0\r\n\r\n", []string{`MSG s=foo r= sid=1 h=-1 n=2 "hi"`, `MSG s=foo r=r sid=1 h=-1 n=0 ""`}, nil},
	{"hmsg client", ClientMode, "HMSG foo 9 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", []string{`MSG s=foo r=r sid=9 h=12 n=14 "NATS/1.0\r\n\r\nhi"`}, nil},
	{"msg in server mode", ServerMode, "MSG foo 1 2\r\nhi\r\n", nil, ErrUnknownOp},
	{"unknown", ServerMode, "PING\r\nFOO bar\r\n", []string{"PING"}, ErrUnknownOp},
	{"blank line", ServerMode, "\r\n", nil, ErrUnknownOp},
	{"verb without space", ServerMode, "PUBfoo 1\r\n", nil, ErrUnknownOp},
	{"payload too long", ServerMode, "PUB foo 3\r\nhello\r\n", nil, ErrUnknownOp},
	{"pub bad size", ServerMode, "PUB foo bar\r\n", nil, errArg},
	{"pub too many args", ServerMode, "PUB a b c 1\r\n", nil, errArg},
	{"pub size too long", ServerMode, "PUB a 1234567890\r\n", nil, errArg},
	{"hpub hdr > size", ServerMode, "HPUB foo 5 3\r\nabc\r\n", nil, errArg},
	{"sub too many", ServerMode, "SUB foo bar baz qux\r\n", nil, errArg},
	{"sub too few", ServerMode, "SUB foo\r\n", nil, errArg},
	{"unsub too many", ServerMode, "UNSUB 1 2 3\r\n", nil, errArg},
	{"max payload", ServerMode, "PUB foo 2000\r\n", nil, ErrMaxPayload},
	{"max control line", ServerMode, "SUB " + strings.Repeat("x", 300) + " 1\r\n", nil, ErrMaxControlLine},
}

func run(t *testing.T, c parseCase, chunks [][]byte) ([]string, error) {
	t.Helper()
	r := &recorder{}
	p := New(c.mode, r)
	p.MaxPayload = 1024
	p.MaxControlLine = 256
	p.Headers = true
	r.p = p
	for _, ch := range chunks {
		if err := p.Parse(ch); err != nil {
			return r.out, err
		}
	}
	return r.out, nil
}

func checkErr(t *testing.T, got, want error) {
	t.Helper()
	if want == errArg {
		var ae *ArgError
		if !errors.As(got, &ae) {
			t.Fatalf("err = %v, want ArgError", got)
		}
		return
	}
	if !errors.Is(got, want) || (got == nil) != (want == nil) {
		t.Fatalf("err = %v, want %v", got, want)
	}
}

// TestParse runs every case whole, split at every position, and one byte
// per read: the callbacks must be the same.
func TestParse(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.in)
			splits := [][][]byte{{in}}
			for k := 1; k < len(in); k++ {
				splits = append(splits, [][]byte{in[:k:k], in[k:]})
			}
			var bytewise [][]byte
			for k := range in {
				bytewise = append(bytewise, in[k:k+1:k+1])
			}
			splits = append(splits, bytewise)
			for si, chunks := range splits {
				got, err := run(t, c, chunks)
				checkErr(t, err, c.err)
				if c.err == nil && strings.Join(got, "|") != strings.Join(c.want, "|") {
					t.Fatalf("split %d: got %q\nwant %q", si, got, c.want)
				}
			}
		})
	}
}

func TestRequireConnect(t *testing.T) {
	r := &recorder{clearAuth: true}
	p := New(ServerMode, r)
	r.p = p
	p.RequireConnect = true
	if err := p.Parse([]byte("PING\r\n")); err != ErrAuthRequired {
		t.Fatalf("err = %v", err)
	}
	p.Reset()
	p.RequireConnect = true
	if err := p.Parse([]byte("CONNECT {}\r\nPING\r\n")); err != nil {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(r.out, "|") != "CONNECT {}|PING" {
		t.Fatalf("got %q", r.out)
	}
}

func TestHeadersRequired(t *testing.T) {
	p := New(ServerMode, &recorder{})
	if err := p.Parse([]byte("HPUB a 0 0\r\n\r\n")); err != ErrHeadersNotSupported {
		t.Fatalf("err = %v", err)
	}
}

// TestSplitArgLimit checks that a control line growing across reads is cut
// off before it is complete.
func TestSplitArgLimit(t *testing.T) {
	p := New(ServerMode, &recorder{})
	p.MaxControlLine = 100
	if err := p.Parse([]byte("SUB ")); err != nil {
		t.Fatal(err)
	}
	var err error
	for range 10 {
		if err = p.Parse([]byte(strings.Repeat("x", 20))); err != nil {
			break
		}
	}
	if err != ErrMaxControlLine {
		t.Fatalf("err = %v", err)
	}
}

type nopHandler struct{ n int }

func (*nopHandler) Connect([]byte) error      { return nil }
func (*nopHandler) Info([]byte) error         { return nil }
func (h *nopHandler) Msg(*Msg, []byte) error  { h.n++; return nil }
func (*nopHandler) Sub(_, _, _ []byte) error  { return nil }
func (*nopHandler) Unsub([]byte, int64) error { return nil }
func (*nopHandler) Ping() error               { return nil }
func (*nopHandler) Pong() error               { return nil }
func (*nopHandler) OK() error                 { return nil }
func (*nopHandler) Err([]byte) error          { return nil }

func BenchmarkParsePub128(b *testing.B) {
	msg := []byte("PUB foo.bar 128\r\n" + strings.Repeat("x", 128) + "\r\n")
	buf := []byte(strings.Repeat(string(msg), 100))
	p := New(ServerMode, &nopHandler{})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Parse(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSplit feeds reads that cut messages in the middle.
func BenchmarkParseSplit(b *testing.B) {
	msg := []byte("PUB foo.bar 128\r\n" + strings.Repeat("x", 128) + "\r\n")
	buf := []byte(strings.Repeat(string(msg), 100))
	p := New(ServerMode, &nopHandler{})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(buf); off += 1000 {
			if err := p.Parse(buf[off:min(off+1000, len(buf))]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
