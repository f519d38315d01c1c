package opts

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrReloadNotSupported is wrapped by CheckReload's error when a changed
// setting needs a restart.
var ErrReloadNotSupported = errors.New("config reload not supported")

// Change is one setting that differs between two Options.
type Change struct {
	Key      string // the configuration key, e.g. "max_payload"
	Old, New string // values for logs; secrets are redacted
}

func (c Change) String() string { return c.Key + " = " + c.New }

// reloadable lists the Options fields a running Keel changes on reload.
// It is the one list: cmd/keel checks a reload (and -t --test_reload)
// with CheckReload, and server.Reload applies what it allows.
//
// A field is here when nats-server reloads it too and Keel either applies
// the new value (cmd/keel for the logger, the pid and ports files and
// prof_block_rate) or has nothing to apply (the route error report
// throttles: there are no routes). Everything else refuses the reload as a whole, as
// nats-server does, notably max_subscriptions, max_pending, the lame duck
// settings, no_header_support, max_sub_tokens, write_timeout,
// disable_sublist_cache and the log rotation sizes: the reference
// refuses those too, so a file that reloads on one server reloads on the
// other.
var reloadable = map[string]bool{
	// Logging and tracing: cmd/keel builds a new logger, the server
	// switches its debug and trace levels.
	"Debug": true, "Trace": true, "TraceVerbose": true, "TraceHeaders": true,
	"Logtime": true, "LogtimeUTC": true, "LogFile": true, "MaxTracedMsgLen": true,
	"Syslog": true, "RemoteSyslog": true,
	// Authorization: clients whose credentials no longer pass are closed.
	"Username": true, "Password": true, "Authorization": true, "AuthTimeout": true,
	// Limits the server reads per connection or per message.
	"MaxConn": true, "MaxPayload": true, "MaxControlLine": true,
	"PingInterval": true, "MaxPingsOut": true, "WriteDeadline": true,
	"NoFastProducerStall": true,
	// What clients and monitoring are told.
	"ClientAdvertise": true, "Tags": true, "Metadata": true,
	// Files and settings without effect yet.
	"PidFile": true, "PortsFileDir": true, "ProfBlockRate": true,
	"ConnectErrorReports": true, "ReconnectErrorReports": true,
}

// notCompared are fields that describe where options came from rather
// than what the server does.
var notCompared = map[string]bool{"ConfigFile": true, "ConfigDigest": true, "Warnings": true}

// fieldKeys names the configuration key of fields whose key is not their
// name in snake case.
var fieldKeys = map[string]string{
	"MaxConn":            "max_connections",
	"MaxSubs":            "max_subscriptions",
	"MaxPingsOut":        "ping_max",
	"AuthTimeout":        "authorization.timeout",
	"Username":           "authorization.user",
	"Password":           "authorization.password",
	"Authorization":      "authorization.token",
	"LameDuckGrace":      "lame_duck_grace_period",
	"LogSizeLimit":       "logfile_size_limit",
	"LogMaxFiles":        "logfile_max_num",
	"HTTPHost":           "http",
	"HTTPPort":           "http_port",
	"HTTPSPort":          "https_port",
	"HTTPBasePath":       "http_base_path",
	"JetStreamOpts":      "jetstream",
	"JSAccDefaultDomain": "default_js_domain",
	"ServerName":         "server_name",
	"ProfPort":           "prof_port",
	"Tags":               "server_tags",
	"Metadata":           "server_metadata",
	"LeafNode":           "leafnodes",
	"MQTT":               "mqtt",
	"TLS":                "tls",
	"OCSP":               "ocsp",
	"OCSPCache":          "ocsp_cache",
	"ResolverTLS":        "resolver_tls",
	"ResolverPinned":     "resolver_pinned_accounts",
	"TrustedOperators":   "operator",
	"DefaultPermissions": "authorization.default_permissions",
	"AuthCallout":        "authorization.auth_callout",
	"AuthProxyRequired":  "authorization.proxy_required",
	"Users":              "authorization.users",
	"Nkeys":              "authorization.users",
}

var secrets = map[string]bool{"Password": true, "Authorization": true}

// CheckReload compares the running options with new ones (both loaded and
// finalized the same way) and returns the changes. If a setting that
// cannot change while running differs, the error (wrapping
// ErrReloadNotSupported) names every such setting, and nothing should be
// applied.
func CheckReload(old, new *Options) ([]Change, error) {
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem()
	t := ov.Type()
	var changes []Change
	var refused []string
	for i := range t.NumField() {
		name := t.Field(i).Name
		if notCompared[name] {
			continue
		}
		a, b := ov.Field(i).Interface(), nv.Field(i).Interface()
		if reflect.DeepEqual(a, b) {
			continue
		}
		if name == "Port" && isRandomPort(a) && isRandomPort(b) {
			continue
		}
		c := Change{Key: configKey(name), Old: render(a), New: render(b)}
		if secrets[name] {
			c.Old, c.New = "[REDACTED]", "[REDACTED]"
		}
		if !reloadable[name] {
			refused = append(refused, fmt.Sprintf("%s (old=%s, new=%s)", c.Key, c.Old, c.New))
			continue
		}
		changes = append(changes, c)
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("%w for %s", ErrReloadNotSupported, strings.Join(refused, ", "))
	}
	return changes, nil
}

func isRandomPort(v any) bool {
	p, ok := v.(int)
	return ok && (p == 0 || p == RandomPort)
}

// configKey names a field as the configuration file does.
func configKey(field string) string {
	if k, ok := fieldKeys[field]; ok {
		return k
	}
	var sb strings.Builder
	for i, r := range field {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && !(field[i-1] >= 'A' && field[i-1] <= 'Z') {
				sb.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// render prints a value for a log line; blocks are summarized.
func render(v any) string {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Struct, reflect.Pointer, reflect.Map, reflect.Slice:
		if rv.IsZero() {
			return "(none)"
		}
		if s, ok := v.([]string); ok {
			return "[" + strings.Join(s, ", ") + "]"
		}
		return "(changed)"
	case reflect.String:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(v)
}
