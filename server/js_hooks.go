package server

// Hooks the JetStream layer (server/jetstream, wired by server/launch) needs
// from the server beyond the internal publish/subscribe API.

// HasInterest reports whether any subscription of the global account
// matches subject, so that JetStream can skip building advisories nobody
// listens to.
func (s *Server) HasInterest(subject string) bool {
	return s.gacc.sl.HasInterest(subject)
}

// ShutdownStarted is closed when Shutdown begins, however it was started
// (signal, lame duck mode, an embedder), so that the composition root can
// stop JetStream with the server.
func (s *Server) ShutdownStarted() <-chan struct{} { return s.quit }
