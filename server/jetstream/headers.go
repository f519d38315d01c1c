package jetstream

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// Message headers as they travel: "NATS/1.0[ status]\r\nKey: Value\r\n...\r\n".
// Keys are matched exactly (case-sensitive), as nats-server does for the
// Nats-* headers it interprets. Nothing here allocates unless it builds a
// new header block.

const hdrLine = "NATS/1.0\r\n"

// headerKeyIndex is where key starts as a header name in hdr (at the start
// of a line and followed by ':'), or -1.
func headerKeyIndex(hdr []byte, key string) int {
	off := 0
	for {
		// strings.Index on a view of hdr: converting key to []byte would
		// allocate for keys longer than 32 bytes.
		i := strings.Index(bstr(hdr[off:]), key)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(key)
		if i >= 2 && hdr[i-1] == '\n' && hdr[i-2] == '\r' && end < len(hdr) && hdr[end] == ':' {
			return i
		}
		off = i + 1
	}
}

// headerValue returns the value of key in hdr (leading spaces trimmed),
// aliasing hdr, or nil when absent.
func headerValue(hdr []byte, key string) []byte {
	if len(hdr) == 0 {
		return nil
	}
	i := headerKeyIndex(hdr, key)
	if i < 0 {
		return nil
	}
	i += len(key) + 1
	for i < len(hdr) && hdr[i] == ' ' {
		i++
	}
	start := i
	for i < len(hdr) && !(hdr[i] == '\r' && i+1 < len(hdr) && hdr[i+1] == '\n') {
		i++
	}
	return hdr[start:i:i]
}

// hasHeader reports whether key is present (even with an empty value).
func hasHeader(hdr []byte, key string) bool {
	return len(hdr) > 0 && headerKeyIndex(hdr, key) >= 0
}

// headerUint parses a header holding a decimal number.
func headerUint(hdr []byte, key string) (uint64, bool) {
	v := headerValue(hdr, key)
	if len(v) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(bstr(v), 10, 64)
	if err != nil {
		// The reference reads an unparsable number as an impossible
		// sequence: the expectation then fails rather than being ignored.
		return ^uint64(0), true
	}
	return n, true
}

// appendHeaderField adds "key: value" to a header block (a new block when
// hdr is empty). It never writes into hdr's backing array beyond its
// length, so a header aliasing a client's buffer is safe to extend.
func appendHeaderField(hdr []byte, key, value string) []byte {
	var out []byte
	if len(hdr) >= 2 {
		body := hdr[:len(hdr)-2] // drop the blank line that ends the block
		out = make([]byte, 0, len(hdr)+len(key)+len(value)+4)
		out = append(out, body...)
	} else {
		out = make([]byte, 0, len(hdrLine)+len(key)+len(value)+6)
		out = append(out, hdrLine...)
	}
	out = append(out, key...)
	out = append(out, ": "...)
	out = append(out, value...)
	return append(out, "\r\n\r\n"...)
}

// removeHeaderField returns hdr without the lines of key (a copy when
// anything is removed; nil when nothing but the status line is left).
func removeHeaderField(hdr []byte, key string) []byte {
	i := headerKeyIndex(hdr, key)
	if i < 0 {
		return hdr
	}
	out := append([]byte(nil), hdr...)
	for {
		i = headerKeyIndex(out, key)
		if i < 0 {
			break
		}
		end := bytes.Index(out[i:], []byte("\r\n"))
		if end < 0 {
			break
		}
		out = append(out[:i], out[i+end+2:]...)
	}
	if len(out) <= len(hdrLine)+2 {
		return nil
	}
	return out
}

// stripStatus turns a header block with a status ("NATS/1.0 503\r\n...")
// into a plain one: a stored message carries no status.
func stripStatus(hdr []byte) []byte {
	if len(hdr) <= len("NATS/1.0") || hdr[len("NATS/1.0")] != ' ' {
		return hdr
	}
	nl := bytes.Index(hdr, []byte("\r\n"))
	if nl < 0 {
		return hdr
	}
	out := make([]byte, 0, len(hdr))
	out = append(out, "NATS/1.0"...)
	return append(out, hdr[nl:]...)
}

// parseTTL reads a Nats-TTL value as the reference does: "never" (-1), a
// Go duration of at least one second, or a number of seconds. It returns
// seconds; ok false means the value is invalid.
func parseTTL(v string) (int64, bool) {
	if strings.EqualFold(v, "never") {
		return -1, true
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < time.Second {
			return 0, false
		}
		return int64(d.Seconds()), true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
