package jetstream_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// keelBinary builds the keel binary (cmd/keel) once per test run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func keelBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keel-js-test-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "keel")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, "github.com/keelhq/keel/cmd/keel").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("%v: %s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("build keel: %v", buildOnce.err)
	}
	return buildOnce.path
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// keelProcess is a Keel server in its own process.
type keelProcess struct {
	cmd *exec.Cmd
	url string
	log bytes.Buffer
}

func startProcess(t *testing.T, dir string) *keelProcess {
	t.Helper()
	port := freePort(t)
	return startProcessArgs(t, port, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", dir)
}

// startProcessConf runs keel with a configuration file made of conf and a
// listen line of its own.
func startProcessConf(t *testing.T, conf string) *keelProcess {
	t.Helper()
	port := freePort(t)
	path := filepath.Join(t.TempDir(), "keel.conf")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:"+strconv.Itoa(port)+"\n"+conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return startProcessArgs(t, port, "-c", path)
}

func startProcessArgs(t *testing.T, port int, args ...string) *keelProcess {
	t.Helper()
	p := &keelProcess{url: "nats://127.0.0.1:" + strconv.Itoa(port)}
	p.cmd = exec.Command(keelBinary(t), args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(p.url)
		if err == nil {
			nc.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("keel did not start: %v\n%s", err, p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *keelProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("keel exited with %v after SIGTERM:\n%s", err, p.log.String())
	}
}

func (p *keelProcess) kill() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// TestKillRestart publishes asynchronously into a file stream, SIGKILLs
// the server mid-stream, restarts it, and checks that every acknowledged
// message is there with its payload.
func TestKillRestart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	dir := t.TempDir()
	p := startProcess(t, dir)
	nc, err := nats.Connect(p.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
	mustStream(t, js, jetstream.StreamConfig{Name: "K", Subjects: []string{"k.*"}, Duplicates: time.Hour})

	var mu sync.Mutex
	acked := map[uint64]string{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			data := fmt.Sprint("payload-", i)
			msg := nats.NewMsg(fmt.Sprintf("k.%d", i%7))
			msg.Data = []byte(data)
			msg.Header.Set("Nats-Msg-Id", data)
			f, err := js.PublishMsgAsync(msg)
			if err != nil {
				return
			}
			go func() {
				select {
				case ack := <-f.Ok():
					mu.Lock()
					acked[ack.Sequence] = data
					mu.Unlock()
				case <-f.Err():
				}
			}()
		}
	}()
	waitFor(t, 20*time.Second, "acks before the kill", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 3000
	})
	p2, js2 := killAndRestart(t, p, nc, done, dir)
	mu.Lock()
	want := acked
	mu.Unlock()
	s, err := js2.Stream(ctx(t), "K")
	if err != nil {
		t.Fatalf("stream after kill: %v\n%s", err, p2.log.String())
	}
	lost := 0
	for seq, data := range want {
		m, err := s.GetMsg(ctx(t), seq)
		if err != nil || string(m.Data) != data {
			lost++
			if lost < 5 {
				t.Errorf("acked message %d (%s) after kill: %v", seq, data, err)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged messages lost", lost, len(want))
	}
	// Deduplication survived the kill too.
	var anySeq uint64
	var anyData string
	for anySeq, anyData = range want {
		break
	}
	msg := nats.NewMsg("k.0")
	msg.Header.Set("Nats-Msg-Id", anyData)
	ack, err := js2.PublishMsg(ctx(t), msg)
	if err != nil || !ack.Duplicate || ack.Sequence != anySeq {
		t.Fatalf("duplicate after kill: %v %+v (want seq %d)", err, ack, anySeq)
	}
}

// killAndRestart SIGKILLs p under load, waits for the publisher (which
// closes done once its publishes fail), and starts a new server on the
// same store, returning it and a JetStream context connected to it.
func killAndRestart(t *testing.T, p *keelProcess, nc *nats.Conn, done <-chan struct{}, dir string) (*keelProcess, jetstream.JetStream) {
	t.Helper()
	p.kill()
	nc.Close()
	<-done
	p2 := startProcess(t, dir)
	nc2, err := nats.Connect(p2.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc2.Close)
	js2, err := jetstream.New(nc2)
	if err != nil {
		t.Fatal(err)
	}
	return p2, js2
}
