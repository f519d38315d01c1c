package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unsafe"

	"github.com/keelhq/keel/server/proto"
	"github.com/keelhq/keel/server/sublist"
)

// connectOpts is the JSON of CONNECT.
type connectOpts struct {
	Verbose      bool   `json:"verbose"`
	Pedantic     bool   `json:"pedantic"`
	TLSRequired  bool   `json:"tls_required"`
	Echo         bool   `json:"echo"`
	Headers      bool   `json:"headers"`
	NoResponders bool   `json:"no_responders"`
	Name         string `json:"name"`
	Lang         string `json:"lang"`
	Version      string `json:"version"`
	Protocol     int    `json:"protocol"`
	User         string `json:"user,omitempty"`
	Pass         string `json:"pass,omitempty"`
	Token        string `json:"auth_token,omitempty"`
	JWT          string `json:"jwt,omitempty"`
	Nkey         string `json:"nkey,omitempty"`
	Sig          string `json:"sig,omitempty"`
	Account      string `json:"account,omitempty"`
	NewAccount   bool   `json:"new_account,omitempty"`
}

// bstr views b as a string without copying; only for lookups and values
// that do not outlive b.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

var (
	okProto   = []byte("+OK\r\n")
	pongProto = []byte("PONG\r\n")
	pingProto = []byte("PING\r\n")
)

func (c *client) sendOK() {
	c.Tracef("->> [OK]")
	c.queueProto(okProto)
}

// Connect implements proto.Handler.
func (c *client) Connect(arg []byte) error {
	if c.srv.trace.Load() {
		c.Tracef("<<- [CONNECT %s]", redactConnect(arg))
	}
	if c.connected {
		// A second CONNECT starts from what the first one set up: drop
		// the per-client match cache (the account may change one day).
		clear(c.cache)
	}
	if err := json.Unmarshal(arg, &c.copts); err != nil {
		c.Errorf("CONNECT parse error: %v", err)
		return err
	}
	o := c.srv.getOpts()
	if authRequired(o) || c.copts.Account != "" || c.copts.NewAccount {
		if !c.srv.checkAuth(c, o) {
			c.authViolation()
			return errClosed
		}
	}
	c.mu.Lock()
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	c.mu.Unlock()
	c.parser.RequireConnect = false
	if c.copts.Protocol < 0 || c.copts.Protocol > ProtoVersion {
		c.sendErr(errBadProtocol)
		c.closeConnection(BadClientProtocolVersion, true)
		return errClosed
	}
	headers := c.copts.Headers && !o.NoHeaderSupport
	c.headers.Store(headers)
	c.parser.Headers = headers
	if c.copts.NoResponders && !headers {
		c.sendErr(errNoRespNoHeaders)
		c.closeConnection(NoRespondersRequiresHeaders, true)
		return errClosed
	}
	c.echo = c.copts.Echo
	c.noResp = c.copts.NoResponders
	c.mu.Lock()
	c.meta = clientMeta{name: c.copts.Name, lang: c.copts.Lang, version: c.copts.Version, user: c.copts.User}
	c.mu.Unlock()
	if !c.connected {
		c.connected = true
		c.setLabel()
	}
	if c.copts.Verbose {
		c.sendOK()
	}
	return nil
}

// setLabel adds to the client's log prefix what nats-server adds after
// CONNECT: its version, language and name, and the account and user it
// authenticated as: `... - cid:4 - "v1.55.0:go:name" - "$G/user:alice"`.
func (c *client) setLabel() {
	var id string
	if v := c.copts.Version; v != "" {
		id = "v" + v
	}
	for _, part := range []string{c.copts.Lang, c.copts.Name} {
		if part == "" {
			continue
		}
		if id != "" {
			id += ":"
		}
		id += part
	}
	var who string
	switch {
	case c.copts.Nkey != "":
		who = "nkey:" + c.copts.Nkey
	case c.copts.User != "":
		who = "user:" + c.copts.User
	case c.copts.Token != "":
		who = "token"
	}
	if who != "" && c.acc != nil {
		who = c.acc.Name + "/" + who
	} else {
		who = ""
	}
	label := *c.label.Load()
	for _, part := range []string{id, who} {
		if part != "" {
			label = fmt.Sprintf("%s - %q", label, part)
		}
	}
	c.label.Store(&label)
}

// Info implements proto.Handler: clients have nothing to tell us by INFO.
func (c *client) Info([]byte) error { return nil }

// Ping implements proto.Handler.
func (c *client) Ping() error {
	c.Tracef("<<- [PING]")
	c.Tracef("->> [PONG]")
	c.queueProto(pongProto)
	if !c.firstPing {
		// The first PING of a client that understands async INFO (protocol
		// 1) is answered with an INFO naming its account, as the reference
		// does; nats.go's first Flush sees it.
		c.firstPing = true
		if c.copts.Protocol >= ProtoVersion {
			c.queueProto(c.srv.renderInfo(c, true))
			c.asyncInfo.Store(true)
		}
	}
	return nil
}

// Pong implements proto.Handler.
func (c *client) Pong() error {
	c.Tracef("<<- [PONG]")
	c.pingOut.Store(0)
	c.pongs.Add(1)
	if sent := c.pingSent.Swap(0); sent != 0 {
		c.rtt.Store(max(time.Now().UnixNano()-sent, 1))
	}
	return nil
}

// OK implements proto.Handler.
func (c *client) OK() error { return nil }

// Err implements proto.Handler. A client sending -ERR is broken; the
// reference closes it.
func (c *client) Err(arg []byte) error {
	c.Errorf("Client Error %s", arg)
	c.closeConnection(ParseError, true)
	return errClosed
}

// Sub implements proto.Handler.
func (c *client) Sub(subject, queue, sid []byte) error {
	if c.srv.trace.Load() {
		if queue != nil {
			c.Tracef("<<- [SUB %s %s %s]", subject, queue, sid)
		} else {
			c.Tracef("<<- [SUB %s %s]", subject, sid)
		}
	}
	o := c.srv.getOpts()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	if _, dup := c.subs[bstr(sid)]; dup {
		// The reference keeps the first and answers as if it succeeded.
		c.mu.Unlock()
		if c.copts.Verbose {
			c.sendOK()
		}
		return nil
	}
	if o.MaxSubs > 0 && len(c.subs) >= o.MaxSubs {
		c.mu.Unlock()
		c.Errorf("%s", errMaxSubs)
		c.sendErr(errMaxSubs)
		return nil
	}
	if o.MaxSubTokens > 0 && bytes.Count(subject, []byte("."))+1 > int(o.MaxSubTokens) {
		c.mu.Unlock()
		c.Errorf("Subscription Violation Too Many Tokens - Subject %q, SID %s", subject, sid)
		c.sendErr(fmt.Sprintf("Permissions Violation for Subscription to %q, too many tokens", subject))
		return nil
	}
	sub := &subscription{client: c, subject: string(subject), queue: string(queue), sid: append([]byte(nil), sid...)}
	if err := c.acc.sl.Insert(sub.subject, sub.queue, sub); err != nil {
		c.mu.Unlock()
		c.sendErr(errInvalidSubject)
		return nil
	}
	c.subs[string(sub.sid)] = sub
	c.mu.Unlock()
	if c.copts.Verbose {
		c.sendOK()
	}
	return nil
}

// Unsub implements proto.Handler. With a max above what was already
// delivered the subscription stays until it has delivered max messages.
func (c *client) Unsub(sid []byte, max int64) error {
	if c.srv.trace.Load() {
		if max >= 0 {
			c.Tracef("<<- [UNSUB %s %d]", sid, max)
		} else {
			c.Tracef("<<- [UNSUB %s]", sid)
		}
	}
	c.mu.Lock()
	sub := c.subs[bstr(sid)]
	c.mu.Unlock()
	if sub != nil {
		if n := sub.nm.Load(); max > 0 && max > n {
			sub.max.Store(max)
			c.Debugf("Deferring actual UNSUB(%s): %d max, %d received", sub.subject, max, n)
		} else {
			c.removeSub(sub)
		}
	}
	if c.copts.Verbose {
		c.sendOK()
	}
	return nil
}

// removeSub takes sub out of the client and the account; safe from any
// goroutine and more than once.
func (c *client) removeSub(sub *subscription) {
	if sub.closed.Swap(true) {
		return
	}
	c.traceDelSub(sub.sid)
	c.mu.Lock()
	if cur := c.subs[string(sub.sid)]; cur == sub {
		delete(c.subs, string(sub.sid))
	}
	c.mu.Unlock()
	_ = c.acc.sl.Remove(sub.subject, sub.queue, sub)
}

// Msg implements proto.Handler: one PUB or HPUB with its data.
func (c *client) Msg(m *proto.Msg, data []byte) error {
	hdrLen := m.HdrLen
	if hdrLen == 0 {
		// HPUB with an empty header block is delivered as a plain MSG,
		// as nats-server does.
		hdrLen = -1
	}
	if c.srv.trace.Load() {
		c.traceMsgIn(m, hdrLen, data)
	}
	if c.copts.Pedantic && !sublist.IsValidLiteralSubject(bstr(m.Subject)) {
		c.sendErr(errInvalidPubSubj)
	}
	if c.copts.Verbose {
		c.sendOK()
	}
	c.processMsg(m.Subject, m.Reply, hdrLen, data)
	return nil
}
