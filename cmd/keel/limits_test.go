//go:build unix

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestConfigLimits: limits set in a configuration file reach the server
// with nats-server's meaning, as a client sees them. max_connections 0 or
// negative refuses every client, as in nats-server (verified against the
// reference binary).
func TestConfigLimits(t *testing.T) {
	tests := []struct {
		conf  string
		check func(t *testing.T, url string)
	}{
		{"max_connections: 0", refused},
		{"max_connections: -1", refused},
		{"max_connections: 1", func(t *testing.T, url string) {
			nc, err := nats.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			refused(t, url)
		}},
		{"max_subscriptions: 1", func(t *testing.T, url string) {
			errs := make(chan error, 1)
			nc, err := nats.Connect(url, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SubscribeSync("a")
			nc.SubscribeSync("b")
			nc.Flush()
			select {
			case err := <-errs:
				if !strings.Contains(err.Error(), "maximum subscriptions exceeded") {
					t.Fatalf("error %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("second subscription accepted")
			}
		}},
		{"max_payload: 1KB", func(t *testing.T, url string) {
			nc, err := nats.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if nc.MaxPayload() != 1024 {
				t.Fatalf("max payload %d", nc.MaxPayload())
			}
		}},
		{"authorization { token: \"s3cret\" }", func(t *testing.T, url string) {
			if nc, err := nats.Connect(url); err == nil {
				nc.Close()
				t.Fatal("connected without the token")
			}
			nc, err := nats.Connect(url, nats.Token("s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			nc.Close()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.conf, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "keel.conf")
			writeConf(t, conf, fmt.Sprintf("listen: 127.0.0.1:-1\n%s\n", tc.conf))
			p := start(t, "-c", conf)
			url, _ := p.listening()
			tc.check(t, url)
			p.signal(syscall.SIGTERM)
			if code := p.waitExit(); code != 0 {
				t.Fatalf("exit code %d", code)
			}
		})
	}
}

// refused checks a new connection gets INFO, then the reference's error,
// then is closed. (nats.go may report that as a broken pipe: with
// nats-server too, the close can beat its CONNECT.)
func refused(t *testing.T, url string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	info, _ := r.ReadString('\n')
	rest, err := io.ReadAll(r)
	if !strings.HasPrefix(info, "INFO ") || string(rest) != "-ERR 'maximum connections exceeded'\r\n" || err != nil {
		t.Fatalf("got %q then %q (%v), want INFO, the error and a close", info, rest, err)
	}
}
