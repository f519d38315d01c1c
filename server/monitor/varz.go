package monitor

import (
	"math"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/opts"
)

// Varz is /varz: the server's identity, configuration and counters. Field
// order, names and types are the reference's; the cluster, gateway, leaf,
// MQTT and websocket sections stay empty until Keel has those listeners.
type Varz struct {
	ID                   string            `json:"server_id"`
	Name                 string            `json:"server_name"`
	Version              string            `json:"version"`
	Proto                int               `json:"proto"`
	GitCommit            string            `json:"git_commit,omitempty"`
	GoVersion            string            `json:"go"`
	Host                 string            `json:"host"`
	Port                 int               `json:"port"`
	AuthRequired         bool              `json:"auth_required,omitempty"`
	TLSRequired          bool              `json:"tls_required,omitempty"`
	TLSVerify            bool              `json:"tls_verify,omitempty"`
	IP                   string            `json:"ip,omitempty"`
	ClientConnectURLs    []string          `json:"connect_urls,omitempty"`
	MaxConn              int               `json:"max_connections"`
	MaxSubs              int               `json:"max_subscriptions,omitempty"`
	PingInterval         time.Duration     `json:"ping_interval"`
	MaxPingsOut          int               `json:"ping_max"`
	HTTPHost             string            `json:"http_host"`
	HTTPPort             int               `json:"http_port"`
	HTTPBasePath         string            `json:"http_base_path"`
	HTTPSPort            int               `json:"https_port"`
	AuthTimeout          float64           `json:"auth_timeout"`
	MaxControlLine       int32             `json:"max_control_line"`
	MaxPayload           int               `json:"max_payload"`
	MaxPending           int64             `json:"max_pending"`
	Cluster              ClusterVarz       `json:"cluster"`
	Gateway              GatewayVarz       `json:"gateway"`
	LeafNode             LeafNodeVarz      `json:"leaf"`
	MQTT                 MQTTVarz          `json:"mqtt"`
	Websocket            WebsocketVarz     `json:"websocket"`
	JetStream            JetStreamVarz     `json:"jetstream"`
	TLSTimeout           float64           `json:"tls_timeout"`
	WriteDeadline        time.Duration     `json:"write_deadline"`
	WriteTimeout         string            `json:"write_timeout,omitempty"`
	Start                time.Time         `json:"start"`
	Now                  time.Time         `json:"now"`
	Uptime               string            `json:"uptime"`
	Mem                  int64             `json:"mem"`
	Cores                int               `json:"cores"`
	MaxProcs             int               `json:"gomaxprocs"`
	MemLimit             int64             `json:"gomemlimit,omitempty"`
	CPU                  float64           `json:"cpu"`
	Connections          int               `json:"connections"`
	TotalConnections     uint64            `json:"total_connections"`
	Routes               int               `json:"routes"`
	Remotes              int               `json:"remotes"`
	Leafs                int               `json:"leafnodes"`
	InMsgs               int64             `json:"in_msgs"`
	InBytes              int64             `json:"in_bytes"`
	InClientMsgs         int64             `json:"in_client_msgs"`
	InClientBytes        int64             `json:"in_client_bytes"`
	OutMsgs              int64             `json:"out_msgs"`
	OutBytes             int64             `json:"out_bytes"`
	OutClientMsgs        int64             `json:"out_client_msgs"`
	OutClientBytes       int64             `json:"out_client_bytes"`
	SlowConsumers        int64             `json:"slow_consumers"`
	StaleConnections     int64             `json:"stale_connections"`
	StalledClients       int64             `json:"stalled_clients"`
	Subscriptions        uint32            `json:"subscriptions"`
	HTTPReqStats         map[string]uint64 `json:"http_req_stats"`
	ConfigLoadTime       time.Time         `json:"config_load_time"`
	ConfigDigest         string            `json:"config_digest"`
	Tags                 []string          `json:"tags,omitempty"`
	Metadata             map[string]string `json:"metadata,omitempty"`
	FeatureFlags         map[string]bool   `json:"feature_flags,omitempty"`
	SystemAccount        string            `json:"system_account,omitempty"`
	SlowConsumersStats   *PerKindStats     `json:"slow_consumer_stats"`
	StaleConnectionStats *PerKindStats     `json:"stale_connection_stats,omitempty"`
	DiskIOWaitStats      *DiskIOWaitStats  `json:"disk_io_wait_stats"`
	TLSCertNotAfter      time.Time         `json:"tls_cert_not_after,omitzero"`
}

// ClusterVarz is the cluster section of /varz (empty: no clustering yet).
type ClusterVarz struct {
	Name        string   `json:"name,omitempty"`
	Host        string   `json:"addr,omitempty"`
	Port        int      `json:"cluster_port,omitempty"`
	AuthTimeout float64  `json:"auth_timeout,omitempty"`
	URLs        []string `json:"urls,omitempty"`
	TLSTimeout  float64  `json:"tls_timeout,omitempty"`
	TLSRequired bool     `json:"tls_required,omitempty"`
	TLSVerify   bool     `json:"tls_verify,omitempty"`
	PoolSize    int      `json:"pool_size,omitempty"`
}

// GatewayVarz is the gateway section of /varz (empty: no gateways yet).
type GatewayVarz struct {
	Name        string  `json:"name,omitempty"`
	Host        string  `json:"host,omitempty"`
	Port        int     `json:"port,omitempty"`
	AuthTimeout float64 `json:"auth_timeout,omitempty"`
	TLSTimeout  float64 `json:"tls_timeout,omitempty"`
}

// LeafNodeVarz is the leafnode section of /varz (empty: no leafnodes yet).
type LeafNodeVarz struct {
	Host        string  `json:"host,omitempty"`
	Port        int     `json:"port,omitempty"`
	AuthTimeout float64 `json:"auth_timeout,omitempty"`
	TLSTimeout  float64 `json:"tls_timeout,omitempty"`
}

// MQTTVarz is the MQTT section of /varz (empty: no MQTT yet).
type MQTTVarz struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
}

// WebsocketVarz is the websocket section of /varz (empty: no websocket yet).
type WebsocketVarz struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
}

// JetStreamVarz is the jetstream section of /varz: empty when JetStream is
// off.
type JetStreamVarz struct {
	Config *JSConfig `json:"config,omitempty"`
	Stats  *JSStats  `json:"stats,omitempty"`
	Limits *JSLimits `json:"limits,omitempty"`
}

// PerKindStats splits a count by connection kind (slow consumers, stale
// connections).
type PerKindStats struct {
	Clients  uint64 `json:"clients"`
	Routes   uint64 `json:"routes"`
	Gateways uint64 `json:"gateways"`
	Leafs    uint64 `json:"leafs"`
}

// DiskIOWaitStats reports contention for disk I/O slots. Keel's engine
// does not queue for such slots, so the figures stay zero.
type DiskIOWaitStats struct {
	Waiters     int64  `json:"waiters"`
	Waits       uint64 `json:"waits"`
	WaitTime    uint64 `json:"wait_time"`
	MaxWaitTime uint64 `json:"max_wait_time"`
}

// defaultTLSTimeout is the reference's tls_timeout when none is set.
const defaultTLSTimeout = 2.0

// Varz builds /varz from the server's state now.
func (m *Server) Varz() *Varz {
	s := m.srv
	o := s.Options()
	st := s.Stats()
	now := time.Now()
	v := &Varz{
		ID:             s.ID(),
		Name:           s.Name(),
		Version:        server.Version,
		Proto:          server.ProtoVersion,
		GoVersion:      runtime.Version(),
		Host:           o.Host,
		Port:           clientPort(s, o),
		AuthRequired:   o.Username != "" || o.Authorization != "",
		MaxConn:        o.MaxConn,
		MaxSubs:        o.MaxSubs,
		PingInterval:   o.PingInterval,
		MaxPingsOut:    o.MaxPingsOut,
		HTTPHost:       o.HTTPHost,
		HTTPPort:       o.HTTPPort,
		HTTPBasePath:   o.HTTPBasePath,
		HTTPSPort:      o.HTTPSPort,
		AuthTimeout:    o.AuthTimeout.Seconds(),
		MaxControlLine: o.MaxControlLine,
		MaxPayload:     int(o.MaxPayload),
		MaxPending:     o.MaxPending,
		TLSTimeout:     defaultTLSTimeout,
		WriteDeadline:  o.WriteDeadline,
		Start:          s.StartTime().UTC(),
		Now:            now.UTC(),
		Uptime:         uptime(now.Sub(s.StartTime())),
		Cores:          runtime.NumCPU(),
		MaxProcs:       runtime.GOMAXPROCS(0),
		Connections:    s.NumClients(),
		// TotalConns counts every accepted connection; it never goes down.
		TotalConnections: uint64(st.TotalConns.Load()),
		InMsgs:           st.InMsgs.Load(),
		InBytes:          st.InBytes.Load(),
		OutMsgs:          st.OutMsgs.Load(),
		OutBytes:         st.OutBytes.Load(),
		SlowConsumers:    st.SlowConsumers.Load(),
		StaleConnections: st.StaleConns.Load(),
		StalledClients:   st.Stalls.Load(),
		HTTPReqStats:     m.requestStats(),
		ConfigLoadTime:   s.ConfigLoadTime().UTC(),
		ConfigDigest:     *m.digest.Load(),
		Tags:             o.Tags,
		Metadata:         o.Metadata,
		FeatureFlags:     o.FeatureFlags,
		DiskIOWaitStats:  &DiskIOWaitStats{},
	}
	// Every connection Keel has is a client connection (no routes,
	// gateways or leafnodes yet), so the client figures are the totals.
	v.InClientMsgs, v.InClientBytes = v.InMsgs, v.InBytes
	v.OutClientMsgs, v.OutClientBytes = v.OutMsgs, v.OutBytes
	v.SlowConsumersStats = &PerKindStats{Clients: uint64(v.SlowConsumers)}
	v.StaleConnectionStats = &PerKindStats{Clients: uint64(v.StaleConnections)}
	if o.ClientAdvertise != "" {
		v.ClientConnectURLs = []string{o.ClientAdvertise}
	}
	if o.WriteTimeout != "" && o.WriteTimeout != "default" {
		v.WriteTimeout = o.WriteTimeout
	}
	if a, ok := m.Addr().(*net.TCPAddr); ok && o.HTTPPort == opts.RandomPort {
		v.HTTPPort = a.Port
	}
	if lim := debug.SetMemoryLimit(-1); lim < math.MaxInt64 {
		v.MemLimit = lim
	}
	v.Mem, v.CPU = m.cpu.sample()
	for _, a := range s.Accounts() {
		v.Subscriptions += a.NumSubscriptions()
	}
	if js := m.jetStream(); js != nil {
		ov := js.Overview()
		v.JetStream = JetStreamVarz{Config: &ov.Config, Stats: &ov.Stats, Limits: &ov.Limits}
	}
	return v
}

// clientPort is the port clients connect to (the bound one when the
// options asked for any free port).
func clientPort(s *server.Server, o *opts.Options) int {
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return o.Port
}

func (m *Server) handleVarz(w http.ResponseWriter, r *http.Request) {
	m.writeJSON(w, m.Varz())
}
