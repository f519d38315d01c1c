//go:build unix && !linux

package monitor

// maxRSSBytes converts getrusage's peak resident size (bytes on the BSDs
// and macOS).
func maxRSSBytes(v int64) int64 { return v }
