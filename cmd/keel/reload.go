package main

import (
	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/opts"
)

// reload re-reads the configuration file, applies the same command line
// over it (flags keep winning, as in nats-server) and hands the result to
// the server. A change that needs a restart is refused as a whole, with an
// [ERR] line naming it, and the server keeps running as it was. The server
// logs what changed ("Reloaded: ...").
func (r *runner) reload() {
	if r.cmd.ConfigFile == "" {
		r.log.Errorf("Failed to reload server configuration: can only reload config when a file is provided using -c or --config")
		return
	}
	next, digest, err := r.cmd.Load()
	if err == nil {
		_, err = opts.CheckReload(r.opts, next)
	}
	if err == nil {
		err = r.apply(next)
	}
	if err != nil {
		r.log.Errorf("Failed to reload server configuration: %v", err)
		return
	}
	for _, w := range next.Warnings {
		r.log.Warnf("%s", w)
	}
	if next.ConfigFile != "" {
		r.node.Monitor().SetConfigDigest(digest)
	}
}

// apply makes next the options in force, or changes nothing and returns
// why not. What can fail is prepared first: the new pid file (the old one
// is left, as nats-server leaves it) and the new logger, which the server
// then logs the changes through, as nats-server does.
func (r *runner) apply(next *opts.Options) error {
	newPid := next.PidFile != r.opts.PidFile && next.PidFile != ""
	if newPid {
		if err := writePidFile(next.PidFile); err != nil {
			return err
		}
	}
	old := r.log
	var newLog *logger.Std
	if loggingChanged(r.opts, next) {
		var err error
		if newLog, err = newLogger(next); err != nil {
			if newPid {
				removePidFile(next.PidFile, r.log)
			}
			return err
		}
		r.s.SetLogger(newLog)
		r.log = newLog
	}
	if err := r.s.Reload(next); err != nil {
		if newLog != nil {
			r.s.SetLogger(old)
			r.log = old
			newLog.Close()
		}
		if newPid {
			removePidFile(next.PidFile, r.log)
		}
		return err
	}
	if newLog != nil {
		old.Close()
	}
	if next.ProfBlockRate != r.opts.ProfBlockRate {
		r.setBlockProfileRate(next.ProfBlockRate)
	}
	if next.PortsFileDir != r.opts.PortsFileDir {
		// As nats-server: the file moves to the new folder.
		removePortsFile(r.opts.PortsFileDir, r.log)
		if next.PortsFileDir != "" {
			if err := r.writePortsFile(next.PortsFileDir); err != nil {
				r.log.Errorf("%v", err)
			}
		}
	}
	r.opts = next
	return nil
}

// loggingChanged reports whether the logger must be rebuilt.
func loggingChanged(a, b *opts.Options) bool {
	return a.LogFile != b.LogFile || a.Logtime != b.Logtime || a.LogtimeUTC != b.LogtimeUTC ||
		a.Debug != b.Debug || a.Trace != b.Trace ||
		a.LogSizeLimit != b.LogSizeLimit || a.LogMaxFiles != b.LogMaxFiles ||
		a.Syslog != b.Syslog || a.RemoteSyslog != b.RemoteSyslog
}
