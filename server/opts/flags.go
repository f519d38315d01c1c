package opts

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Command is a parsed command line: what to do (run, check, signal, show
// version or help) and the settings given as flags, which win over the
// configuration file.
type Command struct {
	ConfigFile  string
	CheckConfig bool   // -t
	TestReload  string // --test_reload FILE (with -t)
	Signal      string // --signal CMD[=PID]
	ShowVersion bool
	ShowHelp    bool
	ShowTLSHelp bool

	// flags holds the flag values; given lists the flags present on the
	// command line, so that only those override the file.
	flags  Options
	multi  struct{ dv, vv, dvv bool }
	given  map[string]bool
	parsed *flag.FlagSet
}

// ParseFlags parses nats-server's command-line flags (see Usage).
func ParseFlags(args []string) (*Command, error) {
	c := &Command{given: make(map[string]bool)}
	fs := flag.NewFlagSet("keel", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	f := &c.flags
	f.Logtime = true

	str := func(dst *string, names ...string) {
		for _, n := range names {
			fs.StringVar(dst, n, "", "")
		}
	}
	num := func(dst *int, names ...string) {
		for _, n := range names {
			fs.IntVar(dst, n, 0, "")
		}
	}
	boolean := func(dst *bool, def bool, names ...string) {
		for _, n := range names {
			fs.BoolVar(dst, n, def, "")
		}
	}
	boolean(&c.ShowHelp, false, "h", "help")
	boolean(&c.ShowVersion, false, "v", "version")
	boolean(&c.ShowTLSHelp, false, "help_tls")
	str(&c.ConfigFile, "c", "config")
	boolean(&c.CheckConfig, false, "t")
	str(&c.TestReload, "test_reload")
	str(&c.Signal, "sl", "signal")

	num(&f.Port, "p", "port")
	str(&f.Host, "a", "addr", "net")
	str(&f.ServerName, "n", "name", "server_name")
	str(&f.ClientAdvertise, "client_advertise")
	str(&f.PidFile, "P", "pid")
	str(&f.PortsFileDir, "ports_file_dir")
	num(&f.HTTPPort, "m", "http_port")
	num(&f.HTTPSPort, "ms", "https_port")
	num(&f.ProfPort, "profile")

	str(&f.LogFile, "l", "log")
	fs.Int64Var(&f.LogSizeLimit, "log_size_limit", 0, "")
	num(&f.MaxTracedMsgLen, "max_traced_msg_len")
	boolean(&f.Logtime, true, "T", "logtime")
	boolean(&f.LogtimeUTC, false, "logtime_utc")
	boolean(&f.Syslog, false, "s", "syslog")
	str(&f.RemoteSyslog, "r", "remote_syslog")
	boolean(&f.Debug, false, "D", "debug")
	boolean(&f.Trace, false, "V", "trace")
	boolean(&c.multi.vv, false, "VV")
	boolean(&c.multi.dv, false, "DV")
	boolean(&c.multi.dvv, false, "DVV")

	boolean(&f.JetStream, false, "js", "jetstream")
	str(&f.StoreDir, "sd", "store_dir")

	str(&f.Username, "user")
	str(&f.Password, "pass")
	str(&f.Authorization, "auth")

	// TLS and clustering flags are parsed so that they are refused or
	// warned about by name rather than rejected as unknown.
	var tlsFlag, tlsVerify, noAdvertise bool
	var tlsCert, tlsKey, tlsCA string
	boolean(&tlsFlag, false, "tls")
	boolean(&tlsVerify, false, "tlsverify")
	str(&tlsCert, "tlscert")
	str(&tlsKey, "tlskey")
	str(&tlsCA, "tlscacert")
	str(&f.Cluster.Name, "cluster_name")
	str(&f.Cluster.Advertise, "cluster_advertise")
	boolean(&noAdvertise, false, "no_advertise")
	num(&f.Cluster.ConnectRetries, "connect_retries")
	var routes, clusterURL string
	str(&routes, "routes")
	str(&clusterURL, "cluster", "cluster_listen")

	if err := fs.Parse(args); err != nil {
		return nil, &FlagError{Err: err}
	}
	fs.Visit(func(fl *flag.Flag) { c.given[fl.Name] = true })
	c.parsed = fs
	f.Cluster.NoAdvertise = noAdvertise
	if routes != "" {
		for _, r := range strings.Split(routes, ",") {
			f.Cluster.Routes = append(f.Cluster.Routes, strings.TrimSpace(r))
		}
	}
	if clusterURL != "" {
		u, err := url.Parse(clusterURL)
		if err != nil {
			return nil, fmt.Errorf("--cluster: %w", err)
		}
		f.Cluster.Host = u.Hostname()
		f.Cluster.Port, _ = strconv.Atoi(u.Port())
	}
	if rest := fs.Args(); len(rest) > 0 {
		switch strings.ToLower(rest[0]) {
		case "version":
			c.ShowVersion = true
		case "help":
			c.ShowHelp = true
		default:
			return nil, fmt.Errorf("unrecognized command: %q", rest[0])
		}
	}
	if c.TestReload != "" && !c.CheckConfig {
		return nil, errors.New("--test_reload can only be used together with -t")
	}
	return c, nil
}

// FlagError is a command line the flag syntax rejects (an unknown flag,
// a value of the wrong type); nats-server exits with status 2 for these.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() + " (see keel -h)" }

func (e *FlagError) Unwrap() error { return e.Err }

// Given reports whether the named flag (any of its spellings) was on the
// command line.
func (c *Command) Given(names ...string) bool {
	for _, n := range names {
		if c.given[n] {
			return true
		}
	}
	return false
}

// flagSetting describes how one flag (by its spellings) overrides options.
type flagSetting struct {
	names []string
	apply func(dst, src *Options)
}

var flagSettings = []flagSetting{
	{[]string{"p", "port"}, func(d, s *Options) { d.Port = s.Port }},
	{[]string{"a", "addr", "net"}, func(d, s *Options) { d.Host = s.Host }},
	{[]string{"n", "name", "server_name"}, func(d, s *Options) { d.ServerName = s.ServerName }},
	{[]string{"client_advertise"}, func(d, s *Options) { d.ClientAdvertise = s.ClientAdvertise }},
	{[]string{"P", "pid"}, func(d, s *Options) { d.PidFile = s.PidFile }},
	{[]string{"ports_file_dir"}, func(d, s *Options) { d.PortsFileDir = s.PortsFileDir }},
	{[]string{"m", "http_port"}, func(d, s *Options) { d.HTTPPort = s.HTTPPort }},
	{[]string{"ms", "https_port"}, func(d, s *Options) { d.HTTPSPort = s.HTTPSPort }},
	{[]string{"profile"}, func(d, s *Options) { d.ProfPort = s.ProfPort }},
	{[]string{"l", "log"}, func(d, s *Options) { d.LogFile = s.LogFile }},
	{[]string{"log_size_limit"}, func(d, s *Options) { d.LogSizeLimit = s.LogSizeLimit }},
	{[]string{"max_traced_msg_len"}, func(d, s *Options) { d.MaxTracedMsgLen = s.MaxTracedMsgLen }},
	{[]string{"T", "logtime"}, func(d, s *Options) { d.Logtime = s.Logtime }},
	{[]string{"logtime_utc"}, func(d, s *Options) { d.LogtimeUTC = s.LogtimeUTC }},
	{[]string{"s", "syslog"}, func(d, s *Options) { d.Syslog = s.Syslog }},
	{[]string{"r", "remote_syslog"}, func(d, s *Options) { d.RemoteSyslog = s.RemoteSyslog }},
	{[]string{"D", "debug"}, func(d, s *Options) { d.Debug = s.Debug }},
	{[]string{"V", "trace"}, func(d, s *Options) { d.Trace = s.Trace }},
	{[]string{"js", "jetstream"}, func(d, s *Options) { d.JetStream = s.JetStream }},
	{[]string{"sd", "store_dir"}, func(d, s *Options) { d.StoreDir = s.StoreDir }},
	{[]string{"user"}, func(d, s *Options) { d.Username = s.Username }},
	{[]string{"pass"}, func(d, s *Options) { d.Password = s.Password }},
	{[]string{"auth"}, func(d, s *Options) { d.Authorization = s.Authorization }},
	{[]string{"cluster_name"}, func(d, s *Options) { d.Cluster.Name = s.Cluster.Name }},
	{[]string{"cluster_advertise"}, func(d, s *Options) { d.Cluster.Advertise = s.Cluster.Advertise }},
	{[]string{"no_advertise"}, func(d, s *Options) { d.Cluster.NoAdvertise = s.Cluster.NoAdvertise }},
	{[]string{"connect_retries"}, func(d, s *Options) { d.Cluster.ConnectRetries = s.Cluster.ConnectRetries }},
	{[]string{"routes"}, func(d, s *Options) { d.Cluster.Routes = s.Cluster.Routes }},
	{[]string{"cluster", "cluster_listen"}, func(d, s *Options) { d.Cluster.Host, d.Cluster.Port = s.Cluster.Host, s.Cluster.Port }},
}

// Apply overrides o with the settings given on the command line; flags
// for features that are not available add warnings, and TLS flags fail
// (see policy.go).
func (c *Command) Apply(o *Options) error {
	f := &c.flags
	for _, s := range flagSettings {
		if c.Given(s.names...) {
			s.apply(o, f)
		}
	}
	// The combined flags are applied last: -DV=false turns both off.
	if c.Given("DV") {
		o.Debug, o.Trace = c.multi.dv, c.multi.dv
	}
	if c.Given("VV") {
		o.Trace, o.TraceVerbose = c.multi.vv, c.multi.vv
	}
	if c.Given("DVV") {
		o.Debug, o.Trace, o.TraceVerbose = c.multi.dvv, c.multi.dvv, c.multi.dvv
	}

	warn := func(flagName string, ft feature) {
		o.Warnings = append(o.Warnings, fmt.Sprintf("command line: --%s: %s %s not available yet in Keel, the setting has no effect", flagName, ft.name, ft.is()))
	}
	warnings := []struct {
		names []string
		when  bool
		ft    feature
	}{
		{[]string{"ms", "https_port"}, f.HTTPSPort != 0, featHTTPS},
		{[]string{"routes", "cluster", "cluster_listen", "cluster_name", "cluster_advertise", "no_advertise", "connect_retries"}, true, featCluster},
	}
	for _, w := range warnings {
		for _, n := range w.names {
			if c.Given(n) && w.when {
				warn(n, w.ft)
				break
			}
		}
	}
	for _, n := range []string{"tls", "tlscert", "tlskey", "tlsverify", "tlscacert"} {
		if c.Given(n) {
			return fmt.Errorf("command line: --%s: %s %s not supported yet: Keel refuses to start rather than run without the protection it asks for",
				n, featTLS.name, featTLS.is())
		}
	}
	return nil
}

// Load builds the options the command line asks for: the configuration
// file (or defaults), then the flags, then Finalize. It returns the
// configuration's digest ("" without a file).
func (c *Command) Load() (*Options, string, error) {
	o, digest := Default(), ""
	if c.ConfigFile != "" {
		var err error
		if o, digest, err = loadFile(c.ConfigFile, c.CheckConfig); err != nil {
			return nil, "", err
		}
	} else if c.CheckConfig {
		return nil, "", errors.New("must specify [-c, --config] option to check configuration file syntax")
	}
	if err := c.Apply(o); err != nil {
		return nil, "", err
	}
	if err := o.Finalize(); err != nil {
		return nil, "", err
	}
	return o, digest, nil
}

// FlagNames lists every flag spelling, sorted (for tests and help).
func (c *Command) FlagNames() []string {
	var names []string
	c.parsed.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	return names
}
