package server

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"

	"github.com/keelhq/keel/server/opts"
)

func connect(t testing.TB, s *Server, o ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), o...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestNatsPubSubWildcards(t *testing.T) {
	s := runServer(t, nil)
	nc := connect(t, s)
	cases := []struct {
		filter string
		pubs   []string
		want   int
	}{
		{"foo", []string{"foo", "foo.bar", "bar"}, 1},
		{"foo.*", []string{"foo", "foo.bar", "foo.baz", "foo.bar.baz"}, 2},
		{"foo.>", []string{"foo", "foo.bar", "foo.bar.baz"}, 2},
		{">", []string{"a", "b.c", "d.e.f"}, 3},
		{"*.bar.*", []string{"a.bar.c", "a.bar", "a.baz.c"}, 1},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			sub, err := nc.SubscribeSync(c.filter)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			for _, p := range c.pubs {
				if err := nc.Publish(p, []byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			n, _, _ := sub.Pending()
			if n != c.want {
				t.Fatalf("got %d messages, want %d", n, c.want)
			}
		})
	}
}

func TestNatsQueueFairness(t *testing.T) {
	s := runServer(t, nil)
	nc := connect(t, s)
	const members, msgs = 4, 4000
	counts := make([]atomic.Int64, members)
	var total sync.WaitGroup
	total.Add(msgs)
	for i := range members {
		mc := connect(t, s)
		if _, err := mc.QueueSubscribe("work", "g", func(*nats.Msg) {
			counts[i].Add(1)
			total.Done()
		}); err != nil {
			t.Fatal(err)
		}
		mc.Flush()
	}
	// A plain subscriber sees every message.
	all, _ := nc.SubscribeSync("work")
	nc.Flush()
	for i := range msgs {
		nc.Publish("work", []byte(fmt.Sprint(i)))
	}
	nc.Flush()
	total.Wait()
	for i := range members {
		n := counts[i].Load()
		// Random choice: each member's share is binomial(4000, 1/4),
		// whose standard deviation is ~27; 800 is far outside it.
		if n < msgs/members-200 || n > msgs/members+200 {
			t.Errorf("member %d got %d of %d messages", i, n, msgs)
		}
	}
	if n, _, _ := all.Pending(); n != msgs {
		t.Errorf("plain subscriber got %d", n)
	}
}

func TestNatsRequestReplyAndHeaders(t *testing.T) {
	for _, noCache := range []bool{false, true} {
		t.Run(fmt.Sprintf("disable_sublist_cache=%v", noCache), func(t *testing.T) {
			testRequestReplyAndHeaders(t, noCache)
		})
	}
}

func testRequestReplyAndHeaders(t *testing.T, noCache bool) {
	s := runServer(t, func(o *opts.Options) { o.DisableSublistCache = noCache })
	nc := connect(t, s)
	nc.Subscribe("svc", func(m *nats.Msg) {
		r := nats.NewMsg(m.Reply)
		r.Header.Set("X-Echo", m.Header.Get("X-In"))
		r.Data = append([]byte("re:"), m.Data...)
		m.RespondMsg(r)
	})
	req := nats.NewMsg("svc")
	req.Header.Set("X-In", "v1")
	req.Data = []byte("hi")
	resp, err := nc.RequestMsg(req, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Data) != "re:hi" || resp.Header.Get("X-Echo") != "v1" {
		t.Fatalf("reply %q headers %v", resp.Data, resp.Header)
	}
}

func TestNatsNoResponders(t *testing.T) {
	s := runServer(t, nil)
	nc := connect(t, s)
	_, err := nc.Request("nobody.home", nil, 2*time.Second)
	if !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("err = %v, want ErrNoResponders", err)
	}
}

func TestNatsMaxPayload(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.MaxPayload = 1024 })
	nc := connect(t, s)
	if nc.MaxPayload() != 1024 {
		t.Fatalf("client sees max payload %d", nc.MaxPayload())
	}
	if err := nc.Publish("foo", make([]byte, 2048)); !errors.Is(err, nats.ErrMaxPayload) {
		t.Fatalf("err = %v", err)
	}
}

// TestNatsSlowConsumer: a subscriber that never reads is cut off once its
// pending bytes pass max_pending; the publisher and a healthy subscriber
// are not held up.
func TestNatsSlowConsumer(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.MaxPending = 4 << 20; o.MaxPayload = 8 * 1024 })
	// The slow client's receive buffer is made tiny before connecting, so
	// the kernel absorbs little on its behalf.
	slow := dialRawWith(t, s, &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}})
	slow.send("CONNECT {\"verbose\":false}\r\nSUB data 1\r\n")
	slow.sync()

	good := connect(t, s)
	gsub, _ := good.SubscribeSync("data")
	good.Flush()

	pub := connect(t, s)
	// Far more than max_pending plus the kernel's buffers for the client
	// that never reads. Flushing every few messages paces the publisher so
	// the healthy subscriber stays well under max_pending.
	payload := make([]byte, 8*1024)
	const n = 3000
	for i := range n {
		if err := pub.Publish("data", payload); err != nil {
			t.Fatal(err)
		}
		if i%25 == 0 {
			if err := pub.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "slow consumer", func() bool { return s.NumSlowConsumers() >= 1 })
	for i := range n {
		if _, err := gsub.NextMsg(5 * time.Second); err != nil {
			t.Fatalf("healthy subscriber message %d: %v", i, err)
		}
	}
	if got := s.NumSlowConsumers(); got != 1 {
		t.Fatalf("slow consumers = %d, want only the one that never reads", got)
	}
	slow.expectClosedAfterData()
}

func TestNatsReconnectAfterRestart(t *testing.T) {
	s := runServer(t, nil)
	port := s.Addr().(*net.TCPAddr).Port
	reconnected := make(chan struct{}, 1)
	nc := connect(t, s, nats.ReconnectWait(20*time.Millisecond), nats.MaxReconnects(-1),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	sub, _ := nc.SubscribeSync("after")
	nc.Flush()
	s.Shutdown()

	s2 := runServer(t, func(o *opts.Options) { o.Port = port })
	select {
	case <-reconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnect")
	}
	// The subscription is replayed on reconnect.
	nc.Publish("after", []byte("x"))
	if _, err := sub.NextMsg(2 * time.Second); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
	_ = s2
}

func TestNatsAuth(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*opts.Options)
		good []nats.Option
		bad  []nats.Option
	}{
		{"user", func(o *opts.Options) { o.Username, o.Password = "alice", "pw" },
			[]nats.Option{nats.UserInfo("alice", "pw")}, []nats.Option{nats.UserInfo("alice", "nope")}},
		{"bcrypt", func(o *opts.Options) {
			h, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			o.Username, o.Password = "bob", string(h)
		}, []nats.Option{nats.UserInfo("bob", "secret")}, []nats.Option{nats.UserInfo("bob", "x")}},
		{"token", func(o *opts.Options) { o.Authorization = "tok" },
			[]nats.Option{nats.Token("tok")}, []nats.Option{nats.Token("bad")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := runServer(t, c.mod)
			connect(t, s, c.good...)
			_, err := nats.Connect(s.ClientURL(), append(c.bad, nats.NoReconnect())...)
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("bad credentials: err = %v", err)
			}
			if _, err := nats.Connect(s.ClientURL(), nats.NoReconnect()); !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("no credentials: err = %v", err)
			}
		})
	}
}

func TestInternalSubscribeAndPublish(t *testing.T) {
	s := runServer(t, nil)
	// An internal service answering requests from clients.
	is, err := s.SubscribeInternal("int.svc", "", func(m *InMsg) {
		if m.ClientID == 0 || m.Account != GlobalAccountName {
			t.Errorf("InMsg origin %d %q", m.ClientID, m.Account)
		}
		s.Publish(m.Reply, "", []byte("NATS/1.0\r\nK: v\r\n\r\n"), append([]byte("got:"), m.Data...))
	})
	if err != nil {
		t.Fatal(err)
	}
	nc := connect(t, s)
	resp, err := nc.Request("int.svc", []byte("ping"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Data) != "got:ping" || resp.Header.Get("K") != "v" {
		t.Fatalf("resp %q %v", resp.Data, resp.Header)
	}
	s.UnsubscribeInternal(is)
	if _, err := nc.Request("int.svc", nil, time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("after unsubscribe: %v", err)
	}

	// Server.Publish reaches client and internal subscribers alike.
	var got atomic.Value
	_, _ = s.SubscribeInternal("events.>", "", func(m *InMsg) { got.Store(strings.Clone(m.Subject)) })
	sub, _ := nc.SubscribeSync("events.x")
	nc.Flush()
	s.Publish("events.x", "", nil, []byte("e"))
	if m, err := sub.NextMsg(2 * time.Second); err != nil || string(m.Data) != "e" {
		t.Fatalf("client did not get server publish: %v", err)
	}
	if got.Load() != "events.x" {
		t.Fatalf("internal sub got %v", got.Load())
	}
	if _, err := s.SubscribeInternal("bad..subject", "", func(*InMsg) {}); err == nil {
		t.Fatal("invalid subject accepted")
	}
}

func TestLameDuck(t *testing.T) {
	s := runServer(t, func(o *opts.Options) {
		o.LameDuckDuration = 200 * time.Millisecond
		o.LameDuckGrace = 50 * time.Millisecond
	})
	ldm := make(chan struct{}, 1)
	closed := make(chan struct{})
	nc := connect(t, s, nats.NoReconnect(),
		nats.LameDuckModeHandler(func(*nats.Conn) { ldm <- struct{}{} }),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	_ = nc
	done := make(chan struct{})
	go func() { s.LameDuckShutdown(); close(done) }()
	select {
	case <-ldm:
	case <-time.After(2 * time.Second):
		t.Fatal("client did not see lame duck mode")
	}
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("client not closed")
	}
	<-done
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after lame duck")
	}
}

func TestReload(t *testing.T) {
	s := runServer(t, nil)
	nc := connect(t, s, nats.NoReconnect())
	o := *s.Options()
	o.MaxPayload = 512
	o.Debug = true
	if err := s.Reload(&o); err != nil {
		t.Fatal(err)
	}
	if s.Options().MaxPayload != 512 {
		t.Fatal("max_payload not applied")
	}
	// New connections see the new limit.
	if nc2 := connect(t, s); nc2.MaxPayload() != 512 {
		t.Fatalf("new client sees %d", nc2.MaxPayload())
	}
	bad := *s.Options()
	bad.Port = 1
	bad.ServerName = "other"
	err := s.Reload(&bad)
	if err == nil || !strings.Contains(err.Error(), "port") || !strings.Contains(err.Error(), "server_name") {
		t.Fatalf("reload of port: err = %v", err)
	}
	// Turning auth on closes clients that no longer authenticate.
	withAuth := *s.Options()
	withAuth.Authorization = "tok"
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := s.Reload(&withAuth); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("unauthenticated client kept after auth reload")
	}
}

func TestShutdownFlushes(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false}\r\nSUB x 1\r\n")
	rc.sync()
	s.Publish("x", "", nil, []byte("last"))
	s.Shutdown()
	rc.expect("MSG x 1 4\r\nlast\r\n")
	rc.expectClosed()
}

// TestWriteDeadlineSlowConsumer: with a large max_pending, a client that
// stops reading is cut off when a write to it stalls past write_deadline.
func TestWriteDeadlineSlowConsumer(t *testing.T) {
	s := runServer(t, func(o *opts.Options) {
		o.MaxPending = 1 << 30
		o.WriteDeadline = 100 * time.Millisecond
	})
	slow := dialRawWith(t, s, &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}})
	slow.send("CONNECT {\"verbose\":false}\r\nSUB data 1\r\n")
	slow.sync()
	pub := connect(t, s)
	payload := make([]byte, 64*1024)
	deadline := time.Now().Add(10 * time.Second)
	for s.NumSlowConsumers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no slow consumer after write deadline")
		}
		for range 32 {
			pub.Publish("data", payload)
		}
		pub.Flush()
	}
	waitFor(t, 2*time.Second, "closed connection recorded", func() bool { return len(s.ClosedClients()) == 1 })
	if r := s.ClosedClients()[0].Reason; r != "Slow Consumer (Write Deadline)" {
		t.Fatalf("reason %q", r)
	}
}

func TestReloadMaxConnections(t *testing.T) {
	s := runServer(t, nil)
	for range 3 {
		connect(t, s, nats.NoReconnect())
	}
	o := *s.Options()
	o.MaxConn = 1
	if err := s.Reload(&o); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "clients over the limit closed", func() bool { return s.NumClients() == 1 })
}

func TestRunAndReady(t *testing.T) {
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", -1
	s, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if !s.ReadyForConnections(time.Second) || !s.Running() {
		t.Fatal("not ready after Run")
	}
	if _, err := Run(&opts.Options{Host: "256.0.0.1", Port: -1}); err == nil {
		t.Fatal("Run on a bad address succeeded")
	}
	s.Shutdown()
	if s.ReadyForConnections(0) {
		t.Fatal("ready after Shutdown")
	}
}

// TestRefusesUnenforceableProtection: options asking for protection the
// server cannot enforce yet fail New instead of running open.
func TestRefusesUnenforceableProtection(t *testing.T) {
	cases := map[string]func(*opts.Options){
		"users":         func(o *opts.Options) { o.Users = []*opts.User{{Username: "a", Password: "b"}} },
		"tls":           func(o *opts.Options) { o.TLS = &opts.TLSOptions{} },
		"password only": func(o *opts.Options) { o.Password = "secret" },
		"account users": func(o *opts.Options) { o.Accounts = []*opts.Account{{Name: "A", Users: []*opts.User{{Username: "u"}}}} },
	}
	for name, mod := range cases {
		o := opts.Default()
		mod(o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestNatsClientFeatures(t *testing.T) {
	s := runServer(t, nil)
	nc := connect(t, s, nats.NoEcho(), nats.UseOldRequestStyle())
	if v := nc.ConnectedServerVersion(); v != Version {
		t.Fatalf("server version %q", v)
	}
	if nc.ConnectedServerId() != s.ID() {
		t.Fatal("server id mismatch")
	}
	// Old-style requests subscribe a fresh inbox with auto-unsubscribe 1.
	svc := connect(t, s)
	svc.Subscribe("old", func(m *nats.Msg) { m.Respond([]byte("ok")) })
	svc.Flush()
	for range 3 {
		if m, err := nc.Request("old", nil, 2*time.Second); err != nil || string(m.Data) != "ok" {
			t.Fatalf("old-style request: %v", err)
		}
	}
	// No echo: our own publish is not delivered to us.
	own, _ := nc.SubscribeSync("echo")
	nc.Publish("echo", []byte("x"))
	nc.Flush()
	if n, _, _ := own.Pending(); n != 0 {
		t.Fatalf("no-echo client got %d own messages", n)
	}
	// Drain: pending messages are delivered, then the connection closes.
	got := make(chan struct{}, 10)
	dc := connect(t, s)
	dc.Subscribe("drain", func(*nats.Msg) { got <- struct{}{} })
	dc.Flush()
	for range 5 {
		svc.Publish("drain", nil)
	}
	svc.Flush()
	if err := dc.Drain(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		select {
		case <-got:
		case <-time.After(2 * time.Second):
			t.Fatal("message lost in drain")
		}
	}
	waitFor(t, 2*time.Second, "drained connection closed", dc.IsClosed)
	// Subscriptions left by old-style requests are gone.
	waitFor(t, 2*time.Second, "inbox subscriptions removed", func() bool {
		return s.GlobalAccount().NumSubscriptions() == 2+systemSubscriptions // "old" and "echo"
	})
}
