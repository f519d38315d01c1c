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

// PublishBatch routes many messages from the server with one flush of the
// receiving connections at the end, instead of one per message: JetStream
// releases the PubAcks an fsync made durable this way. Not safe for
// concurrent use; Flush ends it.
type PublishBatch struct {
	s *Server
	c *client
}

// StartBatch begins a batch of publishes in the global account.
func (s *Server) StartBatch() PublishBatch {
	c := s.pubs.Get().(*client)
	c.acc = s.gacc
	return PublishBatch{s: s, c: c}
}

// Publish routes one message like Server.Publish, without flushing.
func (b PublishBatch) Publish(subject, reply string, hdr, data []byte) {
	b.c.routeInternal(subject, reply, hdr, data)
}

// Flush writes what the batch produced and ends the batch.
func (b PublishBatch) Flush() {
	b.c.flushClients()
	if cap(b.c.rbuf) > maxReadBuf {
		b.c.rbuf = nil
	}
	b.s.pubs.Put(b.c)
}
