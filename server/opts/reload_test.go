package opts

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckReload(t *testing.T) {
	tests := []struct {
		name    string
		change  func(o *Options)
		want    []Change
		refused string // substring of the error when the change needs a restart
	}{
		{"nothing", func(o *Options) {}, nil, ""},
		{"max_payload", func(o *Options) { o.MaxPayload = 2048 }, []Change{{Key: "max_payload", Old: "1048576", New: "2048"}}, ""},
		{"limits and logging", func(o *Options) {
			o.MaxConn, o.Debug, o.PingInterval = 10, true, time.Minute
		}, []Change{
			{Key: "max_connections", Old: "65536", New: "10"},
			{Key: "ping_interval", Old: "2m0s", New: "1m0s"},
			{Key: "debug", Old: "false", New: "true"},
		}, ""},
		{"password is redacted", func(o *Options) { o.Username, o.Password = "u", "secret" }, []Change{
			{Key: "authorization.user", Old: `""`, New: `"u"`},
			{Key: "authorization.password", Old: "[REDACTED]", New: "[REDACTED]"},
		}, ""},
		{"random port is not a change", func(o *Options) { o.Port = 0 }, nil, ""},
		{"port", func(o *Options) { o.Port = 4333 }, nil, "port (old=-1, new=4333)"},
		{"server name", func(o *Options) { o.ServerName = "b" }, nil, `server_name (old="", new="b")`},
		{"store dir", func(o *Options) { o.StoreDir = "/other" }, nil, "store_dir"},
		{"jetstream block", func(o *Options) { o.JetStreamOpts.MaxStore = 1 << 30 }, nil, "jetstream (old=(changed), new=(changed))"},
		{"token is redacted", func(o *Options) { o.HTTPPort, o.Authorization = 8222, "t" }, nil, "http_port (old=0, new=8222)"},
		{"cluster", func(o *Options) { o.Cluster.Port = 6222 }, nil, "cluster (old=(none), new=(changed))"},
		{"warnings and file are not settings", func(o *Options) {
			o.Warnings, o.ConfigFile, o.ConfigDigest = []string{"w"}, "other.conf", "sha256:00"
		}, nil, ""},
		// What nats-server reloads and Keel applies.
		{"logging", func(o *Options) {
			o.LogtimeUTC, o.TraceVerbose, o.TraceHeaders, o.MaxTracedMsgLen = true, true, true, 10
		}, []Change{
			{Key: "trace_verbose", Old: "false", New: "true"},
			{Key: "trace_headers", Old: "false", New: "true"},
			{Key: "logtime_utc", Old: "false", New: "true"},
			{Key: "max_traced_msg_len", Old: "0", New: "10"},
		}, ""},
		{"pid file and stall", func(o *Options) { o.PidFile, o.NoFastProducerStall = "k.pid", true }, []Change{
			{Key: "no_fast_producer_stall", Old: "false", New: "true"},
			{Key: "pid_file", Old: `""`, New: `"k.pid"`},
		}, ""},
		{"syslog", func(o *Options) { o.RemoteSyslog = "udp://h:514" }, []Change{
			{Key: "remote_syslog", Old: `""`, New: `"udp://h:514"`},
		}, ""},
		{"tags", func(o *Options) { o.Tags = []string{"a"} }, []Change{{Key: "server_tags", Old: "(none)", New: "[a]"}}, ""},
		// What nats-server refuses to reload, Keel refuses too.
		{"max_subscriptions", func(o *Options) { o.MaxSubs = 10 }, nil, "max_subscriptions (old=0, new=10)"},
		{"max_pending", func(o *Options) { o.MaxPending = 1 << 20 }, nil, "max_pending"},
		{"lame duck", func(o *Options) { o.LameDuckDuration = time.Minute }, nil, "lame_duck_duration"},
		{"lame duck grace", func(o *Options) { o.LameDuckGrace = time.Second }, nil, "lame_duck_grace_period"},
		{"headers", func(o *Options) { o.NoHeaderSupport = true }, nil, "no_header_support"},
		{"sub tokens", func(o *Options) { o.MaxSubTokens = 3 }, nil, "max_sub_tokens"},
		{"write timeout", func(o *Options) { o.WriteTimeout = "retry" }, nil, "write_timeout"},
		{"sublist cache", func(o *Options) { o.DisableSublistCache = true }, nil, "disable_sublist_cache"},
		{"log size", func(o *Options) { o.LogSizeLimit = 1 << 20 }, nil, "logfile_size_limit"},
		{"closed clients", func(o *Options) { o.MaxClosedClients = 5 }, nil, "max_closed_clients"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := Default()
			old.Port = RandomPort
			next := Default()
			next.Port = RandomPort
			tc.change(next)
			changes, err := CheckReload(old, next)
			if tc.refused != "" {
				if !errors.Is(err, ErrReloadNotSupported) || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("err = %v, want it to refuse %q", err, tc.refused)
				}
				if strings.Contains(err.Error(), `"t"`) {
					t.Fatalf("error shows a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			expect(t, "changes", changes, tc.want)
		})
	}
}

func TestConfigKey(t *testing.T) {
	for field, want := range map[string]string{
		"MaxPayload":       "max_payload",
		"LameDuckDuration": "lame_duck_duration",
		"LameDuckGrace":    "lame_duck_grace_period",
		"NoHeaderSupport":  "no_header_support",
		"HTTPPort":         "http_port",
		"StoreDir":         "store_dir",
		"ClientAdvertise":  "client_advertise",
	} {
		if got := configKey(field); got != want {
			t.Errorf("configKey(%s) = %s, want %s", field, got, want)
		}
	}
}
