//go:build unix

package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// natsCLI finds the nats CLI: $NATS_CLI, then PATH, then where
// shared/tools/install-peers.sh puts it. Tests that need it skip without
// it.
func natsCLI(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NATS_CLI"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nats"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "nats-peers", "bin", "nats")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("the nats CLI is not installed (set NATS_CLI to its path)")
	return ""
}

// cli runs the nats CLI against one server, with a home of its own so
// that no saved context of the user's applies.
type cli struct {
	t    *testing.T
	bin  string
	url  string
	home string
}

func (c *cli) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--server", c.url, "--timeout", "5s"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+c.home, "XDG_CONFIG_HOME="+c.home, "NATS_CONTEXT=", "NO_COLOR=1")
	return cmd
}

// run runs one command to completion and returns its output and error.
func (c *cli) run(args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.command(ctx, args...).CombinedOutput()
	return string(out), err
}

// mustRun runs a command that must succeed and print want.
func (c *cli) mustRun(want string, args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil || !strings.Contains(out, want) {
		c.t.Fatalf("nats %s: %v\n%s\nwant %q", strings.Join(args, " "), err, out, want)
	}
	return out
}

// background starts a long-running command (sub, reply) whose output
// lines can be awaited.
func (c *cli) background(args ...string) *proc {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	return startCmd(c.t, c.command(ctx, args...))
}

// TestNatsCLI drives the binary with the nats CLI as the README shows it:
// publish, subscribe with a wildcard, request/reply, no responders,
// benchmarks, and JetStream streams and KV.
func TestNatsCLI(t *testing.T) {
	c := &cli{t: t, bin: natsCLI(t), home: t.TempDir()}
	p := start(t, "-js", "-sd", t.TempDir(), "-a", "127.0.0.1", "-p", "-1")
	c.url, _ = p.listening()

	t.Run("pub", func(t *testing.T) {
		c.mustRun(`Published 5 bytes to "greet.joe"`, "pub", "greet.joe", "hello")
	})
	t.Run("sub", func(t *testing.T) {
		sub := c.background("sub", "greet.*", "--count", "1")
		sub.waitFor(`Subscribing on greet\.\*`, 0)
		c.mustRun("Published", "pub", "greet.ann", "hi ann")
		sub.waitFor(`Received on "greet\.ann"`, 0)
		sub.waitFor(`^hi ann$`, 0)
		if code := sub.waitExit(); code != 0 {
			t.Fatalf("sub exit %d:\n%s", code, sub.log())
		}
	})
	t.Run("req", func(t *testing.T) {
		rep := c.background("reply", "svc.time", "the time", "--count", "1")
		rep.waitFor(`Listening on "svc\.time"`, 0)
		c.mustRun("the time", "req", "svc.time", "")
		rep.waitFor(`Received on subject "svc\.time"`, 0)
		// The CLI exits 1 after --count replies, with nats-server too.
		rep.waitExit()
	})
	t.Run("no responders", func(t *testing.T) {
		// The CLI reports it and exits 0, with nats-server too.
		c.mustRun("No responders are available", "req", "nobody.home", "")
	})
	t.Run("bench", func(t *testing.T) {
		sub := c.background("bench", "sub", "bench.core", "--msgs", "20000")
		sub.waitFor(`Starting Core NATS subscriber benchmark`, 0)
		c.mustRun("Core NATS publisher stats", "bench", "pub", "bench.core", "--msgs", "20000")
		sub.waitFor(`Core NATS subscriber stats`, 0)
		if code := sub.waitExit(); code != 0 {
			t.Fatalf("bench sub exit %d:\n%s", code, sub.log())
		}
	})
	t.Run("stream", func(t *testing.T) {
		c.mustRun("ORDERS", "stream", "add", "ORDERS", "--subjects", "orders.>", "--defaults")
		c.mustRun("Published", "pub", "orders.new", "one")
		out := c.mustRun(`"messages": 1`, "stream", "info", "ORDERS", "--json")
		var info struct {
			Config struct{ Name string } `json:"config"`
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil || info.Config.Name != "ORDERS" {
			t.Fatalf("stream info: %v\n%s", err, out)
		}
		c.mustRun("JetStream synchronous publisher stats", "bench", "js", "pub", "sync", "bench.js", "--msgs", "200", "--create")
	})
	t.Run("kv", func(t *testing.T) {
		c.mustRun("CFG", "kv", "add", "CFG")
		c.mustRun("", "kv", "put", "CFG", "colour", "blue")
		c.mustRun("blue", "kv", "get", "CFG", "colour", "--raw")
	})
}
