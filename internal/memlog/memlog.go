// Package memlog is a logger for tests: it keeps every line it is given,
// labelled with nats-server's level tags ([INF], [WRN], [ERR], [FTL],
// [DBG], [TRC]), so that tests can assert on what a server logged. It
// satisfies the server's logger interface and is safe for concurrent use.
package memlog

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Logger records log lines in memory.
type Logger struct {
	mu    sync.Mutex
	lines []string
}

func (l *Logger) add(level, format string, a ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, level+" "+fmt.Sprintf(format, a...))
	l.mu.Unlock()
}

func (l *Logger) Noticef(format string, a ...any) { l.add("[INF]", format, a...) }
func (l *Logger) Warnf(format string, a ...any)   { l.add("[WRN]", format, a...) }
func (l *Logger) Errorf(format string, a ...any)  { l.add("[ERR]", format, a...) }
func (l *Logger) Fatalf(format string, a ...any)  { l.add("[FTL]", format, a...) }
func (l *Logger) Debugf(format string, a ...any)  { l.add("[DBG]", format, a...) }
func (l *Logger) Tracef(format string, a ...any)  { l.add("[TRC]", format, a...) }

// Lines returns a copy of the lines logged so far, level tag first.
func (l *Logger) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// Contains reports whether a line logged so far contains sub.
func (l *Logger) Contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, sub) {
			return true
		}
	}
	return false
}
