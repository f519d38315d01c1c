// Command keel is the Keel server: a NATS server that takes nats-server's
// command-line flags and configuration files.
//
//	keel                          listen on 0.0.0.0:4222
//	keel -js -sd ./data           with JetStream, storing in ./data
//	keel -c server.conf           with a configuration file
//	keel -t -c server.conf        check a configuration file and exit
//	keel --signal reload=PIDFILE  signal a running keel
//
// Signals: SIGINT and SIGTERM shut down gracefully, SIGHUP reloads the
// configuration file, SIGUSR1 reopens the log file, SIGUSR2 enters lame
// duck mode.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/opts"
)

func init() {
	// JetStream is started by launch: -js and jetstream {} take effect.
	opts.JetStreamWired = true
	// HTTP monitoring (-m, http_port) is started by launch too.
	opts.MonitoringWired = true
}

// version is Keel's release, set with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const exe = "keel"

// Exit codes.
const (
	exitOK            = 0
	exitError         = 1
	exitUsage         = 2
	exitReloadRestart = 3 // -t --test_reload: the change needs a restart
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without os.Exit, so that every path can clean up.
func run(args []string, stdout, stderr io.Writer) int {
	cmd, err := opts.ParseFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exe, err)
		if fe := (*opts.FlagError)(nil); errors.As(err, &fe) {
			return exitUsage
		}
		return exitError
	}
	switch {
	case cmd.ShowHelp:
		fmt.Fprintf(stdout, "%s\n", opts.Usage)
		return exitOK
	case cmd.ShowVersion:
		fmt.Fprintf(stdout, "%s: v%s (nats-server v%s compatible)\n", exe, version, server.Version)
		return exitOK
	case cmd.ShowTLSHelp:
		fmt.Fprintf(stdout, "%s\n", opts.TLSUsage)
		return exitOK
	case cmd.Signal != "":
		if err := sendSignal(cmd.Signal); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", exe, err)
			return exitError
		}
		return exitOK
	}

	o, digest, err := cmd.Load()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exe, err)
		return exitError
	}
	if cmd.CheckConfig {
		return checkConfig(cmd, o, digest, stderr)
	}
	return serve(cmd, o, digest, stderr)
}

// checkConfig reports on a configuration that loaded, as -t does.
func checkConfig(cmd *opts.Command, o *opts.Options, digest string, stderr io.Writer) int {
	for _, w := range o.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", exe, w)
	}
	fmt.Fprintf(stderr, "%s: configuration file %s is valid (%s)\n", exe, o.ConfigFile, digest)
	if cmd.TestReload == "" {
		return exitOK
	}
	next := *cmd
	next.ConfigFile = cmd.TestReload
	no, _, err := next.Load()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exe, err)
		return exitError
	}
	if _, err := opts.CheckReload(o, no); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exe, err)
		if errors.Is(err, opts.ErrReloadNotSupported) {
			return exitReloadRestart
		}
		return exitError
	}
	fmt.Fprintf(stderr, "%s: configuration file %s can be reloaded\n", exe, cmd.TestReload)
	return exitOK
}

// newLogger builds the logger the options ask for: a log file, else a
// remote or local syslog, else standard error, as nats-server chooses.
func newLogger(o *opts.Options) (*logger.Std, error) {
	var network, addr string
	if o.RemoteSyslog != "" {
		var err error
		if network, addr, err = opts.SyslogAddr(o.RemoteSyslog); err != nil {
			return nil, err
		}
	}
	return logger.New(logger.Config{
		Syslog:        o.Syslog,
		SyslogNetwork: network,
		SyslogAddr:    addr,
		File:          o.LogFile,
		Time:          o.Logtime,
		UTC:           o.LogtimeUTC,
		Debug:         o.Debug,
		Trace:         o.Trace,
		SizeLimit:     o.LogSizeLimit,
		MaxFiles:      o.LogMaxFiles,
		Colors:        o.LogFile == "" && logger.StderrIsTerminal(),
		// Fatal errors are returned through run so that the pid file is
		// removed; the logger must not exit by itself.
		Exit: func() {},
	})
}

// serve runs the node (server and, when enabled, JetStream) until it
// shuts down.
func serve(cmd *opts.Command, o *opts.Options, digest string, stderr io.Writer) int {
	log, err := newLogger(o)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exe, err)
		return exitError
	}
	r := &runner{cmd: cmd, opts: o, log: log}
	// A reload may replace the logger: always close the current one.
	defer func() { r.log.Close() }()

	if o.PidFile != "" {
		if err := writePidFile(o.PidFile); err != nil {
			log.Fatalf("%v", err)
			return exitError
		}
	}
	// The pid file in force at exit: a reload may have moved it.
	defer func() { removePidFile(r.opts.PidFile, r.log) }()
	r.trapSignals()
	n, err := launch.Start(o, log)
	if err != nil {
		log.Fatalf("%v", err)
		return exitError
	}
	r.node, r.s = n, n.Server()
	if o.ConfigFile != "" {
		n.Monitor().SetConfigDigest(digest)
	}
	if o.ProfPort != 0 {
		if err := r.startProfiler(o.Host, o.ProfPort); err != nil {
			log.Fatalf("%v", err)
			n.Shutdown()
			return exitError
		}
		defer r.prof.close()
	}
	if o.ProfBlockRate != 0 {
		r.setBlockProfileRate(o.ProfBlockRate)
	}
	if o.PortsFileDir != "" {
		if err := r.writePortsFile(o.PortsFileDir); err != nil {
			log.Errorf("%v", err)
		}
	}
	// The ports file in force at exit: a reload may have moved it.
	defer func() { removePortsFile(r.opts.PortsFileDir, r.log) }()
	r.handleSignals()
	if err := n.Shutdown(); err != nil {
		return exitError
	}
	return exitOK
}
