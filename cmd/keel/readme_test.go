//go:build unix

package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keelhq/keel/server/opts"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readmeCommands returns the README's shell commands (lines of its sh
// blocks).
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.TrimSpace(line) != "":
			cmds = append(cmds, strings.TrimSpace(line))
		}
	}
	return cmds
}

// TestReadmeQuickStart runs the README's run command as a user on a fresh
// machine would (in an empty folder, so ./data is created there), then
// publishes to a stream through nats.go's jetstream package. The port is
// made random so the test runs next to other servers; the README's test
// command must be what .ci/run runs.
func TestReadmeQuickStart(t *testing.T) {
	var run []string
	var test string
	for _, c := range readmeCommands(t) {
		// The quick start's commands come first; later sections may show
		// other go commands.
		if rest, ok := strings.CutPrefix(c, "go run ./cmd/keel"); ok && run == nil {
			run = strings.Fields(rest)
		}
		if strings.HasPrefix(c, "go test ") && test == "" {
			test = c
		}
	}
	if strings.Join(run, " ") != "-js -sd ./data" {
		t.Fatalf("README's run command has flags %q; update this test with it", run)
	}
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if test == "" || !strings.Contains(string(ci), "\n"+test+"\n") || !strings.Contains(string(ci), "\ngo vet ./...\n") {
		t.Fatalf(".ci/run does not run go vet ./... and the README's test command %q:\n%s", test, ci)
	}

	dir := t.TempDir()
	p := startIn(t, dir, append(run, "-a", "127.0.0.1", "-p", "-1")...)
	nc, js, ctx := p.jetStream(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "GREETINGS", Subjects: []string{"greet.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	ack, err := js.Publish(ctx, "greet.joe", []byte("hello"))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ack.Stream != "GREETINGS" || ack.Sequence != 1 {
		t.Fatalf("ack %+v", ack)
	}
	stream, err := js.Stream(ctx, "GREETINGS")
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := stream.GetMsg(ctx, 1); err != nil || string(msg.Data) != "hello" {
		t.Fatalf("stored message %+v: %v", msg, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "jetstream")); err != nil {
		t.Fatalf("the store is not in ./data: %v", err)
	}
	nc.Close()
	p.signal(syscall.SIGINT)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, p.log())
	}
}

// TestDefaultPort runs keel without flags, as `go run ./cmd/keel` does:
// it listens on 0.0.0.0:4222 and says so as nats-server does. Skipped
// when something else holds port 4222.
func TestDefaultPort(t *testing.T) {
	if l, err := net.Listen("tcp", "0.0.0.0:4222"); err != nil {
		t.Skipf("port 4222 is taken: %v", err)
	} else {
		l.Close()
	}
	p := startIn(t, t.TempDir())
	next := p.mark()
	m, _ := p.waitFor(`Listening for client connections on (.*)$|address already in use`, 0)
	if m[1] == "" {
		t.Skip("port 4222 was taken meanwhile")
	}
	if m[1] != "0.0.0.0:4222" {
		t.Fatalf("listening on %q, want 0.0.0.0:4222", m[1])
	}
	p.waitFor(`\[INF\] Server is ready`, next)
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	if info := nc.ConnectedServerId(); info == "" {
		t.Fatal("no server id")
	}
	nc.Close()
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, p.log())
	}
}

// startIn starts keel with dir as its working directory.
func startIn(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(keelBin, args...)
	cmd.Dir = dir
	return startCmd(t, cmd)
}

// TestReadmeConfigExample: the configuration example in the README is a
// valid file (checked as keel -t would, with its $JS_KEY set).
func TestReadmeConfigExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```\njetstream {")
	if !ok {
		t.Fatal("README has no jetstream {} configuration example")
	}
	block, _, _ := strings.Cut(rest, "```")
	path := filepath.Join(t.TempDir(), "example.conf")
	if err := os.WriteFile(path, []byte("jetstream {"+block), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JS_KEY", "example-secret")
	o, _, err := opts.LoadFile(path)
	if err != nil {
		t.Fatalf("README's configuration example: %v", err)
	}
	if !o.JetStream || o.JetStreamOpts.Key != "example-secret" {
		t.Fatalf("README's example did not configure JetStream with its key: %+v", o.JetStreamOpts)
	}
}
