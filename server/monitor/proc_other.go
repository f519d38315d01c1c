//go:build !unix

package monitor

import "runtime"

// cpuMeter without getrusage: memory from the Go runtime, no CPU figure.
type cpuMeter struct{}

func (c *cpuMeter) init() {}

func (c *cpuMeter) sample() (rss int64, pcpu float64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.Sys), 0
}
