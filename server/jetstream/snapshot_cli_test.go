package jetstream_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestNatsCLIBackupRestore: `nats stream backup` on one Keel node and
// `nats stream restore` on another give back the same stream.
func TestNatsCLIBackupRestore(t *testing.T) {
	t.Parallel()
	cli := natsCLI(t)
	a, b := startNode(t, "", nil), startNode(t, "", nil)
	_, jsa := connect(t, a)
	_, jsb := connect(t, b)
	c := ctx(t)
	sa := mustStream(t, jsa, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Description: "cli backup",
		MaxMsgsPerSubject: 500})
	for i := 1; i <= 2000; i++ {
		m := nats.NewMsg(fmt.Sprintf("orders.%d", i%13))
		m.Header.Set("X-N", fmt.Sprint(i))
		m.Data = []byte(strings.Repeat(fmt.Sprint(i), 20))
		if _, err := jsa.PublishMsg(c, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := sa.DeleteMsg(c, 1000); err != nil {
		t.Fatal(err)
	}
	run := func(url string, args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"-s", url, "--timeout", "5s"}, args...)...)
		cmd.Env = append(os.Environ(), "NATS_CONTEXT=", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("nats %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	dir := filepath.Join(t.TempDir(), "backup")
	out := run(a.ClientURL(), "stream", "backup", "ORDERS", dir, "--no-progress", "--chunk-size", "16KB", "--window-size", "64KB")
	if !strings.Contains(out, `for stream "ORDERS"`) {
		t.Fatalf("backup output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "backup.json")); err != nil {
		t.Fatal(err)
	}
	out = run(b.ClientURL(), "stream", "restore", dir, "--no-progress")
	if !strings.Contains(out, `Restored stream "ORDERS"`) {
		t.Fatalf("restore output:\n%s", out)
	}
	sb, err := jsb.Stream(c, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	ia, err := sa.Info(c)
	if err != nil {
		t.Fatal(err)
	}
	ib := sb.CachedInfo()
	if ia.State.Msgs != ib.State.Msgs || ia.State.LastSeq != ib.State.LastSeq || ia.State.Bytes != ib.State.Bytes ||
		ib.Config.Description != "cli backup" || ib.Config.MaxMsgsPerSubject != 500 {
		t.Fatalf("restored %+v %+v, origin %+v", ib.Config, ib.State, ia.State)
	}
	sameMessages(t, sa, sb, 1, ia.State.LastSeq)

	// The name is taken now: the CLI refuses before asking, the API with
	// the reference's error.
	cmd := exec.Command(cli, "-s", b.ClientURL(), "stream", "restore", dir, "--no-progress")
	cmd.Env = append(os.Environ(), "NATS_CONTEXT=", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("restore over an existing stream succeeded:\n%s", out)
	}
}
