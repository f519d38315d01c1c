package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"time"
)

// profiler serves Go's pprof endpoints on prof_port (--profile), as
// nats-server does, on its own listener and mux so that nothing else is
// exposed with it.
type profiler struct {
	srv *http.Server
	l   net.Listener
}

// startProfiler listens on host:port (-1: any free port) and logs the
// port.
func (r *runner) startProfiler(host string, port int) error {
	if port == -1 {
		port = 0
	}
	hp := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", hp)
	if err != nil {
		return fmt.Errorf("error starting profiler: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p := &profiler{l: l, srv: &http.Server{Handler: mux, MaxHeaderBytes: 1 << 20, ReadHeaderTimeout: 5 * time.Second}}
	r.log.Noticef("profiling port: %d", l.Addr().(*net.TCPAddr).Port)
	go p.srv.Serve(l)
	r.prof = p
	return nil
}

func (p *profiler) close() {
	if p != nil {
		p.srv.Close()
	}
}

// setBlockProfileRate applies prof_block_rate (0 turns block profiling
// off), with nats-server's warning when it is on.
func (r *runner) setBlockProfileRate(rate int) {
	runtime.SetBlockProfileRate(rate)
	if rate > 0 {
		r.log.Warnf("Block profiling is enabled (rate %d), this may have a performance impact", rate)
	}
}
