package jsapi

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

var (
	captureGolden = flag.Bool("capture", false, "rewrite testdata/golden from the reference nats-server")
	referenceBin  = flag.String("nats-server", "/root/.cache/nats-peers/bin/nats-server",
		"reference nats-server v2.15.3 binary, for -capture")
)

// TestCaptureGolden runs goldenScript and goldenShapes against a fresh
// reference server and stores its replies in goldenFile. It only runs with
// -capture:
//
//	go test ./server/jetstream/jsapi -run TestCaptureGolden -capture
func TestCaptureGolden(t *testing.T) {
	if !*captureGolden {
		t.Skip("run with -capture to rewrite testdata/golden from the reference server")
	}
	url := startReference(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to reference: %v", err)
	}
	defer nc.Close()

	var archive bytes.Buffer
	archive.WriteString(goldenHeader)
	for _, st := range append(slices.Clone(goldenScript), goldenShapes...) {
		m := nats.NewMsg(st.subject)
		m.Data = []byte(st.body)
		for k, v := range st.header {
			m.Header.Set(k, v)
		}
		resp, err := nc.RequestMsg(m, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		data := resp.Data
		if status := resp.Header.Get("Status"); status != "" {
			// A status-only reply (direct get): keep its header block.
			if len(resp.Data) != 0 || len(resp.Header) > 2 {
				t.Fatalf("%s: status reply with more than a status: %v %q", st.name, resp.Header, resp.Data)
			}
			line := status
			if d := resp.Header.Get("Description"); d != "" {
				line += " " + d
			}
			data = []byte("NATS/1.0 " + line + "\r\n\r\n")
		}
		if bytes.Contains(data, []byte("\n-- ")) {
			t.Fatalf("%s: reply holds an archive marker", st.name)
		}
		fmt.Fprintf(&archive, "-- %s --\n%s\n", st.name, data)
	}
	if err := os.WriteFile(goldenFile, archive.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startReference starts the reference server on a free port with a fresh
// store and returns its URL once it logs that it is ready.
func startReference(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	cmd := exec.Command(*referenceBin, "-js", "-sd", t.TempDir(), "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", *referenceBin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Server is ready") {
				close(ready)
				break
			}
		}
		for sc.Scan() { // keep draining so the server never blocks on its log
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("reference server did not become ready")
	}
	return "nats://127.0.0.1:" + strconv.Itoa(port)
}
