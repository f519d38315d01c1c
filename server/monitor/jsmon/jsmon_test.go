package jsmon_test

import (
	"testing"
	"time"

	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/monitor/jsmon"
	"github.com/keelhq/keel/server/opts"
)

func TestNilLayer(t *testing.T) {
	if jsmon.New(nil) != nil {
		t.Fatal("a disabled layer must give no source (a nil interface)")
	}
}

// TestSyncPolicy: Keel's sync policy is reported the reference's way:
// sync_always for an fsync before every ack, sync_interval otherwise.
func TestSyncPolicy(t *testing.T) {
	cases := []struct {
		name     string
		interval time.Duration
		always   bool
	}{
		{"default", 0, true},
		{"interval", 5 * time.Second, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := opts.Default()
			o.Host, o.Port = "127.0.0.1", opts.RandomPort
			o.JetStream, o.StoreDir = true, t.TempDir()
			o.JetStreamOpts.SyncInterval = c.interval
			n, err := launch.Start(o, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Shutdown()
			src := jsmon.New(n.JetStream())
			cfg := src.Overview().Config
			if cfg.SyncAlways != c.always || cfg.SyncInterval != c.interval || cfg.StoreDir == "" {
				t.Fatalf("config %+v", cfg)
			}
			accs := src.Accounts(true)
			if len(accs) != 1 || accs[0].Name != "$G" || len(accs[0].Streams) != 0 {
				t.Fatalf("accounts %+v", accs)
			}
		})
	}
}
