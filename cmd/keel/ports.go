package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/keelhq/keel/server/logger"
)

// ports is the ports file (ports_file_dir): where the server can be
// reached, in nats-server's JSON, so that tools that start a server on
// random ports can find them.
type ports struct {
	Nats       []string `json:"nats,omitempty"`
	Monitoring []string `json:"monitoring,omitempty"`
}

// portsFile names the file in dir as nats-server does:
// "<program>_<pid>.ports".
func portsFile(dir string) string {
	return filepath.Join(dir, fmt.Sprintf("%s_%d.ports", filepath.Base(os.Args[0]), os.Getpid()))
}

// writePortsFile writes the ports file of the running node into dir.
func (r *runner) writePortsFile(dir string) error {
	p := ports{Nats: urls("nats", r.s.Addr()), Monitoring: urls("http", r.node.Monitor().Addr())}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("ports file: %w", err)
	}
	if err := os.WriteFile(portsFile(dir), b, 0o666); err != nil {
		return fmt.Errorf("writing ports file: %w", err)
	}
	return nil
}

// removePortsFile removes the ports file written into dir, if any.
func removePortsFile(dir string, log logger.Logger) {
	if dir == "" {
		return
	}
	if err := os.Remove(portsFile(dir)); err != nil && !os.IsNotExist(err) {
		log.Errorf("Error cleaning up ports file %s: %v", portsFile(dir), err)
	}
}

// urls lists scheme://host:port for a listener; an unspecified address
// (0.0.0.0) is listed once per address of the machine's interfaces.
func urls(scheme string, a net.Addr) []string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return nil
	}
	port := strconv.Itoa(ta.Port)
	if !ta.IP.IsUnspecified() {
		return []string{scheme + "://" + net.JoinHostPort(ta.IP.String(), port)}
	}
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, ia := range addrs {
		var ip net.IP
		switch v := ia.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		default:
			continue
		}
		out = append(out, scheme+"://"+net.JoinHostPort(ip.String(), port))
	}
	return out
}
