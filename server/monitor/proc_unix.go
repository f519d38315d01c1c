//go:build unix

package monitor

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// cpuMeter reports the process's resident memory and its CPU use (percent
// of one core) since the previous sample, like the reference's mem and cpu.
type cpuMeter struct {
	mu       sync.Mutex
	lastCPU  time.Duration
	lastWall time.Time
}

func (c *cpuMeter) init() {
	c.lastCPU, c.lastWall = processCPU(), time.Now()
}

// sample returns resident bytes and the CPU percentage over the time since
// the previous sample (or since monitoring started).
func (c *cpuMeter) sample() (rss int64, pcpu float64) {
	cpu, now := processCPU(), time.Now()
	c.mu.Lock()
	if wall := now.Sub(c.lastWall); wall > 0 {
		pcpu = 100 * float64(cpu-c.lastCPU) / float64(wall)
		// Round to a tenth, as the reference reports it.
		pcpu = float64(int64(pcpu*10+0.5)) / 10
	}
	c.lastCPU, c.lastWall = cpu, now
	c.mu.Unlock()
	return residentBytes(), pcpu
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// residentBytes reads the resident set from /proc (Linux); elsewhere it
// falls back to the peak resident size getrusage knows.
func residentBytes() int64 {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := bytes.Fields(b); len(f) > 1 {
			if pages, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
				return pages * int64(os.Getpagesize())
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return maxRSSBytes(ru.Maxrss)
}
