//go:build !unix

package main

import (
	"errors"
	"os"
	"os/signal"
)

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
