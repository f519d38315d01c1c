// Package launch is Keel's composition root: it builds a running node from
// options — the core NATS server and, when JetStream is enabled (-js or a
// jetstream {} block; off otherwise, as in nats-server), the JetStream
// layer on the storage engine — and stops them in order. The binary and
// the integration tests start servers through it.
package launch

import (
	"fmt"
	"sync"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream"
	"github.com/keelhq/keel/server/logger"
	"github.com/keelhq/keel/server/monitor"
	"github.com/keelhq/keel/server/monitor/jsmon"
	"github.com/keelhq/keel/server/opts"
)

// Node is a running server with its JetStream layer (if enabled).
type Node struct {
	srv *server.Server
	js  *jetstream.JetStream
	mon *monitor.Server // nil without http_port
	log logger.Logger

	stopOnce sync.Once
	stopErr  error
	done     chan struct{}
}

// Start creates and starts the server for o and, when o enables JetStream,
// opens the store and starts JetStream. l may be nil (nothing is logged).
func Start(o *opts.Options, l logger.Logger) (*Node, error) {
	if l == nil {
		l = logger.Discard{}
	}
	s, err := server.New(o)
	if err != nil {
		return nil, err
	}
	s.SetLogger(l)
	// The server's banner comes first, then JetStream's, as nats-server
	// logs them.
	s.Announce()
	n := &Node{srv: s, log: l, done: make(chan struct{})}
	// Monitoring listens before JetStream starts, as in nats-server (its
	// JetStream endpoints report "not enabled" until then), and before
	// clients can connect.
	if n.mon, err = monitor.Start(s.Options(), monitor.Sources{Server: s}, l); err != nil {
		s.Shutdown()
		return nil, fmt.Errorf("launch: %w", err)
	}
	// JetStream starts before the listener opens, as in nats-server, so
	// that no client ever sees a server without the $JS.API it announces.
	if o.JetStream {
		cfg, warnings, err := jetstream.FromOptions(s.Options())
		if err != nil {
			n.mon.Close()
			s.Shutdown()
			return nil, err
		}
		for _, w := range warnings {
			l.Warnf("%s", w)
		}
		if n.js, err = jetstream.Start(s, cfg); err != nil {
			n.mon.Close()
			s.Shutdown()
			return nil, fmt.Errorf("launch: %w", err)
		}
		// However the server comes to shut down (a signal, lame duck
		// mode, an error below), JetStream stops first, while clients
		// are still connected to receive the acks it releases.
		s.OnShutdown(n.stopJetStream)
		n.mon.SetJetStream(jsmon.New(n.js))
	}
	if err := s.Start(); err != nil {
		n.mon.Close()
		s.Shutdown()
		return nil, err
	}
	// However the server comes to shut down, the node (monitoring) stops
	// with it.
	go func() {
		<-s.ShutdownStarted()
		n.Shutdown()
	}()
	return n, nil
}

// Server is the core NATS server.
func (n *Node) Server() *server.Server { return n.srv }

// JetStream is the JetStream layer, nil when it is not enabled.
func (n *Node) JetStream() *jetstream.JetStream { return n.js }

// Monitor is the HTTP monitoring server, nil without http_port (its
// methods are safe on nil).
func (n *Node) Monitor() *monitor.Server { return n.mon }

// ClientURL is a nats:// URL clients on this machine can use.
func (n *Node) ClientURL() string { return n.srv.ClientURL() }

// Shutdown stops monitoring and the server, which stops JetStream first
// (releasing the acks that are durable and closing the store cleanly).
// Safe to call more than once and from any goroutine.
func (n *Node) Shutdown() error {
	n.stopOnce.Do(func() {
		n.mon.Close()
		n.srv.Shutdown()
		close(n.done)
	})
	<-n.done
	return n.stopErr
}

// stopJetStream runs as the server's shutdown hook.
func (n *Node) stopJetStream() {
	if err := n.js.Shutdown(); err != nil {
		n.log.Errorf("%v", err)
		n.stopErr = err
	}
}

// WaitForShutdown blocks until the node has shut down.
func (n *Node) WaitForShutdown() { <-n.done }
