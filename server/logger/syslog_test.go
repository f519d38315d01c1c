//go:build !windows && !plan9

package logger

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The remote syslog receives each message once, with nats-server's
// severity for its level, and the debug and trace switches apply.
func TestRemoteSyslog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	l, err := New(Config{SyslogNetwork: "udp", SyslogAddr: pc.LocalAddr().String(), Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	l.Debugf("hidden %d", 1) // debug is off: nothing is sent
	tests := []struct {
		log  func(string, ...any)
		msg  string
		prio string // facility kern (0) + severity
	}{
		{l.Noticef, "notice line", "<5>"},
		{l.Warnf, "warn line", "<4>"},
		{l.Errorf, "error line", "<3>"},
		{l.Tracef, "trace line", "<5>"},
	}
	buf := make([]byte, 2048)
	for _, tc := range tests {
		tc.log("%s", tc.msg)
		pc.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("%s: %v", tc.msg, err)
		}
		got := string(buf[:n])
		if !strings.HasPrefix(got, tc.prio) || !strings.HasSuffix(strings.TrimSpace(got), ": "+tc.msg) {
			t.Errorf("got %q, want priority %s and message %q", got, tc.prio, tc.msg)
		}
	}
	l.Close()
	l.Noticef("after close") // dropped, no panic
}

// A log file wins over syslog, as in nats-server.
func TestFileWinsOverSyslog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.log")
	l, err := New(Config{File: path, Syslog: true, SyslogNetwork: "udp", SyslogAddr: "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	l.Noticef("to the file")
	l.Close()
	if got := readFile(t, path); !strings.Contains(got, "to the file") {
		t.Fatalf("file: %q", got)
	}
}

func TestSyslogDialError(t *testing.T) {
	_, err := New(Config{SyslogNetwork: "unix", SyslogAddr: filepath.Join(t.TempDir(), "no-such-socket")})
	if err == nil || !strings.Contains(err.Error(), "logger: connect to unix://") {
		t.Fatalf("err = %v", err)
	}
}
