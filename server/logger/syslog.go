//go:build !windows && !plan9

package logger

import (
	"fmt"
	"log/syslog"
	"os"
	"path/filepath"
)

// sysWriter sends log lines to syslog. Levels map to syslog severities as
// nats-server maps them (trace goes out as notice); the line carries no
// pid, time or label of its own, syslog adds them.
type sysWriter struct{ w *syslog.Writer }

// openSyslog connects to the local syslog daemon, or to remote (a network
// and address from opts.SyslogAddr) when it is set. The facility is the
// one nats-server uses for each: daemon locally, kernel (the zero
// facility) remotely, so existing syslog rules see Keel where they saw
// nats-server.
func openSyslog(network, addr string) (*sysWriter, error) {
	tag := filepath.Base(os.Args[0])
	var (
		w   *syslog.Writer
		err error
	)
	if network == "" {
		w, err = syslog.New(syslog.LOG_DAEMON|syslog.LOG_NOTICE, tag)
	} else {
		w, err = syslog.Dial(network, addr, syslog.LOG_DEBUG, tag)
	}
	if err != nil {
		where := "the local syslog"
		if network != "" {
			where = network + "://" + addr
		}
		return nil, fmt.Errorf("logger: connect to %s: %w", where, err)
	}
	return &sysWriter{w: w}, nil
}

func (s *sysWriter) write(lv level, msg string) {
	switch lv {
	case lvlWarn:
		s.w.Warning(msg)
	case lvlError:
		s.w.Err(msg)
	case lvlFatal:
		s.w.Crit(msg)
	case lvlDebug:
		s.w.Debug(msg)
	default: // info and trace
		s.w.Notice(msg)
	}
}

func (s *sysWriter) close() error { return s.w.Close() }
