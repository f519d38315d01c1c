// Package opts holds Keel's typed server options: every setting of the
// nats-server configuration file and command line, their defaults, and the
// validation that runs before a server starts. The configuration file
// format itself is parsed by package conf; this package turns its tree of
// values (and the command-line flags, which win) into Options.
package opts

import "time"

// Defaults, as nats-server v2.15 has them.
const (
	DefaultHost             = "0.0.0.0"
	DefaultPort             = 4222
	DefaultHTTPPort         = 8222
	DefaultMaxControlLine   = 4096
	DefaultMaxPayload       = 1024 * 1024
	DefaultMaxPending       = 64 * 1024 * 1024
	DefaultMaxConnections   = 64 * 1024
	DefaultAuthTimeout      = 2 * time.Second
	DefaultPingInterval     = 2 * time.Minute
	DefaultPingMaxOut       = 2
	DefaultWriteDeadline    = 10 * time.Second
	DefaultLameDuckDuration = 2 * time.Minute
	DefaultLameDuckGrace    = 10 * time.Second
)

// Options is the complete configuration of one server.
type Options struct {
	ConfigFile string
	ServerName string
	Host       string
	Port       int
	// ClientAdvertise is the host:port given to clients in connect_urls.
	ClientAdvertise string

	// Limits and protection.
	MaxConn          int
	MaxSubs          int
	MaxPayload       int32
	MaxControlLine   int32
	MaxPending       int64
	WriteDeadline    time.Duration
	PingInterval     time.Duration
	MaxPingsOut      int
	AuthTimeout      time.Duration
	NoHeaderSupport  bool
	LameDuckDuration time.Duration
	LameDuckGrace    time.Duration

	// Simple authentication (one user or one token).
	Username      string
	Password      string
	Authorization string // token

	// Monitoring.
	HTTPHost     string
	HTTPPort     int
	HTTPBasePath string

	// Logging.
	Debug   bool
	Trace   bool
	Logtime bool
	LogFile string
	// LogSizeLimit rotates the log file when it grows beyond this many bytes.
	LogSizeLimit int64
	LogMaxFiles  int
	PidFile      string

	// JetStream.
	JetStream     bool
	StoreDir      string
	JetStreamOpts JetStreamOptions

	// Warnings collected while parsing (features configured but not built
	// yet); the server logs them at start-up.
	Warnings []string
}

// JetStreamOptions is the jetstream {} block.
type JetStreamOptions struct {
	MaxMemory       int64
	MaxStore        int64
	Domain          string
	SyncInterval    time.Duration // 0 with SyncAlways false: engine default
	SyncAlways      bool
	Cipher          string // "aes" or "chacha"
	Key             string
	MaxBufferedMsgs int
	MaxBufferedSize int64
	UniqueTag       string
	Strict          bool
}

// Default returns options with every default filled in.
func Default() *Options {
	return &Options{
		Host:             DefaultHost,
		Port:             DefaultPort,
		MaxConn:          DefaultMaxConnections,
		MaxPayload:       DefaultMaxPayload,
		MaxControlLine:   DefaultMaxControlLine,
		MaxPending:       DefaultMaxPending,
		WriteDeadline:    DefaultWriteDeadline,
		PingInterval:     DefaultPingInterval,
		MaxPingsOut:      DefaultPingMaxOut,
		AuthTimeout:      DefaultAuthTimeout,
		LameDuckDuration: DefaultLameDuckDuration,
		LameDuckGrace:    DefaultLameDuckGrace,
		Logtime:          true,
	}
}
