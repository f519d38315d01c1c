package opts

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/keelhq/keel/server/conf"
)

// serverKey returns a valid public server nkey.
func serverKey(t *testing.T) string {
	kp, err := nkeys.CreateServer()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// load parses text as the file "test.conf" and decodes it.
func load(t *testing.T, text string) (*Options, error) {
	t.Helper()
	m, err := conf.Parse([]byte(text), "test.conf")
	if err != nil {
		return nil, err
	}
	return FromConfig(m)
}

func mustLoad(t *testing.T, text string) *Options {
	t.Helper()
	o, err := load(t, text)
	if err != nil {
		t.Fatalf("loading %q: %v", text, err)
	}
	return o
}

// expect compares a value read from options with what the file says.
func expect(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestDefaultsWithoutSettings(t *testing.T) {
	o := mustLoad(t, "# nothing but a comment\n")
	d := Default()
	d.Warnings = o.Warnings
	if !reflect.DeepEqual(o, d) {
		t.Fatalf("empty file does not give the defaults:\n got %+v\nwant %+v", o, d)
	}
	if len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], "no values") {
		t.Fatalf("warnings %q", o.Warnings)
	}
}

func TestTopLevelSettings(t *testing.T) {
	tests := []struct {
		conf  string
		check func(t *testing.T, o *Options)
	}{
		{"listen: 127.0.0.1:4333", func(t *testing.T, o *Options) {
			expect(t, "host", o.Host, "127.0.0.1")
			expect(t, "port", o.Port, 4333)
		}},
		{"listen: 4333", func(t *testing.T, o *Options) { expect(t, "port", o.Port, 4333) }},
		{"host: 10.0.0.1\nport: -1", func(t *testing.T, o *Options) {
			expect(t, "host", o.Host, "10.0.0.1")
			expect(t, "port", o.Port, RandomPort)
		}},
		{"net: ::1", func(t *testing.T, o *Options) { expect(t, "host", o.Host, "::1") }},
		{"server_name: keel-1\nclient_advertise: \"x:4222\"", func(t *testing.T, o *Options) {
			expect(t, "server name", o.ServerName, "keel-1")
			expect(t, "client advertise", o.ClientAdvertise, "x:4222")
		}},
		{"max_payload: 2MB\nmax_control_line: 8KB\nmax_pending: 128MB", func(t *testing.T, o *Options) {
			expect(t, "max payload", o.MaxPayload, int32(2<<20))
			expect(t, "max control line", o.MaxControlLine, int32(8<<10))
			expect(t, "max pending", o.MaxPending, int64(128<<20))
		}},
		{"max_connections: 100\nmax_subscriptions: 10", func(t *testing.T, o *Options) {
			expect(t, "max conn", o.MaxConn, 100)
			expect(t, "max subs", o.MaxSubs, 10)
		}},
		{"max_conn: 0", func(t *testing.T, o *Options) { expect(t, "max conn", o.MaxConn, -1) }},
		{"max_subs: 5", func(t *testing.T, o *Options) { expect(t, "max subs", o.MaxSubs, 5) }},
		{"ping_interval: \"30s\"\nping_max: 5\nwrite_deadline: \"3s\"", func(t *testing.T, o *Options) {
			expect(t, "ping interval", o.PingInterval, 30*time.Second)
			expect(t, "ping max", o.MaxPingsOut, 5)
			expect(t, "write deadline", o.WriteDeadline, 3*time.Second)
		}},
		{"lame_duck_duration: \"45s\"\nlame_duck_grace_period: \"5s\"", func(t *testing.T, o *Options) {
			expect(t, "ldm duration", o.LameDuckDuration, 45*time.Second)
			expect(t, "ldm grace", o.LameDuckGrace, 5*time.Second)
		}},
		{"debug: true\ntrace: yes\nlogtime: off\nlogtime_utc: true", func(t *testing.T, o *Options) {
			expect(t, "debug", o.Debug, true)
			expect(t, "trace", o.Trace, true)
			expect(t, "logtime", o.Logtime, false)
			expect(t, "logtime utc", o.LogtimeUTC, true)
		}},
		{"trace_headers: true", func(t *testing.T, o *Options) {
			expect(t, "trace", o.Trace, true)
			expect(t, "trace headers", o.TraceHeaders, true)
		}},
		{"log_file: /var/log/keel.log\nlogfile_size_limit: 10MB\nlogfile_max_num: 3\npid_file: /run/keel.pid", func(t *testing.T, o *Options) {
			expect(t, "log file", o.LogFile, "/var/log/keel.log")
			expect(t, "size limit", o.LogSizeLimit, int64(10<<20))
			expect(t, "max files", o.LogMaxFiles, 3)
			expect(t, "pid file", o.PidFile, "/run/keel.pid")
		}},
		{"logfile: a.log\nlog_size_limit: 1000\nlog_max_num: 2\npidfile: p", func(t *testing.T, o *Options) {
			expect(t, "log file", o.LogFile, "a.log")
			expect(t, "size limit", o.LogSizeLimit, int64(1000))
			expect(t, "max files", o.LogMaxFiles, 2)
			expect(t, "pid file", o.PidFile, "p")
		}},
		{"http: 127.0.0.1:8222\nhttp_base_path: /nats", func(t *testing.T, o *Options) {
			expect(t, "http host", o.HTTPHost, "127.0.0.1")
			expect(t, "http port", o.HTTPPort, 8222)
			expect(t, "base path", o.HTTPBasePath, "/nats")
		}},
		{"http_port: 8222", func(t *testing.T, o *Options) { expect(t, "http port", o.HTTPPort, 8222) }},
		{"monitor_port: -1", func(t *testing.T, o *Options) { expect(t, "http port", o.HTTPPort, -1) }},
		{"no_header_support: true\nno_fast_producer_stall: true\nmax_closed_clients: 5", func(t *testing.T, o *Options) {
			expect(t, "no headers", o.NoHeaderSupport, true)
			expect(t, "no stall", o.NoFastProducerStall, true)
			expect(t, "max closed", o.MaxClosedClients, 5)
		}},
		{"server_tags: [az:1, \"ssd\"]\nserver_metadata { team: core }", func(t *testing.T, o *Options) {
			expect(t, "tags", o.Tags, []string{"az:1", "ssd"})
			expect(t, "metadata", o.Metadata, map[string]string{"team": "core"})
		}},
		{"server_tags: one", func(t *testing.T, o *Options) { expect(t, "tags", o.Tags, []string{"one"}) }},
		{"connect_error_reports: 10\nreconnect_error_reports: 20\nno_system_account: true", func(t *testing.T, o *Options) {
			expect(t, "connect reports", o.ConnectErrorReports, 10)
			expect(t, "reconnect reports", o.ReconnectErrorReports, 20)
			expect(t, "no system account", o.NoSystemAccount, true)
		}},
		{"write_timeout: default", func(t *testing.T, o *Options) { expect(t, "write timeout", o.WriteTimeout, "default") }},
		{"PORT: 4444\nMax_Payload: 1KB", func(t *testing.T, o *Options) {
			// Keys are case-insensitive, as in nats-server.
			expect(t, "port", o.Port, 4444)
			expect(t, "max payload", o.MaxPayload, int32(1024))
		}},
		{"store_dir: /data", func(t *testing.T, o *Options) {
			expect(t, "store dir", o.StoreDir, "/data")
			expect(t, "jetstream", o.JetStream, false)
		}},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.conf, "\n", "; "), func(t *testing.T) {
			o := mustLoad(t, tc.conf)
			tc.check(t, o)
		})
	}
}

func TestJetStreamBlock(t *testing.T) {
	tests := []struct {
		conf  string
		check func(t *testing.T, o *Options)
	}{
		{"jetstream: enabled", func(t *testing.T, o *Options) { expect(t, "jetstream", o.JetStream, true) }},
		{"jetstream: true", func(t *testing.T, o *Options) { expect(t, "jetstream", o.JetStream, true) }},
		{"jetstream: disabled", func(t *testing.T, o *Options) { expect(t, "jetstream", o.JetStream, false) }},
		{"jetstream {}", func(t *testing.T, o *Options) {
			expect(t, "jetstream", o.JetStream, true)
			expect(t, "max memory", o.JetStreamOpts.MaxMemory, int64(-1))
			expect(t, "max store", o.JetStreamOpts.MaxStore, int64(-1))
			expect(t, "strict", o.JetStreamOpts.Strict, true)
		}},
		{"jetstream { enabled: false, store_dir: /x }", func(t *testing.T, o *Options) {
			expect(t, "jetstream", o.JetStream, false)
			expect(t, "store dir", o.StoreDir, "/x")
		}},
		{`jetstream {
			store_dir: "/data/js"
			max_memory_store: 1GB
			max_file_store: "10G"
			sync_interval: always
			domain: hub
			cipher: chachapoly
			key: $JS_KEY_VALUE
			max_buffered_msgs: 1000
			max_buffered_size: 16MB
			unique_tag: " AZ "
			strict: false
			max_outstanding_catchup: 64MB
			request_queue_limit: 100
			max_concurrent_io: 16
			limits { max_ack_pending: 1000, max_ha_assets: 5, max_request_batch: 10, duplicate_window: "1m", batch { max_msgs: 50, timeout: "5s" } }
		}
		JS_KEY_VALUE = "s3cret"`, nil},
		{"jetstream { sync_interval: \"10s\", max_mem: 512MB, max_file: 1T }", func(t *testing.T, o *Options) {
			expect(t, "sync interval", o.JetStreamOpts.SyncInterval, 10*time.Second)
			expect(t, "sync always", o.JetStreamOpts.SyncAlways, false)
			expect(t, "max memory", o.JetStreamOpts.MaxMemory, int64(512<<20))
			expect(t, "max store", o.JetStreamOpts.MaxStore, int64(1_000_000_000_000))
		}},
		{"jetstream { block_cache: 64MB }", func(t *testing.T, o *Options) {
			expect(t, "block cache", o.JetStreamOpts.BlockCache, int64(64<<20))
		}},
		{"jetstream { cipher: AES, ek: k, prev_ek: p }", func(t *testing.T, o *Options) {
			expect(t, "cipher", o.JetStreamOpts.Cipher, "aes")
			expect(t, "key", o.JetStreamOpts.Key, "k")
			expect(t, "prev key", o.JetStreamOpts.PrevKey, "p")
		}},
	}
	for i, tc := range tests {
		t.Run(strings.Fields(tc.conf)[0]+"_"+string(rune('a'+i)), func(t *testing.T) {
			if tc.check == nil {
				// The full block, with a variable defined after use being
				// an error: define it first.
				text := "JS_KEY_VALUE = \"s3cret\"\n" + strings.Replace(tc.conf, "JS_KEY_VALUE = \"s3cret\"", "", 1)
				o := mustLoad(t, text)
				js := o.JetStreamOpts
				expect(t, "jetstream", o.JetStream, true)
				expect(t, "store dir", o.StoreDir, "/data/js")
				expect(t, "max memory", js.MaxMemory, int64(1<<30))
				expect(t, "max store", js.MaxStore, int64(10<<30))
				expect(t, "sync always", js.SyncAlways, true)
				expect(t, "domain", js.Domain, "hub")
				expect(t, "cipher", js.Cipher, "chacha")
				expect(t, "key", js.Key, "s3cret")
				expect(t, "buffered msgs", js.MaxBufferedMsgs, 1000)
				expect(t, "buffered size", js.MaxBufferedSize, int64(16<<20))
				expect(t, "unique tag", js.UniqueTag, "az")
				expect(t, "strict", js.Strict, false)
				expect(t, "catchup", js.MaxCatchup, int64(64<<20))
				expect(t, "request queue", js.RequestQueueLimit, int64(100))
				expect(t, "concurrent io", js.MaxConcurrentIO, 16)
				expect(t, "limits", js.Limits, JetStreamLimits{MaxAckPending: 1000, MaxHAAssets: 5, MaxRequestBatch: 10,
					Duplicates: time.Minute, MaxBatchSize: 50, MaxBatchTimeout: 5 * time.Second})
				if len(o.Warnings) != 0 {
					t.Errorf("warnings: %q", o.Warnings)
				}
				return
			}
			tc.check(t, mustLoad(t, tc.conf))
		})
	}
}

func TestAuthorizationBlock(t *testing.T) {
	o := mustLoad(t, "authorization { user: alice, password: \"$2a$11$abcdefghijklmnopqrstuv\", timeout: 0.5 }")
	expect(t, "user", o.Username, "alice")
	expect(t, "password", o.Password, "$2a$11$abcdefghijklmnopqrstuv")
	expect(t, "timeout", o.AuthTimeout, 500*time.Millisecond)

	o = mustLoad(t, "authorization { token: s3cret, timeout: \"3s\" }")
	expect(t, "token", o.Authorization, "s3cret")
	expect(t, "timeout", o.AuthTimeout, 3*time.Second)

	o = mustLoad(t, "authorization { username: bob, pass: pw, timeout: 120 }")
	expect(t, "user", o.Username, "bob")
	expect(t, "timeout", o.AuthTimeout, 120*time.Second)
	if len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], "timeout of 120 (120.000000 seconds) is high") {
		t.Errorf("warnings %q", o.Warnings)
	}

	o = mustLoad(t, "authorization { users: [] }")
	if len(o.Users) != 0 || o.Username != "" {
		t.Errorf("empty users list: %+v", o.Users)
	}
}

func TestOtherBlocksAreParsedAndWarned(t *testing.T) {
	tests := []struct {
		conf  string
		warn  string
		check func(t *testing.T, o *Options)
	}{
		{`cluster {
			name: c1
			listen: 127.0.0.1:6222
			routes: ["nats://a:6222", "nats://b:6222", "nats://a:6222"]
			authorization { user: r, password: p, timeout: 2 }
			no_advertise: true
			pool_size: 3
			compression: s2_fast
			permissions { import: "a.>", export: ["b.>"] }
		}`, "clustering is not available yet", func(t *testing.T, o *Options) {
			c := o.Cluster
			expect(t, "name", c.Name, "c1")
			expect(t, "host", c.Host, "127.0.0.1")
			expect(t, "port", c.Port, 6222)
			expect(t, "routes", c.Routes, []string{"nats://a:6222", "nats://b:6222"})
			expect(t, "user", c.Username, "r")
			expect(t, "no advertise", c.NoAdvertise, true)
			expect(t, "pool size", c.PoolSize, 3)
			expect(t, "compression", c.Compression.Mode, "s2_fast")
			expect(t, "import", c.PermImport, &SubjectPermission{Allow: []string{"a.>"}})
			if !strings.Contains(strings.Join(o.Warnings, "\n"), "Duplicate route entry detected") {
				t.Errorf("no duplicate route warning in %q", o.Warnings)
			}
		}},
		{`gateway { name: g1, port: 7222, gateways: [{name: g2, urls: ["nats://g2:7222"]}, {name: g3, url: "nats://g3:7222"}], reject_unknown: true }`,
			"gateways are not available yet", func(t *testing.T, o *Options) {
				expect(t, "name", o.Gateway.Name, "g1")
				expect(t, "port", o.Gateway.Port, 7222)
				expect(t, "remotes", len(o.Gateway.Gateways), 2)
				expect(t, "g3 url", o.Gateway.Gateways[1].URLs, []string{"nats://g3:7222"})
				expect(t, "reject", o.Gateway.RejectUnknown, true)
			}},
		{`leafnodes { port: 7422, remotes: [{url: "nats://hub:7422", credentials: "/x.creds", deny_imports: ["a.>"]}], reconnect: "5s" }`,
			"leafnodes are not available yet", func(t *testing.T, o *Options) {
				expect(t, "port", o.LeafNode.Port, 7422)
				expect(t, "reconnect", o.LeafNode.ReconnectInterval, 5*time.Second)
				r := o.LeafNode.Remotes[0]
				expect(t, "urls", r.URLs, []string{"nats://hub:7422"})
				expect(t, "creds", r.Credentials, "/x.creds")
				expect(t, "deny imports", r.DenyImports, []string{"a.>"})
			}},
		{`websocket { port: 8080, no_tls: true, compression: true, allowed_origins: ["https://x"], handshake_timeout: "3s", headers { X-A: b } }`,
			"websocket is not available yet", func(t *testing.T, o *Options) {
				w := o.Websocket
				expect(t, "port", w.Port, 8080)
				expect(t, "no tls", w.NoTLS, true)
				expect(t, "compression", w.Compression, true)
				expect(t, "origins", w.AllowedOrigins, []string{"https://x"})
				expect(t, "handshake", w.HandshakeTimeout, 3*time.Second)
				expect(t, "headers", w.Headers, map[string]string{"X-A": "b"})
			}},
		{`mqtt { port: 1883, ack_wait: "1m", max_ack_pending: 100, js_domain: d }`,
			"MQTT is not available yet", func(t *testing.T, o *Options) {
				expect(t, "port", o.MQTT.Port, 1883)
				expect(t, "ack wait", o.MQTT.AckWait, time.Minute)
				expect(t, "max ack", o.MQTT.MaxAckPending, uint16(100))
				expect(t, "domain", o.MQTT.JSDomain, "d")
			}},
		{`accounts { A: { jetstream: enabled, limits { max_conn: 10 } }, B: { exports: [{service: "svc.>", response: chunked, latency: "lat.svc"}] }, C: { imports: [{service: {account: B, subject: "svc.>"}, to: "b.svc.>"}] } }`,
			"multiple accounts are not available yet", func(t *testing.T, o *Options) {
				expect(t, "accounts", len(o.Accounts), 3)
				expect(t, "A jetstream", o.Accounts[0].JetStream.Enabled, true)
				expect(t, "A limits", o.Accounts[0].Limits.MaxConn, 10)
				expect(t, "B export", *o.Accounts[1].Exports[0], Export{Service: "svc.>", ResponseType: "chunked", Latency: &Latency{Subject: "lat.svc", Sampling: 100}})
				expect(t, "C import", *o.Accounts[2].Imports[0], Import{ServiceAccount: "B", ServiceSubject: "svc.>", To: "b.svc.>"})
			}},
		{`accounts: [A, B]`, "multiple accounts", func(t *testing.T, o *Options) {
			expect(t, "names", []string{o.Accounts[0].Name, o.Accounts[1].Name}, []string{"A", "B"})
		}},
		{`mappings { "foo": "bar", "a.*": [{dest: "b.$1", weight: 40%}, {destination: "c.$1", weight: 60, cluster: east}] }`,
			"subject mappings are not available yet", func(t *testing.T, o *Options) {
				expect(t, "mappings", o.Mappings, []*Mapping{
					{Subject: "foo", Destinations: []MapDest{{Subject: "bar", Weight: 100}}},
					{Subject: "a.*", Destinations: []MapDest{{Subject: "b.$1", Weight: 40}, {Subject: "c.$1", Weight: 60, Cluster: "east"}}},
				})
			}},
		{"system_account: SYS", "the system account is not available yet", func(t *testing.T, o *Options) {
			expect(t, "system account", o.SystemAccount, "SYS")
		}},
		{"resolver: MEMORY", "account resolvers are not available yet", func(t *testing.T, o *Options) {
			expect(t, "resolver", o.Resolver, &ResolverOptions{Kind: "MEM"})
		}},
		{`resolver: URL("http://localhost:9090/jwt/v1/accounts/")`, "account resolvers", func(t *testing.T, o *Options) {
			expect(t, "resolver", o.Resolver, &ResolverOptions{Kind: "URL", URL: "http://localhost:9090/jwt/v1/accounts/"})
		}},
		{`resolver { type: full, dir: "/jwt", allow_delete: true, interval: "2m" }`, "account resolvers", func(t *testing.T, o *Options) {
			expect(t, "resolver", o.Resolver, &ResolverOptions{Kind: "FULL", Dir: "/jwt", AllowDelete: true, Interval: 2 * time.Minute})
		}},
		{"https_port: 8443", "HTTPS monitoring", func(t *testing.T, o *Options) { expect(t, "https port", o.HTTPSPort, 8443) }},
		{"proxy_protocol: true", "the PROXY protocol", nil},
		{"ocsp { mode: always }", "OCSP", func(t *testing.T, o *Options) { expect(t, "ocsp", o.OCSP.Mode, "always") }},
		{"ocsp_cache: true", "OCSP", nil},
		{"feature_flags { some_flag: true }", "feature flags", nil},
		{"allow_non_tls: true", "allow_non_tls", nil},
		{"default_js_domain { A: hub }", "default_js_domain", nil},
		{"resolver_preload { AAA: \"jwt\" }", "account resolvers", nil},
		{"proxies { trusted: [{key: \"" + serverKey(t) + "\"}] }", "trusted proxies", nil},
	}
	for _, tc := range tests {
		t.Run(strings.Fields(tc.conf)[0], func(t *testing.T) {
			o := mustLoad(t, tc.conf)
			all := strings.Join(o.Warnings, "\n")
			if !strings.Contains(all, tc.warn) || !strings.Contains(all, "test.conf:1:1: ") {
				t.Errorf("warnings %q do not say %q at test.conf:1:1", o.Warnings, tc.warn)
			}
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
}

// Settings the server honours load without a "not available" warning,
// and with the value the server reads.
func TestHonouredSettingsDoNotWarn(t *testing.T) {
	tests := []struct {
		conf  string
		check func(t *testing.T, o *Options)
	}{
		{"max_sub_tokens: 10", func(t *testing.T, o *Options) { expect(t, "tokens", o.MaxSubTokens, uint8(10)) }},
		{"write_timeout: retry", func(t *testing.T, o *Options) { expect(t, "policy", o.WriteTimeout, "retry") }},
		{"write_timeout: close", func(t *testing.T, o *Options) { expect(t, "policy", o.WriteTimeout, "close") }},
		{"trace_verbose: true", func(t *testing.T, o *Options) {
			expect(t, "trace, verbose", [2]bool{o.Trace, o.TraceVerbose}, [2]bool{true, true})
		}},
		{"trace_headers: true", func(t *testing.T, o *Options) {
			expect(t, "trace, headers", [2]bool{o.Trace, o.TraceHeaders}, [2]bool{true, true})
		}},
		{"max_traced_msg_len: 64", func(t *testing.T, o *Options) { expect(t, "traced len", o.MaxTracedMsgLen, 64) }},
		{"disable_sublist_cache: true", func(t *testing.T, o *Options) { expect(t, "no cache", o.DisableSublistCache, true) }},
		{"no_sublist_cache: true", func(t *testing.T, o *Options) { expect(t, "no cache", o.DisableSublistCache, true) }},
		{"no_fast_producer_stall: true", func(t *testing.T, o *Options) { expect(t, "no stall", o.NoFastProducerStall, true) }},
		{"syslog: true", func(t *testing.T, o *Options) { expect(t, "syslog", o.Syslog, true) }},
		{"ports_file_dir: /tmp", func(t *testing.T, o *Options) { expect(t, "ports dir", o.PortsFileDir, "/tmp") }},
		{"prof_port: 6060\nprof_block_rate: 5", func(t *testing.T, o *Options) {
			expect(t, "profiling", [2]int{o.ProfPort, o.ProfBlockRate}, [2]int{6060, 5})
		}},
		{`remote_syslog: "udp://127.0.0.1:514"`, func(t *testing.T, o *Options) {
			expect(t, "remote syslog", o.RemoteSyslog, "udp://127.0.0.1:514")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.conf, func(t *testing.T) {
			o := mustLoad(t, tc.conf)
			if len(o.Warnings) > 0 {
				t.Errorf("warnings: %q", o.Warnings)
			}
			tc.check(t, o)
		})
	}
}

// Settings that protect beyond one user or one token must make loading
// fail, naming the setting and where it is.
func TestProtectionSettingsFail(t *testing.T) {
	tests := []struct {
		conf, at, what string
	}{
		{"authorization {\n  users: [{user: a, password: b}]\n}", "test.conf:2:3", "users lists"},
		{"authorization { users: [{nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4}] }", "test.conf:1:17", "nkey users"},
		{"authorization { user: a, password: b, permissions: { publish: foo } }", "test.conf:1:39", "permissions"},
		{"authorization { token: t, default_permissions: { subscribe: foo } }", "test.conf:1:27", "permissions"},
		{"authorization { auth_callout { issuer: ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA, auth_users: [a] } }", "test.conf:1:17", "auth callout"},
		{"authorization { user: a, password: b, proxy_required: true }", "test.conf:1:39", "proxy_required"},
		{"accounts { A: { users: [{user: a, password: b}] } }", "test.conf:1:1", "accounts with users"},
		{"tls { cert_file: c.pem, key_file: k.pem }", "test.conf:1:1", "TLS"},
		{"operator: op.jwt", "test.conf:1:1", "operator mode"},
		{"trusted_keys: [ODSKBNDIT3LTZWFSRAWOBXSBZ7VZCDQVU6TBJX3TQGYXUWRU46ANJJS4]", "test.conf:1:1", "operator mode"},
		{"no_auth_user: a", "test.conf:1:1", "no_auth_user"},
		{"default_sentinel: \"eyJ0\"", "test.conf:1:1", "default_sentinel"},
		{"jetstream { tpm { keys_file: /k, encryption_password: p } }", "test.conf:1:13", "TPM"},
	}
	for _, tc := range tests {
		t.Run(tc.what, func(t *testing.T) {
			_, err := load(t, tc.conf)
			if err == nil {
				t.Fatalf("%q loaded; protection it asks for would not be enforced", tc.conf)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.at+": ") || !strings.Contains(msg, tc.what) || !strings.Contains(msg, "not supported yet") {
				t.Fatalf("error %q does not name %q at %s", msg, tc.what, tc.at)
			}
		})
	}
}

// Every malformed setting fails with the file, line, column and key.
func TestSettingErrors(t *testing.T) {
	tests := []struct {
		conf, want string
	}{
		{"port: abc", `test.conf:1:1: key "port": expected an integer, got string "abc"`},
		{"port: 70000", `test.conf:1:1: key "port": 70000 is out of range [-1, 65535]`},
		{"listen: nohostport", `test.conf:1:1: key "listen": could not parse address string "nohostport"`},
		{"server_name: \"a b\"", `test.conf:1:1: key "server_name": server name cannot contain spaces`},
		{"max_payload: 3GB", `test.conf:1:1: key "max_payload": max_payload value is too big`},
		{"debug: 1", `test.conf:1:1: key "debug": expected a boolean, got integer 1`},
		{"\n\nping_interval: \"x\"", `test.conf:3:1: key "ping_interval": error parsing ping_interval: time: invalid duration "x"`},
		{"lame_duck_duration: \"10s\"", `test.conf:1:1: key "lame_duck_duration": invalid lame_duck_duration of 10s, minimum is 30 seconds`},
		{"lame_duck_duration: 60", `test.conf:1:1: key "lame_duck_duration": expected a duration such as "30s", got integer 60`},
		{"lame_duck_grace_period: \"-1s\"", `key "lame_duck_grace_period": invalid lame_duck_grace_period, needs to be positive`},
		{"write_timeout: bogus", `write_timeout must be 'default', 'close' or 'retry'`},
		{"max_sub_tokens: 0", `key "max_sub_tokens": max_sub_tokens value can not be negative`},
		{"jetstream: maybe", `key "jetstream": Expected 'enabled' or 'disabled' for string value, got 'maybe'`},
		{"jetstream {\n  max_file_store: \"10GB\"\n}", `test.conf:2:3: key "jetstream.max_file_store": sizes defined as strings must end in K, M, G, T`},
		{"jetstream { cipher: rot13 }", `key "jetstream.cipher": Unknown cipher type: "rot13"`},
		{"jetstream { max_concurrent_io: 2 }", `between 4 and 8192`},
		{"jetstream { block_cache: 0 }", `key "jetstream.block_cache": Expected a positive size`},
		{"store_dir: /a\njetstream { store_dir: /b }", `test.conf:2:13: key "jetstream.store_dir": Duplicate 'store_dir' configuration`},
		{"authorization { user: a, token: t }", `test.conf:1:1: key "authorization": Cannot have a user/pass and token`},
		{"authorization { password: p }", `key "authorization": a password needs a user`},
		{"authorization { timeout: \"soon\" }", `key "authorization.timeout": error parsing timeout`},
		{"authorization: yes", `key "authorization": expected a map, got boolean yes`},
		{"authorization { users: [{password: b}] }", `test.conf:1:25: key "authorization.users[0]": User entry requires a user`},
		{"authorization { users: [{user: a, password: b, permissions: {publish: \"a b\"}}] }", `key "authorization.users[0].permissions.publish": subject "a b" is not a valid subject`},
		{"authorization { users: [{user: a, permissions: {subscribe: \"a q..\"}}] }", `queue "q.." is not a valid queue`},
		{"authorization { users: [{user: a, allowed_connection_types: [bogus]}] }", `invalid connection types ["BOGUS"]`},
		{"authorization { users: [{nkey: nope}] }", `Not a valid public nkey for a user`},
		{"accounts { $G: {} }", `key "accounts.$G": "$G" is a Reserved Account`},
		{"accounts: [A, A]", `Duplicate Account Entry: A`},
		{"accounts { A: { imports: [{stream: {account: Z, subject: foo}}] } }", `"Z" account not defined for stream import`},
		{"accounts { A: { nkey: bad } }", `Not a valid public nkey for an account: "bad"`},
		{"accounts { A: { exports: [{stream: foo, response: stream}] } }", `Detected response directive on non-service`},
		{"mappings { \"foo\": {dest: bar} }", `key "mappings.foo": Missing weight for mapping destination "bar"`},
		{"mappings { \"foo\": [{dest: bar, weight: 101}] }", `Invalid weight 101 for mapping destination`},
		{"mappings { \"a..b\": c }", `Subject "a..b" is not a valid subject`},
		{"cluster { name: \"c 1\" }", `key "cluster.name": cluster name cannot contain spaces`},
		{"cluster { authorization { users: [] } }", `Cluster authorization does not allow multiple users`},
		{"gateway { name: \"g 1\" }", `gateway name cannot contain spaces`},
		{"leafnodes { remotes: [{url: x, seed: bad}] }", `Remote leafnode nkey is not a valid seed`},
		{"leafnodes { min_version: \"2.7.0\" }", `the minimum version should be at least 2.8.0`},
		{"mqtt { max_ack_pending: 70000 }", `70000 is out of range [0, 65535]`},
		{"tls { verify: sometimes }", `expected 'verify' to be a boolean or 'optional'`},
		{"tls { pinned_certs: [abc] }", `does not look like hex-encoded sha256`},
		{"resolver: bogus", `error parsing account resolver`},
		{"trusted: [nope]", `trust key "nope" required to be a valid public operator nkey`},
		{"proxies { trusted: [{key: nope}] }", `invalid proxy key "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.conf, func(t *testing.T) {
			_, err := load(t, tc.conf)
			if err == nil {
				t.Fatalf("%q loaded", tc.conf)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tc.want)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not Errors", err)
			}
			for _, e := range errs {
				var ce *conf.Error
				if !errors.As(e, &ce) || ce.Pos.File != "test.conf" || ce.Pos.Line < 1 {
					t.Errorf("error %q has no position", e)
				}
			}
		})
	}
}

func TestAllErrorsAreReportedInFileOrder(t *testing.T) {
	_, err := load(t, "port: x\ndebug: 2\nbogus: 1\njetstream { nope: 1 }\n")
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 4 {
		t.Fatalf("got %v, want 4 errors", err)
	}
	for i, want := range []string{"test.conf:1:1", "test.conf:2:1", "test.conf:3:1", "test.conf:4:13"} {
		if !strings.HasPrefix(errs[i].Error(), want) {
			t.Errorf("error %d = %q, want it at %s", i, errs[i], want)
		}
	}
}

func TestUnknownFields(t *testing.T) {
	tests := []struct {
		conf, want string
	}{
		{"bogus: 1", `test.conf:1:1: unknown field "bogus"`},
		{"jetstream { bogus: 1 }", `test.conf:1:13: unknown field "bogus" in "jetstream"`},
		{"cluster {\n  bogus: 1\n}", `test.conf:2:3: unknown field "bogus" in "cluster"`},
		{"leafnodes { remotes: [{url: x, bogus: 1}] }", `unknown field "bogus" in "leafnodes.remotes[0]"`},
		{"authorization { users: [{user: a, bogus: 1}] }", `unknown field "bogus" in "authorization.users[0]"`},
		{"authorization { users: [{user: a, account: A}] }", `unknown field "account" in "authorization.users[0]"`},
		{"leafnodes { authorization { users: [{user: a, permissions: {}}] } }", `unknown field "permissions" in "leafnodes.authorization.users[0]"`},
		{"authorization { users: [{user: a, permissions: {bogus: x}}] }", `Unknown field "bogus" parsing permissions`},
		{"authorization { users: [{user: a, permissions: {publish: {bogus: x}}}] }", `only 'allow' or 'deny' are permitted`},
		// A variable that is defined but never used is an unknown field.
		{"unused_var = 5", `unknown field "unused_var"`},
	}
	for _, tc := range tests {
		t.Run(tc.conf, func(t *testing.T) {
			_, err := load(t, tc.conf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// Used variable definitions are not unknown fields, at any level.
	o := mustLoad(t, "limit = 2KB\nmax_payload: $limit\njetstream { dir = /js; store_dir: $dir }\naccounts { PERMS = {}; A: {} }\n")
	expect(t, "max payload", o.MaxPayload, int32(2048))
	expect(t, "store dir", o.StoreDir, "/js")
}

func TestDurations(t *testing.T) {
	tests := []struct {
		conf    string
		want    time.Duration
		warning string
	}{
		{`ping_interval: "90s"`, 90 * time.Second, ""},
		{`ping_interval: "1h30m"`, 90 * time.Minute, ""},
		{`ping_interval: 1h`, time.Hour, ""}, // a bare string
		// nats-server reads a bare integer as seconds, with a warning.
		{`ping_interval: 60`, time.Minute, "ping_interval should be converted to a duration"},
		// 2m is the integer 2000000 for the format; Keel reads the
		// duration the user wrote, and says so.
		{`ping_interval: 2m`, 2 * time.Minute, "Keel reads it as 2m0s, nats-server as 2000000 seconds"},
	}
	for _, tc := range tests {
		t.Run(tc.conf, func(t *testing.T) {
			o := mustLoad(t, tc.conf)
			expect(t, "ping interval", o.PingInterval, tc.want)
			warns := strings.Join(o.Warnings, "\n")
			if tc.warning == "" && warns != "" || !strings.Contains(warns, tc.warning) {
				t.Errorf("warnings %q, want %q", warns, tc.warning)
			}
		})
	}
}

// Like nats-server -t, checking a file treats the reference's warnings
// about it as errors; warnings about Keel's missing features are not.
func TestStrictLoading(t *testing.T) {
	dir := t.TempDir()
	warned := filepath.Join(dir, "warned.conf")
	os.WriteFile(warned, []byte("ping_interval: 60\n"), 0o644)
	if _, _, err := loadFile(warned, true); err == nil || !strings.Contains(err.Error(), "should be converted to a duration") {
		t.Errorf("strict: %v", err)
	}
	if o, _, err := loadFile(warned, false); err != nil || len(o.Warnings) != 1 {
		t.Errorf("not strict: %v %q", err, o.Warnings)
	}
	cluster := filepath.Join(dir, "cluster.conf")
	os.WriteFile(cluster, []byte("cluster { port: 6222 }\n"), 0o644)
	if o, _, err := loadFile(cluster, true); err != nil || len(o.Warnings) != 1 {
		t.Errorf("strict with a feature warning: %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keel.conf")
	os.WriteFile(path, []byte("port: 4333\nmax_payload: 2MB\n"), 0o644)
	o, digest, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "config file", o.ConfigFile, path)
	expect(t, "port", o.Port, 4333)
	// nats-server -t prints this digest for the same file.
	expect(t, "digest", digest, "sha256:f89daaa2c7ea00fe41f6c76bf6c3f60557afa3879e7c838654422ff4b8dbce58")
	if _, _, err := LoadFile(filepath.Join(dir, "missing.conf")); err == nil {
		t.Error("missing file loaded")
	}
}
