package jsmon_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/monitor"
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

// startJS runs a JetStream server with mod applied to its options.
func startJS(t *testing.T, mod func(o *opts.Options)) *launch.Node {
	t.Helper()
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", opts.RandomPort
	o.JetStream, o.StoreDir = true, t.TempDir()
	if mod != nil {
		mod(o)
	}
	n, err := launch.Start(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown() })
	return n
}

// TestAccountReserved: an account's reserved_memory and reserved_storage
// in /jsz are its limits, as the reference reports them there (unlimited
// wraps to the largest uint64), not what its streams reserve.
func TestAccountReserved(t *testing.T) {
	n := startJS(t, nil)
	nc, err := nats.Connect(n.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "F", Subjects: []string{"f"}, MaxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	src := jsmon.New(n.JetStream())
	accs := src.Accounts(false)
	if len(accs) != 1 || accs[0].ReservedMemory != math.MaxUint64 || accs[0].ReservedStore != math.MaxUint64 {
		t.Fatalf("account reserved %+v, want the unlimited limits", accs)
	}
	// The server-wide figures stay the streams' reservations.
	if st := src.Overview().Stats; st.ReservedStore != 1<<20 || st.ReservedMemory != 0 {
		t.Fatalf("server reserved %d/%d", st.ReservedMemory, st.ReservedStore)
	}
}

// TestOverviewLimits: every configured jetstream limit is reported, and
// compress_ok only with explicit max_mem and max_file, as the reference
// does.
func TestOverviewLimits(t *testing.T) {
	cases := []struct {
		name     string
		mod      func(o *opts.Options)
		want     monitor.JSLimits
		compress bool
	}{
		{"defaults", nil, monitor.JSLimits{}, false},
		{"configured", func(o *opts.Options) {
			o.JetStreamOpts.MaxMemory, o.JetStreamOpts.MaxStore = 1<<30, 2<<30
			o.JetStreamOpts.Limits = opts.JetStreamLimits{
				MaxRequestBatch: 50, MaxAckPending: 100, MaxHAAssets: 3, Duplicates: time.Minute,
				MaxBatchInflightPerStream: 10, MaxBatchInflightTotal: 20, MaxBatchSize: 30, MaxBatchTimeout: 5 * time.Second,
			}
		}, monitor.JSLimits{
			MaxRequestBatch: 50, MaxAckPending: 100, MaxHAAssets: 3, Duplicates: time.Minute,
			MaxBatchInflightPerStream: 10, MaxBatchInflightTotal: 20, MaxBatchSize: 30, MaxBatchTimeout: 5 * time.Second,
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ov := jsmon.New(startJS(t, c.mod).JetStream()).Overview()
			got := ov.Limits
			got.DefaultMaxConsumers = 0 // defaulted by the options, not under test
			if got != c.want || ov.Config.CompressOK != c.compress {
				t.Fatalf("limits %+v compress_ok %v, want %+v %v", got, ov.Config.CompressOK, c.want, c.compress)
			}
		})
	}
}

// TestJszFields reads /jsz as a client does: the fields fixed above carry
// the reference's names and values.
func TestJszFields(t *testing.T) {
	n := startJS(t, func(o *opts.Options) {
		o.HTTPHost, o.HTTPPort = "127.0.0.1", -1
		o.JetStreamOpts.MaxMemory, o.JetStreamOpts.MaxStore = 1<<30, 2<<30
		o.JetStreamOpts.Limits.MaxAckPending = 100
	})
	resp, err := http.Get("http://" + n.Monitor().Addr().String() + "/jsz?accounts=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jsz struct {
		Config struct {
			CompressOK *bool `json:"compress_ok"`
		} `json:"config"`
		Limits struct {
			MaxAckPending int `json:"max_ack_pending"`
		} `json:"limits"`
		Accounts []struct {
			ReservedMemory uint64 `json:"reserved_memory"`
			ReservedStore  uint64 `json:"reserved_storage"`
		} `json:"account_details"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jsz); err != nil {
		t.Fatal(err)
	}
	if jsz.Config.CompressOK == nil || !*jsz.Config.CompressOK || jsz.Limits.MaxAckPending != 100 ||
		len(jsz.Accounts) != 1 || jsz.Accounts[0].ReservedMemory != math.MaxUint64 || jsz.Accounts[0].ReservedStore != math.MaxUint64 {
		t.Fatalf("/jsz %+v", jsz)
	}
}
