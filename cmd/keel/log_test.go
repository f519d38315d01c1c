//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestStartupAndShutdownLog checks the order of keel's start-up and
// shutdown lines against nats-server's: the server's banner, the
// configuration file, then JetStream's, then the listener and "ready";
// at the end the trapped signal, "Initiating Shutdown..." and "Server
// Exiting..".
func TestStartupAndShutdownLog(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keel.conf")
	writeConf(t, conf, fmt.Sprintf("listen: 127.0.0.1:-1\nserver_name: banner\njetstream { store_dir: %q }\n", dir))
	p := start(t, "-c", conf)
	// The banner is one block of consecutive lines.
	banner := []string{
		`^\[\d+\] \S+ \S+ \[INF\] Starting nats-server`,
		`\[INF\]   Version:  2\.15\.3$`,
		`\[INF\]   Git:      \[.+\]$`,
		`\[INF\]   Name:     banner$`,
		`\[INF\]   Node:     [0-9A-Za-z]{8}$`,
		`\[INF\]   ID:       N[A-Z0-9]{55}$`,
		`\[INF\] Using configuration file: ` + regexp.QuoteMeta(conf) + ` \(sha256:[0-9a-f]{64}\)$`,
	}
	_, next := p.waitFor(banner[0], 0)
	if next != 1 {
		t.Fatalf("the log does not start with the banner:\n%s", p.log())
	}
	for _, re := range banner[1:] {
		at := next
		if _, next = p.waitFor(re, at); next != at+1 {
			t.Fatalf("line %d does not match %q; log:\n%s", at, re, p.log())
		}
	}
	// Then, in this order, with JetStream's own lines in between.
	for _, re := range []string{
		`\[INF\] Starting JetStream$`,
		`\[INF\] Listening for client connections on 127\.0\.0\.1:\d+$`,
		`\[INF\] Server is ready$`,
	} {
		_, next = p.waitFor(re, next)
	}
	p.signal(syscall.SIGTERM)
	for _, re := range []string{
		`\[INF\] Trapped "terminated" signal$`,
		`\[INF\] Initiating Shutdown\.\.\.$`,
		`\[INF\] Server Exiting\.\.$`,
	} {
		_, next = p.waitFor(re, next)
	}
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestRemoteSyslog: with remote_syslog the log goes to the syslog server
// instead of standard error.
func TestRemoteSyslog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	p := start(t, "-a", "127.0.0.1", "-p", "-1", "-r", "udp://"+pc.LocalAddr().String())
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	for {
		pc.SetReadDeadline(deadline)
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no \"Server is ready\" from syslog: %v; stderr:\n%s", err, p.log())
		}
		if strings.HasSuffix(strings.TrimSpace(string(buf[:n])), "Server is ready") {
			break
		}
	}
	if strings.Contains(p.log(), "Server is ready") {
		t.Fatalf("logged to standard error too:\n%s", p.log())
	}
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestReloadSignal: SIGHUP applies what nats-server reloads (logging the
// change as it does) and refuses the rest with an [ERR] line, leaving the
// server as it was.
func TestReloadSignal(t *testing.T) {
	tests := []struct {
		name   string
		change string // appended to the configuration before SIGHUP
		want   string // log line after SIGHUP
	}{
		{"logtime_utc", "logtime_utc: true\n", `\[INF\] Reloaded: logtime_utc = true$`},
		{"trace_verbose", "trace_verbose: true\n", `\[INF\] Reloaded: trace_verbose = true$`},
		{"max_traced_msg_len", "max_traced_msg_len: 10\n", `\[INF\] Reloaded: max_traced_msg_len = 10$`},
		{"no_fast_producer_stall", "no_fast_producer_stall: true\n", `\[INF\] Reloaded: no_fast_producer_stall = true$`},
		{"max_subscriptions", "max_subscriptions: 10\n",
			`\[ERR\] Failed to reload server configuration: config reload not supported for max_subscriptions \(old=0, new=10\)$`},
		{"write_timeout", "write_timeout: retry\n",
			`\[ERR\] Failed to reload server configuration: config reload not supported for write_timeout`},
		{"lame_duck_duration", "lame_duck_duration: \"60s\"\n",
			`\[ERR\] Failed to reload server configuration: config reload not supported for lame_duck_duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "keel.conf")
			base := "listen: 127.0.0.1:-1\n"
			writeConf(t, conf, base)
			p := start(t, "-c", conf)
			_, next := p.waitFor(`Server is ready`, 0)
			writeConf(t, conf, base+tc.change)
			p.signal(syscall.SIGHUP)
			_, next = p.waitFor(tc.want, next)
			if strings.Contains(tc.want, "Reloaded:") {
				p.waitFor(`\[INF\] Reloaded server configuration \(sha256:[0-9a-f]{64}\)$`, next)
			}
			p.signal(syscall.SIGTERM)
			if code := p.waitExit(); code != 0 {
				t.Fatalf("exit code %d", code)
			}
		})
	}
}

// Without a configuration file there is nothing to reload, as nats-server
// says.
func TestReloadWithoutFile(t *testing.T) {
	p := start(t, "-a", "127.0.0.1", "-p", "-1")
	_, next := p.waitFor(`Server is ready`, 0)
	p.signal(syscall.SIGHUP)
	p.waitFor(`\[ERR\] Failed to reload server configuration: can only reload config when a file is provided using -c or --config$`, next)
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestReloadPidFile: a reload that names another pid file writes it; the
// one in force is removed at exit.
func TestReloadPidFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keel.conf")
	first, second := filepath.Join(dir, "first.pid"), filepath.Join(dir, "second.pid")
	writeConf(t, conf, fmt.Sprintf("listen: 127.0.0.1:-1\npid_file: %q\n", first))
	p := start(t, "-c", conf)
	_, next := p.waitFor(`Server is ready`, 0)
	writeConf(t, conf, fmt.Sprintf("listen: 127.0.0.1:-1\npid_file: %q\n", second))
	p.signal(syscall.SIGHUP)
	p.waitFor(`\[INF\] Reloaded: pid_file = `, next)
	if b, err := os.ReadFile(second); err != nil || string(b) != strconv.Itoa(p.cmd.Process.Pid) {
		t.Fatalf("new pid file %q: %v", b, err)
	}
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Fatalf("pid file in force left behind: %v", err)
	}
}

// TestPortsFile: with ports_file_dir keel writes "<program>_<pid>.ports"
// with the client and monitoring URLs, as nats-server does, and removes it
// at exit.
func TestPortsFile(t *testing.T) {
	dir := t.TempDir()
	p := start(t, "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "--ports_file_dir", dir)
	url, _ := p.listening()
	path := filepath.Join(dir, fmt.Sprintf("keel_%d.ports", p.cmd.Process.Pid))
	var got struct {
		Nats       []string `json:"nats"`
		Monitoring []string `json:"monitoring"`
	}
	// Written right after the listener opened: poll the other process's file.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && json.Unmarshal(b, &got) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ports file %s: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(got.Nats) != 1 || got.Nats[0] != url || len(got.Monitoring) != 1 || !strings.HasPrefix(got.Monitoring[0], "http://127.0.0.1:") {
		t.Fatalf("ports %+v, want nats %s and a monitoring URL", got, url)
	}
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("ports file left behind: %v", err)
	}
}

// TestLogRotation: a log file rotates by size and old files are purged
// beyond logfile_max_num, with the binary and a real client's traffic.
func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keel.conf")
	logFile := filepath.Join(dir, "keel.log")
	writeConf(t, conf, fmt.Sprintf("listen: 127.0.0.1:-1\ndebug: true\nlog_file: %q\nlogfile_size_limit: 1KB\nlogfile_max_num: 2\n", logFile))
	p := start(t, "-c", conf)
	backups := func() []string {
		m, _ := filepath.Glob(logFile + ".*")
		return m
	}
	// Poll the files of the other process while clients come and go (each
	// adds debug lines).
	deadline := time.Now().Add(20 * time.Second)
	url := ""
	for {
		for _, f := range append(backups(), logFile) {
			if b, err := os.ReadFile(f); err == nil && url == "" {
				if m := regexp.MustCompile(`Listening for client connections on (\S+)`).FindSubmatch(b); m != nil {
					url = "nats://" + string(m[1])
				}
			}
		}
		if url != "" {
			nc, err := nats.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			nc.Close()
		}
		b, _ := os.ReadFile(logFile)
		if len(backups()) == 1 && strings.Contains(string(b), "Purged log file") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backups %q; log:\n%s", backups(), b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b, _ := os.ReadFile(logFile)
	if !strings.Contains(string(b), "Rotated log, backup saved as") {
		t.Fatalf("current log does not say where the old one went:\n%s", b)
	}
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if n := len(backups()); n > 1 {
		t.Fatalf("%d backups kept, logfile_max_num 2 allows 1", n)
	}
}

// TestProfilingPort: --profile serves Go's pprof endpoints on their own
// port, as nats-server's does.
func TestProfilingPort(t *testing.T) {
	p := start(t, "-a", "127.0.0.1", "-p", "-1", "--profile", "-1")
	m, _ := p.waitFor(`\[INF\] profiling port: (\d+)$`, 0)
	resp, err := http.Get("http://127.0.0.1:" + m[1] + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "--profile") {
		t.Fatalf("status %d: %q", resp.StatusCode, b)
	}
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
