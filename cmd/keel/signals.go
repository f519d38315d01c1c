//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// trapSignals starts catching the signals keel handles. It is called
// before the server starts, so that a signal sent as soon as the server
// listens is handled rather than killing the process.
func (r *runner) trapSignals() {
	r.sigs = make(chan os.Signal, 4)
	signal.Notify(r.sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
}

// handleSignals serves signals until the server has shut down, as
// nats-server does: SIGINT and SIGTERM shut down (SIGTERM is ignored in
// lame duck mode, which ends by itself), SIGHUP reloads the configuration,
// SIGUSR1 reopens the log file and SIGUSR2 enters lame duck mode.
func (r *runner) handleSignals() {
	ch := r.sigs
	defer signal.Stop(ch)
	done := make(chan struct{})
	go func() {
		r.node.WaitForShutdown()
		close(done)
	}()
	for {
		select {
		case <-done:
			return
		case sig := <-ch:
			r.log.Noticef("Trapped %q signal", sig)
			switch sig {
			case syscall.SIGINT:
				return // serve shuts the node down
			case syscall.SIGTERM:
				if r.s.InLameDuckMode() {
					continue
				}
				return
			case syscall.SIGHUP:
				r.reload()
			case syscall.SIGUSR1:
				r.reopenLog()
			case syscall.SIGUSR2:
				go r.s.LameDuckShutdown()
			}
		}
	}
}

// reopenLog reopens the log file after an external rotation.
func (r *runner) reopenLog() {
	if r.opts.LogFile == "" {
		r.log.Noticef("File log re-open ignored, not a file logger")
		return
	}
	if err := r.log.Reopen(); err != nil {
		r.log.Errorf("Failed to re-open the log file: %v", err)
		return
	}
	r.log.Noticef("File log re-opened")
}
