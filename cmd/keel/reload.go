package main

import (
	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/opts"
)

// reload re-reads the configuration file, applies the same command line
// over it (flags keep winning, as in nats-server) and hands the result to
// the server. A change that needs a restart is refused as a whole, with an
// [ERR] line naming it, and the server keeps running as it was.
func (r *runner) reload() {
	next, digest, err := r.cmd.Load()
	if err != nil {
		r.log.Errorf("Failed to reload server configuration: %v", err)
		return
	}
	changes, err := opts.CheckReload(r.opts, next)
	if err != nil {
		r.log.Errorf("Failed to reload server configuration: %v", err)
		return
	}
	// Open a new log file before applying anything, so that a log file
	// that cannot be opened refuses the reload as a whole.
	var newLog *logger.Std
	if loggingChanged(r.opts, next) {
		if newLog, err = newLogger(next); err != nil {
			r.log.Errorf("Failed to reload server configuration: %v", err)
			return
		}
	}
	if err := r.s.Reload(next); err != nil {
		if newLog != nil {
			newLog.Close()
		}
		r.log.Errorf("Failed to reload server configuration: %v", err)
		return
	}
	if newLog != nil {
		old := r.log
		r.s.SetLogger(newLog)
		r.log = newLog
		old.Close()
	}
	r.opts = next
	for _, w := range next.Warnings {
		r.log.Warnf("%s", w)
	}
	for _, c := range changes {
		r.log.Noticef("Reloaded: %s", c)
	}
	if next.ConfigFile != "" {
		r.log.Noticef("Reloaded configuration file: %s (%s)", next.ConfigFile, digest)
		r.node.Monitor().SetConfigDigest(digest)
	}
}

// loggingChanged reports whether the logger must be rebuilt.
func loggingChanged(a, b *opts.Options) bool {
	return a.LogFile != b.LogFile || a.Logtime != b.Logtime || a.LogtimeUTC != b.LogtimeUTC ||
		a.Debug != b.Debug || a.Trace != b.Trace ||
		a.LogSizeLimit != b.LogSizeLimit || a.LogMaxFiles != b.LogMaxFiles
}
