package opts

import "time"

// This file declares the typed form of the blocks Keel parses for
// compatibility but does not act on yet (see policy.go for what happens
// when they are set).

// SubjectPermission allows and denies subjects (queue subscriptions may be
// written "subject queue").
type SubjectPermission struct {
	Allow []string
	Deny  []string
}

// ResponsePermission is allow_responses: a client may publish this many
// replies to a request it received, within Expires.
type ResponsePermission struct {
	MaxMsgs int
	Expires time.Duration
}

// Permissions restrict what a user may publish and subscribe to.
type Permissions struct {
	Publish   *SubjectPermission
	Subscribe *SubjectPermission
	Response  *ResponsePermission
}

// User is one entry of a users list with a name and password.
type User struct {
	Username               string
	Password               string
	Account                string
	Permissions            *Permissions
	AllowedConnectionTypes []string
	ProxyRequired          bool
}

// NkeyUser is one entry of a users list that authenticates with an nkey.
type NkeyUser struct {
	Nkey                   string
	Account                string
	Permissions            *Permissions
	AllowedConnectionTypes []string
	ProxyRequired          bool
}

// AuthCallout delegates authentication to a service.
type AuthCallout struct {
	Issuer          string
	Account         string
	AuthUsers       []string
	XKey            string
	AllowedAccounts []string
}

// Account is one entry of the accounts block.
type Account struct {
	Name               string
	Nkey               string
	Users              []*User
	Nkeys              []*NkeyUser
	DefaultPermissions *Permissions
	Exports            []*Export
	Imports            []*Import
	JetStream          *AccountJetStream
	Mappings           []*Mapping
	Limits             AccountLimits
	TraceDest          string
	TraceSampling      int
}

// AccountLimits caps an account's connections, subscriptions, payload size
// and leafnodes (-1 or 0: not set).
type AccountLimits struct {
	MaxConn      int
	MaxSubs      int
	MaxPayload   int
	MaxLeafNodes int
}

// AccountJetStream enables JetStream for an account, with limits (-1: not
// limited).
type AccountJetStream struct {
	Enabled              bool
	MaxMemory            int64
	MaxStore             int64
	MaxStreams           int
	MaxConsumers         int
	MaxAckPending        int
	MaxBytesRequired     bool
	MemoryMaxStreamBytes int64
	StoreMaxStreamBytes  int64
	ClusterTraffic       string
}

// Export makes a stream or a service of an account available to others.
type Export struct {
	Stream               string
	Service              string
	Accounts             []string
	ResponseType         string // "singleton", "stream" or "chunked"
	ResponseThreshold    time.Duration
	Latency              *Latency
	AccountTokenPosition int
	AllowTrace           bool
}

// Latency is a service export's latency tracking.
type Latency struct {
	Subject  string
	Sampling int // percent; 0 with Headers means sampling driven by headers
	Headers  bool
}

// Import brings another account's stream or service in.
type Import struct {
	StreamAccount  string
	StreamSubject  string
	ServiceAccount string
	ServiceSubject string
	Prefix         string
	To             string
	Share          bool
	AllowTrace     bool
}

// Mapping rewrites publishes on Subject to weighted destinations.
type Mapping struct {
	Subject      string
	Destinations []MapDest
}

// MapDest is one destination of a mapping.
type MapDest struct {
	Subject string
	Weight  uint8 // percent
	Cluster string
}

// ResolverOptions is the account resolver of operator mode.
type ResolverOptions struct {
	Kind        string // "MEM", "URL", "FULL" or "CACHE"
	URL         string
	Dir         string
	AllowDelete bool
	HardDelete  bool
	Limit       int64
	TTL         time.Duration
	Interval    time.Duration
	Timeout     time.Duration
}

// TrustedProxy is an entry of proxies { trusted: [...] }.
type TrustedProxy struct {
	Key string
}

// TLSOptions is a tls {} block.
type TLSOptions struct {
	CertFile                  string
	KeyFile                   string
	CAFile                    string
	Insecure                  bool
	Verify                    bool
	VerifyOptional            bool
	VerifyAndMap              bool
	VerifyCertAndCheckKnown   bool
	AllowInsecureCipherSuites bool
	CipherSuites              []string
	CurvePreferences          []string
	Timeout                   time.Duration
	ConnectionRateLimit       int64
	PinnedCerts               []string
	CertStore                 string
	CertMatchBy               string
	CertMatch                 string
	CertMatchSkipInvalid      bool
	CACertsMatch              []string
	HandshakeFirst            bool
	HandshakeFirstFallback    time.Duration
	OCSPPeer                  bool
	Certs                     []CertPair
	MinVersion                string
}

// CertPair is one entry of tls { certs: [...] }.
type CertPair struct {
	CertFile string
	KeyFile  string
}

// OCSPOptions is the ocsp setting (stapling).
type OCSPOptions struct {
	Mode         string // "auto", "always", "must" or "never"
	OverrideURLs []string
}

// OCSPCacheOptions is ocsp_cache.
type OCSPCacheOptions struct {
	Type            string // "none" or "local"
	LocalStore      string
	PreserveRevoked bool
	SaveInterval    time.Duration
}

// Compression is the compression setting of routes and leafnodes.
type Compression struct {
	Mode          string
	RTTThresholds []time.Duration
}

// ClusterOptions is the cluster {} block (routes between servers).
type ClusterOptions struct {
	Name           string
	Host           string
	Port           int
	Advertise      string
	NoAdvertise    bool
	ConnectRetries int
	ConnectBackoff bool
	Username       string
	Password       string
	AuthTimeout    time.Duration
	Routes         []string
	TLS            *TLSOptions
	// Import and Export restrict what routes may receive and send.
	PermImport     *SubjectPermission
	PermExport     *SubjectPermission
	PoolSize       int
	PinnedAccounts []string
	Compression    Compression
	PingInterval   time.Duration
	MaxPingsOut    int
	WriteDeadline  time.Duration
	WriteTimeout   string
}

// GatewayOptions is the gateway {} block (super-clusters).
type GatewayOptions struct {
	Name           string
	Host           string
	Port           int
	Advertise      string
	ConnectRetries int
	ConnectBackoff bool
	Username       string
	Password       string
	AuthTimeout    time.Duration
	TLS            *TLSOptions
	Gateways       []*RemoteGateway
	RejectUnknown  bool
	PingInterval   time.Duration
	MaxPingsOut    int
	WriteDeadline  time.Duration
	WriteTimeout   string
}

// RemoteGateway is one entry of gateway { gateways: [...] }.
type RemoteGateway struct {
	Name string
	URLs []string
	TLS  *TLSOptions
}

// LeafNodeOptions is the leafnodes {} block.
type LeafNodeOptions struct {
	Host              string
	Port              int
	Advertise         string
	NoAdvertise       bool
	Username          string
	Password          string
	Nkey              string
	Account           string
	Users             []*User
	AuthTimeout       time.Duration
	ProxyRequired     bool
	Remotes           []*RemoteLeaf
	ReconnectInterval time.Duration
	DialTimeout       time.Duration
	TLS               *TLSOptions
	MinVersion        string
	Compression       Compression
	IsolateInterest   bool
	PingInterval      time.Duration
	MaxPingsOut       int
	WriteDeadline     time.Duration
	WriteTimeout      string
}

// RemoteLeaf is one entry of leafnodes { remotes: [...] }.
type RemoteLeaf struct {
	URLs                    []string
	NoRandomize             bool
	LocalAccount            string
	Credentials             string
	Nkey                    string
	TLS                     *TLSOptions
	Hub                     bool
	DenyImports             []string
	DenyExports             []string
	WSCompression           bool
	WSNoMasking             bool
	JetStreamClusterMigrate bool
	MigrateDelay            time.Duration
	LocalIsolation          bool
	RequestIsolation        bool
	Compression             Compression
	FirstInfoTimeout        time.Duration
	DialTimeout             time.Duration
	Disabled                bool
	ProxyURL                string
	ProxyUsername           string
	ProxyPassword           string
	ProxyTimeout            time.Duration
	ProxyTLS                *TLSOptions
	IgnoreDiscoveredServers bool
}

// WebsocketOptions is the websocket {} block.
type WebsocketOptions struct {
	Host             string
	Port             int
	Advertise        string
	NoTLS            bool
	TLS              *TLSOptions
	SameOrigin       bool
	AllowedOrigins   []string
	HandshakeTimeout time.Duration
	Compression      bool
	Username         string
	Password         string
	Token            string
	AuthTimeout      time.Duration
	JWTCookie        string
	UsernameCookie   string
	PasswordCookie   string
	TokenCookie      string
	NoAuthUser       string
	Headers          map[string]string
	PingInterval     time.Duration
}

// MQTTOptions is the mqtt {} block.
type MQTTOptions struct {
	Host                      string
	Port                      int
	TLS                       *TLSOptions
	Username                  string
	Password                  string
	Token                     string
	AuthTimeout               time.Duration
	NoAuthUser                string
	AckWait                   time.Duration
	JSAPITimeout              time.Duration
	MaxAckPending             uint16
	JSDomain                  string
	StreamReplicas            int
	ConsumerMemoryStorage     bool
	ConsumerInactiveThreshold time.Duration
	RejectQoS2Publish         bool
	DowngradeQoS2Subscribe    bool
}
