package opts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// applyFlags parses args and applies them over defaults.
func applyFlags(t *testing.T, args ...string) (*Command, *Options, error) {
	t.Helper()
	c, err := ParseFlags(args)
	if err != nil {
		return nil, nil, err
	}
	o := Default()
	err = c.Apply(o)
	return c, o, err
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args  []string
		check func(t *testing.T, c *Command, o *Options)
	}{
		{nil, func(t *testing.T, c *Command, o *Options) {
			d := Default()
			expect(t, "options", *o, *d)
			expect(t, "config", c.ConfigFile, "")
		}},
		{[]string{"-p", "4333", "-a", "127.0.0.1"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "port", o.Port, 4333)
			expect(t, "host", o.Host, "127.0.0.1")
		}},
		{[]string{"--port=4444", "--addr", "::1"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "port", o.Port, 4444)
			expect(t, "host", o.Host, "::1")
		}},
		{[]string{"--net", "10.0.0.1", "-p", "-1"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "host", o.Host, "10.0.0.1")
			expect(t, "port", o.Port, RandomPort)
		}},
		{[]string{"-n", "a"}, func(t *testing.T, c *Command, o *Options) { expect(t, "name", o.ServerName, "a") }},
		{[]string{"--name", "b"}, func(t *testing.T, c *Command, o *Options) { expect(t, "name", o.ServerName, "b") }},
		{[]string{"--server_name", "c"}, func(t *testing.T, c *Command, o *Options) { expect(t, "name", o.ServerName, "c") }},
		{[]string{"-c", "x.conf", "-t"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "config", c.ConfigFile, "x.conf")
			expect(t, "check", c.CheckConfig, true)
		}},
		{[]string{"--config", "y.conf"}, func(t *testing.T, c *Command, o *Options) { expect(t, "config", c.ConfigFile, "y.conf") }},
		{[]string{"-m", "8222"}, func(t *testing.T, c *Command, o *Options) { expect(t, "http port", o.HTTPPort, 8222) }},
		{[]string{"--http_port", "8223"}, func(t *testing.T, c *Command, o *Options) { expect(t, "http port", o.HTTPPort, 8223) }},
		{[]string{"-js", "-sd", "/data"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "jetstream", o.JetStream, true)
			expect(t, "store dir", o.StoreDir, "/data")
		}},
		{[]string{"--jetstream", "--store_dir=/d2"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "jetstream", o.JetStream, true)
			expect(t, "store dir", o.StoreDir, "/d2")
		}},
		{[]string{"-D"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "debug", o.Debug, true)
			expect(t, "trace", o.Trace, false)
		}},
		{[]string{"-V"}, func(t *testing.T, c *Command, o *Options) { expect(t, "trace", o.Trace, true) }},
		{[]string{"--debug", "--trace"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "debug and trace", [2]bool{o.Debug, o.Trace}, [2]bool{true, true})
		}},
		{[]string{"-DV"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "debug and trace", [2]bool{o.Debug, o.Trace}, [2]bool{true, true})
		}},
		{[]string{"-VV"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "trace, verbose", [2]bool{o.Trace, o.TraceVerbose}, [2]bool{true, true})
		}},
		{[]string{"-DVV"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "debug, trace, verbose", [3]bool{o.Debug, o.Trace, o.TraceVerbose}, [3]bool{true, true, true})
		}},
		{[]string{"-l", "keel.log", "--log_size_limit", "1000"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "log file", o.LogFile, "keel.log")
			expect(t, "size limit", o.LogSizeLimit, int64(1000))
		}},
		{[]string{"--log", "k.log"}, func(t *testing.T, c *Command, o *Options) { expect(t, "log file", o.LogFile, "k.log") }},
		{[]string{"-T=false", "--logtime_utc"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "logtime", o.Logtime, false)
			expect(t, "utc", o.LogtimeUTC, true)
		}},
		{[]string{"-P", "keel.pid"}, func(t *testing.T, c *Command, o *Options) { expect(t, "pid", o.PidFile, "keel.pid") }},
		{[]string{"--pid", "k.pid"}, func(t *testing.T, c *Command, o *Options) { expect(t, "pid", o.PidFile, "k.pid") }},
		{[]string{"--user", "u", "--pass", "p"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "user and pass", [2]string{o.Username, o.Password}, [2]string{"u", "p"})
		}},
		{[]string{"--auth", "tok"}, func(t *testing.T, c *Command, o *Options) { expect(t, "token", o.Authorization, "tok") }},
		{[]string{"--client_advertise", "h:4222"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "advertise", o.ClientAdvertise, "h:4222")
		}},
		{[]string{"--max_traced_msg_len", "64"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "traced len", o.MaxTracedMsgLen, 64)
		}},
		{[]string{"--signal", "reload=/run/keel.pid"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "signal", c.Signal, "reload=/run/keel.pid")
		}},
		{[]string{"-sl", "ldm"}, func(t *testing.T, c *Command, o *Options) { expect(t, "signal", c.Signal, "ldm") }},
		{[]string{"-v"}, func(t *testing.T, c *Command, o *Options) { expect(t, "version", c.ShowVersion, true) }},
		{[]string{"--version"}, func(t *testing.T, c *Command, o *Options) { expect(t, "version", c.ShowVersion, true) }},
		{[]string{"version"}, func(t *testing.T, c *Command, o *Options) { expect(t, "version", c.ShowVersion, true) }},
		{[]string{"-h"}, func(t *testing.T, c *Command, o *Options) { expect(t, "help", c.ShowHelp, true) }},
		{[]string{"--help"}, func(t *testing.T, c *Command, o *Options) { expect(t, "help", c.ShowHelp, true) }},
		{[]string{"help"}, func(t *testing.T, c *Command, o *Options) { expect(t, "help", c.ShowHelp, true) }},
		{[]string{"--help_tls"}, func(t *testing.T, c *Command, o *Options) { expect(t, "tls help", c.ShowTLSHelp, true) }},
		{[]string{"-t", "-c", "a.conf", "--test_reload", "b.conf"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "test reload", c.TestReload, "b.conf")
		}},
		{[]string{"-ms", "8443"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "https port", o.HTTPSPort, 8443)
			if len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], "--ms: HTTPS monitoring is not available yet") {
				t.Errorf("warnings %q", o.Warnings)
			}
		}},
		{[]string{"--routes", "nats://a:6222, nats://b:6222", "--cluster", "nats://0.0.0.0:6222"}, func(t *testing.T, c *Command, o *Options) {
			expect(t, "routes", o.Cluster.Routes, []string{"nats://a:6222", "nats://b:6222"})
			expect(t, "cluster port", o.Cluster.Port, 6222)
			if len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], "clustering is not available yet") {
				t.Errorf("warnings %q", o.Warnings)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, o, err := applyFlags(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c, o)
		})
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"-p", "abc"}, `invalid value "abc" for flag -p`},
		{[]string{"run"}, `unrecognized command: "run"`},
		{[]string{"--test_reload", "x.conf"}, "--test_reload can only be used together with -t"},
		{[]string{"-c"}, "flag needs an argument: -c"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := ParseFlags(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTLSFlagsFail(t *testing.T) {
	for _, args := range [][]string{{"--tls"}, {"--tlscert", "c.pem"}, {"--tlskey", "k.pem"}, {"--tlsverify"}, {"--tlscacert", "ca.pem"}} {
		_, _, err := applyFlags(t, args...)
		if err == nil || !strings.Contains(err.Error(), "TLS is not supported yet") {
			t.Errorf("%v: got %v", args, err)
		}
	}
}

// The command line wins over the file; what it does not set comes from
// the file.
func TestFlagsWinOverFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keel.conf")
	os.WriteFile(path, []byte(`
port: 1111
host: 127.0.0.1
debug: true
trace: true
max_payload: 2KB
authorization { user: fileuser, password: filepass }
jetstream { store_dir: /from/file }
`), 0o644)
	tests := []struct {
		args  []string
		check func(t *testing.T, o *Options)
	}{
		{nil, func(t *testing.T, o *Options) {
			expect(t, "port", o.Port, 1111)
			expect(t, "debug", o.Debug, true)
			expect(t, "user", o.Username, "fileuser")
			expect(t, "store dir", o.StoreDir, "/from/file")
			expect(t, "jetstream", o.JetStream, true)
		}},
		{[]string{"-p", "2222"}, func(t *testing.T, o *Options) {
			expect(t, "port", o.Port, 2222)
			expect(t, "host", o.Host, "127.0.0.1")
			expect(t, "max payload", o.MaxPayload, int32(2048))
		}},
		{[]string{"-D=false"}, func(t *testing.T, o *Options) {
			expect(t, "debug", o.Debug, false)
			expect(t, "trace", o.Trace, true)
		}},
		{[]string{"-DV=false"}, func(t *testing.T, o *Options) {
			expect(t, "debug and trace", [2]bool{o.Debug, o.Trace}, [2]bool{false, false})
		}},
		{[]string{"--user", "cli", "--pass", "clipass"}, func(t *testing.T, o *Options) {
			expect(t, "user and pass", [2]string{o.Username, o.Password}, [2]string{"cli", "clipass"})
		}},
		{[]string{"-sd", "/from/cli", "-a", "0.0.0.0"}, func(t *testing.T, o *Options) {
			expect(t, "store dir", o.StoreDir, "/from/cli")
			expect(t, "host", o.Host, "0.0.0.0")
		}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, err := ParseFlags(append([]string{"-c", path}, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			o, digest, err := c.Load()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(digest, "sha256:") {
				t.Errorf("digest %q", digest)
			}
			tc.check(t, o)
		})
	}
}

func TestLoadWithoutFile(t *testing.T) {
	c, err := ParseFlags([]string{"-js", "-sd", "./data"})
	if err != nil {
		t.Fatal(err)
	}
	o, digest, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "digest", digest, "")
	expect(t, "listen", [2]any{o.Host, o.Port}, [2]any{"0.0.0.0", 4222})
	expect(t, "jetstream", [2]any{o.JetStream, o.StoreDir}, [2]any{true, "./data"})
	expect(t, "http host", o.HTTPHost, "0.0.0.0")

	c, _ = ParseFlags([]string{"-t"})
	if _, _, err := c.Load(); err == nil || !strings.Contains(err.Error(), "must specify [-c, --config]") {
		t.Errorf("-t without -c: %v", err)
	}
	c, _ = ParseFlags([]string{"--pass", "p"})
	if _, _, err := c.Load(); err == nil || !strings.Contains(err.Error(), "a password needs a user") {
		t.Errorf("--pass alone: %v", err)
	}
}

// Every flag the parser knows is documented in the usage text.
func TestUsageListsEveryFlag(t *testing.T) {
	c, err := ParseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range c.FlagNames() {
		if !strings.Contains(Usage, "-"+name+" ") && !strings.Contains(Usage, "-"+name+",") && !strings.Contains(Usage, "-"+name+"\n") {
			t.Errorf("flag -%s is not in the usage text", name)
		}
	}
}

func TestReloadUsesSameFlags(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keel.conf")
	os.WriteFile(path, []byte("port: 1111\nping_interval: \"1m\"\n"), 0o644)
	c, _ := ParseFlags([]string{"-c", path, "-p", "2222"})
	old, _, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("port: 3333\nping_interval: \"2m\"\n"), 0o644)
	next, _, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	changes, err := CheckReload(old, next)
	if err != nil {
		t.Fatalf("port stays 2222 from the command line, reload must pass: %v", err)
	}
	expect(t, "changes", changes, []Change{{Key: "ping_interval", Old: "1m0s", New: "2m0s"}})
	expect(t, "ping interval", next.PingInterval, 2*time.Minute)
}
