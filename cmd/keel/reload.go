package main

import (
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
	for _, w := range next.Warnings {
		r.log.Warnf("%s", w)
	}
	if loggingChanged(r.opts, next) {
		l, err := newLogger(next)
		if err != nil {
			r.log.Errorf("Failed to reload server configuration: %v", err)
			return
		}
		old := r.log
		r.s.SetLogger(l)
		r.log = l
		old.Close()
	}
	if err := r.s.Reload(next); err != nil {
		r.log.Errorf("Failed to reload server configuration: %v", err)
		return
	}
	r.opts = next
	for _, c := range changes {
		r.log.Noticef("Reloaded: %s", c)
	}
	if next.ConfigFile != "" {
		r.log.Noticef("Reloaded configuration file: %s (%s)", next.ConfigFile, digest)
	}
}

// loggingChanged reports whether the logger must be rebuilt.
func loggingChanged(a, b *opts.Options) bool {
	return a.LogFile != b.LogFile || a.Logtime != b.Logtime || a.LogtimeUTC != b.LogtimeUTC ||
		a.Debug != b.Debug || a.Trace != b.Trace ||
		a.LogSizeLimit != b.LogSizeLimit || a.LogMaxFiles != b.LogMaxFiles
}
