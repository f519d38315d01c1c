package opts

import (
	"errors"
	"strings"
	"time"

	"github.com/keelhq/keel/server/conf"
)

// LoadFile parses the configuration file at path into options (defaults
// for everything it does not set). It returns the configuration's digest
// (the one nats-server prints) for the start-up and -t messages.
func LoadFile(path string) (*Options, string, error) {
	return loadFile(path, false)
}

// loadFile is LoadFile; strict makes nats-server's warnings about the
// file errors, as its -t does.
func loadFile(path string, strict bool) (*Options, string, error) {
	m, err := conf.ParseFile(path)
	if err != nil {
		return nil, "", err
	}
	o, err := fromConfig(m, strict, path)
	if err != nil {
		return nil, "", err
	}
	o.ConfigFile, o.ConfigDigest = path, m.Digest()
	return o, o.ConfigDigest, nil
}

// FromConfig turns a parsed configuration into options: defaults, then
// every setting of m. The error, if any, is an Errors listing every
// problem with its position. Settings for features not available yet add
// to Options.Warnings; see policy.go.
func FromConfig(m *conf.Map) (*Options, error) {
	return fromConfig(m, false, "")
}

// fromConfig is FromConfig; file names the configuration in messages
// that have no position.
func fromConfig(m *conf.Map, strict bool, file string) (*Options, error) {
	o := Default()
	d := &decoder{strict: strict}
	if m.Len() == 0 {
		// As nats-server: worth a word, since a wrong file name in an
		// include chain can produce it.
		msg := "config has no values or is empty"
		if file != "" {
			msg = file + ": " + msg
		}
		if strict {
			return nil, Errors{errors.New(msg)}
		}
		d.warns = append(d.warns, msg)
	}
	d.top(o, m)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	o.Warnings = append(o.Warnings, d.warns...)
	return o, nil
}

// top decodes the top level of a configuration.
func (d *decoder) top(o *Options, m *conf.Map) {
	var storeDirSeen bool
	setStoreDir := func(it item) {
		if storeDirSeen {
			d.errorf(it, "Duplicate 'store_dir' configuration")
			return
		}
		if s, ok := d.str(it); ok {
			o.StoreDir, storeDirSeen = s, true
		}
	}
	warnIfTrue := func(f feature, dst *bool) func(item) {
		return func(it item) {
			if b, ok := d.boolean(it); ok {
				*dst = b
				if b {
					d.unavailable(it, f)
				}
			}
		}
	}
	limit31 := func(dst *int32) func(item) {
		return func(it item) {
			n, ok := d.integer(it)
			if !ok {
				return
			}
			if n > 1<<31-1 {
				d.errorf(it, "%s value is too big", it.name())
				return
			}
			*dst = int32(n)
		}
	}

	fs := fields{
		"listen":           d.setListen(&o.Host, &o.Port),
		"port":             func(it item) { o.Port = d.port(it, o.Port) },
		"host":             d.setStr(&o.Host),
		"net":              d.setStr(&o.Host),
		"client_advertise": d.setStr(&o.ClientAdvertise),
		"server_name": func(it item) {
			if s, ok := d.str(it); ok {
				if strings.Contains(s, " ") {
					d.errorf(it, "server name cannot contain spaces")
					return
				}
				o.ServerName = s
			}
		},
		"debug": d.setBool(&o.Debug),
		"trace": d.setBool(&o.Trace),
		"trace_verbose": func(it item) {
			if b, ok := d.boolean(it); ok {
				o.TraceVerbose, o.Trace = b, b
			}
		},
		"trace_headers": func(it item) {
			if b, ok := d.boolean(it); ok {
				o.TraceHeaders, o.Trace = b, b
			}
		},
		"logtime":            d.setBool(&o.Logtime),
		"logtime_utc":        d.setBool(&o.LogtimeUTC),
		"logfile":            d.setStr(&o.LogFile),
		"log_file":           d.setStr(&o.LogFile),
		"logfile_size_limit": d.setInt64(&o.LogSizeLimit),
		"log_size_limit":     d.setInt64(&o.LogSizeLimit),
		"logfile_max_num":    d.setInt(&o.LogMaxFiles),
		"log_max_num":        d.setInt(&o.LogMaxFiles),
		"syslog":             d.setBool(&o.Syslog),
		"remote_syslog":      d.setStr(&o.RemoteSyslog),
		"pidfile":            d.setStr(&o.PidFile),
		"pid_file":           d.setStr(&o.PidFile),
		"ports_file_dir":     d.setStr(&o.PortsFileDir),
		"prof_port": func(it item) {
			if n, ok := d.intIn(it, -1, 65535); ok {
				o.ProfPort = int(n)
			}
		},
		"prof_block_rate": func(it item) {
			if n, ok := d.intIn(it, 0, 1<<31-1); ok {
				o.ProfBlockRate = int(n)
			}
		},
		"max_control_line":  limit31(&o.MaxControlLine),
		"max_payload":       limit31(&o.MaxPayload),
		"max_pending":       d.setInt64(&o.MaxPending),
		"max_connections":   func(it item) { d.maxConn(it, &o.MaxConn) },
		"max_conn":          func(it item) { d.maxConn(it, &o.MaxConn) },
		"max_subscriptions": d.setInt(&o.MaxSubs),
		"max_subs":          d.setInt(&o.MaxSubs),
		"max_sub_tokens":    func(it item) { d.maxSubTokens(it, &o.MaxSubTokens) },
		"max_subscription_tokens": func(it item) {
			d.maxSubTokens(it, &o.MaxSubTokens)
		},
		"max_traced_msg_len": d.setInt(&o.MaxTracedMsgLen),
		"max_closed_clients": func(it item) {
			d.setInt(&o.MaxClosedClients)(it)
			if !MonitoringWired {
				d.unavailable(it, featClosedClients)
			}
		},
		"disable_sublist_cache": d.setBool(&o.DisableSublistCache),
		"no_sublist_cache":      d.setBool(&o.DisableSublistCache),
		"ping_interval":         d.setDur(&o.PingInterval, true),
		"ping_max":              d.setInt(&o.MaxPingsOut),
		"write_deadline":        d.setDur(&o.WriteDeadline, true),
		"write_timeout":         d.writeTimeout(&o.WriteTimeout),
		"lame_duck_duration": func(it item) {
			dur, ok := d.duration(it, false)
			if !ok {
				return
			}
			if dur < lameDuckMinimum {
				d.errorf(it, "invalid lame_duck_duration of %v, minimum is 30 seconds", dur)
				return
			}
			o.LameDuckDuration = dur
		},
		"lame_duck_grace_period": func(it item) {
			dur, ok := d.duration(it, false)
			if !ok {
				return
			}
			if dur < 0 {
				d.errorf(it, "invalid lame_duck_grace_period, needs to be positive")
				return
			}
			o.LameDuckGrace = dur
		},
		"no_header_support":       d.setBool(&o.NoHeaderSupport),
		"no_fast_producer_stall":  d.setBool(&o.NoFastProducerStall),
		"proxy_protocol":          warnIfTrue(featProxyProtocol, &o.ProxyProtocol),
		"connect_error_reports":   d.setInt(&o.ConnectErrorReports),
		"reconnect_error_reports": d.setInt(&o.ReconnectErrorReports),
		"server_tags":             d.setStrs(&o.Tags),
		"server_metadata": func(it item) {
			if m, ok := d.strMap(it); ok {
				o.Metadata = m
			}
		},
		"feature_flags": func(it item) { d.featureFlags(it, o) },

		"http":      d.setListen(&o.HTTPHost, &o.HTTPPort),
		"http_port": func(it item) { o.HTTPPort = d.port(it, o.HTTPPort) },
		"monitor_port": func(it item) {
			o.HTTPPort = d.port(it, o.HTTPPort)
		},
		"https": func(it item) {
			d.setListen(&o.HTTPHost, &o.HTTPSPort)(it)
			d.unavailable(it, featHTTPS)
		},
		"https_port": func(it item) {
			o.HTTPSPort = d.port(it, o.HTTPSPort)
			if o.HTTPSPort != 0 {
				d.unavailable(it, featHTTPS)
			}
		},
		"http_base_path": d.setStr(&o.HTTPBasePath),

		"store_dir": setStoreDir,
		"storedir":  setStoreDir,
		"jetstream": func(it item) { d.jetstream(it, o, setStoreDir) },
		"default_js_domain": func(it item) {
			if m, ok := d.strMap(it); ok {
				o.JSAccDefaultDomain = m
				d.unavailable(it, featJSDomains)
			}
		},

		"authorization": func(it item) { d.authorization(it, o) },
		"accounts":      func(it item) { d.accounts(it, o) },
		"mappings":      func(it item) { d.topMappings(it, o) },
		"maps":          func(it item) { d.topMappings(it, o) },
		"no_auth_user": func(it item) {
			if s, ok := d.str(it); ok {
				o.NoAuthUser = s
				d.unsupported(it, featNoAuthUser)
			}
		},
		"default_sentinel": func(it item) {
			if s, ok := d.str(it); ok {
				o.DefaultSentinel = s
				d.unsupported(it, featSentinel)
			}
		},
		"system_account":    func(it item) { d.systemAccount(it, o) },
		"system":            func(it item) { d.systemAccount(it, o) },
		"no_system_account": d.setBool(&o.NoSystemAccount),
		"no_system":         d.setBool(&o.NoSystemAccount),
		"no_sys_acc":        d.setBool(&o.NoSystemAccount),

		"tls": func(it item) {
			o.TLS = d.tls(it)
			d.unsupported(it, featTLS)
		},
		"allow_non_tls": warnIfTrue(featAllowNonTLS, &o.AllowNonTLS),
		"ocsp":          func(it item) { d.ocsp(it, o) },
		"ocsp_cache":    func(it item) { d.ocspCache(it, o) },

		"cluster":   func(it item) { d.cluster(it, o) },
		"gateway":   func(it item) { d.gateway(it, o) },
		"leaf":      func(it item) { d.leafnodes(it, o) },
		"leafnodes": func(it item) { d.leafnodes(it, o) },
		"websocket": func(it item) { d.websocket(it, o) },
		"ws":        func(it item) { d.websocket(it, o) },
		"mqtt":      func(it item) { d.mqtt(it, o) },
		"proxies":   func(it item) { d.proxies(it, o) },
	}
	for _, k := range []string{"operator", "operators", "roots", "root", "root_operators", "root_operator"} {
		fs[k] = func(it item) { d.operators(it, o) }
	}
	for _, k := range []string{"resolver", "account_resolver", "accounts_resolver"} {
		fs[k] = func(it item) { d.resolver(it, o) }
	}
	fs["resolver_tls"] = func(it item) {
		o.ResolverTLS = d.tls(it)
		d.unavailable(it, featResolver)
	}
	fs["resolver_preload"] = func(it item) {
		if m, ok := d.strMap(it); ok {
			o.ResolverPreload = m
		}
		d.unavailable(it, featResolver)
	}
	fs["resolver_pinned_accounts"] = func(it item) {
		if s, ok := d.strs(it); ok {
			o.ResolverPinned = s
		}
		d.unavailable(it, featResolver)
	}
	fs["trusted"] = func(it item) { d.trustedKeys(it, o) }
	fs["trusted_keys"] = fs["trusted"]

	d.entries("", m, fs)
	d.crossChecks(o, m)
}

// lameDuckMinimum is the shortest lame_duck_duration nats-server accepts.
const lameDuckMinimum = 30 * time.Second

// port reads a port number (-1 asks for any free port).
func (d *decoder) port(it item, old int) int {
	n, ok := d.intIn(it, RandomPort, 65535)
	if !ok {
		return old
	}
	return int(n)
}

func (d *decoder) maxConn(it item, dst *int) {
	n, ok := d.intIn(it, -1, 1<<31-1)
	if !ok {
		return
	}
	if n == 0 {
		// As nats-server: an explicit 0 refuses every client.
		n = -1
	}
	*dst = int(n)
}

func (d *decoder) maxSubTokens(it item, dst *uint8) {
	n, ok := d.integer(it)
	switch {
	case !ok:
		return
	case n > 255:
		d.errorf(it, "%s value is too big", it.name())
	case n <= 0:
		d.errorf(it, "%s value can not be negative", it.name())
	default:
		*dst = uint8(n)
	}
}

func (d *decoder) featureFlags(it item, o *Options) {
	if it.v.Kind != conf.KindMap {
		d.typeErr(it, "a map")
		return
	}
	flags := make(map[string]bool, it.v.Map.Len())
	for _, e := range it.v.Map.Entries() {
		b, ok := d.boolean(item{path: join(it.path, e.Key), pos: e.Pos, v: e.Value})
		if !ok {
			continue
		}
		flags[e.Key] = b
	}
	o.FeatureFlags = flags
	if len(flags) > 0 {
		d.unavailable(it, featFeatureFlags)
	}
}

func (d *decoder) systemAccount(it item, o *Options) {
	if s, ok := d.str(it); ok {
		o.SystemAccount = s
		d.unavailable(it, featSystemAccount)
	}
}

// crossChecks are the checks that involve several top-level settings;
// nats-server makes them while reading the authorization block.
func (d *decoder) crossChecks(o *Options, m *conf.Map) {
	// Point at the authorization block, or the accounts block when the
	// users come from there.
	at := func(string) item {
		for _, key := range []string{"authorization", "accounts"} {
			for _, e := range m.Entries() {
				if strings.EqualFold(e.Key, key) {
					return item{path: e.Key, pos: e.Pos, v: e.Value}
				}
			}
		}
		return item{}
	}
	if len(o.Users) > 0 || len(o.Nkeys) > 0 {
		auth := at("authorization")
		if o.Username != "" {
			d.errorf(auth, "Can not have a single user/pass and a users array")
		} else if o.Authorization != "" {
			d.errorf(auth, "Can not have a token and a users array")
		}
	}
	seen := make(map[string]bool)
	for _, u := range o.Users {
		if seen[u.Username] {
			d.errorf(at("authorization"), "Duplicate user %q detected", u.Username)
		}
		seen[u.Username] = true
	}
	for _, u := range o.Nkeys {
		if seen[u.Nkey] {
			d.errorf(at("authorization"), "Duplicate nkey %q detected", u.Nkey)
		}
		seen[u.Nkey] = true
	}
	if o.AuthCallout != nil && len(o.AuthCallout.AllowedAccounts) > 0 {
		known := make(map[string]bool)
		for _, a := range o.Accounts {
			known[a.Name] = true
		}
		for _, a := range o.AuthCallout.AllowedAccounts {
			if !known[a] {
				d.errorf(at("authorization"), "auth_callout allowed account %q not found in configured accounts", a)
			}
		}
	}
}
