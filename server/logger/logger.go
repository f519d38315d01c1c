// Package logger writes Keel's log in nats-server's style:
// "[pid] 2006/01/02 15:04:05.000000 [INF] message", with debug and trace
// levels switched on by -D and -V, to stderr, to a file that rotates by
// size, or to a local or remote syslog.
package logger

// Logger is what every server package logs through.
type Logger interface {
	Noticef(format string, v ...any)
	Warnf(format string, v ...any)
	Errorf(format string, v ...any)
	Fatalf(format string, v ...any)
	Debugf(format string, v ...any)
	Tracef(format string, v ...any)
}

// Discard is a Logger that drops everything (tests, embedded use).
type Discard struct{}

func (Discard) Noticef(string, ...any) {}
func (Discard) Warnf(string, ...any)   {}
func (Discard) Errorf(string, ...any)  {}
func (Discard) Fatalf(string, ...any)  {}
func (Discard) Debugf(string, ...any)  {}
func (Discard) Tracef(string, ...any)  {}
