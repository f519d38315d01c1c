package jetstream_test

import (
	"fmt"
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
