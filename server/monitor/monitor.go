// Package monitor is Keel's HTTP monitoring: the endpoints nats-server
// serves on its monitoring port (-m / http_port), with the reference's
// paths, query parameters, JSON field names, types and error answers, so
// that tools written for nats-server (dashboards, the Prometheus exporter,
// health probes) read Keel the same way.
//
// Endpoints: / (index), /varz, /connz, /subsz (and /subscriptionsz),
// /healthz, /jsz, /accountz, /accstatz, /routez, /gatewayz, /leafz,
// /raftz, /ipqueuesz, /stacksz and /debug/vars, all under
// http_base_path.
//
// The package reads the core server (*server.Server) for connections,
// subscriptions and counters, and JetStream through the small JetStream
// interface (jetstream.go) that the composition root connects; it never
// reaches into either one's internals. Every response is built from a
// fresh snapshot, so handlers hold no lock of their own while encoding.
//
// Files: monitor.go (listener, routing, responses), params.go (query
// decoding), varz.go, connz.go and connz_sort.go, subsz.go, healthz.go,
// jetstream.go and jsz.go, others.go (index, accounts, empty cluster
// endpoints), proc_*.go (process memory and CPU).
package monitor

import (
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"log"
	"net"
	"net/http"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/opts"
)

// Endpoint paths, relative to http_base_path. http_req_stats counts
// requests under these names.
const (
	RootPath         = "/"
	VarzPath         = "/varz"
	ConnzPath        = "/connz"
	RoutezPath       = "/routez"
	GatewayzPath     = "/gatewayz"
	LeafzPath        = "/leafz"
	SubszPath        = "/subsz"
	StackszPath      = "/stacksz"
	AccountzPath     = "/accountz"
	AccountStatzPath = "/accstatz"
	JszPath          = "/jsz"
	HealthzPath      = "/healthz"
	IPQueuesPath     = "/ipqueuesz"
	RaftzPath        = "/raftz"
	ExpvarzPath      = "/debug/vars"
	// subsAliasPath is the old name of /subsz, still served.
	subsAliasPath = "/subscriptionsz"
)

// Sources is what monitoring reads.
type Sources struct {
	// Server is the core NATS server (required).
	Server *server.Server
	// JetStream is the JetStream layer; nil when JetStream is off (it may
	// also be connected later with SetJetStream).
	JetStream JetStream
	// ConfigDigest is reported as config_digest in /varz ("" without a
	// configuration file); SetConfigDigest updates it after a reload.
	ConfigDigest string
}

// Server is a running monitoring listener.
type Server struct {
	srv  *server.Server
	log  logger.Logger
	base string // http_base_path, normalized ("" or "/path")

	js     atomic.Pointer[jsBox]
	digest atomic.Pointer[string]
	cpu    cpuMeter

	reqMu    sync.Mutex
	reqStats map[string]uint64

	ln      net.Listener
	http    *http.Server
	handler http.Handler
	done    chan struct{}
}

type jsBox struct{ js JetStream }

// Start listens on o's http_host:http_port (-1: any free port) and serves
// the monitoring endpoints. It returns nil, nil when o does not ask for
// HTTP monitoring. l may be nil.
func Start(o *opts.Options, src Sources, l logger.Logger) (*Server, error) {
	if o == nil || o.HTTPPort == 0 {
		return nil, nil
	}
	m, err := New(o, src, l)
	if err != nil {
		return nil, err
	}
	port := o.HTTPPort
	if port == opts.RandomPort {
		port = 0
	}
	host := o.HTTPHost
	if host == "" {
		host = o.Host
	}
	hp := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", hp)
	if err != nil {
		return nil, fmt.Errorf("monitor: can't listen to the monitor port %s: %w", hp, err)
	}
	m.ln = ln
	m.log.Noticef("Starting http monitor on %s", net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
	// No write timeout: a large /connz may take a while to build, and a
	// timeout would leave the client with an empty answer.
	m.http = &http.Server{
		Handler:           m.handler,
		MaxHeaderBytes:    1 << 20,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(httpErrorLog{m.log}, "", 0),
	}
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Errorf("monitor: serve on %s: %v", hp, err)
		}
	}()
	return m, nil
}

// New builds the monitoring handlers without listening (Handler serves
// them); Start is New plus a listener.
func New(o *opts.Options, src Sources, l logger.Logger) (*Server, error) {
	if src.Server == nil {
		return nil, errors.New("monitor: no server to monitor")
	}
	if l == nil {
		l = logger.Discard{}
	}
	if o == nil {
		o = src.Server.Options()
	}
	m := &Server{
		srv:      src.Server,
		log:      l,
		base:     normalizeBase(o.HTTPBasePath),
		reqStats: make(map[string]uint64),
	}
	m.SetJetStream(src.JetStream)
	m.SetConfigDigest(src.ConfigDigest)
	m.cpu.init()
	m.handler = m.routes()
	return m, nil
}

// SetJetStream connects (or, with nil, disconnects) the JetStream layer.
// Like every method here it does nothing on a nil Server (no monitoring
// configured), so callers need not check.
func (m *Server) SetJetStream(js JetStream) {
	if m != nil {
		m.js.Store(&jsBox{js})
	}
}

// SetConfigDigest sets config_digest, e.g. after a configuration reload.
func (m *Server) SetConfigDigest(d string) {
	if m != nil {
		m.digest.Store(&d)
	}
}

func (m *Server) jetStream() JetStream { return m.js.Load().js }

// Handler serves the monitoring endpoints (for embedding in another HTTP
// server, and for tests); nil on a nil Server.
func (m *Server) Handler() http.Handler {
	if m == nil {
		return nil
	}
	return m.handler
}

// Addr is the listening address, nil when not listening.
func (m *Server) Addr() net.Addr {
	if m == nil || m.ln == nil {
		return nil
	}
	return m.ln.Addr()
}

// URL is an http:// URL of the monitoring root (with the base path) usable
// from this machine: an unspecified listen address becomes 127.0.0.1.
func (m *Server) URL() string {
	a, ok := m.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port)) + m.base
}

// Close stops the listener and waits for the serving goroutine; requests
// in flight are cut off. Safe on a nil Server and more than once.
func (m *Server) Close() error {
	if m == nil || m.http == nil {
		return nil
	}
	err := m.http.Close()
	<-m.done
	if err != nil {
		return fmt.Errorf("monitor: close: %w", err)
	}
	return nil
}

// normalizeBase turns http_base_path into "" or "/a/b" (no trailing slash).
func normalizeBase(p string) string {
	if p == "" {
		return ""
	}
	p = path.Clean("/" + p)
	if p == "/" {
		return ""
	}
	return p
}

func (m *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Plain paths, no method or pattern syntax: any method is answered,
	// as by the reference. The index is the base path itself ("/" without
	// one, which the mux also hands every unknown path: handleRoot answers
	// those 404).
	handle := func(p string, h http.HandlerFunc) { mux.HandleFunc(m.base+p, h) }
	mux.HandleFunc(m.rootPath(), m.handleRoot)
	handle(VarzPath, m.counted(VarzPath, m.handleVarz))
	handle(ConnzPath, m.counted(ConnzPath, m.handleConnz))
	handle(SubszPath, m.counted(SubszPath, m.handleSubsz))
	handle(subsAliasPath, m.counted(SubszPath, m.handleSubsz))
	handle(HealthzPath, m.counted(HealthzPath, m.handleHealthz))
	handle(JszPath, m.counted(JszPath, m.handleJsz))
	handle(AccountzPath, m.counted(AccountzPath, m.handleAccountz))
	handle(AccountStatzPath, m.counted(AccountStatzPath, m.handleAccountStatz))
	handle(RoutezPath, m.counted(RoutezPath, m.handleRoutez))
	handle(GatewayzPath, m.counted(GatewayzPath, m.handleGatewayz))
	handle(LeafzPath, m.counted(LeafzPath, m.handleLeafz))
	handle(StackszPath, m.handleStacksz)
	handle(IPQueuesPath, m.handleIPQueuesz)
	handle(RaftzPath, m.handleRaftz)
	mux.Handle(m.base+ExpvarzPath, expvar.Handler())
	return mux
}

// rootPath is where the index page is served.
func (m *Server) rootPath() string {
	if m.base == "" {
		return RootPath
	}
	return m.base
}

// counted counts requests to an endpoint for http_req_stats.
func (m *Server) counted(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m.reqMu.Lock()
		m.reqStats[name]++
		m.reqMu.Unlock()
		h(w, r)
	}
}

func (m *Server) requestStats() map[string]uint64 {
	m.reqMu.Lock()
	defer m.reqMu.Unlock()
	out := make(map[string]uint64, len(m.reqStats))
	for k, v := range m.reqStats {
		out[k] = v
	}
	return out
}

// writeJSON answers 200 with v indented as the reference does.
func (m *Server) writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		m.log.Errorf("monitor: encode response: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	respond(w, http.StatusOK, b)
}

// respond writes a JSON body with the headers every endpoint sends
// (browsers on other origins may read monitoring data).
func respond(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(code)
	w.Write(body)
}

// badRequest answers 400 with a plain-text message, as the reference does
// for options it cannot use.
func badRequest(w http.ResponseWriter, msg string) {
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte(msg))
}

// uptime renders a duration the reference's way: whole seconds, with
// minutes, hours, days and years as needed ("1y2d3h4m5s", "42s").
func uptime(d time.Duration) string {
	secs := int64(d / time.Second)
	mins, hrs := secs/60, secs/3600
	days := hrs / 24
	yrs := days / 365
	switch {
	case yrs > 0:
		return fmt.Sprintf("%dy%dd%dh%dm%ds", yrs, days%365, hrs%24, mins%60, secs%60)
	case days > 0:
		return fmt.Sprintf("%dd%dh%dm%ds", days, hrs%24, mins%60, secs%60)
	case hrs > 0:
		return fmt.Sprintf("%dh%dm%ds", hrs, mins%60, secs%60)
	case mins > 0:
		return fmt.Sprintf("%dm%ds", mins, secs%60)
	}
	return fmt.Sprintf("%ds", secs)
}

// httpErrorLog sends net/http's own complaints (bad TLS handshakes, header
// timeouts) to the server log.
type httpErrorLog struct{ l logger.Logger }

func (h httpErrorLog) Write(p []byte) (int, error) {
	msg := string(p)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	h.l.Errorf("monitoring: %s", msg)
	return len(p), nil
}
