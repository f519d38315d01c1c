package server

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/keelhq/keel/server/opts"
)

func TestInfoFields(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.ServerName = "keel-test" })
	rc := dialRaw(t, s)
	want := map[string]any{
		"server_id":   s.ID(),
		"server_name": "keel-test",
		"version":     Version,
		"proto":       float64(1),
		"go":          runtime.Version(),
		"host":        "127.0.0.1",
		"headers":     true,
		"max_payload": float64(opts.DefaultMaxPayload),
		"client_ip":   "127.0.0.1",
	}
	for k, v := range want {
		if rc.info[k] != v {
			t.Errorf("INFO %s = %v, want %v", k, rc.info[k], v)
		}
	}
	if p, _ := rc.info["port"].(float64); int(p) != s.Addr().(*net.TCPAddr).Port {
		t.Errorf("INFO port = %v", rc.info["port"])
	}
	if id, _ := rc.info["client_id"].(float64); id < 1 {
		t.Errorf("INFO client_id = %v", rc.info["client_id"])
	}
	if !strings.HasPrefix(s.ID(), "N") || len(s.ID()) != 56 {
		t.Errorf("server_id %q is not a server nkey", s.ID())
	}
	for _, absent := range []string{"auth_required", "jetstream", "ldm", "nonce", "tls_required", "api_lvl", "domain"} {
		if _, ok := rc.info[absent]; ok {
			t.Errorf("INFO has %s, want it absent", absent)
		}
	}
}

func TestInfoAuthAndJetStream(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.Authorization = "secret" })
	s.SetJetStreamInfo(JetStreamInfo{Enabled: true, Domain: "hub", APILevel: 3})
	rc := dialRaw(t, s)
	if rc.info["auth_required"] != true || rc.info["jetstream"] != true ||
		rc.info["domain"] != "hub" || rc.info["api_lvl"] != float64(3) {
		t.Fatalf("INFO = %v", rc.info)
	}
}

// TestProtocolErrors checks the exact bytes of each error and whether the
// connection stays open, as nats-server v2.15.3 answers (verified against
// the reference with raw sockets).
func TestProtocolErrors(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*opts.Options)
		send   string
		want   string
		closed bool
	}{
		{"unknown op", nil, "CONNECT {\"verbose\":false}\r\nFOO bar\r\n", "-ERR 'Unknown Protocol Operation'\r\n", true},
		{"max payload", nil, "CONNECT {\"verbose\":false}\r\nPUB foo 2000000\r\n", "-ERR 'Maximum Payload Violation'\r\n", true},
		{"payload longer than announced", nil, "CONNECT {\"verbose\":false}\r\nPUB foo 3\r\nhello\r\n", "-ERR 'Unknown Protocol Operation'\r\n", true},
		{"max control line", nil, "SUB " + strings.Repeat("x", 5000) + " 1\r\n", "-ERR 'maximum control line exceeded'\r\n", true},
		{"pub bad size", nil, "PUB foo bar\r\n", "", true},
		{"sub too many args", nil, "CONNECT {\"verbose\":false}\r\nSUB foo bar baz qux\r\n", "", true},
		{"bad connect json", nil, "CONNECT {bad json}\r\n", "", true},
		{"hpub without headers", nil, "HPUB foo 5 3\r\nabc\r\n", "", true},
		{"msg from client", nil, "MSG foo 1 2\r\nhi\r\n", "-ERR 'Unknown Protocol Operation'\r\n", true},
		{"invalid protocol", nil, "CONNECT {\"protocol\":2}\r\n", "-ERR 'invalid client protocol'\r\n", true},
		{"no responders without headers", nil, "CONNECT {\"no_responders\":true}\r\n", "-ERR 'no responders requires headers support'\r\n", true},
		{"client -ERR", nil, "CONNECT {\"verbose\":false}\r\n-ERR 'x'\r\n", "", true},
		{"invalid subject", nil, "CONNECT {\"verbose\":false}\r\nSUB foo..bar 1\r\n", "-ERR 'Invalid Subject'\r\n", false},
		{"pedantic publish subject", nil, "CONNECT {\"verbose\":false,\"pedantic\":true}\r\nPUB foo.* 2\r\nhi\r\n", "-ERR 'Invalid Publish Subject'\r\n", false},
		{"max subscriptions", func(o *opts.Options) { o.MaxSubs = 1 }, "CONNECT {\"verbose\":false}\r\nSUB a 1\r\nSUB b 2\r\n", "-ERR 'maximum subscriptions exceeded'\r\n", false},
		{"auth violation", func(o *opts.Options) { o.Username, o.Password = "u", "p" }, "CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"x\"}\r\n", "-ERR 'Authorization Violation'\r\n", true},
		{"auth before connect", func(o *opts.Options) { o.Authorization = "tok" }, "PING\r\n", "-ERR 'Authorization Violation'\r\n", true},
		{"max sub tokens", func(o *opts.Options) { o.MaxSubTokens = 2 }, "CONNECT {\"verbose\":false}\r\nSUB a.b.c 1\r\n", "-ERR 'Permissions Violation for Subscription to \"a.b.c\", too many tokens'\r\n", false},
		{"no connections allowed", func(o *opts.Options) { o.MaxConn = -1 }, "", "-ERR 'maximum connections exceeded'\r\n", true},
		{"account in connect", nil, "CONNECT {\"verbose\":false,\"account\":\"A\"}\r\n", "-ERR 'Authorization Violation'\r\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := runServer(t, c.mod)
			rc := dialRaw(t, s)
			rc.send(c.send)
			rc.expect(c.want)
			if c.closed {
				rc.expectClosed()
			} else {
				rc.sync()
			}
		})
	}
}

// TestVerboseAndDefaults: before CONNECT the reference treats a client as
// verbose and pedantic, and CONNECT's JSON is applied on top.
func TestVerboseAndDefaults(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("SUB foo 1\r\nUNSUB 1 abc\r\nPUB foo 2\r\nhi\r\nPING\r\n")
	rc.expect("+OK\r\n+OK\r\n+OK\r\nPONG\r\n")

	rc = dialRaw(t, s)
	rc.send("CONNECT {\"echo\":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\nPING\r\n")
	rc.expect("+OK\r\n+OK\r\n+OK\r\nPONG\r\n")

	rc = dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":true,\"pedantic\":true}\r\nPUB foo.* 2\r\nhi\r\nSUB foo.* 1\r\nPUB foo.* 2\r\nhi\r\nPING\r\n")
	rc.expect("+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\n+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\nMSG foo.* 1 2\r\nhi\r\nPONG\r\n")
}

func TestMsgDeliveryBytes(t *testing.T) {
	s := runServer(t, nil)
	sub := dialRaw(t, s)
	sub.send("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo.* 1\r\nSUB foo.bar q 2\r\n")
	sub.sync()
	plain := dialRaw(t, s) // no headers: gets the payload only
	plain.send("CONNECT {\"verbose\":false}\r\nSUB foo.bar 7\r\n")
	plain.sync()

	pub := dialRaw(t, s)
	pub.send("CONNECT {\"verbose\":false,\"headers\":true}\r\n")
	pub.send("PUB foo.bar reply 5\r\nhello\r\n")
	pub.send("HPUB foo.bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")
	pub.sync()

	// foo.* and the queue group q each get both messages; the order
	// between the two subscriptions of one message is not specified.
	var lines []string
	for range 2 {
		for range 2 {
			l := sub.readLine()
			if strings.HasPrefix(l, "HMSG") {
				l += sub.readLine() + sub.readLine() + sub.readLine()
			} else {
				l += sub.readLine()
			}
			lines = append(lines, l)
		}
	}
	want := map[string]bool{
		"MSG foo.bar 1 reply 5\r\nhello\r\n":             true,
		"MSG foo.bar 2 reply 5\r\nhello\r\n":             true,
		"HMSG foo.bar 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n": true,
		"HMSG foo.bar 2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n": true,
	}
	for _, l := range lines {
		if !want[l] {
			t.Errorf("unexpected delivery %q", l)
		}
		delete(want, l)
	}
	plain.expect("MSG foo.bar 7 reply 5\r\nhello\r\nMSG foo.bar 7 2\r\nhi\r\n")
}

func TestEchoAndAutoUnsub(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n")
	rc.sync() // nothing delivered to ourselves

	rc = dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nUNSUB 1 2\r\n")
	for i := range 4 {
		rc.send(fmt.Sprintf("PUB foo 1\r\n%d\r\n", i))
	}
	rc.send("PING\r\n")
	rc.expect("MSG foo 1 1\r\n0\r\nMSG foo 1 1\r\n1\r\nPONG\r\n")
	// Only the first connection's subscription is left.
	if n := s.GlobalAccount().NumSubscriptions(); n != 1+systemSubscriptions {
		t.Fatalf("subscriptions after auto-unsubscribe: %d", n)
	}
}

func TestNoRespondersBytes(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false,\"no_responders\":true,\"headers\":true}\r\nSUB r 9\r\nPUB foo r 0\r\n\r\nPING\r\n")
	rc.expect("HMSG r 9 35 35\r\nNATS/1.0 503\r\nNats-Subject: foo\r\n\r\n\r\nPONG\r\n")
}

func TestMaxConnections(t *testing.T) {
	s := runServer(t, func(o *opts.Options) { o.MaxConn = 1 })
	first := dialRaw(t, s)
	first.sync()
	second := dialRaw(t, s) // INFO first, then the error
	second.expect("-ERR 'maximum connections exceeded'\r\n")
	second.expectClosed()
	first.sync()
}

func TestAuthTimeout(t *testing.T) {
	s := runServer(t, func(o *opts.Options) {
		o.Authorization = "tok"
		o.AuthTimeout = 50 * time.Millisecond
	})
	rc := dialRaw(t, s)
	rc.expect("-ERR 'Authentication Timeout'\r\n")
	rc.expectClosed()

	ok := dialRaw(t, s)
	ok.send("CONNECT {\"verbose\":false,\"auth_token\":\"tok\"}\r\n")
	ok.sync()
}

func TestStaleConnection(t *testing.T) {
	s := runServer(t, func(o *opts.Options) {
		o.PingInterval = 30 * time.Millisecond
		o.MaxPingsOut = 2
	})
	rc := dialRaw(t, s)
	rc.expect("PING\r\nPING\r\n-ERR 'Stale Connection'\r\n")
	rc.expectClosed()
}

func TestPingAnswered(t *testing.T) {
	s := runServer(t, func(o *opts.Options) {
		o.PingInterval = 20 * time.Millisecond
		o.MaxPingsOut = 1
	})
	rc := dialRaw(t, s)
	for range 5 {
		rc.expect("PING\r\n")
		rc.send("PONG\r\n")
	}
}

func TestLowerCaseAndSplitWrites(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	msg := "connect {\"verbose\":false}\r\nsub foo 1\r\npub foo 5\r\nhello\r\nping\r\n"
	for i := range len(msg) {
		rc.send(msg[i : i+1])
	}
	rc.expect("MSG foo 1 5\r\nhello\r\nPONG\r\n")
}

// TestConnectInfo: the first PING of a protocol-1 client gets PONG and an
// INFO naming its account; later PINGs only PONG.
func TestConnectInfo(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n")
	rc.expect("PONG\r\n")
	line := rc.readLine()
	for _, want := range []string{`"connect_info":true`, `"remote_account":"$G"`, `"client_id":`} {
		if !strings.Contains(line, want) {
			t.Errorf("connect INFO %q lacks %s", line, want)
		}
	}
	rc.send("PING\r\n")
	rc.expect("PONG\r\n")
	rc.sync()
}
