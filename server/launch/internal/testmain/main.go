// Command testmain is a minimal Keel binary for tests and benchmarks that
// need a real process (SIGKILL, compare.sh, oracle.sh) before cmd/keel
// starts through launch: it takes nats-server's flags and configuration
// file, starts a node, and stops it on SIGINT or SIGTERM.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/opts"
)

func main() {
	cmd, err := opts.ParseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	o, _, err := cmd.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log, err := logger.New(logger.Config{File: o.LogFile, Time: o.Logtime, Debug: o.Debug, Trace: o.Trace, Exit: func() {}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// KEEL_CPUPROFILE=file profiles the whole run (benchmarks).
	if path := os.Getenv("KEEL_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	n, err := launch.Start(o, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		n.Shutdown()
	}()
	n.WaitForShutdown()
}
