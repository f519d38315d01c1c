package server

import (
	"time"
)

// LameDuckShutdown puts the server in lame-duck mode: it stops accepting
// connections, tells connected clients with an INFO carrying "ldm":true (so
// they reconnect elsewhere), waits lame_duck_grace_period, then closes the
// clients spread evenly over the rest of lame_duck_duration, and finally
// shuts down. It returns when the shutdown is complete.
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
	s.rebuildInfo()
	clients := s.clientList()
	for _, c := range clients {
		c.mu.Lock()
		if !c.closed {
			c.out.appendLocked(s.infoFor(c))
		}
		c.mu.Unlock()
		c.signalFlush()
	}

	dur, grace := o.LameDuckDuration, o.LameDuckGrace
	if grace >= dur {
		grace = 0
	}
	if s.sleepUnlessQuit(grace) && len(clients) > 0 {
		// Close clients at an even pace over the remaining time, at
		// least one per step.
		window := dur - grace
		step := window / time.Duration(len(clients))
		const minStep = time.Millisecond
		batch := 1
		if step < minStep {
			batch = int(minStep/max(step, 1)) + 1
			step = minStep
		}
		s.Noticef("Closing %d existing clients", len(clients))
		for i := 0; i < len(clients); i += batch {
			for _, c := range clients[i:min(i+batch, len(clients))] {
				c.closeConnection(ServerShutdown, true)
			}
			if !s.sleepUnlessQuit(step) {
				break
			}
		}
	}
	s.Shutdown()
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
