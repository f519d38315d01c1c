package server

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/keelhq/keel/server/opts"
)

// TestClientLogLabel: after CONNECT a client's log lines name it as
// nats-server names it: client version, language and name, then the
// account and how it authenticated.
func TestClientLogLabel(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(o *opts.Options)
		connect string
		want    string // the "Client connection closed" line after the address and cid
	}{
		{"anonymous", nil, `{"verbose":false}`, ` - Client connection closed: Client Closed`},
		{"named", nil, `{"verbose":false,"name":"svc","lang":"go","version":"1.2.3"}`,
			` - "v1.2.3:go:svc" - Client connection closed: Client Closed`},
		{"user", func(o *opts.Options) { o.Username, o.Password = "alice", "pw" }, `{"verbose":false,"user":"alice","pass":"pw"}`,
			` - "$G/user:alice" - Client connection closed: Client Closed`},
		{"token and name", func(o *opts.Options) { o.Authorization = "tok" }, `{"verbose":false,"name":"svc","auth_token":"tok"}`,
			` - "svc" - "$G/token" - Client connection closed: Client Closed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := runServer(t, func(o *opts.Options) {
				o.Debug = true
				if tc.mod != nil {
					tc.mod(o)
				}
			})
			log := &memLogger{}
			s.SetLogger(log)
			rc := dialRaw(t, s)
			rc.send("CONNECT " + tc.connect + "\r\n")
			rc.sync()
			rc.conn.Close()
			waitFor(t, 2*time.Second, "close logged", func() bool { return log.Contains("Client connection closed") })
			re := regexp.MustCompile(`cid:\d+` + regexp.QuoteMeta(tc.want) + `$`)
			if !slices.ContainsFunc(log.Lines(), re.MatchString) {
				t.Fatalf("log %q has no line matching %s", log.Lines(), re)
			}
		})
	}
}

// TestPlaintextPasswordWarning: a password in clear in the configuration
// is warned about at start-up, as nats-server does; a bcrypt hash is not.
func TestPlaintextPasswordWarning(t *testing.T) {
	for pass, warn := range map[string]bool{
		"secret": true,
		"$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG": false,
	} {
		o := opts.Default()
		o.Host, o.Port = "127.0.0.1", -1
		o.Username, o.Password = "u", pass
		s, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		log := &memLogger{}
		s.SetLogger(log)
		s.Announce()
		if got := log.Contains("[WRN] Plaintext passwords detected, use nkeys or bcrypt"); got != warn {
			t.Errorf("password %q: warned %v, want %v", pass, got, warn)
		}
	}
}
