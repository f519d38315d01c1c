// Package opts holds Keel's typed server options: every setting of the
// nats-server configuration file and command line, their defaults, and the
// validation that runs before a server starts. The configuration file
// format itself is parsed by package conf; this package turns its tree of
// values (and the command-line flags, which win) into Options.
//
// Every block the reference understands is parsed into typed fields, even
// for features Keel does not have yet. What happens to those is decided in
// one place (policy.go): a setting that would protect the server beyond
// simple authentication makes loading fail, because Keel must never run
// open when the configuration asks for protection; any other setting that
// is not available yet adds a warning naming it. Nothing is ignored
// silently, and an unknown key is an error, as in nats-server.
//
// Options must only hold exported fields of comparable-by-reflection
// types: the server diffs two Options field by field on reload.
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
	DefaultMaxClosedClients = 10000
	// RandomPort in a port setting asks for any free port.
	RandomPort = -1
)

// Options is the complete configuration of one server.
type Options struct {
	ConfigFile string
	// ConfigDigest is the configuration file's digest ("sha256:..."), as
	// nats-server prints it at start-up and on reload.
	ConfigDigest string
	ServerName   string
	Host         string
	// Port is the client port; RandomPort (-1) asks for any free port. A
	// file or flag value of 0 means the default, 4222.
	Port int
	// ClientAdvertise is the host:port given to clients in connect_urls.
	ClientAdvertise string

	// Limits and protection.
	// MaxConn is max_connections. A file value of 0 is stored as -1, which
	// in nats-server means that no client connection is accepted.
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
	// MaxSubTokens limits the number of tokens in a subscription subject
	// (max_sub_tokens); 0 means no limit.
	MaxSubTokens uint8
	// WriteTimeout is the write_timeout policy: "default", "close" or "retry".
	WriteTimeout        string
	DisableSublistCache bool
	NoFastProducerStall bool
	ProxyProtocol       bool
	MaxClosedClients    int

	// Simple authentication (one user or one token).
	Username      string
	Password      string
	Authorization string // token

	// Monitoring. HTTPPort and HTTPSPort: 0 off, -1 any free port.
	HTTPHost     string
	HTTPPort     int
	HTTPSPort    int
	HTTPBasePath string

	// Logging.
	Debug        bool
	Trace        bool
	TraceVerbose bool
	TraceHeaders bool
	Logtime      bool
	LogtimeUTC   bool
	LogFile      string
	// LogSizeLimit rotates the log file when it grows beyond this many bytes.
	LogSizeLimit int64
	// LogMaxFiles is how many log files (current and rotated) to keep; 0 keeps all.
	LogMaxFiles     int
	MaxTracedMsgLen int
	Syslog          bool
	RemoteSyslog    string
	PidFile         string
	PortsFileDir    string
	ProfPort        int
	ProfBlockRate   int

	// Descriptive settings, reported by monitoring.
	Tags         []string
	Metadata     map[string]string
	FeatureFlags map[string]bool

	// JetStream.
	JetStream     bool
	StoreDir      string
	JetStreamOpts JetStreamOptions
	// JSAccDefaultDomain is default_js_domain: account name to domain.
	JSAccDefaultDomain map[string]string

	// Authentication and authorization beyond simple auth, accounts and
	// decentralized (operator) mode.
	Users              []*User
	Nkeys              []*NkeyUser
	DefaultPermissions *Permissions
	AuthCallout        *AuthCallout
	AuthProxyRequired  bool
	NoAuthUser         string
	DefaultSentinel    string
	SystemAccount      string
	NoSystemAccount    bool
	Accounts           []*Account
	Mappings           []*Mapping
	TrustedOperators   []string // operator JWT files or inline JWTs
	TrustedKeys        []string
	Resolver           *ResolverOptions
	ResolverTLS        *TLSOptions
	ResolverPreload    map[string]string
	ResolverPinned     []string
	Proxies            []*TrustedProxy

	// Client TLS.
	TLS         *TLSOptions
	AllowNonTLS bool
	OCSP        *OCSPOptions
	OCSPCache   *OCSPCacheOptions

	// Other listeners and connections.
	Cluster   ClusterOptions
	Gateway   GatewayOptions
	LeafNode  LeafNodeOptions
	Websocket WebsocketOptions
	MQTT      MQTTOptions

	// ConnectErrorReports and ReconnectErrorReports throttle the logging of
	// route, gateway and leafnode connection errors.
	ConnectErrorReports   int
	ReconnectErrorReports int

	// Warnings collected while parsing (features configured but not built
	// yet); the server logs them at start-up.
	Warnings []string
}

// JetStreamOptions is the jetstream {} block.
type JetStreamOptions struct {
	// MaxMemory and MaxStore are max_memory_store and max_file_store in
	// bytes; -1 (the default) means "not set: size from the machine".
	MaxMemory       int64
	MaxStore        int64
	Domain          string
	SyncInterval    time.Duration // 0 with SyncAlways false: engine default
	SyncAlways      bool
	Cipher          string // "aes" or "chacha"
	Key             string
	PrevKey         string
	MaxBufferedMsgs int
	MaxBufferedSize int64
	UniqueTag       string
	// Strict (the default) makes the JetStream API reject unknown fields.
	Strict            bool
	ExtensionHint     string
	MaxCatchup        int64
	RequestQueueLimit int64
	InfoQueueLimit    int64
	MetaCompact       uint64
	MetaCompactSize   uint64
	MetaCompactSync   bool
	MaxConcurrentIO   int
	Limits            JetStreamLimits
	TPM               *JetStreamTPM
	// BlockCache is Keel's own block_cache: the memory ceiling of the
	// engine's cache of decoded blocks (0: the default).
	BlockCache int64
}

// JetStreamLimits is jetstream { limits {} }: server-wide caps on streams
// and consumers.
type JetStreamLimits struct {
	MaxAckPending             int
	MaxHAAssets               int
	MaxRequestBatch           int
	DefaultMaxConsumers       int
	Duplicates                time.Duration
	MaxBatchInflightPerStream int
	MaxBatchInflightTotal     int
	MaxBatchSize              int
	MaxBatchTimeout           time.Duration
}

// JetStreamTPM is jetstream { tpm {} }: an encryption key sealed by a TPM.
type JetStreamTPM struct {
	KeysFile    string
	KeyPassword string
	SrkPassword string
	PCR         int
	Cipher      string
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
		MaxClosedClients: DefaultMaxClosedClients,
		Logtime:          true,
		JetStreamOpts: JetStreamOptions{
			MaxMemory: -1,
			MaxStore:  -1,
			Strict:    true,
		},
	}
}
