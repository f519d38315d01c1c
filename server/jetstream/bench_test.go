package jetstream

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// nullHost is a Host that delivers nothing: it isolates the JetStream
// layer and the engine for benchmarks.
type nullHost struct{ published atomic.Int64 }

func (h *nullHost) SubscribeInternal(string, string, func(*server.InMsg)) (*server.InternalSub, error) {
	return &server.InternalSub{}, nil
}
func (h *nullHost) UnsubscribeInternal(*server.InternalSub) {}
func (h *nullHost) Publish(string, string, []byte, []byte)  { h.published.Add(1) }
func (h *nullHost) SetJetStreamInfo(server.JetStreamInfo)   {}
func (h *nullHost) Name() string                            { return "bench" }
func (h *nullHost) ID() string                              { return "bench" }
func (h *nullHost) Noticef(string, ...any)                  {}
func (h *nullHost) Warnf(string, ...any)                    {}
func (h *nullHost) Errorf(string, ...any)                   {}
func (h *nullHost) Debugf(string, ...any)                   {}

func benchStream(b *testing.B, storage jsapi.StorageType) (*JetStream, *stream) {
	b.Helper()
	js, err := Start(&nullHost{}, Config{StoreDir: b.TempDir(), MaxMemory: 1 << 40, MaxStore: 1 << 40,
		Account: jsapi.UnlimitedAccountLimits, SyncInterval: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { js.Shutdown() })
	cfg, _, apiErr := jsapi.CheckStreamCreate("B", &jsapi.StreamConfigRequest{StreamConfig: jsapi.StreamConfig{
		Name: "B", Subjects: []string{"b"}, Storage: storage, Discard: jsapi.DiscardOld}}, js.limitsEnv())
	if apiErr != nil {
		b.Fatal(apiErr)
	}
	st, err := js.createStream(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	return js, st
}

// BenchmarkPublishPath measures one publish through the stream callback:
// header checks, the engine's apply, and queueing the ack (file streams
// on an interval sync policy, so the fsync is out of the picture).
func BenchmarkPublishPath(b *testing.B) {
	for _, storage := range []jsapi.StorageType{jsapi.FileStorage, jsapi.MemoryStorage} {
		b.Run(storage.String(), func(b *testing.B) {
			_, st := benchStream(b, storage)
			data := make([]byte, 128)
			m := &server.InMsg{Subject: "b", Reply: "_INBOX.abcdefghij.1", Data: data}
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st.processInbound(m)
			}
		})
	}
}

// BenchmarkPublishWithMsgID adds a Nats-Msg-Id (the duplicate window).
func BenchmarkPublishWithMsgID(b *testing.B) {
	_, st := benchStream(b, jsapi.MemoryStorage)
	hdr := []byte("NATS/1.0\r\nNats-Msg-Id: 0000000000000000\r\n\r\n")
	m := &server.InMsg{Subject: "b", Reply: "_INBOX.abcdefghij.1", Header: hdr, Data: make([]byte, 128)}
	id := hdr[len("NATS/1.0\r\nNats-Msg-Id: "):]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := i
		for j := 15; j >= 0; j-- {
			id[j] = byte('0' + n%10)
			n /= 10
		}
		st.processInbound(m)
	}
}

func TestOriginEntryPoints(t *testing.T) {
	js, err := Start(&nullHost{}, Config{StoreDir: t.TempDir(), MaxMemory: 1 << 30, MaxStore: 1 << 30, Account: jsapi.UnlimitedAccountLimits})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Shutdown()
	cfg, _, apiErr := jsapi.CheckStreamCreate("O", &jsapi.StreamConfigRequest{StreamConfig: jsapi.StreamConfig{
		Name: "O", Subjects: []string{"o.>"}}}, js.limitsEnv())
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	st, err := js.createStream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A sourced message may carry what a client may not.
	hdr := []byte("NATS/1.0\r\nNats-Stream-Source: ORIGIN 5 > > o.a\r\n\r\n")
	if seq, err := st.storeSourced(nil, "o.a", hdr, []byte("x")); err != nil || seq != 1 {
		t.Fatalf("sourced: %d %v", seq, err)
	}
	// A mirrored message lands at the origin's sequence and time.
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	if err := st.storeMirrored(10, ts, "o.b", nil, []byte("y")); err != nil {
		t.Fatal(err)
	}
	sm, err := st.store.LoadMsg(10, nil)
	if err != nil || sm.Time != ts || string(sm.Data) != "y" {
		t.Fatalf("mirrored: %v %+v", err, sm)
	}
	if err := st.storeMirrored(10, ts, "o.b", nil, nil); err == nil {
		t.Fatal("mirrored sequence went backwards")
	}
}
