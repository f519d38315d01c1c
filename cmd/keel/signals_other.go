//go:build !unix

package main

import (
	"errors"
	"os"
	"os/signal"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/opts"
)

// runner is a started node; without Unix signals only an interrupt
// (Ctrl-C) is handled, as a shutdown.
type runner struct {
	cmd  *opts.Command
	node *launch.Node
	s    *server.Server
	opts *opts.Options
	log  *logger.Std
	sigs chan os.Signal
	prof *profiler // nil without prof_port
}

func (r *runner) trapSignals() {
	r.sigs = make(chan os.Signal, 1)
	signal.Notify(r.sigs, os.Interrupt)
}

func (r *runner) handleSignals() {
	defer signal.Stop(r.sigs)
	done := make(chan struct{})
	go func() {
		r.node.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
	case sig := <-r.sigs:
		r.log.Noticef("Trapped %q signal", sig)
	}
}

func sendSignal(string) error {
	return errors.New("--signal is only supported on Unix systems")
}
