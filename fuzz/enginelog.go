package fuzz

import (
	"fmt"
	"regexp"
	"strconv"
	"sync"
)

// captureLog keeps the engine's log of a check, and finds the messages it
// reports lost by sequence.
type captureLog struct {
	mu    sync.Mutex
	lines []string
}

func (c *captureLog) add(level, f string, a ...any) {
	c.mu.Lock()
	if len(c.lines) < 10000 {
		c.lines = append(c.lines, level+" "+fmt.Sprintf(f, a...))
	}
	c.mu.Unlock()
}

func (c *captureLog) Noticef(f string, a ...any) { c.add("[INF]", f, a...) }
func (c *captureLog) Warnf(f string, a ...any)   { c.add("[WRN]", f, a...) }
func (c *captureLog) Errorf(f string, a ...any)  { c.add("[ERR]", f, a...) }
func (c *captureLog) Debugf(string, ...any)      {}

func (c *captureLog) tail(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines[max(0, len(c.lines)-n):]...)
}

// seqReport is a range of a stream's sequences a log line names as lost.
type seqReport struct {
	stream   string
	from, to uint64
}

// The engine's recovery log names lost messages as "stream S: message N
// ..." or "stream S: messages N to M ...".
var lostRE = regexp.MustCompile(`stream (\S+): messages? (\d+)(?: to (\d+))?`)

// walRecordRE finds a WAL record named damaged, or the record after which
// a tail was cut.
var walRecordRE = regexp.MustCompile(`wal record (\d+)|after record (\d+)`)

// walReport returns the log line that reports WAL record index lost, or "".
func (c *captureLog) walReport(index uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		for _, m := range walRecordRE.FindAllStringSubmatch(l, -1) {
			if n, err := strconv.ParseUint(m[1], 10, 64); err == nil && n == index {
				return l
			}
			if n, err := strconv.ParseUint(m[2], 10, 64); err == nil && n < index {
				return l
			}
		}
	}
	return ""
}

func (c *captureLog) reported() []seqReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []seqReport
	for _, l := range c.lines {
		for _, m := range lostRE.FindAllStringSubmatch(l, -1) {
			from, _ := strconv.ParseUint(m[2], 10, 64)
			to := from
			if m[3] != "" {
				to, _ = strconv.ParseUint(m[3], 10, 64)
			}
			out = append(out, seqReport{stream: m[1], from: from, to: max(from, to)})
		}
	}
	return out
}
