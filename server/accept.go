package server

import (
	"errors"
	"net"
	"time"
)

// acceptLoop accepts connections until the listener closes. Temporary
// errors (out of file descriptors) back off instead of spinning.
func (s *Server) acceptLoop(l net.Listener) {
	defer close(s.acceptDone)
	defer s.Debugf("Client accept loop exiting..")
	delay := 5 * time.Millisecond
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-s.quit:
				return
			default:
			}
			s.Errorf("Temporary client accept error (%v), sleeping %v", err, delay)
			time.Sleep(delay)
			delay = min(delay*2, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		s.createClient(conn)
	}
}

// createClient registers a new connection, sends it INFO and starts its
// goroutines. Over max_connections it gets INFO then the error, as in the
// reference.
func (s *Server) createClient(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	o := s.getOpts()
	c := newClient(s, conn)
	s.stats.TotalConns.Add(1)

	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		conn.Close()
		return
	}
	// A negative max_connections (0 in a file) accepts no client at all.
	tooMany := o.MaxConn < 0 || (o.MaxConn > 0 && len(s.clients) >= o.MaxConn)
	if !tooMany {
		s.clients[c.cid] = c
	}
	s.mu.Unlock()

	c.Debugf("Client connection created")
	s.conns.Add(2)
	c.mu.Lock()
	c.out.appendLocked(s.infoFor(c))
	c.mu.Unlock()
	go c.writeLoop()
	if tooMany {
		c.Errorf("%s", errMaxConnections)
		c.sendErr(errMaxConnections)
		c.closeConnection(MaxConnectionsExceeded, true)
		s.conns.Done() // no read loop
		return
	}
	c.acc = s.gacc
	s.gacc.addClient(c)
	if authRequired(o) {
		c.parser.RequireConnect = true
		c.setAuthTimer(o.AuthTimeout)
	}
	c.setFirstPingTimer()
	c.signalFlush()
	go c.readLoop()
}
