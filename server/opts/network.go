package opts

import (
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/keelhq/keel/server/conf"
)

// This file decodes the blocks of listeners and connections Keel does not
// run yet: cluster, gateway, leafnodes, websocket and mqtt. They are read
// completely so that mistakes are reported, and then warned about.

// reservedClusterName is refused as a cluster or gateway name (nats-server
// uses it to mark leafnode traffic with no origin cluster).
const reservedClusterName = "$G"

func (d *decoder) clusterName(dst *string, spacesMsg string) func(item) {
	return func(it item) {
		s, ok := d.str(it)
		switch {
		case !ok:
		case strings.Contains(s, " "):
			d.errorf(it, "%s", spacesMsg)
		case s == reservedClusterName:
			d.errorf(it, "cluster name is reserved")
		default:
			*dst = s
		}
	}
}

// urls reads a list of URLs (or one), warning about duplicates.
func (d *decoder) urls(it item, what string) []string {
	list, ok := d.strs(it)
	if !ok {
		return nil
	}
	seen := make(map[string]bool)
	out := make([]string, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if seen[s] {
			d.warnf(it, "invalid use of field %q: Duplicate %s entry detected", s, what)
			continue
		}
		seen[s] = true
		if _, err := url.Parse(s); err != nil {
			d.errorf(it, "error parsing %s url [%q]", what, s)
			continue
		}
		out = append(out, s)
	}
	return out
}

// routeAuth reads the authorization block of routes, gateways and
// leafnodes' listeners: one user, no users list, no token.
func (d *decoder) routeAuth(it item, what string, user, pass *string, timeout *time.Duration) {
	var token string
	fs := fields{
		"user":     d.setStr(user),
		"username": d.setStr(user),
		"pass":     d.setStr(pass),
		"password": d.setStr(pass),
		"token":    d.setStr(&token),
		"timeout":  func(it item) { *timeout, _ = d.authTimeout(it) },
		"users": func(it item) {
			d.errorf(it, "%s authorization does not allow multiple users", what)
		},
		"auth_callout": func(it item) {
			d.errorf(it, "%s authorization does not support callouts", what)
		},
	}
	d.block(it, fs)
	if token != "" {
		d.errorf(it, "%s authorization does not support tokens", what)
	}
}

func (d *decoder) compression(dst *Compression) func(item) {
	return func(it item) {
		switch it.v.Kind {
		case conf.KindString:
			dst.Mode = it.v.Str
		case conf.KindBool:
			dst.Mode = "off"
			if it.v.Bool {
				dst.Mode = "accept"
			}
		case conf.KindMap:
			rtts := func(it item) {
				items, ok := d.list(it)
				if !ok {
					return
				}
				for _, x := range items {
					if t, ok := d.duration(x, false); ok {
						dst.RTTThresholds = append(dst.RTTThresholds, t)
					}
				}
			}
			d.block(it, fields{"mode": d.setStr(&dst.Mode), "rtt_thresholds": rtts, "thresholds": rtts, "rtts": rtts, "rtt": rtts})
		default:
			d.errorf(it, "field %q should be a boolean or a structure, got %s", it.name(), it.v.Describe())
		}
	}
}

func (d *decoder) cluster(it item, o *Options) {
	c := &o.Cluster
	fs := fields{
		"name":              d.clusterName(&c.Name, "cluster name cannot contain spaces"),
		"listen":            d.setListen(&c.Host, &c.Port),
		"port":              func(it item) { c.Port = d.port(it, c.Port) },
		"host":              d.setStr(&c.Host),
		"net":               d.setStr(&c.Host),
		"authorization":     func(it item) { d.routeAuth(it, "Cluster", &c.Username, &c.Password, &c.AuthTimeout) },
		"routes":            func(it item) { c.Routes = d.urls(it, "route") },
		"tls":               func(it item) { c.TLS = d.tls(it) },
		"cluster_advertise": d.setStr(&c.Advertise),
		"advertise":         d.setStr(&c.Advertise),
		"no_advertise":      d.setBool(&c.NoAdvertise),
		"connect_retries":   d.setInt(&c.ConnectRetries),
		"connect_backoff":   d.setBool(&c.ConnectBackoff),
		"permissions": func(it item) {
			p := d.permissions(it)
			if p == nil {
				return
			}
			if p.Response != nil {
				d.errorf(it, "Cluster permissions do not support dynamic responses")
			}
			c.PermImport, c.PermExport = p.Publish, p.Subscribe
		},
		"pool_size":      d.setInt(&c.PoolSize),
		"accounts":       d.setStrs(&c.PinnedAccounts),
		"compression":    d.compression(&c.Compression),
		"ping_interval":  d.setDur(&c.PingInterval, true),
		"ping_max":       d.setInt(&c.MaxPingsOut),
		"write_deadline": d.setDur(&c.WriteDeadline, true),
		"write_timeout":  d.writeTimeout(&c.WriteTimeout),
	}
	if d.block(it, fs) {
		d.unavailable(it, featCluster)
	}
}

func (d *decoder) gateway(it item, o *Options) {
	g := &o.Gateway
	reject := d.setBool(&g.RejectUnknown)
	fs := fields{
		"name":            d.clusterName(&g.Name, "gateway name cannot contain spaces"),
		"listen":          d.setListen(&g.Host, &g.Port),
		"port":            func(it item) { g.Port = d.port(it, g.Port) },
		"host":            d.setStr(&g.Host),
		"net":             d.setStr(&g.Host),
		"authorization":   func(it item) { d.routeAuth(it, "Gateway", &g.Username, &g.Password, &g.AuthTimeout) },
		"tls":             func(it item) { g.TLS = d.tls(it) },
		"advertise":       d.setStr(&g.Advertise),
		"connect_retries": d.setInt(&g.ConnectRetries),
		"connect_backoff": d.setBool(&g.ConnectBackoff),
		"gateways": func(it item) {
			entries, ok := d.list(it)
			if !ok {
				return
			}
			for _, e := range entries {
				r := &RemoteGateway{}
				d.block(e, fields{
					"name": d.setStr(&r.Name),
					"tls":  func(it item) { r.TLS = d.tls(it) },
					"url":  func(it item) { r.URLs = append(r.URLs, d.urls(it, "gateway")...) },
					"urls": func(it item) { r.URLs = d.urls(it, "gateway") },
				})
				g.Gateways = append(g.Gateways, r)
			}
		},
		"reject_unknown":         reject,
		"reject_unknown_cluster": reject,
		"ping_interval":          d.setDur(&g.PingInterval, true),
		"ping_max":               d.setInt(&g.MaxPingsOut),
		"write_deadline":         d.setDur(&g.WriteDeadline, true),
		"write_timeout":          d.writeTimeout(&g.WriteTimeout),
	}
	if d.block(it, fs) {
		d.unavailable(it, featGateway)
	}
}

func (d *decoder) leafnodes(it item, o *Options) {
	l := &o.LeafNode
	reconnect := d.setDur(&l.ReconnectInterval, true)
	advertise := d.setStr(&l.Advertise)
	minVersion := func(it item) {
		if s, ok := d.str(it); ok {
			if !versionAtLeast(s, 2, 8, 0) {
				d.errorf(it, "the minimum version should be at least 2.8.0")
				return
			}
			l.MinVersion = s
		}
	}
	isolate := d.setBool(&l.IsolateInterest)
	fs := fields{
		"listen":                    d.setListen(&l.Host, &l.Port),
		"port":                      func(it item) { l.Port = d.port(it, l.Port) },
		"host":                      d.setStr(&l.Host),
		"net":                       d.setStr(&l.Host),
		"authorization":             func(it item) { d.leafAuth(it, l) },
		"remotes":                   func(it item) { l.Remotes = d.remoteLeafs(it) },
		"reconnect":                 reconnect,
		"reconnect_delay":           reconnect,
		"reconnect_interval":        reconnect,
		"dial_timeout":              d.setDur(&l.DialTimeout, true),
		"tls":                       func(it item) { l.TLS = d.tls(it) },
		"leafnode_advertise":        advertise,
		"advertise":                 advertise,
		"no_advertise":              d.setBool(&l.NoAdvertise),
		"min_version":               minVersion,
		"minimum_version":           minVersion,
		"compression":               d.compression(&l.Compression),
		"isolate_leafnode_interest": isolate,
		"isolate":                   isolate,
		"ping_interval":             d.setDur(&l.PingInterval, true),
		"ping_max":                  d.setInt(&l.MaxPingsOut),
		"write_deadline":            d.setDur(&l.WriteDeadline, true),
		"write_timeout":             d.writeTimeout(&l.WriteTimeout),
	}
	if d.block(it, fs) {
		d.unavailable(it, featLeafNodes)
	}
}

func (d *decoder) leafAuth(it item, l *LeafNodeOptions) {
	d.block(it, fields{
		"user":     d.setStr(&l.Username),
		"username": d.setStr(&l.Username),
		"pass":     d.setStr(&l.Password),
		"password": d.setStr(&l.Password),
		"nkey": func(it item) {
			if s, ok := d.str(it); ok {
				if !nkeys.IsValidPublicUserKey(s) {
					d.errorf(it, "Not a valid public nkey for leafnode authorization")
				}
				l.Nkey = s
			}
		},
		"timeout":        func(it item) { l.AuthTimeout, _ = d.authTimeout(it) },
		"users":          func(it item) { _, l.Users = d.users(it, true) },
		"account":        d.setStr(&l.Account),
		"proxy_required": d.setBool(&l.ProxyRequired),
	})
}

func (d *decoder) remoteLeafs(it item) []*RemoteLeaf {
	entries, ok := d.list(it)
	if !ok {
		return nil
	}
	var out []*RemoteLeaf
	for _, e := range entries {
		if e.v.Kind != conf.KindMap {
			d.errorf(e, "Expected remote leafnode entry to be a map/struct, got %s", e.v.Describe())
			continue
		}
		r := &RemoteLeaf{}
		noRandom := d.setBool(&r.NoRandomize)
		urls := func(it item) { r.URLs = d.urls(it, "leafnode") }
		account := d.setStr(&r.LocalAccount)
		creds := d.setStr(&r.Credentials)
		seed := func(it item) {
			if s, ok := d.str(it); ok {
				if pre, _, err := nkeys.DecodeSeed([]byte(s)); err != nil || pre != nkeys.PrefixByteUser {
					d.errorf(it, "Remote leafnode nkey is not a valid seed: %q", s)
					return
				}
				r.Nkey = s
			}
		}
		denyImports := func(it item) { r.DenyImports = d.permSubjects(it, false) }
		denyExports := func(it item) { r.DenyExports = d.permSubjects(it, false) }
		wsCompress := d.setBool(&r.WSCompression)
		wsNoMask := d.setBool(&r.WSNoMasking)
		migrate := func(it item) {
			switch it.v.Kind {
			case conf.KindBool:
				r.JetStreamClusterMigrate = it.v.Bool
			case conf.KindMap:
				r.JetStreamClusterMigrate = true
				d.block(it, fields{"leader_migrate_delay": d.setDur(&r.MigrateDelay, true)})
			default:
				d.errorf(it, "Expected boolean or map for jetstream_cluster_migrate, got %s", it.v.Describe())
			}
		}
		isolate := d.setBool(&r.LocalIsolation)
		fs := fields{
			"no_randomize": noRandom, "dont_randomize": noRandom,
			"url": urls, "urls": urls,
			"account": account, "local": account,
			"creds": creds, "credentials": creds,
			"nkey": seed, "seed": seed,
			"tls":          func(it item) { r.TLS = d.tls(it) },
			"hub":          d.setBool(&r.Hub),
			"deny_imports": denyImports, "deny_import": denyImports,
			"deny_exports": denyExports, "deny_export": denyExports,
			"ws_compress": wsCompress, "ws_compression": wsCompress,
			"websocket_compress": wsCompress, "websocket_compression": wsCompress,
			"ws_no_masking": wsNoMask, "websocket_no_masking": wsNoMask,
			"jetstream_cluster_migrate": migrate, "js_cluster_migrate": migrate,
			"isolate_leafnode_interest": isolate, "isolate": isolate,
			"request_isolation":         d.setBool(&r.RequestIsolation),
			"compression":               d.compression(&r.Compression),
			"first_info_timeout":        d.setDur(&r.FirstInfoTimeout, true),
			"dial_timeout":              d.setDur(&r.DialTimeout, true),
			"disabled":                  d.setBool(&r.Disabled),
			"ignore_discovered_servers": d.setBool(&r.IgnoreDiscoveredServers),
			"proxy": func(it item) {
				d.block(it, fields{
					"url":      d.setStr(&r.ProxyURL),
					"username": d.setStr(&r.ProxyUsername),
					"password": d.setStr(&r.ProxyPassword),
					"timeout":  d.setDur(&r.ProxyTimeout, true),
					"tls":      func(it item) { r.ProxyTLS = d.tls(it) },
				})
			},
		}
		d.block(e, fs)
		if r.Credentials != "" && r.Nkey != "" {
			d.errorf(e, "Remote leafnode can not have both creds and nkey defined")
		}
		out = append(out, r)
	}
	return out
}

// versionAtLeast reports whether v ("2.10.0") is at least major.minor.patch.
func versionAtLeast(v string, major, minor, patch int) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) != 3 {
		return false
	}
	want := []int{major, minor, patch}
	for i, p := range parts {
		if i == 2 {
			p, _, _ = strings.Cut(p, "-")
		}
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
			n = n*10 + int(c-'0')
		}
		if n != want[i] {
			return n > want[i]
		}
	}
	return true
}

// simpleAuth reads the authorization block of websocket and mqtt.
func (d *decoder) simpleAuth(it item, user, pass, token *string, timeout *time.Duration) {
	d.block(it, fields{
		"user":     d.setStr(user),
		"username": d.setStr(user),
		"pass":     d.setStr(pass),
		"password": d.setStr(pass),
		"token":    d.setStr(token),
		"timeout":  func(it item) { *timeout, _ = d.authTimeout(it) },
	})
}

func (d *decoder) websocket(it item, o *Options) {
	w := &o.Websocket
	origins := d.setStrs(&w.AllowedOrigins)
	auth := func(it item) { d.simpleAuth(it, &w.Username, &w.Password, &w.Token, &w.AuthTimeout) }
	compress := d.setBool(&w.Compression)
	fs := fields{
		"listen":            d.setListen(&w.Host, &w.Port),
		"port":              func(it item) { w.Port = d.port(it, w.Port) },
		"host":              d.setStr(&w.Host),
		"net":               d.setStr(&w.Host),
		"advertise":         d.setStr(&w.Advertise),
		"no_tls":            d.setBool(&w.NoTLS),
		"tls":               func(it item) { w.TLS = d.tls(it) },
		"same_origin":       d.setBool(&w.SameOrigin),
		"handshake_timeout": d.setDur(&w.HandshakeTimeout, true),
		"compress":          compress,
		"compression":       compress,
		"authorization":     auth,
		"authentication":    auth,
		"jwt_cookie":        d.setStr(&w.JWTCookie),
		"user_cookie":       d.setStr(&w.UsernameCookie),
		"pass_cookie":       d.setStr(&w.PasswordCookie),
		"token_cookie":      d.setStr(&w.TokenCookie),
		"no_auth_user":      d.setStr(&w.NoAuthUser),
		"headers": func(it item) {
			if m, ok := d.strMap(it); ok {
				w.Headers = m
			}
		},
		"ping_interval": d.setDur(&w.PingInterval, true),
	}
	for _, k := range []string{"allowed_origins", "allowed_origin", "allow_origins", "allow_origin", "origins", "origin"} {
		fs[k] = origins
	}
	if d.block(it, fs) {
		d.unavailable(it, featWebsocket)
	}
}

func (d *decoder) mqtt(it item, o *Options) {
	m := &o.MQTT
	auth := func(it item) { d.simpleAuth(it, &m.Username, &m.Password, &m.Token, &m.AuthTimeout) }
	ackWait := d.setDur(&m.AckWait, true)
	apiTimeout := d.setDur(&m.JSAPITimeout, true)
	maxAck := func(it item) {
		if n, ok := d.intIn(it, 0, 0xFFFF); ok {
			m.MaxAckPending = uint16(n)
		}
	}
	inactive := d.setDur(&m.ConsumerInactiveThreshold, true)
	fs := fields{
		"listen":          d.setListen(&m.Host, &m.Port),
		"port":            func(it item) { m.Port = d.port(it, m.Port) },
		"host":            d.setStr(&m.Host),
		"net":             d.setStr(&m.Host),
		"tls":             func(it item) { m.TLS = d.tls(it) },
		"authorization":   auth,
		"authentication":  auth,
		"no_auth_user":    d.setStr(&m.NoAuthUser),
		"ack_wait":        ackWait,
		"ackwait":         ackWait,
		"js_api_timeout":  apiTimeout,
		"api_timeout":     apiTimeout,
		"max_ack_pending": maxAck,
		"max_pending":     maxAck,
		"max_inflight":    maxAck,
		"js_domain":       d.setStr(&m.JSDomain),
		"stream_replicas": d.setInt(&m.StreamReplicas),
		"consumer_replicas": func(it item) {
			d.warnf(it, "invalid use of field %q: consumer replicas setting ignored in this server version", it.name())
		},
		"consumer_memory_storage":     d.setBool(&m.ConsumerMemoryStorage),
		"consumer_inactive_threshold": inactive,
		"consumer_auto_cleanup":       inactive,
		"reject_qos2_publish":         d.setBool(&m.RejectQoS2Publish),
		"downgrade_qos2_subscribe":    d.setBool(&m.DowngradeQoS2Subscribe),
	}
	if d.block(it, fs) {
		d.unavailable(it, featMQTT)
	}
}
