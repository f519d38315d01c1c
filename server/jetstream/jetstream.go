// Package jetstream is Keel's JetStream layer: the $JS.API request handlers,
// streams and the publish path, built on the storage engine (package
// blockstore) and talking to clients only through the server's internal
// publish/subscribe API (the Host interface, which *server.Server
// satisfies).
//
// The layer holds no message data of its own. A stream is a
// blockstore.Stream (file or memory) plus what the API needs around it:
// its JetStream configuration (kept in the engine as an aux record, so a
// restart finds it again), its subscriptions, its duplicate-id window and
// its queue of publish acknowledgements waiting for durability.
//
// Every change to a stream is a blockstore.Command with everything decided
// here (sequence, timestamp, TTL, the clock for expiry), applied by the
// engine's one apply function: a consensus layer can replicate exactly these
// commands later without changing this package's behaviour.
//
// Publishing: a stream subscribes to its subjects; the server runs the
// callback on the publisher's goroutine. The callback checks the Nats-*
// headers, applies an OpStore command and queues the PubAck with the
// command's ticket. The engine's durable watermark (one fsync covering
// every stream's writes: group commit) releases the acks in order from a
// single goroutine, with one flush per connection, so no publisher ever
// waits for an fsync. Atomic batches (batch_atomic.go), fast batches
// (batch_fast.go), counters (counter.go), schedules (schedule.go), expiry
// and delete markers (expiry.go) and republishing ride the same path.
//
// Requests on $JS.API are copied off the publisher's goroutine and served
// by a small pool of workers (api_dispatch.go; other layers add handlers
// with HandleAPI); direct gets are served inline, being reads only.
//
// Files: enable.go (configuration, start), api_*.go (handlers),
// stream*.go (the stream and its publish path), ack_queue.go (durable
// acks), dedup.go, limits.go, advisories.go, account_info.go (usage for
// $JS.API.INFO and monitoring), recover.go (restart), origins.go,
// mirror.go, source.go, source_counter.go (mirrors and sources on the same
// server), api_snapshot.go, snapshot.go, restore.go (backups over the
// chunked snapshot protocol), consumers_absent.go (the consumer API's
// answers until the consumer layer replaces them).
//
// Tests compare with nats-server itself: testdata/oracle holds request
// scripts and testdata/transcripts what nats.go clients see, each with the
// reference's replies (.golden), which TestOracleScripts and the
// TestTranscript* tests replay against Keel; -jsref runs the same tests
// against the reference (and -update rewrites the golden files from it).
package jetstream

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Host is what JetStream needs from the NATS server: internal
// subscriptions, publishing, INFO and logging. *server.Server satisfies it.
type Host interface {
	SubscribeInternal(subject, queue string, fn func(m *server.InMsg)) (*server.InternalSub, error)
	UnsubscribeInternal(is *server.InternalSub)
	Publish(subject, reply string, hdr, data []byte)
	SetJetStreamInfo(js server.JetStreamInfo)
	Name() string
	ID() string

	Noticef(format string, v ...any)
	Warnf(format string, v ...any)
	Errorf(format string, v ...any)
	Debugf(format string, v ...any)
}

var errShutdown = errors.New("jetstream: shut down")

// JetStream is the running JetStream layer of one server.
type JetStream struct {
	host   Host
	cfg    Config
	engine *blockstore.Engine
	meta   blockstore.Stream // aux records of memory streams (see recover.go)
	dur    *durability
	api    *apiDispatcher
	level  atomic.Int32 // advertised API level
	// features are the optional stream features built (see features.go);
	// guarded by opMu.
	features jsapi.FeatureSet
	start    time.Time

	// opMu serializes the API operations that change the set of streams
	// or a stream's configuration, so checks against the other streams
	// (overlap, limits) see a stable picture.
	opMu sync.Mutex

	mu      sync.RWMutex
	streams map[string]*stream
	closed  bool

	// origins wakes the readers of mirrors and sources waiting for their
	// origin stream to appear (origins.go).
	origins originHub
	// transfers are the snapshots and restores in progress (restore.go).
	transfers transferSet

	apiTotal  atomic.Uint64
	apiErrors atomic.Uint64
	memUsed   atomic.Int64 // bytes held by memory streams
	storeUsed atomic.Int64 // bytes held by file streams

	wg sync.WaitGroup
}

// Streams returns the current streams, sorted by name.
func (js *JetStream) streamList() []*stream {
	js.mu.RLock()
	out := make([]*stream, 0, len(js.streams))
	for _, st := range js.streams {
		out = append(out, st)
	}
	js.mu.RUnlock()
	sortStreams(out)
	return out
}

func (js *JetStream) lookup(name string) (*stream, bool) {
	js.mu.RLock()
	st, ok := js.streams[name]
	js.mu.RUnlock()
	return st, ok
}

// APILevel is the JetStream API level Keel advertises: the highest level
// whose every stream and consumer feature is implemented (clarification 3).
func (js *JetStream) APILevel() int { return int(js.level.Load()) }

// SetConsumerAPILevel tells JetStream the API level the consumer layer
// implements; the advertised level becomes the lower of it and the stream
// layer's (see advertisedLevel). INFO is refreshed for clients that
// connect afterwards.
func (js *JetStream) SetConsumerAPILevel(level int) {
	js.level.Store(int32(advertisedLevel(max(level, 0))))
	js.host.SetJetStreamInfo(server.JetStreamInfo{Enabled: true, Domain: js.cfg.Domain, APILevel: js.APILevel()})
}

// Domain is the JetStream domain ("" when none).
func (js *JetStream) Domain() string { return js.cfg.Domain }

// Engine is the storage engine (nil after Shutdown).
func (js *JetStream) Engine() *blockstore.Engine { return js.engine }

// Config is the configuration JetStream runs with, limits resolved.
func (js *JetStream) Config() Config { return js.cfg }

// Shutdown stops serving the API and publishes, releases the acks that
// became durable, and closes the engine (which checkpoints every stream).
// It is safe to call more than once.
func (js *JetStream) Shutdown() error {
	js.mu.Lock()
	if js.closed {
		js.mu.Unlock()
		return nil
	}
	js.closed = true
	js.host.Noticef("Initiating JetStream Shutdown...")
	streams := make([]*stream, 0, len(js.streams))
	for _, st := range js.streams {
		streams = append(streams, st)
	}
	js.mu.Unlock()

	js.api.stop()
	js.transfers.wait()
	for _, st := range streams {
		st.stop()
	}
	var err error
	if js.engine != nil {
		// Make what was applied durable so that the last acks can go.
		if serr := js.engine.Sync(); serr != nil {
			err = fmt.Errorf("jetstream: shutdown sync: %w", serr)
		}
	}
	js.dur.stop()
	if js.engine != nil {
		if cerr := js.engine.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("jetstream: close engine: %w", cerr)
		}
	}
	js.wg.Wait()
	js.host.SetJetStreamInfo(server.JetStreamInfo{})
	js.host.Noticef("JetStream Shutdown")
	return err
}

func (js *JetStream) isClosed() bool {
	js.mu.RLock()
	defer js.mu.RUnlock()
	return js.closed
}

// batcher is the optional part of Host that publishes many messages with
// one flush of the receiving connections (*server.Server has it).
type batcher interface {
	StartBatch() server.PublishBatch
}

// pubBatch publishes a burst of messages: through the host's batches when
// it has them, one by one otherwise.
type pubBatch struct {
	b    server.PublishBatch
	host Host
	on   bool
}

func (js *JetStream) startBatch() pubBatch {
	if bh, ok := js.host.(batcher); ok {
		return pubBatch{b: bh.StartBatch(), on: true}
	}
	return pubBatch{host: js.host}
}

func (p *pubBatch) Publish(subject, reply string, hdr, data []byte) {
	if p.on {
		p.b.Publish(subject, reply, hdr, data)
	} else {
		p.host.Publish(subject, reply, hdr, data)
	}
}

func (p *pubBatch) Flush() {
	if p.on {
		p.b.Flush()
	}
}

// publish sends a message from JetStream itself.
func (js *JetStream) publish(subject string, hdr, data []byte) {
	js.host.Publish(subject, "", hdr, data)
}

// reply answers a request with a body (no headers).
func (js *JetStream) reply(reply string, data []byte) {
	if reply == "" {
		return
	}
	js.host.Publish(reply, "", nil, data)
}

// addUsage moves the server-wide usage counters by a stream's byte delta.
func (js *JetStream) addUsage(storage jsapi.StorageType, delta int64) {
	if delta == 0 {
		return
	}
	if storage == jsapi.MemoryStorage {
		js.memUsed.Add(delta)
	} else {
		js.storeUsed.Add(delta)
	}
}
