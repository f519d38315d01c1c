package server

import (
	"math/rand/v2"
	"time"
)

// LameDuckShutdown puts the server in lame-duck mode: it stops accepting
// connections, tells connected clients with an INFO carrying "ldm":true (so
// they reconnect elsewhere), waits lame_duck_grace_period, then closes the
// clients in random order spread over the rest of lame_duck_duration (at
// most a second apart), and finally shuts down. Without clients it shuts
// down at once, as nats-server does. It returns when the shutdown is
// complete.
func (s *Server) LameDuckShutdown() {
	s.mu.Lock()
	if s.stopping || s.ldm.Load() || !s.started {
		s.mu.Unlock()
		if !s.started {
			s.Shutdown()
		}
		return
	}
	s.ldm.Store(true)
	l := s.listener
	s.listener = nil
	s.mu.Unlock()

	o := s.getOpts()
	s.Noticef("Entering lame duck mode, stop accepting new clients")
	if l != nil {
		l.Close()
		<-s.acceptDone
	}
	clients := s.clientList()
	if len(clients) == 0 {
		s.Shutdown()
		return
	}
	s.rebuildInfo()
	for _, c := range clients {
		if !c.asyncInfo.Load() {
			continue
		}
		c.mu.Lock()
		if !c.closed {
			c.out.appendLocked(s.infoFor(c))
		}
		c.mu.Unlock()
		c.signalFlush()
	}
	if s.sleepUnlessQuit(o.LameDuckGrace) {
		s.Noticef("Closing existing clients")
		s.closeSpread(clients, o.LameDuckDuration-o.LameDuckGrace)
	}
	s.Shutdown()
}

// Pacing of lame-duck closes: at most ldmMaxStep between two closes, and
// batches when there are so many clients that steps would be shorter
// than ldmMinStep.
const (
	ldmMaxStep = time.Second
	ldmMinStep = time.Millisecond
)

// closeSpread closes clients in random order over window, with a random
// pause of half a step to a step between closes (none after the last).
func (s *Server) closeSpread(clients []*client, window time.Duration) {
	if window <= 0 {
		window = time.Second
	}
	rand.Shuffle(len(clients), func(i, j int) { clients[i], clients[j] = clients[j], clients[i] })
	step := min(window/time.Duration(len(clients)), ldmMaxStep)
	batch := 1
	if step < ldmMinStep {
		batch = len(clients)/int(window/ldmMinStep+1) + 1
		step = ldmMinStep
	}
	for i := 0; i < len(clients); i += batch {
		for _, c := range clients[i:min(i+batch, len(clients))] {
			c.closeConnection(ServerShutdown, true)
		}
		if i+batch >= len(clients) {
			return
		}
		pause := step/2 + rand.N(step/2+1)
		if !s.sleepUnlessQuit(pause) {
			return
		}
	}
}

// sleepUnlessQuit sleeps d; it returns false early if the server is shut
// down meanwhile.
func (s *Server) sleepUnlessQuit(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.quit:
		return false
	}
}

// InLameDuckMode reports whether lame-duck mode has begun.
func (s *Server) InLameDuckMode() bool { return s.ldm.Load() }

func (s *Server) clientList() []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	return out
}
