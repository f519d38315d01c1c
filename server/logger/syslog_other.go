//go:build windows || plan9

package logger

import "errors"

type sysWriter struct{}

func openSyslog(network, addr string) (*sysWriter, error) {
	return nil, errors.New("logger: syslog is not supported on this platform")
}

func (s *sysWriter) write(level, string) {}

func (s *sysWriter) close() error { return nil }
