package server

import (
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keelhq/keel/server/opts"
)

// TestStartupBanner: the lines nats-server logs at start-up, in its
// order, with the configured host in the listen line (Go listens on
// 0.0.0.0 dual-stack and would print [::]).
func TestStartupBanner(t *testing.T) {
	o := opts.Default()
	o.Host, o.Port = "0.0.0.0", -1
	o.ServerName = "banner"
	o.JetStream = true // the banner names the JetStream node
	o.ConfigFile, o.ConfigDigest = "/etc/keel.conf", "sha256:0123"
	o.Warnings = []string{"something is not available"}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	log := &memLogger{}
	s.SetLogger(log)
	s.Announce()
	s.Announce() // once only
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	port := strconv.Itoa(s.Addr().(*net.TCPAddr).Port)
	want := []string{
		"[INF] Starting nats-server compatible Keel",
		"[INF]   Version:  " + Version,
		"[INF]   Git:      [" + gitCommit() + "]",
		"[INF]   Name:     banner",
		"[INF]   Node:     " + NodeHash("banner"),
		"[INF]   ID:       " + s.ID(),
		"[INF] Using configuration file: /etc/keel.conf (sha256:0123)",
		"[WRN] something is not available",
		"[INF] Listening for client connections on 0.0.0.0:" + port,
		"[INF] Server is ready",
	}
	got := log.Lines()
	if !slices.Equal(got, want) {
		t.Fatalf("start-up log:\n%q\nwant:\n%q", got, want)
	}
}

// NodeHash gives nats-server's node names: the values the reference
// printed ("Node:") for these server names.
func TestNodeHash(t *testing.T) {
	for name, want := range map[string]string{
		"ND3P66GS4TPISWBZF7CISUEMBINRE4I6ZJB2Y3AK533BDTWECYW3N5UI": "g24JV5ji",
		"NAENDJ3ZYKMHFUEYUGMRK2CIBQJN4QH5O3K5J3MW4RNRNXA55QO77QUN": "YMt3VGff",
	} {
		if got := NodeHash(name); got != want {
			t.Errorf("NodeHash(%s) = %s, want %s", name, got, want)
		}
	}
}

// TestShutdownHooks: hooks run once, newest first, after the listener has
// closed and while clients are still connected to receive what a hook
// publishes (JetStream's last acks); then clients are closed.
func TestShutdownHooks(t *testing.T) {
	s := runServer(t, nil)
	log := &memLogger{}
	s.SetLogger(log)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false}\r\nSUB last 1\r\n")
	rc.sync()
	addr := s.Addr().String()
	var order []string
	s.OnShutdown(func() {
		order = append(order, "first")
		s.Publish("last", "", nil, []byte("words"))
	})
	s.OnShutdown(func() {
		order = append(order, "second")
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Error("still accepting while hooks run")
		}
		if !log.Contains("Initiating Shutdown...") {
			t.Error("hooks ran before the shutdown was announced")
		}
	})
	s.Shutdown()
	s.Shutdown()
	if !slices.Equal(order, []string{"second", "first"}) {
		t.Fatalf("hooks ran %v", order)
	}
	rc.expect("MSG last 1 5\r\nwords\r\n")
	rc.expectClosed()
	if !log.Contains("Server Exiting..") {
		t.Fatal("no exit line")
	}
}

// TestLameDuckPacing: without clients lame duck mode ends at once (no
// grace period to wait for); with clients, closes are at most a second
// apart and nothing is waited after the last one, as in nats-server. The
// durations are a minute, so a regression shows as a timeout.
func TestLameDuckPacing(t *testing.T) {
	tests := []struct {
		name    string
		clients int
		grace   time.Duration
	}{
		{"no clients", 0, time.Minute},
		{"two clients", 2, time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := runServer(t, func(o *opts.Options) {
				o.LameDuckDuration, o.LameDuckGrace = 2*time.Minute, tc.grace
			})
			var conns []*rawClient
			for range tc.clients {
				rc := dialRaw(t, s)
				// Protocol 1: takes INFO updates once its first PING is
				// answered (with PONG and an INFO).
				rc.send("CONNECT {\"verbose\":false,\"protocol\":1}\r\n")
				rc.sync()
				rc.readLine()
				conns = append(conns, rc)
			}
			done := make(chan struct{})
			go func() { s.LameDuckShutdown(); close(done) }()
			for _, rc := range conns {
				line := rc.readLine()
				if !strings.Contains(line, `"ldm":true`) {
					t.Fatalf("got %q, want INFO with ldm", line)
				}
				rc.expectClosedAfterData() // the first keep-alive PING may come first
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("lame duck mode still running")
			}
		})
	}
}

// TestLameDuckInfoOnlyToAsyncClients: the INFO announcing lame duck mode
// goes only to clients that take INFO updates (protocol 1, past their
// first PING), as nats-server sends it; others are just closed.
func TestLameDuckInfoOnlyToAsyncClients(t *testing.T) {
	s := runServer(t, func(o *opts.Options) {
		o.LameDuckDuration, o.LameDuckGrace = time.Minute, time.Millisecond
	})
	old := dialRaw(t, s)
	old.send("CONNECT {\"verbose\":false,\"protocol\":0}\r\n")
	old.sync()
	go s.LameDuckShutdown()
	old.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(old.r)
	if strings.Contains(string(rest), "INFO") || err != nil {
		t.Fatalf("protocol 0 client got %q (%v), want only the close", rest, err)
	}
	s.WaitForShutdown()
}
