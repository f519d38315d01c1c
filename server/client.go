package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/keelhq/keel/server/proto"
	"github.com/keelhq/keel/server/sublist"
)

type clientKind uint8

const (
	kindClient   clientKind = iota
	kindInternal            // server-side publisher (Server.Publish)
)

// Read buffer sizing: start small, double while reads fill it, halve after
// a run of small reads, so idle connections stay cheap and busy ones read
// in big gulps.
const (
	startReadBuf   = 512
	minReadBuf     = 128
	maxReadBuf     = 256 * 1024
	shrinkAfter    = 2
	maxClientCache = 1024
)

// client is one connection (or, with kindInternal, a server-side
// publisher). Fields in the first group belong to the read loop; the ones
// under mu are shared with publishers on other goroutines.
type client struct {
	srv   *Server
	acc   *Account
	cid   uint64
	kind  clientKind
	conn  net.Conn
	host  string
	port  int
	start time.Time

	// Owned by the read loop.
	parser     proto.Parser
	copts      connectOpts
	connected  bool // a CONNECT was accepted
	firstPing  bool // the first PING has been answered
	echo       bool
	noResp     bool
	cache      map[string]*sublist.Result[*subscription]
	cacheGen   uint64
	pcd        pending // clients with output to flush after this read
	stIn       int64   // messages and bytes in since the last read, folded
	stInBytes  int64   // into the server's counters once per read
	stOut      int64
	stOutB     int64
	imsg       InMsg
	msgHdr     []byte        // scratch for the MSG lines this client publishes
	stalled    time.Duration // time spent waiting on slow subscribers this read
	stallTimer *time.Timer
	rbuf       []byte
	small      int // consecutive reads that used under half of rbuf

	headers atomic.Bool // read by publishers choosing MSG or HMSG
	// asyncInfo: the client takes INFO updates (protocol 1, first PONG
	// sent), as nats-server decides who hears of lame duck mode.
	asyncInfo atomic.Bool
	lastIn    atomic.Int64
	pongs     atomic.Int64
	pingOut   atomic.Int32
	// pingSent is when the server last sent a PING (unix ns, 0: none
	// outstanding); the PONG that answers it gives rtt.
	pingSent atomic.Int64
	rtt      atomic.Int64

	mu        sync.Mutex
	subs      map[string]*subscription
	out       outbound
	closed    bool
	reason    ClosedState
	creds     credentials
	meta      clientMeta
	stop      time.Time
	authTimer *time.Timer
	pingTimer *time.Timer
	label     atomic.Pointer[string] // log prefix, grows client info after CONNECT

	inMsgs, inBytes, outMsgs, outBytes atomic.Int64
	stalls                             atomic.Int64 // times this publisher was stalled
}

// subscription is one SUB (or internal subscription). Its delivery count
// and max are atomic: publishers on any goroutine update them.
type subscription struct {
	client  *client // nil for internal subscriptions
	subject string
	queue   string
	sid     []byte
	icb     func(*InMsg)
	nm      atomic.Int64
	max     atomic.Int64 // 0: no limit
	closed  atomic.Bool
}

func newClient(s *Server, conn net.Conn) *client {
	c := &client{
		srv:   s,
		cid:   s.cids.Add(1),
		kind:  kindClient,
		conn:  conn,
		start: time.Now(),
		subs:  make(map[string]*subscription),
		cache: make(map[string]*sublist.Result[*subscription]),
		rbuf:  make([]byte, startReadBuf),
		echo:  true,
		// Before CONNECT the reference treats a connection as verbose and
		// pedantic; CONNECT's JSON is applied on top of these.
		copts: connectOpts{Verbose: true, Pedantic: true, Echo: true},
	}
	c.out.flushCh = make(chan struct{}, 1)
	c.out.done = make(chan struct{})
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		c.host, c.port = a.IP.String(), a.Port
	}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.out.raw = raw
		}
	}
	o := s.getOpts()
	c.parser = *proto.New(proto.ServerMode, c)
	c.parser.MaxControlLine = int(o.MaxControlLine)
	c.parser.MaxPayload = int(o.MaxPayload)
	label := fmt.Sprintf("%s - cid:%d", net.JoinHostPort(c.host, strconv.Itoa(c.port)), c.cid)
	c.label.Store(&label)
	return c
}

// newInternalClient makes a connection-less client that publishes on the
// server's behalf (Server.Publish).
func (s *Server) newInternalClient() any {
	c := &client{
		srv:   s,
		acc:   s.gacc,
		kind:  kindInternal,
		echo:  true,
		cache: make(map[string]*sublist.Result[*subscription]),
	}
	label := "internal"
	c.label.Store(&label)
	return c
}

func (c *client) String() string { return *c.label.Load() }

// Debugf and friends prefix client log lines the reference's way:
// "127.0.0.1:51234 - cid:4 - <message>".
func (c *client) Debugf(f string, a ...any) {
	if c.srv.debug.Load() {
		c.srv.logger().Debugf("%s - %s", c, fmt.Sprintf(f, a...))
	}
}

func (c *client) Tracef(f string, a ...any) {
	if c.srv.trace.Load() {
		c.srv.logger().Tracef("%s - %s", c, fmt.Sprintf(f, a...))
	}
}

func (c *client) Noticef(f string, a ...any) {
	c.srv.logger().Noticef("%s - %s", c, fmt.Sprintf(f, a...))
}

func (c *client) Errorf(f string, a ...any) {
	c.srv.logger().Errorf("%s - %s", c, fmt.Sprintf(f, a...))
}

// readLoop reads, parses and routes until the connection ends.
func (c *client) readLoop() {
	defer c.srv.conns.Done()
	s := c.srv
	for {
		n, err := c.conn.Read(c.rbuf)
		if n > 0 {
			c.lastIn.Store(time.Now().UnixNano())
			o := s.getOpts()
			c.parser.MaxPayload = int(o.MaxPayload)
			c.parser.MaxControlLine = int(o.MaxControlLine)
			c.stalled = 0
			perr := c.parser.Parse(c.rbuf[:n])
			c.flushClients()
			if perr != nil {
				c.protocolError(perr)
				return
			}
			c.sizeReadBuffer(n)
		}
		if err != nil {
			c.closeConnection(ClientClosed, true)
			return
		}
	}
}

func (c *client) sizeReadBuffer(n int) {
	switch {
	case n == len(c.rbuf) && len(c.rbuf) < maxReadBuf:
		c.rbuf = make([]byte, len(c.rbuf)*2)
		c.small = 0
	case n < len(c.rbuf)/2 && len(c.rbuf) > minReadBuf:
		if c.small++; c.small > shrinkAfter {
			c.rbuf = make([]byte, len(c.rbuf)/2)
			c.small = 0
		}
	default:
		c.small = 0
	}
}

// protocolError turns a parse or handler error into the reference's
// response: an -ERR for the errors that have one, then close.
func (c *client) protocolError(err error) {
	var argErr *proto.ArgError
	switch {
	case errors.Is(err, errClosed):
		// Already answered and closing.
	case errors.Is(err, proto.ErrUnknownOp):
		c.Errorf("Client parser ERROR: %v", err)
		c.sendErr(errUnknownOp)
		c.closeConnection(ProtocolViolation, true)
	case errors.Is(err, proto.ErrMaxControlLine):
		c.sendErr(errMaxControlLine)
		c.closeConnection(MaxControlLineExceeded, true)
	case errors.Is(err, proto.ErrMaxPayload):
		c.Errorf("%v", err)
		c.sendErr(errMaxPayload)
		c.closeConnection(MaxPayloadExceeded, true)
	case errors.Is(err, proto.ErrAuthRequired):
		c.authViolation()
	case errors.As(err, &argErr):
		c.Errorf("%v", err)
		c.closeConnection(ParseError, true)
	default:
		c.Errorf("%v", err)
		c.closeConnection(ProtocolViolation, true)
	}
}

// closeConnection closes the client once. With flush, what is queued
// (typically an -ERR) is written first; without, the socket is closed at
// once (slow consumers: their queue is the problem).
func (c *client) closeConnection(reason ClosedState, flush bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.reason = reason
	c.stop = time.Now()
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	if !flush {
		c.out.dropLocked()
	}
	c.out.unstallLocked(0, true)
	c.mu.Unlock()
	if !flush && c.conn != nil {
		c.conn.Close()
	}
	c.signalFlush()
}

// teardown runs once, from the write loop after the socket is closed:
// subscriptions leave the sublist and the server forgets the client.
func (c *client) teardown() {
	c.mu.Lock()
	subs := make([]*subscription, 0, len(c.subs))
	for _, sub := range c.subs {
		subs = append(subs, sub)
	}
	clear(c.subs)
	reason := c.reason
	c.mu.Unlock()
	c.Debugf("Client connection closed: %s", reason)
	for _, sub := range subs {
		if sub.closed.Swap(true) {
			continue
		}
		c.traceDelSub(sub.sid)
		if c.acc != nil {
			_ = c.acc.sl.Remove(sub.subject, sub.queue, sub)
		}
	}
	if c.acc != nil {
		c.acc.removeClient(c)
	}
	s := c.srv
	s.mu.Lock()
	delete(s.clients, c.cid)
	s.mu.Unlock()
	if c.kind == kindClient {
		s.closed.add(c.snapshot(true, subs, true), s.getOpts().MaxClosedClients)
	}
}

// sendErr queues "-ERR '<msg>'" and wakes the writer; it may be called
// from any goroutine (timers send errors too).
func (c *client) sendErr(msg string) {
	c.Tracef("->> [-ERR %s]", msg)
	c.mu.Lock()
	if !c.closed {
		c.out.appendLocked([]byte("-ERR '" + msg + "'\r\n"))
	}
	c.mu.Unlock()
	c.signalFlush()
}

// queueProto queues a protocol line for this client, to be flushed after
// the current read. Read loop only.
func (c *client) queueProto(b []byte) {
	c.mu.Lock()
	if !c.closed {
		c.out.appendLocked(b)
	}
	c.mu.Unlock()
	c.pcd.add(c)
}
