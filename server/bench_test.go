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
func benchClient(tb testing.TB, s *Server, setup string) *client {
	c := newClient(s, nullConn{})
	c.acc = s.gacc
	if err := c.parser.Parse([]byte(setup)); err != nil {
		tb.Fatal(err)
	}
	c.flushClients()
	c.out.dropLocked()
	return c
}

// routeFixture sets up subs subscribers on foo.bar (in one queue group
// with queue) and returns one publish step and a drain of their queues.
func routeFixture(tb testing.TB, subs int, queue bool) (publish func(), drain func(), size int) {
	s, err := New(opts.Default())
	if err != nil {
		tb.Fatal(err)
	}
	var sinks []*client
	for range subs {
		sub := "SUB foo.bar 1\r\n"
		if queue {
			sub = "SUB foo.bar q 1\r\n"
		}
		sinks = append(sinks, benchClient(tb, s, "CONNECT {\"verbose\":false}\r\n"+sub))
	}
	pub := benchClient(tb, s, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
	msg := []byte("PUB foo.bar 128\r\n" + strings.Repeat("x", 128) + "\r\n")
	publish = func() {
		if err := pub.parser.Parse(msg); err != nil {
			tb.Fatal(err)
		}
		pub.flushClients()
	}
	drain = func() {
		for _, c := range sinks {
			c.mu.Lock()
			c.out.dropLocked()
			c.mu.Unlock()
			// Take the flush signal the writer would have taken.
			select {
			case <-c.out.flushCh:
			default:
			}
		}
	}
	return publish, drain, len(msg)
}

func benchRoute(b *testing.B, subs int, queue bool) {
	publish, drain, size := routeFixture(b, subs, queue)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		publish()
		if i++; i%1024 == 0 {
			drain()
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

// TestHotPathDoesNotAllocate: parse, route and queue for delivery
// allocate nothing per message once warm.
func TestHotPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool and maps allocate")
	}
	for _, c := range []struct {
		name  string
		subs  int
		queue bool
	}{{"one sub", 1, false}, {"fanout", 4, false}, {"queue", 4, true}, {"no sub", 0, false}} {
		publish, drain, _ := routeFixture(t, c.subs, c.queue)
		publish() // warm the caches and buffers
		drain()
		if a := testing.AllocsPerRun(500, publish); a != 0 {
			t.Errorf("%s: %.1f allocs per message", c.name, a)
		}
		drain()
	}
	s, err := New(opts.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubscribeInternal("foo", "", func(*InMsg) {}); err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	s.Publish("foo", "", nil, data)
	if a := testing.AllocsPerRun(500, func() { s.Publish("foo", "", nil, data) }); a != 0 {
		t.Errorf("Server.Publish: %.1f allocs per message", a)
	}
}
