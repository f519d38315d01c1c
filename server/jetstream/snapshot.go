package jetstream

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nuid"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Stream snapshots (backups), as STREAM.SNAPSHOT sends them and
// STREAM.RESTORE takes them back.
//
// The bytes are Keel's own (clients treat them as opaque), framed as the
// reference frames its archives: an S2 stream (klauspost/compress/s2,
// CRC-checked blocks; the nats CLI decompresses it to show progress).
// Inside:
//
//	"KEELBKP1"                   magic, format version 1
//	u32 LE n, n bytes, u32 LE   the backup header (JSON, backupHeader) and its CRC32C
//	engine snapshot              blockstore's format ("KEELSNAP", checksummed
//	                             frames: meta, aux records, messages, end)
//
// The engine snapshot holds the stream's aux records: its configuration,
// its sources' progress, and the consumers' state the consumer layer keeps
// under ConsumerAuxPrefix, so a restore brings consumers back with the
// stream. A snapshot requested with no_consumers leaves those records out
// and says so in its header; a restore of such a backup still drops any
// it finds (backups taken before the engine could leave them out).

// ConsumerAuxPrefix starts the keys of the aux records the consumer layer
// keeps in its stream (configuration and state of each consumer). A
// snapshot carries them; a restore of a snapshot taken with no_consumers
// drops them.
const ConsumerAuxPrefix = "jetstream.consumer/"

const backupMagic = "KEELBKP1"

// maxBackupHeader bounds the header a restore accepts.
const maxBackupHeader = 64 << 10

// backupHeader describes a backup: where it comes from and what it holds.
type backupHeader struct {
	Stream      string    `json:"stream"`
	Storage     string    `json:"storage"`
	Taken       time.Time `json:"taken"`
	Server      string    `json:"server,omitempty"` // Keel version that took it
	NoConsumers bool      `json:"no_consumers,omitempty"`
}

var errNotBackup = errors.New("not a Keel stream backup")

func writeBackupHeader(w io.Writer, h *backupHeader) error {
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}
	b := make([]byte, 0, len(backupMagic)+len(js)+8)
	b = append(b, backupMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(js, castagnoli))
	_, err = w.Write(b)
	return err
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readBackupHeader reads and checks the header; r is then at the engine
// snapshot.
func readBackupHeader(r io.Reader) (backupHeader, error) {
	var h backupHeader
	var pre [len(backupMagic) + 4]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return h, fmt.Errorf("%w: no data", errNotBackup)
		}
		return h, fmt.Errorf("backup: %w", err)
	}
	if string(pre[:len(backupMagic)]) != backupMagic {
		if string(pre[:4]) == "KEEL" {
			return h, fmt.Errorf("backup format %q not supported", pre[:len(backupMagic)])
		}
		return h, errNotBackup
	}
	n := binary.LittleEndian.Uint32(pre[len(backupMagic):])
	if n > maxBackupHeader {
		return h, fmt.Errorf("backup header of %d bytes is too large", n)
	}
	buf := make([]byte, n+4)
	if _, err := io.ReadFull(r, buf); err != nil {
		return h, fmt.Errorf("backup header: %w", err)
	}
	if crc32.Checksum(buf[:n], castagnoli) != binary.LittleEndian.Uint32(buf[n:]) {
		return h, errors.New("backup header checksum mismatch")
	}
	if err := json.Unmarshal(buf[:n], &h); err != nil {
		return h, fmt.Errorf("backup header: %w", err)
	}
	return h, nil
}

// firstWrite signals on the first write through it: the engine writes only
// after it has captured its image of the stream.
type firstWrite struct {
	w    io.Writer
	once sync.Once
	done chan struct{}
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(func() { close(f.done) })
	return f.w.Write(p)
}

// openSnapshot starts writing st's backup into a pipe and returns its
// reading end with the stream's state at the instant of the snapshot:
// publishes wait (st.mu) from the state until the engine has captured its
// image, so the two agree; the rest is written while they go on. The
// snapshot's end delivers, on written, what the engine says the backup
// holds: that and the state announced differ only by messages found lost
// to damage while it was written, which are not in it.
func (js *JetStream) openSnapshot(st *stream, noConsumers bool) (rd io.ReadCloser, state jsapi.StreamState, written <-chan blockstore.State, err error) {
	pr, pw := io.Pipe()
	fw := &firstWrite{done: make(chan struct{})}
	early := make(chan error, 1)
	held := make(chan blockstore.State, 1)
	var opts blockstore.SnapshotOptions
	if noConsumers {
		opts.ExcludeAux = []string{ConsumerAuxPrefix}
	}
	hdr := backupHeader{
		Stream: st.name, Storage: st.storage.String(), Taken: time.Now().UTC(),
		Server: js.cfg.ServerVersion, NoConsumers: noConsumers,
	}

	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil, jsapi.StreamState{}, nil, errStreamClosed
	}
	state = st.state(false)
	js.transfers.add()
	go func() {
		defer js.transfers.done()
		zw := s2.NewWriter(pw)
		err := writeBackupHeader(zw, &hdr)
		if err == nil {
			fw.w = zw
			var in blockstore.State
			if in, err = st.store.SnapshotWith(fw, opts); err == nil {
				held <- in
			}
		}
		fw.once.Do(func() { close(fw.done); early <- err })
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			err = fmt.Errorf("snapshot of %s: %w", st.name, err)
		}
		pw.CloseWithError(err)
	}()
	<-fw.done
	st.mu.Unlock()

	select {
	case err := <-early:
		if err != nil {
			pr.Close()
			return nil, jsapi.StreamState{}, nil, err
		}
	default:
	}
	return pr, state, held, nil
}

// checkStream reads and verifies every message of st as a snapshot would
// (without encoding any), so that damage shows before a snapshot asked for
// with jsck starts.
func (js *JetStream) checkStream(st *stream) error {
	if _, err := st.store.SnapshotWith(nil, blockstore.SnapshotOptions{CheckOnly: true}); err != nil {
		return err
	}
	if lost := js.lostFor(st.name); lost != nil {
		return fmt.Errorf("%d damaged messages", len(lost.Msgs))
	}
	return nil
}

// Status lines ending a snapshot's chunks.
const (
	snapshotEOF           = "NATS/1.0 204\r\n\r\n"
	snapshotNoInterest    = "NATS/1.0 408 No Interest\r\n\r\n"
	snapshotNoFlow        = "NATS/1.0 408 No Flow Response\r\n\r\n"
	snapshotInterestWait  = 2 * time.Second
	snapshotInterestCheck = 250 * time.Millisecond
)

// sendSnapshot delivers a backup read from r to the requester's deliver
// subject in chunks of chunk_size, each with a reply subject
// $JS.SNAPSHOT.ACK.<stream>.<id>.<size>.<index> that the receiver answers;
// at most window_size/chunk_size chunks are unanswered. The end is an empty
// message with status 204, or with 408 (receiver gone, or no answer for
// five seconds) or 500 <error> when the snapshot fails.
func (js *JetStream) sendSnapshot(st *stream, r io.Reader, req *jsapi.JSApiStreamSnapshotRequest) error {
	chunkSize, window := req.Chunking()
	inflight := window / chunkSize
	deliver := req.DeliverSubject

	slots := make(chan struct{}, inflight)
	for range inflight {
		slots <- struct{}{}
	}
	ackSubject := fmt.Sprintf(jsapi.SnapshotAckT, st.name, nuid.Next())
	sub, err := js.host.SubscribeInternal(ackSubject+".>", "", func(*server.InMsg) {
		select {
		case slots <- struct{}{}:
		default: // an answer too many
		}
	})
	if err != nil {
		js.publish(deliver, []byte(statusLine(500, err.Error())), nil)
		return err
	}
	defer js.host.UnsubscribeInternal(sub)

	quit := js.api.quit
	js.awaitInterest(deliver, quit)

	check := time.NewTicker(snapshotInterestCheck)
	defer check.Stop()
	flow := time.NewTimer(jsapi.DefaultSnapshotAckTimeout)
	defer flow.Stop()
	buf := make([]byte, chunkSize)
	var reply []byte
	for index := 1; ; index++ {
	wait:
		for {
			select {
			case <-slots:
				break wait
			case <-check.C:
				if !js.wanted(deliver) {
					js.publish(deliver, []byte(snapshotNoInterest), nil)
					return errors.New("no interest")
				}
			case <-flow.C:
				js.publish(deliver, []byte(snapshotNoFlow), nil)
				return errors.New("no flow response")
			case <-quit:
				js.publish(deliver, []byte(statusLine(500, "server shutting down")), nil)
				return errShutdown
			}
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			reply = fmt.Appendf(reply[:0], "%s.%d.%d", ackSubject, n, index)
			js.host.Publish(deliver, string(reply), nil, buf[:n])
			flow.Reset(jsapi.DefaultSnapshotAckTimeout)
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			js.publish(deliver, []byte(snapshotEOF), nil)
			return nil
		default:
			js.publish(deliver, []byte(statusLine(500, err.Error())), nil)
			return err
		}
	}
}

// awaitInterest gives the requester a moment to subscribe to the deliver
// subject itself: it asks first and subscribes when the answer comes, and
// a chunk sent before that would go to its reply inbox's wildcard and be
// lost. It goes ahead after snapshotInterestWait regardless, as the
// reference does. The host offers no notification of a new subscription:
// it is polled.
func (js *JetStream) awaitInterest(subject string, quit <-chan struct{}) {
	if js.exactInterest(subject) {
		return
	}
	deadline := time.NewTimer(snapshotInterestWait)
	defer deadline.Stop()
	tick := time.NewTicker(snapshotInterestCheck / 25)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if js.exactInterest(subject) {
				return
			}
		case <-deadline.C:
			return
		case <-quit:
			return
		}
	}
}

// accountHost is the optional part of Host that shows an account's
// subscriptions (*server.Server has it).
type accountHost interface {
	GlobalAccount() *server.Account
}

// exactInterest reports a subscription on subject itself (not a wildcard
// matching it). Without the means to tell, any interest counts.
func (js *JetStream) exactInterest(subject string) bool {
	ah, ok := js.host.(accountHost)
	if !ok {
		return js.wanted(subject)
	}
	for _, s := range ah.GlobalAccount().Interest(subject) {
		if s == subject {
			return true
		}
	}
	return false
}

// statusLine is a header block with a status and description; the
// description is kept to one line.
func statusLine(code int, desc string) string {
	desc = strings.NewReplacer("\r", " ", "\n", " ").Replace(desc)
	return fmt.Sprintf("NATS/1.0 %d %s\r\n\r\n", code, desc)
}

// snapshotStream serves STREAM.SNAPSHOT after the request was checked:
// response, advisories, chunks. It runs on its own goroutine.
func (js *JetStream) snapshotStream(r *Request, st *stream, req *jsapi.JSApiStreamSnapshotRequest) {
	const typ = jsapi.StreamSnapshotResponseType
	acc := server.GlobalAccountName
	if req.CheckMsgs {
		js.host.Noticef("Starting health check and snapshot for stream '%s > %s'", acc, st.name)
		if err := js.checkStream(st); err != nil {
			js.host.Warnf("Snapshot of stream '%s > %s' failed: %v", acc, st.name, err)
			js.RespondError(r, typ, jsapi.ErrStreamSnapshot(err))
			return
		}
	} else {
		js.host.Noticef("Starting snapshot for stream '%s > %s'", acc, st.name)
	}
	start := time.Now().UTC()
	rd, state, written, err := js.openSnapshot(st, req.NoConsumers)
	if err != nil {
		js.host.Warnf("Snapshot of stream '%s > %s' failed: %v", acc, st.name, err)
		js.RespondError(r, typ, jsapi.AsApiError(err, jsapi.ErrStreamSnapshot))
		return
	}
	defer rd.Close()
	cfg := *st.config()
	js.Respond(r, &jsapi.StreamSnapshotResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, Config: &cfg, State: &state})
	js.sendAdvisory(jsapi.AdvisoryStreamSnapshotCreatePre+"."+st.name, &jsapi.SnapshotCreateAdvisory{
		TypedEvent: typedEvent(jsapi.SnapshotCreateAdvisoryType),
		Stream:     st.name, State: state, Client: js.clientInfo(r), Domain: js.cfg.Domain,
	})

	err = js.sendSnapshot(st, rd, req)

	end := time.Now().UTC()
	adv := &jsapi.SnapshotCompleteAdvisory{
		TypedEvent: typedEvent(jsapi.SnapshotCompleteAdvisoryType),
		Stream:     st.name, Start: start, End: end, Client: js.clientInfo(r), Domain: js.cfg.Domain,
	}
	if err != nil {
		adv.Error = err.Error()
		js.host.Warnf("Snapshot for stream '%s > %s' failed after %v: %v", acc, st.name, end.Sub(start), err)
	} else {
		// What the backup holds, by the engine's count: the state announced
		// in the response, less any messages found damaged meanwhile.
		in := <-written
		if in.Msgs != state.Msgs {
			js.host.Warnf("Snapshot of stream '%s > %s' holds %d of the %d messages announced: the rest were found damaged",
				acc, st.name, in.Msgs, state.Msgs)
		}
		js.host.Noticef("Completed snapshot of %s for stream '%s > %s' in %v",
			friendlyBytes(int64(in.Bytes)), acc, st.name, end.Sub(start).Round(time.Millisecond))
	}
	js.sendAdvisory(jsapi.AdvisoryStreamSnapshotCompletePre+"."+st.name, adv)
}
