package jetstream_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The memory target: a stream of 1 million messages over 100
// thousand subjects must not take more resident memory in Keel than in
// nats-server. TestMemoryVsReference measures both servers, each in its
// own process with a fresh store: it publishes the messages with nats.go's
// async publisher, reads them back (random last-by-subject direct gets, and
// a scan in direct get batches), and reports resident memory (VmRSS now,
// VmHWM the peak) and throughput after each phase.
//
//	go test ./server/jetstream -run TestMemoryVsReference -memcompare -v
//	go test ./server/jetstream -run TestMemoryVsReference -memcompare -memmsgs 200000 -v
var (
	memCompare  = flag.Bool("memcompare", false, "measure resident memory of Keel and nats-server with a large stream")
	memMsgs     = flag.Int("memmsgs", 1_000_000, "messages for -memcompare")
	memSubjects = flag.Int("memsubjects", 100_000, "subjects for -memcompare")
	memPayload  = flag.Int("mempayload", 128, "payload bytes for -memcompare")
	memOnly     = flag.String("memonly", "", "with -memcompare: measure only keel or ref")
	memKeelArgs = flag.String("memkeelargs", "", "with -memcompare: more command-line arguments for keel (e.g. --profile 6060)")
	memKeelBin  = flag.String("memkeelbin", "", "with -memcompare: the keel binary (default: built from cmd/keel)")
	memMsgID    = flag.Bool("memmsgid", false, "with -memcompare: publish every message with a Nats-Msg-Id (the duplicate window's memory)")
	memHold     = flag.Duration("memhold", 0, "with -memcompare: keep each server running this long after the reads (to profile it)")
)

func TestMemoryVsReference(t *testing.T) {
	if !*memCompare {
		t.Skip("run with -memcompare")
	}
	type result struct {
		name                       string
		pubRate, getRate, scanRate float64
		rssPub, rssRead, hwm       int64
	}
	var results []result
	for _, srv := range []string{"keel", "ref"} {
		if *memOnly != "" && *memOnly != srv {
			continue
		}
		dir := t.TempDir()
		port := freePort(t)
		args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", dir}
		var bin string
		switch {
		case srv == "ref":
			bin = referenceServer(t)
		case *memKeelBin != "":
			bin = *memKeelBin
			args = append(args, strings.Fields(*memKeelArgs)...)
		default:
			bin = keelBinary(t)
			args = append(args, strings.Fields(*memKeelArgs)...)
		}
		cmd := exec.Command(bin, args...)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		url := "nats://127.0.0.1:" + strconv.Itoa(port)
		var nc *nats.Conn
		var err error
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if nc, err = nats.Connect(url); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("%s: %v\n%s", srv, err, log.String())
		}
		r := result{name: srv}
		r.pubRate = memPublish(t, nc)
		r.rssPub, _ = procMemory(cmd.Process.Pid)
		r.getRate = memRandomGets(t, nc)
		r.scanRate = memScan(t, nc)
		r.rssRead, r.hwm = procMemory(cmd.Process.Pid)
		time.Sleep(*memHold)
		nc.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		results = append(results, r)
	}
	t.Logf("%d msgs of %d bytes over %d subjects", *memMsgs, *memPayload, *memSubjects)
	t.Logf("%-5s %12s %14s %14s %12s %12s %12s", "", "pub msgs/s", "gets/s", "scan msgs/s", "RSS pub MB", "RSS read MB", "peak MB")
	for _, r := range results {
		t.Logf("%-5s %12.0f %14.0f %14.0f %12.1f %12.1f %12.1f", r.name, r.pubRate, r.getRate, r.scanRate,
			float64(r.rssPub)/(1<<20), float64(r.rssRead)/(1<<20), float64(r.hwm)/(1<<20))
	}
}

// memPublish creates the stream and publishes the messages asynchronously;
// it returns messages per second.
func memPublish(t *testing.T, nc *nats.Conn) float64 {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx(t), jetstream.StreamConfig{Name: "MEM", Subjects: []string{"mem.>"}, AllowDirect: true}); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), *memPayload)
	subjects := make([]string, *memSubjects)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("mem.%d", i)
	}
	start := time.Now()
	for i := 0; i < *memMsgs; i++ {
		var opts []jetstream.PublishOpt
		if *memMsgID {
			opts = append(opts, jetstream.WithMsgID("id-"+strconv.Itoa(i)))
		}
		if _, err := js.PublishAsync(subjects[i%len(subjects)], payload, opts...); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		t.Fatal("acks did not arrive")
	}
	return float64(*memMsgs) / time.Since(start).Seconds()
}

// memRandomGets reads the last message of random subjects by direct get,
// with 64 requests in flight; it returns gets per second.
func memRandomGets(t *testing.T, nc *nats.Conn) float64 {
	const n, inflight = 100_000, 64
	inbox := nats.NewInbox()
	replies := make(chan struct{}, inflight)
	sub, err := nc.Subscribe(inbox+".*", func(m *nats.Msg) { replies <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	start := time.Now()
	for i := 0; i < n; i++ {
		if i >= inflight {
			<-replies
		}
		subj := "$JS.API.DIRECT.GET.MEM.mem." + strconv.Itoa(rand.IntN(*memSubjects))
		if err := nc.PublishRequest(subj, inbox+"."+strconv.Itoa(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < inflight; i++ {
		select {
		case <-replies:
		case <-time.After(30 * time.Second):
			t.Fatal("direct gets unanswered")
		}
	}
	return n / time.Since(start).Seconds()
}

// memScan reads the whole stream in direct get batches; it returns
// messages per second.
func memScan(t *testing.T, nc *nats.Conn) float64 {
	const batch = 1000
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	sub.SetPendingLimits(-1, -1)
	start := time.Now()
	read := 0
	for seq := 1; seq <= *memMsgs; seq += batch {
		req := fmt.Sprintf(`{"seq":%d,"batch":%d}`, seq, batch)
		if err := nc.PublishRequest("$JS.API.DIRECT.GET.MEM", inbox, []byte(req)); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := sub.NextMsg(30 * time.Second)
			if err != nil {
				t.Fatalf("scan at %d: %v", seq, err)
			}
			if m.Header.Get("Status") != "" {
				break
			}
			read++
		}
	}
	if read != *memMsgs {
		t.Errorf("scan read %d messages, want %d", read, *memMsgs)
	}
	return float64(read) / time.Since(start).Seconds()
}

// procMemory reads a process's resident memory and its peak (bytes).
func procMemory(pid int) (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// TestManyStreamsMemory measures resident memory with many small streams
// (every KV bucket is one): -memstreams of them, one message each.
//
//	go test ./server/jetstream -run TestManyStreamsMemory -memcompare -memstreams 1000 -v
var memStreams = flag.Int("memstreams", 1000, "streams for TestManyStreamsMemory")

func TestManyStreamsMemory(t *testing.T) {
	if !*memCompare {
		t.Skip("run with -memcompare")
	}
	for _, srv := range []string{"keel", "ref"} {
		dir := t.TempDir()
		port := freePort(t)
		bin := keelBinary(t)
		if srv == "ref" {
			bin = referenceServer(t)
		}
		cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var nc *nats.Conn
		var err error
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if nc, err = nats.Connect("nats://127.0.0.1:" + strconv.Itoa(port)); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		base, _ := procMemory(cmd.Process.Pid)
		start := time.Now()
		for i := 0; i < *memStreams; i++ {
			kv, err := js.CreateKeyValue(ctx(t), jetstream.KeyValueConfig{Bucket: fmt.Sprintf("B%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kv.PutString(ctx(t), "k", "v"); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(start)
		rss, hwm := procMemory(cmd.Process.Pid)
		t.Logf("%-5s %d buckets in %v: RSS %.1f MB (empty server %.1f MB, peak %.1f MB)", srv, *memStreams, took.Round(time.Millisecond),
			float64(rss)/(1<<20), float64(base)/(1<<20), float64(hwm)/(1<<20))
		nc.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
}
