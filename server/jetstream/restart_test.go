package jetstream_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/server/launch"
	"github.com/keelhq/keel/server/opts"
)

// fillForRestart creates a file and a memory stream and publishes into the
// file stream messages with ids, a deletion and a purge.
func fillForRestart(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	c := ctx(t)
	s := mustStream(t, js, jetstream.StreamConfig{Name: "F", Subjects: []string{"f.*"}, MaxMsgsPerSubject: 100,
		Description: "file stream", Metadata: map[string]string{"k": "v"}, AllowDirect: true, Duplicates: time.Hour})
	mustStream(t, js, jetstream.StreamConfig{Name: "MEM", Subjects: []string{"mem"}, Storage: jetstream.MemoryStorage})
	for i := 1; i <= n; i++ {
		msg := nats.NewMsg(fmt.Sprintf("f.%d", i%5))
		msg.Header.Set("Nats-Msg-Id", fmt.Sprint("id-", i))
		msg.Data = []byte(fmt.Sprint("m", i))
		if _, err := js.PublishMsg(c, msg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Publish(c, "mem", []byte("gone after restart")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(c, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(c, jetstream.WithPurgeSubject("f.1")); err != nil {
		t.Fatal(err)
	}
}

// checkAfterRestart verifies what fillForRestart left.
func checkAfterRestart(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	c := ctx(t)
	s, err := js.Stream(c, "F")
	if err != nil {
		t.Fatalf("file stream after restart: %v", err)
	}
	info := s.CachedInfo()
	if info.Config.Description != "file stream" || info.Config.Metadata["k"] != "v" || !info.Config.AllowDirect {
		t.Fatalf("config after restart: %+v", info.Config)
	}
	want := uint64(n - 1 - n/5)
	if info.State.Msgs != want || info.State.LastSeq != uint64(n) {
		t.Fatalf("state after restart: %+v, want %d msgs", info.State, want)
	}
	m, err := s.GetMsg(c, uint64(n))
	if err != nil || string(m.Data) != fmt.Sprint("m", n) {
		t.Fatalf("last message: %v %v", err, m)
	}
	if _, err := s.GetMsg(c, 3); err != jetstream.ErrMsgNotFound {
		t.Fatalf("deleted message back: %v", err)
	}
	// The duplicate window was rebuilt from the stored messages.
	msg := nats.NewMsg("f.1")
	msg.Header.Set("Nats-Msg-Id", fmt.Sprint("id-", n))
	ack, err := js.PublishMsg(c, msg)
	if err != nil || !ack.Duplicate || ack.Sequence != uint64(n) {
		t.Fatalf("duplicate after restart: %v %+v", err, ack)
	}
	// Publishing continues after the last sequence, with the last msg id
	// known.
	msg = nats.NewMsg("f.1")
	msg.Header.Set("Nats-Expected-Last-Msg-Id", fmt.Sprint("id-", n))
	msg.Header.Set("Nats-Expected-Last-Sequence", fmt.Sprint(n))
	if ack, err = js.PublishMsg(c, msg); err != nil || ack.Sequence != uint64(n+1) {
		t.Fatalf("publish after restart: %v %+v", err, ack)
	}
	mem, err := js.Stream(c, "MEM")
	if err != nil {
		t.Fatalf("memory stream definition after restart: %v", err)
	}
	if mem.CachedInfo().State.Msgs != 0 {
		t.Fatalf("memory stream kept messages: %+v", mem.CachedInfo().State)
	}
}

func TestRestartGraceful(t *testing.T) {
	dir := t.TempDir()
	const n = 200
	n1 := startNode(t, dir, nil)
	_, js := connect(t, n1)
	fillForRestart(t, js, n)
	if err := n1.Shutdown(); err != nil {
		t.Fatal(err)
	}
	n2 := startNode(t, dir, nil)
	_, js = connect(t, n2)
	checkAfterRestart(t, js, n)

	// A deleted stream stays deleted.
	if err := js.DeleteStream(ctx(t), "F"); err != nil {
		t.Fatal(err)
	}
	n2.Shutdown()
	n3 := startNode(t, dir, nil)
	_, js = connect(t, n3)
	if _, err := js.Stream(ctx(t), "F"); err != jetstream.ErrStreamNotFound {
		t.Fatalf("deleted stream back after restart: %v", err)
	}
}

func TestRestartKeepsUpdatedConfig(t *testing.T) {
	dir := t.TempDir()
	n1 := startNode(t, dir, nil)
	_, js := connect(t, n1)
	cfg := jetstream.StreamConfig{Name: "U", Subjects: []string{"u"}}
	mustStream(t, js, cfg)
	cfg.Subjects = []string{"u", "v"}
	cfg.MaxMsgs = 7
	if _, err := js.UpdateStream(ctx(t), cfg); err != nil {
		t.Fatal(err)
	}
	n1.Shutdown()
	n2 := startNode(t, dir, nil)
	_, js = connect(t, n2)
	s, err := js.Stream(ctx(t), "U")
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config; c.MaxMsgs != 7 || len(c.Subjects) != 2 {
		t.Fatalf("config after restart: %+v", c)
	}
	if _, err := js.Publish(ctx(t), "v", nil); err != nil {
		t.Fatalf("publish on updated subject after restart: %v", err)
	}
}

func TestRestartEncrypted(t *testing.T) {
	dir := t.TempDir()
	withKey := func(key string) func(o *opts.Options) {
		return func(o *opts.Options) { o.JetStreamOpts.Key = key; o.JetStreamOpts.Cipher = "chacha" }
	}
	n1 := startNode(t, dir, withKey("s3cr3t"))
	_, js := connect(t, n1)
	mustStream(t, js, jetstream.StreamConfig{Name: "E", Subjects: []string{"e"}})
	if _, err := js.Publish(ctx(t), "e", []byte("secret payload")); err != nil {
		t.Fatal(err)
	}
	n1.Shutdown()

	o := opts.Default()
	o.Host, o.Port, o.JetStream, o.StoreDir = "127.0.0.1", -1, true, dir
	withKey("wrong")(o)
	if n, err := launch.Start(o, nil); err == nil {
		n.Shutdown()
		t.Fatal("started with the wrong key")
	}

	n2 := startNode(t, dir, withKey("s3cr3t"))
	_, js = connect(t, n2)
	s, err := js.Stream(ctx(t), "E")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx(t), 1)
	if err != nil || string(m.Data) != "secret payload" {
		t.Fatalf("after restart: %v %v", err, m)
	}
}

// TestBinaryRestartEncrypted runs the keel binary on an encrypted store
// (jetstream { cipher: chacha, key }): a graceful stop (SIGTERM) and a
// SIGKILL in the middle of asynchronous publishing each leave every
// stream, its configuration and every acknowledged message (and the
// duplicate window) as they were; no payload is readable on disk; and a
// wrong key, or none, stops the start with an error that says so.
func TestBinaryRestartEncrypted(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	dir := t.TempDir()
	conf := func(key string) string {
		c := "jetstream {\n  store_dir: " + strconv.Quote(dir) + "\n"
		if key != "" {
			c += "  cipher: chacha\n  key: " + strconv.Quote(key) + "\n"
		}
		return c + "}\n"
	}
	const marker = "PLAINTEXT-MARKER"
	p := startProcessConf(t, conf("s3cr3t"))
	nc, err := nats.Connect(p.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	const n = 200
	fillForRestart(t, js, n)
	kv, err := js.CreateKeyValue(ctx(t), jetstream.KeyValueConfig{Bucket: "KV", History: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(ctx(t), "key", marker); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	p.stop(t)
	if !strings.Contains(p.log.String(), "JetStream Shutdown") {
		t.Fatalf("no JetStream shutdown in the log:\n%s", p.log.String())
	}

	// Graceful restart.
	p = startProcessConf(t, conf("s3cr3t"))
	nc, err = nats.Connect(p.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	js, _ = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
	checkAfterRestart(t, js, n)
	if kv, err = js.KeyValue(ctx(t), "KV"); err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx(t), "key"); err != nil || string(e.Value()) != marker {
		t.Fatalf("kv after restart: %v", err)
	}

	// SIGKILL while acks are flowing.
	mustStream(t, js, jetstream.StreamConfig{Name: "K", Subjects: []string{"k.>"}, Duplicates: time.Hour})
	acked := make(chan uint64, 100000)
	publisher := js
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			msg := nats.NewMsg(fmt.Sprint("k.", i%10))
			msg.Data = []byte(marker)
			msg.Header.Set("Nats-Msg-Id", fmt.Sprint("kill-", i))
			f, err := publisher.PublishMsgAsync(msg)
			if err != nil {
				return // the connection is gone
			}
			go func() {
				select {
				case a := <-f.Ok():
					acked <- a.Sequence
				case <-f.Err():
				}
			}()
		}
	}()
	var seqs []uint64
	for len(seqs) < 1000 {
		select {
		case s := <-acked:
			seqs = append(seqs, s)
		case <-time.After(20 * time.Second):
			t.Fatal("no acks")
		}
	}
	p.kill()
	nc.Close()
	<-done
	// Acks already received before the connection went are in the channel;
	// none can arrive after it.
	for more := true; more; {
		select {
		case s := <-acked:
			seqs = append(seqs, s)
		default:
			more = false
		}
	}

	p = startProcessConf(t, conf("s3cr3t"))
	nc, err = nats.Connect(p.url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	js, _ = jetstream.New(nc)
	s, err := js.Stream(ctx(t), "K")
	if err != nil {
		t.Fatalf("stream after kill: %v\n%s", err, p.log.String())
	}
	for _, seq := range seqs {
		if m, err := s.GetMsg(ctx(t), seq); err != nil || string(m.Data) != marker {
			t.Fatalf("acknowledged message %d lost by the kill: %v", seq, err)
		}
	}
	last := s.CachedInfo().State.LastSeq
	m, err := s.GetMsg(ctx(t), last)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.PublishMsg(ctx(t), &nats.Msg{Subject: "k.0", Header: nats.Header{"Nats-Msg-Id": {m.Header.Get("Nats-Msg-Id")}}})
	if err != nil || !ack.Duplicate || ack.Sequence != last {
		t.Fatalf("duplicate window after the kill: %v %+v (last %d)", err, ack, last)
	}
	nc.Close()
	p.stop(t)

	// Nothing readable at rest.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s holds a payload in the clear", path)
		}
		return nil
	})

	// A wrong key, or none, is refused with an error that says so.
	for _, key := range []string{"wrong", ""} {
		path := filepath.Join(t.TempDir(), "keel.conf")
		os.WriteFile(path, []byte("listen: 127.0.0.1:"+strconv.Itoa(freePort(t))+"\n"+conf(key)), 0o600)
		cmd := exec.Command(keelBinary(t), "-c", path)
		done := make(chan struct{})
		var out []byte
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("key %q: keel started on the encrypted store:\n%s", key, out)
		}
		if err == nil || !strings.Contains(string(out), "encryption key") {
			t.Fatalf("key %q: exit %v, want a failed start naming the encryption key:\n%s", key, err, out)
		}
	}
}

// TestKeyAddedToPlainStore: a key configured for a store written without
// one must not leave the old payloads in the clear (clarification 12):
// either the store is encrypted at start-up (as nats-server converts its
// files) or the start is refused with an error saying why.
func TestKeyAddedToPlainStore(t *testing.T) {
	dir := t.TempDir()
	const marker = "PLAINTEXT-MARKER"
	n1 := startNode(t, dir, nil)
	_, js := connect(t, n1)
	mustStream(t, js, jetstream.StreamConfig{Name: "P", Subjects: []string{"p"}})
	if _, err := js.Publish(ctx(t), "p", []byte(marker)); err != nil {
		t.Fatal(err)
	}
	n1.Shutdown()
	o := opts.Default()
	o.Host, o.Port, o.JetStream, o.StoreDir = "127.0.0.1", -1, true, dir
	o.JetStreamOpts.Key = "s3cr3t"
	n2, err := launch.Start(o, nil)
	if err != nil {
		if !strings.Contains(err.Error(), "encrypt") {
			t.Fatalf("refused without saying why: %v", err)
		}
		return
	}
	n2.Shutdown()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s still holds a payload in the clear", path)
		}
		return nil
	})
}
