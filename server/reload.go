package server

import (
	"fmt"
	"time"

	"github.com/keelhq/keel/server/opts"
)

// Reload applies newOpts to the running server. What may change while
// running is decided by opts.CheckReload, the one list shared with
// cmd/keel's -t --test_reload: what nats-server reloads and Keel applies
// (limits, authorization, logging and tracing levels, advertised
// addresses...). If anything else differs nothing is applied and the
// error names every such setting.
func (s *Server) Reload(newOpts *opts.Options) error {
	if newOpts == nil {
		return fmt.Errorf("server: reload: no options")
	}
	cp := *newOpts
	fillDefaults(&cp)
	if err := validate(&cp); err != nil {
		return fmt.Errorf("server: reload: %w", err)
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cur := s.getOpts()
	changes, err := opts.CheckReload(cur, &cp)
	if err != nil {
		return fmt.Errorf("server: reload: %w", err)
	}

	s.opts.Store(&cp)
	s.configTime.Store(time.Now().UnixNano())
	s.debug.Store(cp.Debug)
	s.trace.Store(cp.Trace)
	s.traceSys.Store(cp.TraceVerbose)
	s.rebuildInfo()
	if authChanged(cur, &cp) {
		s.recheckAuth(&cp)
	}
	if cp.MaxConn != cur.MaxConn && (cp.MaxConn < cur.MaxConn || cp.MaxConn < 0) {
		s.enforceMaxConn(cp.MaxConn)
	}
	for _, c := range changes {
		s.Noticef("Reloaded: %s", c)
	}
	if cp.ConfigDigest != "" {
		s.Noticef("Reloaded server configuration (%s)", cp.ConfigDigest)
	} else {
		s.Noticef("Reloaded server configuration")
	}
	return nil
}

func authChanged(a, b *opts.Options) bool {
	return a.Username != b.Username || a.Password != b.Password || a.Authorization != b.Authorization
}

// recheckAuth closes the clients whose credentials no longer pass, with
// 'Authorization Violation', as the reference does after a reload.
func (s *Server) recheckAuth(o *opts.Options) {
	if !authRequired(o) {
		return
	}
	for _, c := range s.clientList() {
		c.mu.Lock()
		creds := c.creds
		c.mu.Unlock()
		if !credsValid(creds, o) {
			c.authViolation()
		}
	}
}

// enforceMaxConn closes connections (random ones, as the reference does)
// until no more than max remain.
func (s *Server) enforceMaxConn(limit int) {
	limit = max(limit, 0)
	clients := s.clientList() // map order: random
	closed := 0
	for _, c := range clients[:max(0, len(clients)-limit)] {
		c.Errorf("%s", errMaxConnections)
		c.sendErr(errMaxConnections)
		c.closeConnection(MaxConnectionsExceeded, true)
		closed++
	}
	if closed > 0 {
		s.Noticef("Closed %d connections to fall within max_connections", closed)
	}
}
