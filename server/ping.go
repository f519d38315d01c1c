package server

import "time"

// setPingTimer arms the keep-alive: every ping_interval the server sends a
// PING, and a client that leaves ping_max of them unanswered is closed with
// 'Stale Connection'. A client that sent anything within the interval (and
// has answered a PING before) is not pinged, as in the reference.
func (c *client) setPingTimer() {
	d := c.srv.getOpts().PingInterval
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.pingTimer == nil {
		c.pingTimer = time.AfterFunc(d, c.pingTimerFired)
	} else {
		c.pingTimer.Reset(d)
	}
}

func (c *client) pingTimerFired() {
	o := c.srv.getOpts()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	last := time.Unix(0, c.lastIn.Load())
	if c.pongs.Load() > 0 && time.Since(last) < o.PingInterval {
		c.Debugf("Delaying PING due to client activity %v ago", time.Since(last).Round(time.Second))
	} else {
		if int(c.pingOut.Load())+1 > o.MaxPingsOut {
			c.Debugf("Stale Client Connection - Closing")
			c.sendErr(errStale)
			c.closeConnection(StaleConnection, true)
			return
		}
		c.pingOut.Add(1)
		c.Tracef("->> [PING]")
		c.mu.Lock()
		if !c.closed {
			c.out.appendLocked(pingProto)
		}
		c.mu.Unlock()
		c.signalFlush()
	}
	c.setPingTimer()
}
