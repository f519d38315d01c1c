package server

import (
	"net"
	"testing"

	"github.com/keelhq/keel/server/opts"
)

// TestClientAdvertise: client_advertise replaces INFO's host and port,
// as nats-server does for a standalone server (connect_urls stays out:
// it lists the other servers of a cluster).
func TestClientAdvertise(t *testing.T) {
	tests := []struct {
		adv, host string
		port      int // 0: the port listened on
	}{
		{"example.com:4333", "example.com", 4333},
		{"example.com", "example.com", 0},
		{"[::1]:5000", "::1", 5000},
		{"10.0.0.1", "10.0.0.1", 0},
	}
	for _, tc := range tests {
		t.Run(tc.adv, func(t *testing.T) {
			s := runServer(t, func(o *opts.Options) { o.ClientAdvertise = tc.adv })
			rc := dialRaw(t, s)
			port := tc.port
			if port == 0 {
				port = s.Addr().(*net.TCPAddr).Port
			}
			if rc.info["host"] != tc.host || rc.info["port"] != float64(port) {
				t.Errorf("INFO host %v port %v, want %s %d", rc.info["host"], rc.info["port"], tc.host, port)
			}
			if _, ok := rc.info["connect_urls"]; ok {
				t.Errorf("INFO has connect_urls: %v", rc.info["connect_urls"])
			}
		})
	}
}
