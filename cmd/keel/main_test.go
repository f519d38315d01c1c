//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// These tests build the keel binary and drive it as a user would: a
// configuration file, a nats.go client, signals, and the exit status.

var keelBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keel-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	keelBin = filepath.Join(dir, "keel")
	out, err := exec.Command("go", "build", "-o", keelBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building keel: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running keel whose log lines can be awaited.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	added chan struct{} // signalled on every new line
	done  chan struct{} // closed when the process has ended
	code  int           // exit code, valid once done is closed
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(keelBin, args...))
}

// startCmd runs cmd, collecting its standard output and error as lines.
func startCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{t: t, cmd: cmd, added: make(chan struct{}, 1), done: make(chan struct{})}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	err = p.cmd.Start()
	pw.Close() // the child has its own copy
	if err != nil {
		pr.Close()
		t.Fatal(err)
	}
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.added <- struct{}{}:
			default:
			}
		}
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitFor waits for a log line matching re (after line from) and returns
// its submatches and the index of the next line.
func (p *proc) waitFor(re string, from int) ([]string, int) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(20 * time.Second)
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if m := rx.FindStringSubmatch(p.lines[i]); m != nil {
				p.mu.Unlock()
				return m, i + 1
			}
		}
		p.mu.Unlock()
		select {
		case <-p.added:
		case <-deadline:
			p.t.Fatalf("no log line matching %q; log:\n%s", re, p.log())
		}
	}
}

// mark is the index of the next log line, to wait for lines after it.
func (p *proc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// waitExit waits for the process to end and returns its exit code.
func (p *proc) waitExit() int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(20 * time.Second):
		p.t.Fatalf("keel did not exit; log:\n%s", p.log())
	}
	return -1
}

func writeConf(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listening waits for the listen line and returns the client URL.
// jetStream connects nats.go to the listening server and returns the
// connection, a JetStream context and a 10 s context for its calls (all
// released when the test ends).
func (p *proc) jetStream(t *testing.T) (*nats.Conn, jetstream.JetStream, context.Context) {
	t.Helper()
	url, _ := p.listening()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return nc, js, ctx
}

func (p *proc) listening() (string, int) {
	p.t.Helper()
	m, next := p.waitFor(`Listening for client connections on .*:(\d+)$`, 0)
	return "nats://127.0.0.1:" + m[1], next
}

func TestConfigFileReloadAndShutdown(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keel.conf")
	pidFile := filepath.Join(dir, "keel.pid")
	base := fmt.Sprintf("listen: 127.0.0.1:-1\npid_file: %q\nauthorization { user: alice, password: s3cret }\n", pidFile)
	writeConf(t, conf, base+"max_payload: 2KB\n")

	p := start(t, "-c", conf)
	url, next := p.listening()
	_, next = p.waitFor(`\[INF\] Using configuration file: `+regexp.QuoteMeta(conf)+` \(sha256:[0-9a-f]{64}\)`, 0)
	_ = next

	pid, err := os.ReadFile(pidFile)
	if err != nil || string(pid) != strconv.Itoa(p.cmd.Process.Pid) {
		t.Fatalf("pid file %q (%v), want %d", pid, err, p.cmd.Process.Pid)
	}

	// The file's settings are in force: authorization and max_payload.
	if _, err := nats.Connect(url); err == nil {
		t.Fatal("connected without credentials")
	}
	nc, err := nats.Connect(url, nats.UserInfo("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := nc.MaxPayload(); got != 2048 {
		t.Fatalf("max_payload seen by the client %d, want 2048", got)
	}

	// Reloadable changes: applied, logged, seen by new clients; debug
	// logging starts at once.
	base += "debug: true\n"
	writeConf(t, conf, base+"max_payload: 4KB\n")
	mark := p.mark()
	p.signal(syscall.SIGHUP)
	_, mark = p.waitFor(`\[INF\] Reloaded: max_payload = 4096`, mark)
	nc2, err := nats.Connect(url, nats.UserInfo("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	if got := nc2.MaxPayload(); got != 4096 {
		t.Fatalf("max_payload after reload %d, want 4096", got)
	}
	_, mark = p.waitFor(`\[DBG\] .*Client connection created`, mark)

	// A change that needs a restart: refused with [ERR], nothing applied.
	writeConf(t, conf, base+"max_payload: 8KB\nserver_name: renamed\n")
	p.signal(syscall.SIGHUP)
	_, mark = p.waitFor(`\[ERR\] Failed to reload server configuration: .*config reload not supported for server_name`, mark)
	// A broken file: refused with its position, the server keeps running.
	writeConf(t, conf, base+"max_payload: [\n")
	p.signal(syscall.SIGHUP)
	_, _ = p.waitFor(`\[ERR\] Failed to reload server configuration: `+regexp.QuoteMeta(conf)+`:5:14: key "max_payload": missing .\]. for the .\[. here`, mark)
	if err := nc.Publish("still.up", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("server stopped serving after refused reloads: %v", err)
	}
	nc3, err := nats.Connect(url, nats.UserInfo("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if got := nc3.MaxPayload(); got != 4096 {
		t.Fatalf("max_payload after refused reloads %d, want 4096", got)
	}
	nc3.Close()

	// SIGTERM: graceful shutdown, exit 0, pid file removed.
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, p.log())
	}
	p.waitFor(`Trapped "terminated" signal`, 0)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind: %v", err)
	}
}

func TestSignalCommandAndLogReopen(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keel.conf")
	pidFile := filepath.Join(dir, "keel.pid")
	logFile := filepath.Join(dir, "keel.log")
	writeConf(t, conf, fmt.Sprintf("listen: 127.0.0.1:-1\npid_file: %q\nlog_file: %q\n", pidFile, logFile))
	p := start(t, "-c", conf)
	readLog := func(path, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			b, _ := os.ReadFile(path)
			if bytes.Contains(b, []byte(want)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not contain %q:\n%s", path, want, b)
			}
			time.Sleep(20 * time.Millisecond) // polling a file written by another process
		}
	}
	readLog(logFile, "Server is ready")

	// An external rotation moves the file; --signal reopen=PIDFILE makes
	// keel start a new one.
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(keelBin, "--signal", "reopen="+pidFile).CombinedOutput(); err != nil {
		t.Fatalf("--signal reopen: %v %s", err, out)
	}
	readLog(logFile, "File log re-opened")

	if out, err := exec.Command(keelBin, "--signal", "quit="+pidFile).CombinedOutput(); err != nil {
		t.Fatalf("--signal quit: %v %s", err, out)
	}
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	readLog(logFile, `Trapped "interrupt" signal`)
}

func TestLameDuckSignal(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keel.conf")
	writeConf(t, conf, "listen: 127.0.0.1:-1\nlame_duck_duration: \"30s\"\nlame_duck_grace_period: \"10s\"\n")
	p := start(t, "-c", conf)
	url, _ := p.listening()
	ldm := make(chan struct{}, 1)
	nc, err := nats.Connect(url, nats.LameDuckModeHandler(func(*nats.Conn) { ldm <- struct{}{} }), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p.signal(syscall.SIGUSR2)
	select {
	case <-ldm:
	case <-time.After(20 * time.Second):
		t.Fatalf("client was not told about lame duck mode; log:\n%s", p.log())
	}
	// SIGTERM is ignored in lame duck mode (it ends by itself); SIGINT
	// cuts it short.
	p.signal(syscall.SIGTERM)
	_, next := p.waitFor(`Trapped "terminated" signal`, 0)
	p.signal(syscall.SIGINT)
	p.waitFor(`Trapped "interrupt" signal`, next)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// run runs keel to completion and returns its exit code and output.
func runKeel(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(keelBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	writeConf(t, good, "port: 4333\nmax_payload: 2MB\n")
	bad := filepath.Join(dir, "bad.conf")
	writeConf(t, bad, "port: 4333\njetstream {\n  max_file_store: lots\n}\n")
	unknown := filepath.Join(dir, "unknown.conf")
	writeConf(t, unknown, "port: 4333\nfoo: bar\n")
	broken := filepath.Join(dir, "broken.conf")
	writeConf(t, broken, "port: 4333\nauthorization {\n  user: a\n")
	protected := filepath.Join(dir, "protected.conf")
	writeConf(t, protected, "authorization {\n  users: [{user: a, password: b}]\n}\n")
	restart := filepath.Join(dir, "restart.conf")
	writeConf(t, restart, "port: 4334\nmax_payload: 2MB\n")
	reloadable := filepath.Join(dir, "reloadable.conf")
	writeConf(t, reloadable, "port: 4333\nmax_payload: 1MB\n")

	tests := []struct {
		args []string
		code int
		want string
	}{
		// The digest is the one nats-server -t prints for this file.
		{[]string{"-t", "-c", good}, 0, "keel: configuration file " + good + " is valid (sha256:f89daaa2c7ea00fe41f6c76bf6c3f60557afa3879e7c838654422ff4b8dbce58)"},
		{[]string{"-t", "-c", bad}, 1, bad + `:3:3: key "jetstream.max_file_store": sizes defined as strings must end in K, M, G, T`},
		{[]string{"-t", "-c", unknown}, 1, unknown + `:2:1: unknown field "foo"`},
		{[]string{"-t", "-c", broken}, 1, broken + `:2:15: key "authorization": missing '}'`},
		{[]string{"-t", "-c", protected}, 1, protected + `:2:3: key "authorization.users": users lists are not supported yet`},
		{[]string{"-t", "-c", filepath.Join(dir, "missing.conf")}, 1, "no such file or directory"},
		{[]string{"-t"}, 1, "must specify [-c, --config] option"},
		{[]string{"-t", "-c", good, "--test_reload", restart}, 3, "config reload not supported for port (old=4333, new=4334)"},
		{[]string{"-t", "-c", good, "--test_reload", reloadable}, 0, "configuration file " + reloadable + " can be reloaded"},
		// Starting (not only checking) a bad file fails the same way.
		{[]string{"-c", bad}, 1, bad + `:3:3: key "jetstream.max_file_store"`},
		{[]string{"-c", protected}, 1, "users lists are not supported yet"},
		{[]string{"--tls"}, 1, "TLS is not supported yet"},
		{[]string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"-p", "abc"}, 2, `invalid value "abc" for flag -p`},
		{[]string{"run"}, 1, `unrecognized command: "run"`},
		{[]string{"-v"}, 0, "keel: v" + version},
		{[]string{"-h"}, 0, "Usage: keel [options]"},
		{[]string{"--signal", "bogus=1"}, 1, `unknown signal "bogus"`},
		{[]string{"--signal", "reload=notapid"}, 1, "invalid pid: notapid"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out := runKeel(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", code, out, tc.code, tc.want)
			}
		})
	}
}

// The README's run command, -js -sd DIR: JetStream answers, and what it
// stored is there after a restart.
func TestJetStreamFlags(t *testing.T) {
	store := t.TempDir()
	run := func(publish bool) uint64 {
		p := start(t, "-js", "-sd", store, "-a", "127.0.0.1", "-p", "-1")
		nc, js, ctx := p.jetStream(t)
		if publish {
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
				t.Fatalf("create stream: %v", err)
			}
			for i := range 3 {
				if _, err := js.Publish(ctx, "orders.new", []byte(strconv.Itoa(i))); err != nil {
					t.Fatalf("publish: %v", err)
				}
			}
		}
		st, err := js.Stream(ctx, "ORDERS")
		if err != nil {
			t.Fatalf("stream info: %v", err)
		}
		nc.Close()
		p.signal(syscall.SIGTERM)
		if code := p.waitExit(); code != 0 {
			t.Fatalf("exit code %d; log:\n%s", code, p.log())
		}
		return st.CachedInfo().State.Msgs
	}
	if got := run(true); got != 3 {
		t.Fatalf("%d messages stored, want 3", got)
	}
	if got := run(false); got != 3 {
		t.Fatalf("%d messages after a restart, want 3", got)
	}
	if _, err := os.Stat(filepath.Join(store, "jetstream")); err != nil {
		t.Fatalf("store folder: %v", err)
	}
}
