package monitor

// maxRSSBytes converts getrusage's peak resident size (KiB on Linux).
func maxRSSBytes(v int64) int64 { return v * 1024 }
