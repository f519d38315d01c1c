package main

import (
	"os"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/opts"
)

// runner is a started server with what signal handling needs: the
// command line (to reload the same way), the options in force and the
// logger. Which signals it serves depends on the platform (signals.go,
// signals_other.go).
type runner struct {
	cmd  *opts.Command
	node *launch.Node
	s    *server.Server
	opts *opts.Options
	log  *logger.Std
	sigs chan os.Signal
	prof *profiler // nil without prof_port
}
