package main

import (
	"github.com/keelhq/keel/server/opts"
)

// reload re-reads the configuration file, applies the same command line
// over it (flags keep winning, as in nats-server) and hands the result to
// the server. A change that needs a restart is refused as a whole, with an
// [ERR] line naming it, and the server keeps running as it was. The server
// logs what changed ("Reloaded: ...").
func (r *runner) reload() {
	next, digest, err := r.cmd.Load()
	if err != nil {
		r.log.Errorf("Failed to reload server configuration: %v", err)
		return
	}
	if _, err := opts.CheckReload(r.opts, next); err != nil {
		r.log.Errorf("Failed to reload server configuration: %v", err)
		return
	}
	// Open the new log before applying anything, so that a log file that
	// cannot be opened refuses the reload as a whole; the server logs the
	// changes through it, as nats-server does.
	old := r.log
	if loggingChanged(r.opts, next) {
		newLog, err := newLogger(next)
		if err != nil {
			r.log.Errorf("Failed to reload server configuration: %v", err)
			return
		}
		r.s.SetLogger(newLog)
		r.log = newLog
	}
	if err := r.s.Reload(next); err != nil {
		if r.log != old {
			r.log.Close()
			r.log = old
			r.s.SetLogger(old)
		}
		r.log.Errorf("Failed to reload server configuration: %v", err)
		return
	}
	if r.log != old {
		old.Close()
	}
	if next.PidFile != r.opts.PidFile && next.PidFile != "" {
		if err := writePidFile(next.PidFile); err != nil {
			r.log.Errorf("%v", err)
		}
	}
	r.opts = next
	for _, w := range next.Warnings {
		r.log.Warnf("%s", w)
	}
	if next.ConfigFile != "" {
		r.node.Monitor().SetConfigDigest(digest)
	}
}

// loggingChanged reports whether the logger must be rebuilt.
func loggingChanged(a, b *opts.Options) bool {
	return a.LogFile != b.LogFile || a.Logtime != b.Logtime || a.LogtimeUTC != b.LogtimeUTC ||
		a.Debug != b.Debug || a.Trace != b.Trace ||
		a.LogSizeLimit != b.LogSizeLimit || a.LogMaxFiles != b.LogMaxFiles ||
		a.Syslog != b.Syslog || a.RemoteSyslog != b.RemoteSyslog
}
