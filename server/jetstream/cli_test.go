package jetstream_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// natsCLI is the reference `nats` CLI (v0.5.0), when installed.
func natsCLI(t *testing.T) string {
	t.Helper()
	p := os.Getenv("NATS_CLI")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".cache", "nats-peers", "bin", "nats")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("nats CLI not found at %s", p)
	}
	return p
}

// TestNatsCLI drives Keel with the nats CLI: stream add, edit, info, ls,
// get, rmm, purge, report, rm, and account info. What it runs is what a
// user would.
func TestNatsCLI(t *testing.T) {
	t.Parallel()
	cli := natsCLI(t)
	n := startNode(t, "", nil)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"-s", n.ClientURL(), "--timeout", "5s"}, args...)...)
		cmd.Env = append(os.Environ(), "NATS_CONTEXT=", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("nats %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	jsonOut := func(args ...string) map[string]any {
		t.Helper()
		var m map[string]any
		out := run(args...)
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("nats %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
		return m
	}

	run("stream", "add", "ORDERS", "--subjects", "orders.*", "--storage", "file", "--defaults")
	run("stream", "edit", "ORDERS", "--max-msgs", "1000", "-f")
	info := jsonOut("stream", "info", "ORDERS", "--json")
	if cfg := info["config"].(map[string]any); cfg["max_msgs"].(float64) != 1000 {
		t.Fatalf("edit not applied: %v", cfg["max_msgs"])
	}
	run("pub", "orders.a", "hello", "--count", "5")
	if out := run("req", "orders.b", "world"); !strings.Contains(out, `"stream":"ORDERS"`) || !strings.Contains(out, `"seq":6`) {
		t.Fatalf("PubAck through nats req: %s", out)
	}
	if out := run("stream", "ls", "-n"); strings.TrimSpace(out) != "ORDERS" {
		t.Fatalf("stream ls: %q", out)
	}
	got := jsonOut("stream", "get", "ORDERS", "6", "--json")
	if got["subject"] != "orders.b" {
		t.Fatalf("stream get: %v", got)
	}
	run("stream", "rmm", "ORDERS", "1", "-f")
	info = jsonOut("stream", "info", "ORDERS", "--json")
	if st := info["state"].(map[string]any); st["messages"].(float64) != 5 {
		t.Fatalf("after rmm: %v", st)
	}
	run("stream", "purge", "ORDERS", "-f")
	info = jsonOut("stream", "info", "ORDERS", "--json")
	if st := info["state"].(map[string]any); st["messages"].(float64) != 0 || st["first_seq"].(float64) != 7 {
		t.Fatalf("after purge: %v", st)
	}
	if out := run("stream", "report"); !strings.Contains(out, "ORDERS") {
		t.Fatalf("stream report: %s", out)
	}
	if out := run("account", "info"); !strings.Contains(out, "JetStream Account Information") ||
		!regexp.MustCompile(`Streams: 1\n`).MatchString(out) {
		t.Fatalf("account info: %s", out)
	}
	run("stream", "rm", "ORDERS", "-f")
	if out := run("stream", "ls", "-n"); strings.TrimSpace(out) != "" {
		t.Fatalf("stream ls after rm: %q", out)
	}
}
