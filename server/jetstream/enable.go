package jetstream

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/seal"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
	"github.com/keelhq/keel/server/opts"
)

// Config is what JetStream runs with. FromOptions derives it from the
// server's options; tests may build one directly.
type Config struct {
	// StoreDir is the folder the engine owns: <store_dir>/jetstream, as
	// nats-server lays it out.
	StoreDir string
	// MaxMemory and MaxStore are the server-wide limits (bytes).
	MaxMemory int64
	MaxStore  int64
	Domain    string
	// SyncInterval zero means "always": an ack waits for the fsync that
	// covers its message. A positive value fsyncs on that interval.
	SyncInterval time.Duration
	Cipher       seal.Cipher
	Key          []byte
	// Strict rejects unknown fields in API requests.
	Strict bool
	// Account holds the global account's JetStream limits.
	Account jsapi.AccountLimits
	// MaxDuplicateWindow is jetstream.limits.duplicate_window (0: none).
	MaxDuplicateWindow time.Duration
	// MaxConsumersPerStream is jetstream.limits.default_max_consumers (0:
	// the reference's default, 1000; -1: unlimited), for the consumer
	// layer.
	MaxConsumersPerStream int
	// MaxPending bounds a direct get batch when the request sets no
	// max_bytes (the server's max_pending, as the reference does).
	MaxPending int
	// MaxPayload is the server's max_payload.
	MaxPayload int
	// APIWorkers is how many goroutines serve $JS.API requests (default 4).
	APIWorkers int
	// DedupMaxIDs bounds the message ids kept for duplicate detection
	// across all streams (default 16M, about 400 MB): past it the oldest
	// ids of the stream being published to are dropped early, and a
	// warning is logged.
	DedupMaxIDs int
	// ServerVersion is stamped into _nats.ver.
	ServerVersion string
	// BatchLimits are jetstream.limits.batch (zero: the reference's
	// defaults).
	BatchLimits BatchLimits
	// MaxRequestBatch, MaxAckPending and MaxHAAssets are the rest of
	// jetstream.limits (0: not set), for the consumer and cluster layers
	// and for monitoring.
	MaxRequestBatch int
	MaxAckPending   int
	MaxHAAssets     int
	// ExplicitMax is set when max_mem and max_file were both configured
	// rather than derived from the machine (the reference's /jsz then
	// reports compress_ok).
	ExplicitMax bool
	// BlockCacheBytes bounds the engine's cache of decoded sealed blocks,
	// shared by all streams (0: defaultBlockCache). Each stream's active
	// block is held apart from it.
	BlockCacheBytes int64
}

// BatchLimits bound batch publishing.
type BatchLimits struct {
	InflightPerStream int
	InflightTotal     int
	MaxSize           int
	Timeout           time.Duration
}

// Default sizes when the machine cannot tell (the reference's).
const (
	defaultMaxStore  = 1 << 40   // 1 TiB
	defaultMaxMemory = 256 << 20 // 256 MiB
	defaultDedupIDs  = 16 << 20
	// defaultBlockCache is the engine's block cache. Measured with
	// TestMemoryVsReference (1M messages of 128 bytes over 100k subjects):
	// the engine's own 256 MiB default kept nearly the whole stream decoded
	// (Keel 376 MB resident against nats-server's 232 MB); 32 MiB holds the
	// blocks with the last message of every subject (the working set of
	// last-by-subject reads there) at 128-166 MB resident, with the same
	// read rates; 16 MiB made those reads thrash.
	defaultBlockCache = 32 << 20
)

// FromOptions resolves JetStream's configuration from the server options:
// the store folder (<store_dir>/jetstream, or $TMPDIR/nats/jetstream
// without one), the sync policy (durable before ack unless sync_interval
// says otherwise), the cipher and key, the limits sized from the machine
// when not configured (75% of memory, 75% of the free disk), and the
// global account's limits.
func FromOptions(o *opts.Options) (Config, []string, error) {
	var warnings []string
	jo := o.JetStreamOpts
	c := Config{
		Domain:        jo.Domain,
		Strict:        jo.Strict,
		MaxPending:    int(o.MaxPending),
		MaxPayload:    int(o.MaxPayload),
		ServerVersion: server.Version,
		Account:       jsapi.UnlimitedAccountLimits,
		DedupMaxIDs:   defaultDedupIDs,
	}
	if o.StoreDir != "" {
		c.StoreDir = filepath.Join(o.StoreDir, storeDirName)
	} else {
		c.StoreDir = filepath.Join(os.TempDir(), "nats", storeDirName)
		warnings = append(warnings, "Temporary storage directory used, data could be lost on system reboot")
	}
	if !jo.SyncAlways && jo.SyncInterval > 0 {
		c.SyncInterval = jo.SyncInterval
	}
	cipher, err := seal.ParseCipher(jo.Cipher)
	if err != nil {
		return Config{}, nil, fmt.Errorf("jetstream: %w", err)
	}
	c.Cipher = cipher
	if jo.Key != "" {
		c.Key = []byte(jo.Key)
	}
	c.BlockCacheBytes = jo.BlockCache
	c.MaxMemory, c.MaxStore = jo.MaxMemory, jo.MaxStore
	c.ExplicitMax = c.MaxMemory > 0 && c.MaxStore > 0
	if c.MaxMemory < 0 {
		c.MaxMemory = systemMemoryLimit()
	}
	if c.MaxStore < 0 {
		c.MaxStore = diskAvailable(c.StoreDir)
	}
	l := jo.Limits
	c.MaxDuplicateWindow = l.Duplicates
	c.MaxConsumersPerStream = l.DefaultMaxConsumers
	c.MaxRequestBatch, c.MaxAckPending, c.MaxHAAssets = l.MaxRequestBatch, l.MaxAckPending, l.MaxHAAssets
	c.BatchLimits = BatchLimits{
		InflightPerStream: l.MaxBatchInflightPerStream, InflightTotal: l.MaxBatchInflightTotal,
		MaxSize: l.MaxBatchSize, Timeout: l.MaxBatchTimeout,
	}
	for _, a := range o.Accounts {
		if a == nil || a.Name != server.GlobalAccountName || a.JetStream == nil {
			continue
		}
		aj := a.JetStream
		c.Account = jsapi.AccountLimits{
			MaxMemory: aj.MaxMemory, MaxStore: aj.MaxStore,
			MaxStreams: aj.MaxStreams, MaxConsumers: aj.MaxConsumers, MaxAckPending: aj.MaxAckPending,
			MemoryMaxStreamBytes: orUnlimited(aj.MemoryMaxStreamBytes),
			StoreMaxStreamBytes:  orUnlimited(aj.StoreMaxStreamBytes),
			MaxBytesRequired:     aj.MaxBytesRequired,
		}
	}
	return c, warnings, nil
}

func orUnlimited(v int64) int64 {
	if v <= 0 {
		return -1
	}
	return v
}

const storeDirName = "jetstream"

// systemMemoryLimit is 75% of the machine's memory, or of GOMEMLIMIT when
// that is lower.
func systemMemoryLimit() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return defaultMaxMemory
	}
	mem := int64(si.Totalram) * int64(si.Unit)
	if gml := debug.SetMemoryLimit(-1); gml != math.MaxInt64 && gml < mem {
		mem = gml
	}
	return mem / 4 * 3
}

// diskAvailable is 75% of the free space where the store lives.
func diskAvailable(dir string) int64 {
	probe := dir
	for {
		if _, err := os.Stat(probe); err == nil {
			break
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			return defaultMaxStore
		}
		probe = parent
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(probe, &fs); err != nil {
		return defaultMaxStore
	}
	return int64(fs.Bavail*uint64(fs.Bsize)) / 4 * 3
}

// Start opens the engine in cfg.StoreDir, recovers every stream, and
// starts serving $JS.API (and $JS.<domain>.API with a domain) on host.
func Start(host Host, cfg Config) (*JetStream, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("jetstream: no store directory")
	}
	if cfg.APIWorkers <= 0 {
		cfg.APIWorkers = 4
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 64 << 20
	}
	if cfg.DedupMaxIDs <= 0 {
		cfg.DedupMaxIDs = defaultDedupIDs
	}
	if cfg.ServerVersion == "" {
		cfg.ServerVersion = server.Version
	}
	if cfg.MaxConsumersPerStream == 0 {
		// The reference's default (-1 configured means unlimited).
		cfg.MaxConsumersPerStream = jsapi.DefaultMaxConsumersPerStream
	}
	begin := time.Now()
	host.Noticef("Starting JetStream")
	js := &JetStream{host: host, cfg: cfg, streams: make(map[string]*stream), start: begin, features: defaultFeatures()}
	js.level.Store(int32(advertisedLevel(noConsumerLayer)))
	if err := os.MkdirAll(cfg.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("jetstream: create store directory %s: %w", cfg.StoreDir, err)
	}
	if cfg.BlockCacheBytes <= 0 {
		cfg.BlockCacheBytes = defaultBlockCache
	}
	eng, err := blockstore.Open(cfg.StoreDir, blockstore.Options{
		SyncInterval: cfg.SyncInterval, Key: cfg.Key, Cipher: cfg.Cipher, Logger: host,
		CacheBytes: cfg.BlockCacheBytes,
	})
	if errors.Is(err, blockstore.ErrNotEncrypted) {
		// The engine's message repeats itself through its chain of
		// causes; this one says all of it once.
		return nil, fmt.Errorf("jetstream: the store in %s was written without encryption and cannot be encrypted in place: start without jetstream { key }, or back up its streams (nats stream backup) and restore them into a new store folder with the key", cfg.StoreDir)
	}
	if errors.Is(err, blockstore.ErrBadKey) {
		// Say what to fix first; the engine's chain of causes follows.
		return nil, fmt.Errorf("jetstream: the store in %s was written with another encryption key or cipher, or without one: check jetstream { key, cipher } (%w)", cfg.StoreDir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream: open store %s: %w", cfg.StoreDir, err)
	}
	js.engine = eng
	js.dur = newDurability(js)
	js.api = newAPIDispatcher(js, cfg.APIWorkers)
	js.logBanner()
	if err := js.recover(); err != nil {
		js.dur.stop()
		eng.Close()
		return nil, err
	}
	if err := js.api.subscribe(); err != nil {
		js.Shutdown()
		return nil, err
	}
	js.wg.Add(1)
	go js.usageLoop()
	host.SetJetStreamInfo(server.JetStreamInfo{Enabled: true, Domain: cfg.Domain, APILevel: js.APILevel()})
	host.Noticef("Took %s to start JetStream", time.Since(begin).Round(time.Microsecond))
	return js, nil
}

func (js *JetStream) logBanner() {
	h, c := js.host, js.cfg
	for _, l := range jetStreamLogo {
		h.Noticef("%s", l)
	}
	h.Noticef("---------------- JETSTREAM ----------------")
	if c.Strict {
		h.Noticef("  Strict:          %t", c.Strict)
	}
	h.Noticef("  Max Memory:      %s", friendlyBytes(c.MaxMemory))
	h.Noticef("  Max Storage:     %s", friendlyBytes(c.MaxStore))
	h.Noticef("  Store Directory: %q", c.StoreDir)
	if c.Domain != "" {
		h.Noticef("  Domain:          %s", c.Domain)
	}
	if c.Key != nil {
		h.Noticef("  Encryption:      %s", c.Cipher)
	}
	// The reference has no line for the sync policy; Keel's default
	// (durable before the ack) differs from its, so it is said.
	if c.SyncInterval > 0 {
		h.Noticef("  Sync Interval:   %s", c.SyncInterval)
	} else {
		h.Noticef("  Sync Interval:   always")
	}
	h.Noticef("  API Level:       %d", js.APILevel())
	h.Noticef("-------------------------------------------")
}

// jetStreamLogo opens the banner, as in nats-server's log.
var jetStreamLogo = []string{
	`    _ ___ _____ ___ _____ ___ ___   _   __  __`,
	` _ | | __|_   _/ __|_   _| _ \ __| /_\ |  \/  |`,
	`| || | _|  | | \__ \ | | |   / _| / _ \| |\/| |`,
	` \__/|___| |_| |___/ |_| |_|_\___/_/ \_\_|  |_|`,
	``,
	`         https://docs.nats.io/jetstream`,
	``,
}

func friendlyBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %cB", float64(b)/float64(div), "KMGTPE"[exp])
}
