package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"github.com/keelhq/keel/internal/memlog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/keelhq/keel/server/opts"
)

// runServer starts a server on a random loopback port; mod adjusts the
// options first. It is shut down when the test ends.
func runServer(t testing.TB, mod func(o *opts.Options)) *Server {
	t.Helper()
	o := opts.Default()
	o.Host = "127.0.0.1"
	o.Port = -1
	if mod != nil {
		mod(o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// rawClient is a protocol-level connection for asserting exact bytes.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	info map[string]any
}

// dialRaw connects and reads the INFO line.
func dialRaw(t testing.TB, s *Server) *rawClient {
	t.Helper()
	return dialRawWith(t, s, &net.Dialer{})
}

func dialRawWith(t testing.TB, s *Server, d *net.Dialer) *rawClient {
	t.Helper()
	conn, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	rc := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	line := rc.readLine()
	if !strings.HasPrefix(line, "INFO {") || !strings.HasSuffix(line, "} \r\n") {
		t.Fatalf("first line is not INFO: %q", line)
	}
	if err := json.Unmarshal([]byte(line[5:len(line)-3]), &rc.info); err != nil {
		t.Fatalf("INFO json: %v", err)
	}
	return rc
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := rc.conn.Write([]byte(s)); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// readLine reads one line (with its CRLF), failing after a timeout.
func (rc *rawClient) readLine() string {
	rc.t.Helper()
	rc.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := rc.r.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v (got %q)", err, line)
	}
	return line
}

// expect reads exactly len(want) bytes and compares.
func (rc *rawClient) expect(want string) {
	rc.t.Helper()
	rc.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	got := make([]byte, len(want))
	n, err := ioReadFull(rc.r, got)
	if err != nil || string(got) != want {
		rc.t.Fatalf("got %q (err %v), want %q", got[:n], err, want)
	}
}

// expectClosed checks that the server closes the connection with nothing
// more to say.
func (rc *rawClient) expectClosed() {
	rc.t.Helper()
	rc.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := rc.r.ReadByte()
	if err == nil {
		rest, _ := rc.r.Peek(rc.r.Buffered())
		rc.t.Fatalf("expected close, got %q", append([]byte{b}, rest...))
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		rc.t.Fatalf("connection not closed")
	}
}

// expectClosedAfterData drains whatever was delivered and checks the
// connection then ends.
func (rc *rawClient) expectClosedAfterData() {
	rc.t.Helper()
	buf := make([]byte, 64*1024)
	for {
		rc.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := rc.r.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				rc.t.Fatalf("connection not closed")
			}
			return
		}
	}
}

// sync sends PING and waits for its PONG: everything sent before has been
// processed.
func (rc *rawClient) sync() {
	rc.t.Helper()
	rc.send("PING\r\n")
	rc.expect("PONG\r\n")
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// memLogger records log lines for assertions.
type memLogger = memlog.Logger

// waitFor polls cond (for state with no event to wait on, such as a
// server-side counter) until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ = bytes.Equal
