package opts

import (
	"strings"
	"testing"
	"time"
)

func TestFinalizeFillsDefaults(t *testing.T) {
	o := mustLoad(t, "port: 0\nmax_payload: 0\nping_interval: \"0s\"\nhost: 127.0.0.1\nhttp_base_path: \"nats/\"\n")
	if err := o.Finalize(); err != nil {
		t.Fatal(err)
	}
	expect(t, "port", o.Port, DefaultPort)
	expect(t, "max payload", o.MaxPayload, int32(DefaultMaxPayload))
	expect(t, "ping interval", o.PingInterval, DefaultPingInterval)
	expect(t, "http host follows host", o.HTTPHost, "127.0.0.1")
	expect(t, "base path", o.HTTPBasePath, "/nats")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		conf, want string
	}{
		{"lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"30s\"", "lame duck grace period (30s) should be strictly lower than lame duck duration (30s)"},
		{"max_payload: 100MB", "max_payload (104857600) cannot be higher than max_pending (67108864)"},
		{"websocket { port: 8080 }", "websocket requires TLS configuration"},
		{"mqtt { port: 1883 }", "mqtt requires JetStream to be enabled if running in standalone mode"},
		{"leafnodes { remotes: [{url: \"nats://h:7422\", account: A}] }", `cannot find local account "A" specified in leafnode remote`},
		{"jetstream { prev_key: x }", "prev_encryption_key needs encryption_key"},
		{"remote_syslog: \"syslog.local:514\"", `invalid network type "syslog.local" (udp, tcp or unix)`},
		{"remote_syslog: \"http://h:514\"", `invalid network type "http"`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			o := mustLoad(t, tc.conf)
			err := o.Finalize()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	ok := []string{
		"max_payload: 100MB\nmax_pending: 200MB",
		"websocket { port: 8080, no_tls: true }",
		"mqtt { port: 1883 }\njetstream: enabled",
		"accounts: [A]\nleafnodes { remotes: [{url: \"nats://h:7422\", account: A}] }",
		"lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"10s\"",
		"remote_syslog: \"tcp://127.0.0.1:514\"",
		"remote_syslog: \"unix:///dev/log\"",
	}
	for _, conf := range ok {
		o := mustLoad(t, conf)
		if err := o.Finalize(); err != nil {
			t.Errorf("%q: %v", conf, err)
		}
	}
	o := Default()
	o.LameDuckDuration = time.Minute
	if err := o.Finalize(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestUnwiredFeaturesWarn(t *testing.T) {
	defer func(js, mon bool) { JetStreamWired, MonitoringWired = js, mon }(JetStreamWired, MonitoringWired)
	for _, wired := range []bool{false, true} {
		JetStreamWired, MonitoringWired = wired, wired
		o := mustLoad(t, "jetstream: enabled\nhttp_port: 8222\n")
		if err := o.Finalize(); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(o.Warnings, "\n")
		for _, what := range []string{"JetStream is not available yet", "HTTP monitoring is not available yet"} {
			if strings.Contains(all, what) == wired {
				t.Errorf("wired=%v: warnings %q about %q", wired, o.Warnings, what)
			}
		}
	}
}
