package logger

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config says where and how to log.
type Config struct {
	// File is the log file; empty logs to standard error.
	File string
	// Time prefixes lines with the date and time (logtime); UTC uses UTC
	// rather than local time (logtime_utc).
	Time bool
	UTC  bool
	// Debug and Trace enable Debugf and Tracef.
	Debug bool
	Trace bool
	// SizeLimit rotates the file once it grows beyond this many bytes
	// (logfile_size_limit); 0 never rotates.
	SizeLimit int64
	// MaxFiles keeps at most this many files, the current one included,
	// deleting the oldest rotated ones (logfile_max_num); 0 keeps all.
	MaxFiles int
	// Colors colors the level labels, as nats-server does on a terminal.
	// Never used for files.
	Colors bool
	// Syslog sends the log to the local syslog daemon instead of standard
	// error; SyslogNetwork and SyslogAddr ("udp", "host:514") to a remote
	// one. A log file wins over both, as in nats-server.
	Syslog        bool
	SyslogNetwork string
	SyslogAddr    string
	// Output replaces standard error when File is empty (tests).
	Output io.Writer
	// Exit is called by Fatalf after logging; nil means os.Exit(1).
	Exit func()
}

// Std writes nats-server's log format:
//
//	[1234] 2006/01/02 15:04:05.000000 [INF] message
//
// to standard error or to a file rotated by size, or sends the messages to
// syslog. It is safe for concurrent use; a line is formatted outside the
// lock and written with a single write.
type Std struct {
	cfg    Config
	prefix []byte // "[pid] "
	labels [numLevels][]byte
	debug  atomic.Bool
	trace  atomic.Bool

	mu     sync.Mutex
	out    io.Writer
	file   *os.File   // nil when logging to a writer
	size   int64      // bytes in the current file
	sys    *sysWriter // set once by New: the log goes to syslog
	closed bool
}

type level int

const (
	lvlInfo level = iota
	lvlWarn
	lvlError
	lvlFatal
	lvlDebug
	lvlTrace
	numLevels
)

var (
	plainLabels = [numLevels]string{"[INF] ", "[WRN] ", "[ERR] ", "[FTL] ", "[DBG] ", "[TRC] "}
	// The colors of nats-server's terminal output.
	colorLabels = [numLevels]string{
		"[\x1b[32mINF\x1b[0m] ", "[\x1b[0;93mWRN\x1b[0m] ", "[\x1b[31mERR\x1b[0m] ",
		"[\x1b[31mFTL\x1b[0m] ", "[\x1b[36mDBG\x1b[0m] ", "[\x1b[33mTRC\x1b[0m] ",
	}
)

// logFilePerm is the mode of a new log file, as nats-server creates it.
const logFilePerm = 0o640

// New returns a logger for cfg, opening the log file if there is one.
func New(cfg Config) (*Std, error) {
	l := &Std{cfg: cfg, prefix: []byte("[" + strconv.Itoa(os.Getpid()) + "] ")}
	labels := plainLabels
	if cfg.Colors && cfg.File == "" {
		labels = colorLabels
	}
	for i, s := range labels {
		l.labels[i] = []byte(s)
	}
	l.debug.Store(cfg.Debug)
	l.trace.Store(cfg.Trace)
	if cfg.File == "" && (cfg.Syslog || cfg.SyslogNetwork != "") {
		sys, err := openSyslog(cfg.SyslogNetwork, cfg.SyslogAddr)
		if err != nil {
			return nil, err
		}
		l.sys = sys
		return l, nil
	}
	if cfg.File == "" {
		l.out = cfg.Output
		if l.out == nil {
			l.out = os.Stderr
		}
		return l, nil
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// StderrIsTerminal reports whether standard error is a terminal, which is
// when nats-server colors its labels.
func StderrIsTerminal() bool {
	st, err := os.Stderr.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (l *Std) open() error {
	f, err := os.OpenFile(l.cfg.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, logFilePerm)
	if err != nil {
		return fmt.Errorf("logger: open %s: %w", l.cfg.File, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logger: stat %s: %w", l.cfg.File, err)
	}
	l.file, l.out, l.size = f, f, st.Size()
	return nil
}

// SetLevels switches debug and trace output on or off.
func (l *Std) SetLevels(debug, trace bool) {
	l.debug.Store(debug)
	l.trace.Store(trace)
}

// Noticef logs at [INF].
func (l *Std) Noticef(format string, v ...any) { l.log(lvlInfo, format, v) }

// Warnf logs at [WRN].
func (l *Std) Warnf(format string, v ...any) { l.log(lvlWarn, format, v) }

// Errorf logs at [ERR].
func (l *Std) Errorf(format string, v ...any) { l.log(lvlError, format, v) }

// Fatalf logs at [FTL] and ends the process, as nats-server does.
func (l *Std) Fatalf(format string, v ...any) {
	l.log(lvlFatal, format, v)
	if l.cfg.Exit != nil {
		l.cfg.Exit()
		return
	}
	os.Exit(1)
}

// Debugf logs at [DBG] when debug is on.
func (l *Std) Debugf(format string, v ...any) {
	if l.debug.Load() {
		l.log(lvlDebug, format, v)
	}
}

// Tracef logs at [TRC] when trace is on.
func (l *Std) Tracef(format string, v ...any) {
	if l.trace.Load() {
		l.log(lvlTrace, format, v)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (l *Std) log(lv level, format string, v []any) {
	if l.sys != nil {
		msg := fmt.Sprintf(format, v...)
		l.mu.Lock()
		if !l.closed {
			l.sys.write(lv, msg)
		}
		l.mu.Unlock()
		return
	}
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], l.prefix...)
	if l.cfg.Time {
		now := time.Now()
		if l.cfg.UTC {
			now = now.UTC()
		}
		b = appendTime(b, now)
	}
	b = append(b, l.labels[lv]...)
	b = fmt.Appendf(b, format, v...)
	b = append(b, '\n')
	l.write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		bufPool.Put(bp)
	}
}

// appendTime appends "2006/01/02 15:04:05.000000 ".
func appendTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = appendInt(b, year, 4)
	b = append(b, '/')
	b = appendInt(b, int(month), 2)
	b = append(b, '/')
	b = appendInt(b, day, 2)
	b = append(b, ' ')
	b = appendInt(b, hour, 2)
	b = append(b, ':')
	b = appendInt(b, min, 2)
	b = append(b, ':')
	b = appendInt(b, sec, 2)
	b = append(b, '.')
	b = appendInt(b, t.Nanosecond()/1000, 6)
	return append(b, ' ')
}

// appendInt appends n zero-padded to width digits.
func appendInt(b []byte, n, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for n >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + n)
	return append(b, tmp[i:]...)
}

func (l *Std) write(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out == nil {
		return // closed
	}
	n, err := l.out.Write(b)
	if l.file == nil || err != nil {
		return
	}
	l.size += int64(n)
	if l.cfg.SizeLimit > 0 && l.size > l.cfg.SizeLimit {
		l.rotateLocked()
	}
}

// Reopen closes and reopens the log file, so that a file moved away by
// an external rotation tool is replaced (SIGUSR1). Without a file it does
// nothing.
func (l *Std) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	l.file.Close()
	l.file, l.out = nil, nil
	return l.open()
}

// Close closes the log file; later log calls are dropped.
func (l *Std) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out = nil
	if l.sys != nil {
		if l.closed {
			return nil
		}
		l.closed = true
		return l.sys.close()
	}
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}
