package jetstream_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// nats.go's key-value and object stores are streams with conventions; what
// they do through the stream API alone (create, put, get by direct get,
// create/update by expected last subject sequence, delete and purge
// markers, status) must look exactly as on the reference. Watchers, key
// lists, history and object reads need ordered consumers (the consumer
// layer), and are not exercised here.

// opCtx is a short context per operation, so one slow call cannot eat the
// time of the next.
func opCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// streamInfoJSON writes a stream's INFO reply, normalized.
func streamInfoJSON(t *testing.T, nc *nats.Conn, w *strings.Builder, stream string) {
	t.Helper()
	r, err := nc.Request("$JS.API.STREAM.INFO."+stream, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "info %s:\n", stream)
	renderReply(w, r)
}

func TestTranscriptKeyValue(t *testing.T) {
	goldenTranscript(t, "kv", func(t *testing.T, tg *target, w *strings.Builder) {
		nc, js := tg.connect(t)
		p := func(f string, a ...any) { fmt.Fprintf(w, f+"\n", a...) }
		entry := func(what string, e jetstream.KeyValueEntry, err error) {
			if err != nil {
				p("%s: %v", what, err)
				return
			}
			p("%s: key=%s value=%q rev=%d delta=%d op=%v bucket=%s", what, e.Key(), e.Value(), e.Revision(), e.Delta(), e.Operation(), e.Bucket())
		}
		kv, err := js.CreateKeyValue(opCtx(t), jetstream.KeyValueConfig{
			Bucket: "B", History: 3, TTL: time.Hour, Description: "d", MaxValueSize: 100,
			LimitMarkerTTL: 2 * time.Second, Metadata: map[string]string{"app": "x"},
		})
		if err != nil {
			t.Fatal(err)
		}
		streamInfoJSON(t, nc, w, "KV_B")
		rev, err := kv.Put(opCtx(t), "k1", []byte("v1"))
		p("put k1: %d %v", rev, err)
		rev, err = kv.PutString(opCtx(t), "k1", "v2")
		p("put k1: %d %v", rev, err)
		rev, err = kv.Create(opCtx(t), "k1", []byte("v3"))
		p("create existing k1: %d %v", rev, err)
		rev, err = kv.Create(opCtx(t), "k2", []byte("x"))
		p("create k2: %d %v", rev, err)
		_, err = kv.Update(opCtx(t), "k2", []byte("y"), 1)
		p("update k2 wrong revision: %v", err)
		rev, err = kv.Update(opCtx(t), "k2", []byte("y"), rev)
		p("update k2: %d %v", rev, err)
		e, err := kv.Get(opCtx(t), "k1")
		entry("get k1", e, err)
		e, err = kv.GetRevision(opCtx(t), "k1", 1)
		entry("get k1 rev 1", e, err)
		e, err = kv.GetRevision(opCtx(t), "k1", 3)
		entry("get k1 rev 3 (k2's)", e, err)
		e, err = kv.GetRevision(opCtx(t), "k1", 99)
		entry("get k1 rev 99", e, err)
		e, err = kv.Get(opCtx(t), "nope")
		entry("get missing", e, err)
		p("delete k1: %v", kv.Delete(opCtx(t), "k1"))
		e, err = kv.Get(opCtx(t), "k1")
		entry("get deleted k1", e, err)
		rev, err = kv.Create(opCtx(t), "k1", []byte("again"))
		p("create after delete: %d %v", rev, err)
		p("purge k2: %v", kv.Purge(opCtx(t), "k2"))
		e, err = kv.Get(opCtx(t), "k2")
		entry("get purged k2", e, err)
		rev, err = kv.Create(opCtx(t), "k2", []byte("again"))
		p("create after purge: %d %v", rev, err)
		rev, err = kv.Create(opCtx(t), "k3", []byte("ttl"), jetstream.KeyTTL(time.Minute))
		p("create k3 with TTL: %d %v", rev, err)
		p("delete k3 wrong last revision: %v", kv.Delete(opCtx(t), "k3", jetstream.LastRevision(1)))
		p("delete k3 right last revision: %v", kv.Delete(opCtx(t), "k3", jetstream.LastRevision(rev)))
		p("purge k3 with TTL: %v", kv.Purge(opCtx(t), "k3", jetstream.PurgeTTL(time.Minute)))
		_, err = kv.Put(opCtx(t), "big", bytes.Repeat([]byte("x"), 200))
		p("put too large: %v", err)
		_, err = kv.PutString(opCtx(t), "bad*key", "x")
		p("put bad key: %v", err)
		_, err = kv.PutString(opCtx(t), "a.b.c", "dotted")
		p("put dotted key: %v", err)
		st, err := kv.Status(opCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		p("status: bucket=%s values=%d history=%d ttl=%v compressed=%v marker=%v store=%s bytes=%d",
			st.Bucket(), st.Values(), st.History(), st.TTL(), st.IsCompressed(), st.LimitMarkerTTL(), st.BackingStore(), st.Bytes())
		streamInfoJSON(t, nc, w, "KV_B")
		for seq := 1; seq <= 12; seq++ {
			r, err := nc.Request("$JS.API.DIRECT.GET.KV_B", []byte(fmt.Sprintf(`{"seq":%d}`, seq)), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			writeMsg(w, r)
		}

		names := []string{}
		for n := range js.KeyValueStoreNames(opCtx(t)).Name() {
			names = append(names, n)
		}
		p("names: %v", names)
		_, err = js.CreateKeyValue(opCtx(t), jetstream.KeyValueConfig{Bucket: "B"})
		p("create again with another config: %v", err)
		_, err = js.CreateKeyValue(opCtx(t), jetstream.KeyValueConfig{Bucket: "bad.name"})
		p("bad bucket name: %v", err)
		_, err = js.KeyValue(opCtx(t), "missing")
		p("bind missing: %v", err)

		kv2, err := js.CreateOrUpdateKeyValue(opCtx(t), jetstream.KeyValueConfig{Bucket: "C", Storage: jetstream.MemoryStorage, Compression: true})
		p("create C: %v", err)
		if err == nil {
			_, err = kv2.PutString(opCtx(t), "a.b", "1")
			p("put a.b: %v", err)
		}
		_, err = js.UpdateKeyValue(opCtx(t), jetstream.KeyValueConfig{Bucket: "C", History: 5})
		p("update C to file storage: %v", err)
		_, err = js.UpdateKeyValue(opCtx(t), jetstream.KeyValueConfig{Bucket: "C", History: 5, Storage: jetstream.MemoryStorage, Compression: true})
		p("update C history: %v", err)
		streamInfoJSON(t, nc, w, "KV_C")
		p("delete bucket B: %v", js.DeleteKeyValue(opCtx(t), "B"))
		_, err = js.KeyValue(opCtx(t), "B")
		p("bind deleted: %v", err)
		p("delete bucket B again: %v", js.DeleteKeyValue(opCtx(t), "B"))
	})
}

func TestTranscriptObjectStore(t *testing.T) {
	goldenTranscript(t, "object-store", func(t *testing.T, tg *target, w *strings.Builder) {
		nc, js := tg.connect(t)
		p := func(f string, a ...any) { fmt.Fprintf(w, f+"\n", a...) }
		ob, err := js.CreateObjectStore(opCtx(t), jetstream.ObjectStoreConfig{Bucket: "O", Description: "d"})
		if err != nil {
			t.Fatal(err)
		}
		streamInfoJSON(t, nc, w, "OBJ_O")
		big := bytes.Repeat([]byte("abcdefgh"), 40000)
		info, err := ob.PutBytes(opCtx(t), "file1", big)
		if err != nil {
			t.Fatal(err)
		}
		p("put: name=%s size=%d chunks=%d digest=%s", info.Name, info.Size, info.Chunks, info.Digest)
		oi, err := ob.GetInfo(opCtx(t), "file1")
		if err != nil {
			t.Fatal(err)
		}
		p("info: name=%s size=%d chunks=%d deleted=%v", oi.Name, oi.Size, oi.Chunks, oi.Deleted)
		_, err = ob.GetInfo(opCtx(t), "nope")
		p("info missing: %v", err)
		_, err = ob.AddLink(opCtx(t), "link1", oi)
		p("link: %v", err)
		err = ob.UpdateMeta(opCtx(t), "file1", jetstream.ObjectMeta{Name: "file2", Description: "renamed"})
		p("rename: %v", err)
		_, err = ob.PutString(opCtx(t), "small", "tiny")
		p("put small: %v", err)
		p("delete small: %v", ob.Delete(opCtx(t), "small"))
		oi, err = ob.GetInfo(opCtx(t), "small", jetstream.GetObjectInfoShowDeleted())
		if err == nil {
			p("deleted info: size=%d chunks=%d deleted=%v", oi.Size, oi.Chunks, oi.Deleted)
		}
		st, err := ob.Status(opCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		p("status: bucket=%s sealed=%v size=%d", st.Bucket(), st.Sealed(), st.Size())
		streamInfoJSON(t, nc, w, "OBJ_O")
		p("seal: %v", ob.Seal(opCtx(t)))
		_, err = ob.PutString(opCtx(t), "x", "y")
		p("put after seal: %v", err)
		p("delete store: %v", js.DeleteObjectStore(opCtx(t), "O"))
		_, err = js.ObjectStore(opCtx(t), "O")
		p("bind deleted: %v", err)
	})
}
