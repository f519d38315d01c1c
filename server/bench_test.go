package server

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/keelhq/keel/server/opts"
)

// nullConn is a net.Conn that is never written to by the benchmarks below
// (they drain the outbound queue themselves).
type nullConn struct{}

func (nullConn) Read([]byte) (int, error)         { select {} }
func (nullConn) Write(b []byte) (int, error)      { return len(b), nil }
func (nullConn) Close() error                     { return nil }
func (nullConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4222} }
func (nullConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000} }
func (nullConn) SetDeadline(time.Time) error      { return nil }
func (nullConn) SetReadDeadline(time.Time) error  { return nil }
func (nullConn) SetWriteDeadline(time.Time) error { return nil }

// benchClient is a client wired to the server's global account but with
// no goroutines: the benchmark drives its parser directly.
func benchClient(b *testing.B, s *Server, setup string) *client {
	c := newClient(s, nullConn{})
	c.acc = s.gacc
	if err := c.parser.Parse([]byte(setup)); err != nil {
		b.Fatal(err)
	}
	c.flushClients()
	c.out.buf = c.out.buf[:0]
	return c
}

func benchRoute(b *testing.B, subs int, queue bool) {
	s, err := New(opts.Default())
	if err != nil {
		b.Fatal(err)
	}
	var sinks []*client
	for i := range subs {
		sub := "SUB foo.bar 1\r\n"
		if queue {
			sub = "SUB foo.bar q 1\r\n"
		}
		sinks = append(sinks, benchClient(b, s, "CONNECT {\"verbose\":false}\r\n"+sub))
		_ = i
	}
	pub := benchClient(b, s, "CONNECT {\"verbose\":false}\r\n")
	msg := []byte("PUB foo.bar 128\r\n" + strings.Repeat("x", 128) + "\r\n")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := pub.parser.Parse(msg); err != nil {
			b.Fatal(err)
		}
		pub.flushClients()
		if i++; i%1024 == 0 {
			for _, c := range sinks {
				c.mu.Lock()
				c.out.buf = c.out.buf[:0]
				c.mu.Unlock()
				// Drain the flush signal the writer would have taken.
				select {
				case <-c.out.flushCh:
				default:
				}
			}
		}
	}
}

// BenchmarkPubOneSub is the hot path: parse a PUB, match it (cached), and
// queue the MSG for one subscriber. It must not allocate.
func BenchmarkPubOneSub(b *testing.B) { benchRoute(b, 1, false) }

// BenchmarkPubFanout4 delivers each message to four subscribers.
func BenchmarkPubFanout4(b *testing.B) { benchRoute(b, 4, false) }

// BenchmarkPubQueue4 delivers each message to one of four queue members.
func BenchmarkPubQueue4(b *testing.B) { benchRoute(b, 4, true) }

// BenchmarkPubNoSub publishes with no interest.
func BenchmarkPubNoSub(b *testing.B) { benchRoute(b, 0, false) }

// BenchmarkServerPublish is the internal API's publish path.
func BenchmarkServerPublish(b *testing.B) {
	s, err := New(opts.Default())
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	if _, err := s.SubscribeInternal("foo.bar", "", func(m *InMsg) { n += len(m.Data) }); err != nil {
		b.Fatal(err)
	}
	data := []byte(strings.Repeat("x", 128))
	b.ReportAllocs()
	for b.Loop() {
		s.Publish("foo.bar", "", nil, data)
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation check runs the benchmark")
	}
	for name, f := range map[string]func(*testing.B){
		"PubOneSub": BenchmarkPubOneSub, "PubQueue4": BenchmarkPubQueue4, "ServerPublish": BenchmarkServerPublish,
	} {
		r := testing.Benchmark(f)
		if a := r.AllocsPerOp(); a != 0 {
			t.Errorf("%s: %d allocs/op, want 0", name, a)
		}
	}
}
