// Package server is Keel's running NATS server: the client listener,
// connection lifecycle, CONNECT/auth, subject routing through per-account
// sublists, outbound buffering and flushing, limits, lame-duck mode,
// configuration reload, and the internal publish/subscribe API that the
// JetStream layer is built on.
//
// Tests and embedders start it in-process with New, Start and Shutdown;
// cmd/keel wires it to flags, the config file and signals.
package server

import (
	"crypto/sha256"
	"fmt"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/opts"
)

// Version is the nats-server version Keel speaks and reports in INFO.
// Clients (nats.go, the nats CLI) gate features on it, so it names the
// reference release whose protocol and JetStream API Keel implements
// rather than Keel's own release number.
const Version = "2.15.3"

// ProtoVersion is the client protocol level (1: supports INFO updates,
// headers, no-responders).
const ProtoVersion = 1

// Server is one NATS server.
type Server struct {
	mu       sync.Mutex
	opts     atomic.Pointer[opts.Options]
	log      atomic.Pointer[logBox]
	debug    atomic.Bool
	trace    atomic.Bool
	id       string // server public nkey
	xkey     string // curve public key, advertised like the reference
	listener net.Listener
	addr     net.Addr
	clients  map[uint64]*client
	accounts map[string]*Account
	gacc     *Account
	cids     atomic.Uint64
	started  bool
	stopping bool
	ldm      atomic.Bool
	start    time.Time
	// traceSys traces the server's own publishes too (trace_verbose),
	// as nats-server traces its system account with -VV.
	traceSys atomic.Bool

	announce  sync.Once
	reloadMu  sync.Mutex // one Reload at a time
	hooksMu   sync.Mutex
	shutHooks []func()

	quit       chan struct{} // closed when shutdown begins
	done       chan struct{} // closed when shutdown is complete
	acceptDone chan struct{}
	conns      sync.WaitGroup // client goroutines

	js       atomic.Pointer[JetStreamInfo]
	sysSeq   atomic.Uint64 // numbers system replies (their "seq")
	infoMu   sync.Mutex
	infoBase serverInfo // template for INFO, without per-client fields
	pubs     sync.Pool  // *client publishers for Server.Publish

	stats  Stats
	closed closedRing
	// configTime is when the options in force were loaded (start, then
	// each reload), unix ns.
	configTime atomic.Int64
}

// Stats counts the server's traffic. Fields are updated atomically.
type Stats struct {
	InMsgs        atomic.Int64
	OutMsgs       atomic.Int64
	InBytes       atomic.Int64
	OutBytes      atomic.Int64
	SlowConsumers atomic.Int64
	TotalConns    atomic.Int64
	// StaleConns counts connections closed for unanswered PINGs.
	StaleConns atomic.Int64
	// Stalls counts the times a publisher was held back for a subscriber
	// with a large backlog.
	Stalls atomic.Int64
}

type logBox struct{ l logger.Logger }

// New validates o and prepares a server; Start makes it listen. o is
// copied: later changes to it have no effect (use Reload).
func New(o *opts.Options) (*Server, error) {
	if o == nil {
		o = opts.Default()
	}
	cp := *o
	fillDefaults(&cp)
	if err := validate(&cp); err != nil {
		return nil, err
	}
	kp, err := nkeys.CreateServer()
	if err != nil {
		return nil, fmt.Errorf("server: create server identity: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("server: server identity: %w", err)
	}
	s := &Server{
		id:         pub,
		clients:    make(map[uint64]*client),
		accounts:   make(map[string]*Account),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
		acceptDone: make(chan struct{}),
	}
	if xk, err := nkeys.CreateCurveKeys(); err == nil {
		s.xkey, _ = xk.PublicKey()
	}
	s.gacc = newAccount(GlobalAccountName, cp.DisableSublistCache)
	s.accounts[GlobalAccountName] = s.gacc
	s.opts.Store(&cp)
	s.debug.Store(cp.Debug)
	s.trace.Store(cp.Trace)
	s.traceSys.Store(cp.TraceVerbose)
	s.log.Store(&logBox{logger.Discard{}})
	s.pubs.New = func() any { return s.newInternalClient() }
	return s, nil
}

// fillDefaults replaces zero values that would otherwise mean "no limit"
// by accident with the reference's defaults. Negative values keep their
// meaning where the reference gives them one.
func fillDefaults(o *opts.Options) {
	if o.Host == "" {
		o.Host = opts.DefaultHost
	}
	if o.Port == 0 {
		// As in the reference: 0 is the default port; -1 picks one.
		o.Port = opts.DefaultPort
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = opts.DefaultMaxPayload
	}
	if o.MaxControlLine == 0 {
		o.MaxControlLine = opts.DefaultMaxControlLine
	}
	if o.MaxPending == 0 {
		o.MaxPending = opts.DefaultMaxPending
	}
	if o.MaxConn == 0 {
		o.MaxConn = opts.DefaultMaxConnections
	}
	if o.WriteDeadline == 0 {
		o.WriteDeadline = opts.DefaultWriteDeadline
	}
	if o.PingInterval == 0 {
		o.PingInterval = opts.DefaultPingInterval
	}
	if o.MaxPingsOut == 0 {
		o.MaxPingsOut = opts.DefaultPingMaxOut
	}
	if o.AuthTimeout == 0 {
		o.AuthTimeout = opts.DefaultAuthTimeout
	}
	if o.LameDuckDuration == 0 {
		o.LameDuckDuration = opts.DefaultLameDuckDuration
	}
	if o.LameDuckGrace == 0 {
		o.LameDuckGrace = opts.DefaultLameDuckGrace
	}
}

func validate(o *opts.Options) error {
	if o.MaxPayload < 0 {
		return fmt.Errorf("server: max_payload %d: must be positive", o.MaxPayload)
	}
	if o.MaxPending > 0 && int64(o.MaxPayload) > o.MaxPending {
		return fmt.Errorf("server: max_payload (%d) cannot be higher than max_pending (%d)", o.MaxPayload, o.MaxPending)
	}
	if o.Username != "" && o.Authorization != "" {
		return fmt.Errorf("server: cannot have a user and a token (authorization) at the same time")
	}
	if o.Port < -1 || o.Port > 65535 {
		return fmt.Errorf("server: port %d out of range", o.Port)
	}
	if o.Password != "" && o.Username == "" {
		return fmt.Errorf("server: a password needs a user: without one no authentication would be required")
	}
	// Protection Keel cannot enforce yet must stop start-up rather than
	// leave the server open (the config parser refuses these too; this
	// covers options built in code).
	var missing []string
	check := func(set bool, what string) {
		if set {
			missing = append(missing, what)
		}
	}
	check(len(o.Users) > 0, "users")
	check(len(o.Nkeys) > 0, "nkeys")
	check(o.DefaultPermissions != nil, "default_permissions")
	check(o.AuthCallout != nil, "auth_callout")
	check(o.NoAuthUser != "", "no_auth_user")
	check(o.TLS != nil, "tls")
	check(len(o.TrustedOperators) > 0 || len(o.TrustedKeys) > 0, "operator mode")
	check(o.Resolver != nil, "resolver")
	for _, a := range o.Accounts {
		check(len(a.Users) > 0 || len(a.Nkeys) > 0, "users in account "+a.Name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("server: %s not supported yet: refusing to start without the protection configured", strings.Join(missing, ", "))
	}
	return nil
}

// SetLogger sets the logger; debug and trace output is still governed by
// the options (Debug, Trace).
func (s *Server) SetLogger(l logger.Logger) {
	if l == nil {
		l = logger.Discard{}
	}
	s.log.Store(&logBox{l})
}

func (s *Server) logger() logger.Logger { return s.log.Load().l }

// Noticef, Warnf, Errorf, Debugf and Tracef log through the server's
// logger; other server layers (JetStream, monitoring) use them too.
func (s *Server) Noticef(f string, a ...any) { s.logger().Noticef(f, a...) }

// Warnf logs a warning.
func (s *Server) Warnf(f string, a ...any) { s.logger().Warnf(f, a...) }

// Errorf logs an error.
func (s *Server) Errorf(f string, a ...any) { s.logger().Errorf(f, a...) }

// Debugf logs when debug is on.
func (s *Server) Debugf(f string, a ...any) {
	if s.debug.Load() {
		s.logger().Debugf(f, a...)
	}
}

// Tracef logs when trace is on.
func (s *Server) Tracef(f string, a ...any) {
	if s.trace.Load() {
		s.logger().Tracef(f, a...)
	}
}

// Options returns the options in force. Callers must not modify them.
func (s *Server) Options() *opts.Options { return s.opts.Load() }

func (s *Server) getOpts() *opts.Options { return s.opts.Load() }

// ID is the server's public nkey (its server_id).
func (s *Server) ID() string { return s.id }

// Name is server_name, the ID when none is configured.
func (s *Server) Name() string {
	if n := s.getOpts().ServerName; n != "" {
		return n
	}
	return s.id
}

// Start listens for clients and returns once the listener is open.
func (s *Server) Start() error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return ErrServerStarted
	}
	s.started = true
	s.mu.Unlock()

	o := s.getOpts()
	s.start = time.Now()
	s.configTime.Store(s.start.UnixNano())
	s.Announce()
	port := o.Port
	if port == -1 {
		port = 0
	}
	hp := net.JoinHostPort(o.Host, strconv.Itoa(port))
	l, err := net.Listen("tcp", hp)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", hp, err)
	}
	if err := s.serveSystemRequests(); err != nil {
		l.Close()
		return fmt.Errorf("server: %w", err)
	}
	s.mu.Lock()
	s.listener = l
	s.addr = l.Addr()
	s.mu.Unlock()
	s.rebuildInfo()
	// The configured host, not the socket's: 0.0.0.0 listens on every
	// address (Go opens it dual-stack), and the line reads as in
	// nats-server.
	s.Noticef("Listening for client connections on %s",
		net.JoinHostPort(o.Host, strconv.Itoa(l.Addr().(*net.TCPAddr).Port)))
	s.Noticef("Server is ready")
	go s.acceptLoop(l)
	return nil
}

// Announce logs the start-up banner once: version, name, ID, the
// configuration file and the warnings about its settings. Start calls it;
// a caller that starts other layers before the listener opens (JetStream)
// calls it first, so that the log reads in nats-server's order.
func (s *Server) Announce() {
	s.announce.Do(func() {
		o := s.getOpts()
		s.Noticef("Starting nats-server compatible Keel")
		s.Noticef("  Version:  %s", Version)
		s.Noticef("  Git:      [%s]", gitCommit())
		s.Debugf("  Go build: %s", goVersion)
		s.Noticef("  Name:     %s", s.Name())
		if o.JetStream {
			s.Noticef("  Node:     %s", NodeHash(s.Name()))
		}
		s.Noticef("  ID:       %s", s.id)
		if o.Password != "" && !isBcrypt(o.Password) {
			s.Warnf("Plaintext passwords detected, use nkeys or bcrypt")
		}
		if o.ConfigFile != "" {
			if o.ConfigDigest != "" {
				s.Noticef("Using configuration file: %s (%s)", o.ConfigFile, o.ConfigDigest)
			} else {
				s.Noticef("Using configuration file: %s", o.ConfigFile)
			}
		}
		for _, w := range o.Warnings {
			s.Warnf("%s", w)
		}
	})
}

// Run is New followed by Start: a listening server, or an error.
func Run(o *opts.Options) (*Server, error) {
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadyForConnections reports whether the server is accepting clients,
// waiting up to d for it (Start already returns once it listens; this is
// for callers that start it elsewhere).
func (s *Server) ReadyForConnections(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		ready := s.listener != nil && !s.stopping
		s.mu.Unlock()
		if ready || time.Now().After(deadline) {
			return ready
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Addr is the address clients connect to (nil before Start).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// ClientURL is a nats:// URL for the listener, usable by clients on this
// machine (an unspecified listen address becomes 127.0.0.1).
func (s *Server) ClientURL() string {
	a, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// NumClients is the number of open client connections.
func (s *Server) NumClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// NumSlowConsumers is how many connections were cut off as slow consumers.
func (s *Server) NumSlowConsumers() int64 { return s.stats.SlowConsumers.Load() }

// Stats exposes the traffic counters.
func (s *Server) Stats() *Stats { return &s.stats }

// StartTime is when Start was called.
func (s *Server) StartTime() time.Time { return s.start }

// ConfigLoadTime is when the options in force were applied: at Start, then
// at each successful Reload.
func (s *Server) ConfigLoadTime() time.Time { return time.Unix(0, s.configTime.Load()) }

// Running reports whether the server is started and not shut down.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && !s.stopping
}

// Shutdown stops accepting, flushes what every client has pending, closes
// them and returns when all connection goroutines have ended. It is safe
// to call more than once.
func (s *Server) Shutdown() {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.stopping = true
	l := s.listener
	s.mu.Unlock()

	s.Noticef("Initiating Shutdown...")
	close(s.quit)
	if l != nil {
		l.Close()
		<-s.acceptDone
	}
	s.hooksMu.Lock()
	hooks := s.shutHooks
	s.shutHooks = nil
	s.hooksMu.Unlock()
	for i := len(hooks) - 1; i >= 0; i-- {
		hooks[i]()
	}
	// No client can join any more: close the ones there are.
	for _, c := range s.clientList() {
		c.closeConnection(ServerShutdown, true)
	}
	s.conns.Wait()
	s.Noticef("Server Exiting..")
	close(s.done)
}

// OnShutdown registers fn to run when Shutdown begins: after the listener
// has stopped accepting and before clients are closed, so that a layer
// built on the server (JetStream) can still send clients what they wait
// for (acknowledgements of what is durable). Hooks run once, in reverse
// order of registration.
func (s *Server) OnShutdown(fn func()) {
	s.hooksMu.Lock()
	s.shutHooks = append(s.shutHooks, fn)
	s.hooksMu.Unlock()
}

// WaitForShutdown blocks until Shutdown has completed.
func (s *Server) WaitForShutdown() { <-s.done }

// goVersion is reported in INFO as "go".
var goVersion = runtime.Version()

// gitCommit is the commit the binary was built from, as the Go toolchain
// stamps it, shortened as nats-server prints it; "not set" otherwise.
func gitCommit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			if st.Key == "vcs.revision" && len(st.Value) >= 7 {
				return st.Value[:7]
			}
		}
	}
	return "not set"
}

// NodeHash is the short node name nats-server derives from a server name
// (8 characters of base 62 from its SHA-256), which JetStream uses to
// name the server in cluster and placement answers.
func NodeHash(name string) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(name))
	var b [8]byte
	for i := range b {
		b[i] = digits[int(sum[i])%len(digits)]
	}
	return string(b[:])
}
