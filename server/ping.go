package server

import (
	"math/rand/v2"
	"time"
)

// firstPingMax caps the delay of the first PING, so that a new client's
// round-trip time is known early (monitoring reports it), as in the
// reference.
const firstPingMax = 2 * time.Second

// setFirstPingTimer arms the first keep-alive PING: after ping_interval,
// at most firstPingMax, plus up to 20% so that clients connecting together
// are not pinged together.
func (c *client) setFirstPingTimer() {
	d := min(c.srv.getOpts().PingInterval, firstPingMax)
	if d <= 0 {
		return
	}
	if j := int64(d / 5); j > 0 {
		d += time.Duration(rand.Int64N(j))
	}
	c.armPingTimer(d)
}

// setPingTimer arms the keep-alive: every ping_interval the server sends a
// PING, and a client that leaves ping_max of them unanswered is closed with
// 'Stale Connection'. A client that sent anything within the interval (and
// has answered a PING before) is not pinged, as in the reference.
func (c *client) setPingTimer() { c.armPingTimer(c.srv.getOpts().PingInterval) }

func (c *client) armPingTimer(d time.Duration) {
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
	c.Debugf("Client Ping Timer")
	last := time.Unix(0, c.lastIn.Load())
	if c.pongs.Load() > 0 && time.Since(last) < o.PingInterval {
		c.Debugf("Delaying PING due to client activity %v ago", time.Since(last).Round(time.Second))
	} else {
		if int(c.pingOut.Load())+1 > o.MaxPingsOut {
			c.Debugf("Stale Client Connection - Closing")
			c.sendErr(errStale)
			c.srv.stats.StaleConns.Add(1)
			c.closeConnection(StaleConnection, true)
			return
		}
		c.pingOut.Add(1)
		c.pingSent.Store(time.Now().UnixNano())
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
