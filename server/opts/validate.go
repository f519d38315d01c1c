package opts

import (
	"fmt"
	"net/url"
	"strings"
)

// Finalize fills the settings that default from others or that the file
// spelled as zero, and validates the whole, with nats-server's messages
// where it has them. Run it once the file and the command line are merged;
// the server then gets options that need no further interpretation.
func (o *Options) Finalize() error {
	o.baseline()
	o.warnUnwired()
	return o.Validate()
}

// baseline replaces zero values by their defaults, as nats-server does
// before starting: "max_payload: 0" means the default, not "nothing".
func (o *Options) baseline() {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.HTTPHost == "" {
		o.HTTPHost = o.Host
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.MaxConn == 0 {
		o.MaxConn = DefaultMaxConnections
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.MaxControlLine == 0 {
		o.MaxControlLine = DefaultMaxControlLine
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.WriteDeadline == 0 {
		o.WriteDeadline = DefaultWriteDeadline
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxPingsOut == 0 {
		o.MaxPingsOut = DefaultPingMaxOut
	}
	if o.AuthTimeout == 0 {
		o.AuthTimeout = DefaultAuthTimeout
	}
	if o.LameDuckDuration == 0 {
		o.LameDuckDuration = DefaultLameDuckDuration
	}
	if o.LameDuckGrace == 0 {
		o.LameDuckGrace = DefaultLameDuckGrace
	}
	if o.MaxClosedClients == 0 {
		o.MaxClosedClients = DefaultMaxClosedClients
	}
	if o.HTTPBasePath != "" {
		o.HTTPBasePath = normalizeBasePath(o.HTTPBasePath)
	}
}

// normalizeBasePath gives http_base_path a leading slash and no trailing
// one, as nats-server does.
func normalizeBasePath(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	for len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	return p
}

// Validate checks settings that only make sense together.
func (o *Options) Validate() error {
	var errs Errors
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.LameDuckDuration > 0 && o.LameDuckGrace >= o.LameDuckDuration {
		add("lame duck grace period (%v) should be strictly lower than lame duck duration (%v)", o.LameDuckGrace, o.LameDuckDuration)
	}
	if int64(o.MaxPayload) > o.MaxPending {
		add("max_payload (%v) cannot be higher than max_pending (%v)", o.MaxPayload, o.MaxPending)
	}
	if o.MaxPayload < 0 {
		add("max_payload (%v) cannot be negative", o.MaxPayload)
	}
	if strings.Contains(o.ServerName, " ") {
		add("server name cannot contain spaces")
	}
	if o.Port < RandomPort || o.Port > 65535 {
		add("port %d is out of range", o.Port)
	}
	if o.HTTPPort < RandomPort || o.HTTPPort > 65535 {
		add("http_port %d is out of range", o.HTTPPort)
	}
	if (o.Username != "" || o.Password != "") && o.Authorization != "" {
		add("Cannot have a user/pass and token")
	}
	if o.Password != "" && o.Username == "" {
		// nats-server would run open here; Keel refuses.
		add("a password needs a user: without one no authentication would be required")
	}
	if o.RemoteSyslog != "" {
		if _, _, err := SyslogAddr(o.RemoteSyslog); err != nil {
			add("%v", err)
		}
	}
	if o.LogMaxFiles < 0 {
		add("logfile_max_num (%d) cannot be negative", o.LogMaxFiles)
	}
	if o.JetStreamOpts.Key == "" && o.JetStreamOpts.PrevKey != "" {
		add("jetstream: prev_encryption_key needs encryption_key")
	}
	// Checks of features that do not run yet, kept so that a file Keel
	// accepts is one nats-server accepts too.
	if o.Websocket.Port != 0 && o.Websocket.TLS == nil && !o.Websocket.NoTLS {
		add("websocket requires TLS configuration")
	}
	if o.MQTT.Port != 0 && !o.JetStream && o.Cluster.Port == 0 {
		add("mqtt requires JetStream to be enabled if running in standalone mode")
	}
	if len(o.TrustedOperators) == 0 {
		accounts := map[string]bool{"": true, globalAccountName: true}
		if o.SystemAccount == "" && !o.NoSystemAccount {
			accounts[defaultSystemAccount] = true
		}
		for _, a := range o.Accounts {
			accounts[a.Name] = true
		}
		if o.LeafNode.Account != "" && !accounts[o.LeafNode.Account] {
			add("cannot find local account %q specified in leafnode authorization", o.LeafNode.Account)
		}
		for _, r := range o.LeafNode.Remotes {
			if !accounts[r.LocalAccount] {
				add("cannot find local account %q specified in leafnode remote", r.LocalAccount)
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// defaultSystemAccount is the name of the system account nats-server
// creates when none is configured.
const defaultSystemAccount = "$SYS"

// SyslogAddr splits a remote_syslog URL into the network and address to
// dial: udp://host:port, tcp://host:port or unix:///path, as nats-server
// accepts them.
func SyslogAddr(s string) (network, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("remote_syslog %q: %w", s, err)
	}
	switch u.Scheme {
	case "udp", "tcp":
		return u.Scheme, u.Host, nil
	case "unix":
		return u.Scheme, u.Path, nil
	}
	return "", "", fmt.Errorf("remote_syslog %q: invalid network type %q (udp, tcp or unix)", s, u.Scheme)
}
