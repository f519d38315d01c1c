package opts

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keelhq/keel/server/conf"
)

// FuzzFromConfig checks that decoding any parsable configuration never
// panics and fails only with positioned errors.
func FuzzFromConfig(f *testing.F) {
	for _, s := range []string{
		"port: 4222\nmax_payload: 1MB\nping_interval: \"2m\"\n",
		"jetstream { store_dir: /x, max_mem: 1G, max_file: \"10G\", sync: always, limits { batch { max_msgs: 1 } } }",
		"authorization { user: a, password: b, timeout: 1.5 }",
		"authorization { users: [{user: a, permissions: {publish: {allow: [x], deny: y}, allow_responses: {max: 1}}}] }",
		"accounts { A: { users: [{nkey: x}], exports: [{service: s, latency: {subject: l, sampling: 50%}}], imports: [{stream: {account: B, subject: x}}], jetstream: {max_mem: 1} }, B: {} }",
		"mappings { a: [{dest: b, weight: 50}] }",
		"cluster { routes: [a, a], compression: { mode: s2_auto, rtt_thresholds: [\"1ms\"] }, authorization { user: u } }",
		"leafnodes { remotes: [{urls: [x], proxy: { url: y, tls: {} }, jetstream_cluster_migrate: { leader_migrate_delay: 5 }}] }",
		"gateway { gateways: [{name: a, urls: [x]}] }",
		"websocket { port: 1, headers { a: b } }\nmqtt { port: 2 }",
		"tls { certs: [{cert_file: a, key_file: b}], handshake_first: auto, ocsp_peer: { verify: true } }",
		"resolver { type: full, dir: x }\noperator: [a, b]\nresolver_preload { a: b }",
		"x = 1\nport: $x",
		"feature_flags { a: true }\nserver_metadata { a: b }\nocsp { mode: must, urls: [u] }\nocsp_cache { type: local }",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(bytes.ToLower(data), []byte("include")) {
			return // fuzzing must not read files
		}
		m, err := conf.Parse(data, "fuzz.conf")
		if err != nil {
			return
		}
		o, err := FromConfig(m)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T %v is not a list of problems", err, err)
			}
			for _, e := range errs {
				var ce *conf.Error
				if !errors.As(e, &ce) || ce.Pos.Line < 1 {
					t.Fatalf("problem without a position: %v", e)
				}
			}
			return
		}
		_ = o.Finalize()
		if _, err := CheckReload(Default(), o); err != nil && !errors.Is(err, ErrReloadNotSupported) {
			t.Fatalf("CheckReload: %v", err)
		}
	})
}
