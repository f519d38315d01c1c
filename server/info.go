package server

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
)

// serverInfo is the INFO the server sends, fields in the reference's order
// and with its JSON names.
type serverInfo struct {
	ID           string   `json:"server_id"`
	Name         string   `json:"server_name"`
	Version      string   `json:"version"`
	Proto        int      `json:"proto"`
	GoVersion    string   `json:"go"`
	Host         string   `json:"host"`
	Port         int      `json:"port"`
	Headers      bool     `json:"headers"`
	AuthRequired bool     `json:"auth_required,omitempty"`
	MaxPayload   int32    `json:"max_payload"`
	JetStream    bool     `json:"jetstream,omitempty"`
	ClientID     uint64   `json:"client_id,omitempty"`
	ClientIP     string   `json:"client_ip,omitempty"`
	Domain       string   `json:"domain,omitempty"`
	ConnectURLs  []string `json:"connect_urls,omitempty"`
	LameDuck     bool     `json:"ldm,omitempty"`
	// ConnectInfo marks the INFO sent after the first PONG to clients of
	// protocol 1, naming the account they are bound to.
	ConnectInfo   bool   `json:"connect_info,omitempty"`
	RemoteAccount string `json:"remote_account,omitempty"`
	IsSysAccount  bool   `json:"acc_is_sys,omitempty"`
	APILevel      int    `json:"api_lvl,omitempty"`
	XKey          string `json:"xkey,omitempty"`
}

// JetStreamInfo is what the JetStream layer adds to INFO.
type JetStreamInfo struct {
	Enabled  bool
	Domain   string
	APILevel int
}

// SetJetStreamInfo makes INFO advertise JetStream (jetstream, domain,
// api_lvl) to clients that connect from now on.
func (s *Server) SetJetStreamInfo(js JetStreamInfo) {
	s.js.Store(&js)
	s.rebuildInfo()
}

// rebuildInfo refreshes the INFO template from the options, the listener
// and the JetStream and lame-duck state.
func (s *Server) rebuildInfo() {
	o := s.getOpts()
	info := serverInfo{
		ID:           s.id,
		Name:         s.Name(),
		Version:      Version,
		Proto:        ProtoVersion,
		GoVersion:    goVersion,
		Host:         o.Host,
		Headers:      !o.NoHeaderSupport,
		AuthRequired: authRequired(o),
		MaxPayload:   o.MaxPayload,
		LameDuck:     s.ldm.Load(),
		XKey:         s.xkey,
	}
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		info.Port = a.Port
	}
	if o.ClientAdvertise != "" {
		// As nats-server: the advertised address replaces host and port
		// (its port defaults to the one listened on). connect_urls only
		// lists the other servers of a cluster.
		info.Host, info.Port = advertised(o.ClientAdvertise, info.Port)
	}
	if js := s.js.Load(); js != nil && js.Enabled {
		info.JetStream = true
		info.Domain = js.Domain
		info.APILevel = js.APILevel
	}
	s.infoMu.Lock()
	s.infoBase = info
	s.infoMu.Unlock()
}

// advertised splits client_advertise ("host", "host:port", "[v6]:port")
// into the host and port clients are told to use.
func advertised(adv string, port int) (string, int) {
	if h, p, err := net.SplitHostPort(adv); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			return h, n
		}
		return h, port
	}
	return strings.Trim(adv, "[]"), port
}

// infoFor renders the INFO line for one client.
func (s *Server) infoFor(c *client) []byte { return s.renderInfo(c, false) }

// renderInfo renders INFO for c; connectInfo adds the account binding, as
// the reference sends after the first PONG.
func (s *Server) renderInfo(c *client, connectInfo bool) []byte {
	s.infoMu.Lock()
	info := s.infoBase
	s.infoMu.Unlock()
	info.ClientID = c.cid
	info.ClientIP = c.host
	if connectInfo {
		info.ConnectInfo = true
		if c.acc != nil {
			info.RemoteAccount = c.acc.Name
		}
	}
	b, err := json.Marshal(&info)
	if err != nil { // cannot happen for this struct
		b = []byte("{}")
	}
	out := make([]byte, 0, len(b)+8)
	out = append(out, "INFO "...)
	out = append(out, b...)
	// The reference ends INFO with a space before the CRLF.
	return append(out, " \r\n"...)
}
