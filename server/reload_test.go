package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keelhq/keel/server/opts"
)

// TestReloadRules: Reload accepts what nats-server reloads and Keel
// applies, logging each change, and refuses the rest as a whole, as the
// reference does. The list itself is opts.CheckReload's; this checks the
// server applies and refuses through it.
func TestReloadRules(t *testing.T) {
	tests := []struct {
		name    string
		change  func(o *opts.Options)
		logs    []string // lines logged on success
		refused string   // substring of the error when refused
		check   func(t *testing.T, s *Server)
	}{
		{"limits", func(o *opts.Options) { o.MaxPayload, o.MaxControlLine = 1024, 512 },
			[]string{"[INF] Reloaded: max_payload = 1024", "[INF] Reloaded: max_control_line = 512"}, "",
			func(t *testing.T, s *Server) {
				rc := dialRaw(t, s)
				if rc.info["max_payload"] != float64(1024) {
					t.Errorf("INFO max_payload %v", rc.info["max_payload"])
				}
			}},
		{"tracing", func(o *opts.Options) { o.Trace, o.TraceVerbose, o.MaxTracedMsgLen = true, true, 8 },
			[]string{"[INF] Reloaded: trace = true", "[INF] Reloaded: trace_verbose = true", "[INF] Reloaded: max_traced_msg_len = 8"}, "",
			func(t *testing.T, s *Server) {
				log := s.logger().(*memLogger)
				s.Publish("after.reload", "", nil, []byte("0123456789"))
				if !log.Contains(`internal - <<- MSG_PAYLOAD: ["01234567..."]`) {
					t.Error("trace_verbose and max_traced_msg_len not applied")
				}
			}},
		{"digest", func(o *opts.Options) { o.ConfigDigest, o.NoFastProducerStall = "sha256:abc", true },
			[]string{"[INF] Reloaded: no_fast_producer_stall = true", "[INF] Reloaded server configuration (sha256:abc)"}, "", nil},
		{"max_subscriptions", func(o *opts.Options) { o.MaxSubs = 10 }, nil, "max_subscriptions (old=0, new=10)", nil},
		{"several at once", func(o *opts.Options) { o.MaxPending, o.NoHeaderSupport, o.MaxPayload = 1<<20, true, 10 }, nil,
			"max_pending (old=67108864, new=1048576), no_header_support (old=false, new=true)", nil},
		{"lame duck", func(o *opts.Options) { o.LameDuckDuration = time.Minute }, nil, "lame_duck_duration", nil},
		{"listen", func(o *opts.Options) { o.Host = "0.0.0.0" }, nil, `host (old="127.0.0.1", new="0.0.0.0")`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := runServer(t, nil)
			log := &memLogger{}
			s.SetLogger(log)
			before := *s.Options()
			next := before
			tc.change(&next)
			err := s.Reload(&next)
			if tc.refused != "" {
				if !errors.Is(err, opts.ErrReloadNotSupported) || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("err = %v, want it to refuse %q", err, tc.refused)
				}
				if s.Options().MaxPayload != before.MaxPayload || s.Options().MaxSubs != before.MaxSubs {
					t.Fatal("a refused reload applied something")
				}
				if log.Contains("Reloaded") {
					t.Fatalf("a refused reload logged %q", log.Lines())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.logs {
				if !log.Contains(want) {
					t.Errorf("log lacks %q: %q", want, log.Lines())
				}
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}
