package server

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/keelhq/keel/server/opts"
)

// reloadable lists the Options fields a running server can change, as the
// reference allows on reload; the value is the configuration key named in
// messages.
var reloadable = map[string]string{
	"Debug":                 "debug",
	"Trace":                 "trace",
	"Logtime":               "logtime",
	"LogFile":               "log_file",
	"LogSizeLimit":          "logfile_size_limit",
	"LogMaxFiles":           "logfile_max_num",
	"MaxConn":               "max_connections",
	"MaxSubs":               "max_subscriptions",
	"MaxPayload":            "max_payload",
	"MaxControlLine":        "max_control_line",
	"MaxPending":            "max_pending",
	"WriteDeadline":         "write_deadline",
	"PingInterval":          "ping_interval",
	"MaxPingsOut":           "ping_max",
	"AuthTimeout":           "authorization.timeout",
	"Username":              "authorization.user",
	"Password":              "authorization.password",
	"Authorization":         "authorization.token",
	"LameDuckDuration":      "lame_duck_duration",
	"LameDuckGrace":         "lame_duck_grace_period",
	"ClientAdvertise":       "client_advertise",
	"NoHeaderSupport":       "no_header_support",
	"MaxSubTokens":          "max_sub_tokens",
	"WriteTimeout":          "write_timeout",
	"MaxTracedMsgLen":       "max_traced_msg_len",
	"TraceVerbose":          "trace_verbose",
	"TraceHeaders":          "trace_headers",
	"LogtimeUTC":            "logtime_utc",
	"Syslog":                "syslog",
	"RemoteSyslog":          "remote_syslog",
	"PidFile":               "pid_file",
	"PortsFileDir":          "ports_file_dir",
	"ProfBlockRate":         "prof_block_rate",
	"Tags":                  "server_tags",
	"Metadata":              "server_metadata",
	"ConnectErrorReports":   "connect_error_reports",
	"ReconnectErrorReports": "reconnect_error_reports",
	"NoFastProducerStall":   "no_fast_producer_stall",
	// Not server state: where the options came from and what the parser
	// had to say about them.
	"ConfigFile": "",
	"Warnings":   "",
}

// fieldKeys names the configuration keys of fields that cannot be
// reloaded, for the error message.
var fieldKeys = map[string]string{
	"ServerName":          "server_name",
	"Host":                "host",
	"Port":                "port",
	"HTTPHost":            "http_host",
	"HTTPPort":            "http_port",
	"HTTPBasePath":        "http_base_path",
	"JetStream":           "jetstream",
	"StoreDir":            "store_dir",
	"JetStreamOpts":       "jetstream",
	"MaxClosedClients":    "max_closed_clients",
	"DisableSublistCache": "disable_sublist_cache",
	"HTTPSPort":           "https_port",
}

// Reload applies newOpts to the running server. Changes the reference can
// make at run time take effect at once (limits, authorization, debug and
// trace, ping and lame-duck settings); if any other option differs nothing
// is applied and the error names every such option.
func (s *Server) Reload(newOpts *opts.Options) error {
	if newOpts == nil {
		return fmt.Errorf("server: reload: no options")
	}
	cp := *newOpts
	fillDefaults(&cp)
	if err := validate(&cp); err != nil {
		return fmt.Errorf("server: reload: %w", err)
	}
	cur := s.getOpts()
	var refused []string
	cv, nv := reflect.ValueOf(cur).Elem(), reflect.ValueOf(&cp).Elem()
	t := cv.Type()
	for i := range t.NumField() {
		name := t.Field(i).Name
		if reflect.DeepEqual(cv.Field(i).Interface(), nv.Field(i).Interface()) {
			continue
		}
		if _, ok := reloadable[name]; ok {
			continue
		}
		key := fieldKeys[name]
		if key == "" {
			key = strings.ToLower(name)
		}
		refused = append(refused, key)
	}
	if len(refused) > 0 {
		sort.Strings(refused)
		refused = compact(refused)
		return fmt.Errorf("server: config reload not supported for %s", strings.Join(refused, ", "))
	}

	s.opts.Store(&cp)
	s.configTime.Store(time.Now().UnixNano())
	s.debug.Store(cp.Debug)
	s.trace.Store(cp.Trace)
	s.rebuildInfo()
	if authChanged(cur, &cp) {
		s.recheckAuth(&cp)
	}
	if cp.MaxConn != cur.MaxConn && (cp.MaxConn < cur.MaxConn || cp.MaxConn < 0) {
		s.enforceMaxConn(cp.MaxConn)
	}
	s.Noticef("Reloaded server configuration")
	return nil
}

func compact(ss []string) []string {
	out := ss[:0]
	for i, v := range ss {
		if i == 0 || v != ss[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func authChanged(a, b *opts.Options) bool {
	return a.Username != b.Username || a.Password != b.Password || a.Authorization != b.Authorization
}

// recheckAuth closes the clients whose credentials no longer pass, with
// 'Authorization Violation', as the reference does after a reload.
func (s *Server) recheckAuth(o *opts.Options) {
	if !authRequired(o) {
		return
	}
	for _, c := range s.clientList() {
		c.mu.Lock()
		creds := c.creds
		c.mu.Unlock()
		if !credsValid(creds, o) {
			c.authViolation()
		}
	}
}

// enforceMaxConn closes connections (random ones, as the reference does)
// until no more than max remain.
func (s *Server) enforceMaxConn(limit int) {
	limit = max(limit, 0)
	clients := s.clientList() // map order: random
	closed := 0
	for _, c := range clients[:max(0, len(clients)-limit)] {
		c.Errorf("%s", errMaxConnections)
		c.sendErr(errMaxConnections)
		c.closeConnection(MaxConnectionsExceeded, true)
		closed++
	}
	if closed > 0 {
		s.Noticef("Closed %d connections to fall within max_connections", closed)
	}
}
