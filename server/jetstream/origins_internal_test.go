package jetstream

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keelhq/keel/blockstore"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// TestStreamIdentity: the identity matches the reference's for the same
// creation time (observed: a stream created at this instant on nats-server
// v2.15.3 stamped its copies with P8OQpwm5).
func TestStreamIdentity(t *testing.T) {
	created, _ := time.Parse(time.RFC3339Nano, "2026-11-27T10:07:03.961844609Z")
	if got := streamIdentity(created); got != "P8OQpwm5" {
		t.Fatalf("identity %q", got)
	}
	if streamIdentity(created) == streamIdentity(created.Add(time.Nanosecond)) {
		t.Fatal("identities of two instants are equal")
	}
}

func TestCompileOrigin(t *testing.T) {
	tr := func(pairs ...string) []jsapi.SubjectTransformConfig {
		var out []jsapi.SubjectTransformConfig
		for i := 0; i+1 < len(pairs); i += 2 {
			out = append(out, jsapi.SubjectTransformConfig{Source: pairs[i], Destination: pairs[i+1]})
		}
		return out
	}
	cases := []struct {
		name    string
		src     jsapi.StreamSource
		key     string
		filters []string
		in, out string // a subject and what it is stored under
	}{
		{"all", jsapi.StreamSource{Name: "O"}, "O > >", nil, "o.a", "o.a"},
		{"filter", jsapi.StreamSource{Name: "O", FilterSubject: "o.a"}, "O o.a >", []string{"o.a"}, "o.a", "o.a"},
		{"filter all", jsapi.StreamSource{Name: "O", FilterSubject: ">"}, "O > >", nil, "o.a", "o.a"},
		{"transforms", jsapi.StreamSource{Name: "O", SubjectTransforms: tr("o.a", "y.a", "o.b", "")},
			"O o.a\fo.b y.a\f>", []string{"o.a", "o.b"}, "o.a", "y.a"},
		{"kept by a transform without destination", jsapi.StreamSource{Name: "O", SubjectTransforms: tr("o.a", "y.a", "o.b", "")},
			"O o.a\fo.b y.a\f>", []string{"o.a", "o.b"}, "o.b", "o.b"},
		{"wildcard transform", jsapi.StreamSource{Name: "O", SubjectTransforms: tr("o.*", "x.$1")},
			"O o.* x.$1", []string{"o.*"}, "o.q", "x.q"},
		{"transform of everything", jsapi.StreamSource{Name: "O", SubjectTransforms: tr("", "all.>")},
			"O > all.>", nil, "o.q", "all.o.q"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := compileOrigin(&tc.src, false)
			if err != nil {
				t.Fatal(err)
			}
			if sp.key != tc.key || strings.Join(sp.filters, ",") != strings.Join(tc.filters, ",") {
				t.Fatalf("key %q filters %q", sp.key, sp.filters)
			}
			if got := sp.transform(tc.in); got != tc.out {
				t.Fatalf("%s stored as %s", tc.in, got)
			}
			if m, _ := compileOrigin(&tc.src, true); m.key != mirrorKey {
				t.Fatalf("mirror key %q", m.key)
			}
		})
	}
}

func TestSourcedHeader(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"none", "", "NATS/1.0\r\nNats-Stream-Source: O 7 > > o.a ID\r\n\r\n"},
		{"kept", "NATS/1.0\r\nX-A: 1\r\nNats-Msg-Id: m\r\n\r\n",
			"NATS/1.0\r\nX-A: 1\r\nNats-Msg-Id: m\r\nNats-Stream-Source: O 7 > > o.a ID\r\n\r\n"},
		{"dropped", "NATS/1.0 503\r\nNats-Expected-Last-Sequence: 4\r\nNats-Batch-Id: b\r\nNats-Stream-Source: P 1 > > p ID2\r\nX-B: 2\r\n\r\n",
			"NATS/1.0\r\nX-B: 2\r\nNats-Stream-Source: O 7 > > o.a ID\r\n\r\n"},
		{"no blank line", "NATS/1.0\r\nX-A: 1\r\n", "NATS/1.0\r\nX-A: 1\r\nNats-Stream-Source: O 7 > > o.a ID\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := sourcedHeader(nil, []byte(tc.in), "O", 7, "> >", "o.a", "ID")
			if string(got) != tc.want {
				t.Fatalf("\n got %q\nwant %q", got, tc.want)
			}
			key, seq, ident, ok := parseSourceHeader(headerValue(got, jsapi.HdrStreamSource))
			if !ok || key != "O > >" || seq != 7 || ident != "ID" {
				t.Fatalf("read back %q %d %q %v", key, seq, ident, ok)
			}
		})
	}
	// The scratch buffer is reused without allocating.
	buf := make([]byte, 0, 256)
	hdr := []byte("NATS/1.0\r\nX-A: 1\r\n\r\n")
	if n := testing.AllocsPerRun(100, func() { buf = sourcedHeader(buf, hdr, "O", 123456, "> >", "o.a", "ID") }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestParseSourceHeader(t *testing.T) {
	cases := []struct {
		in, key string
		seq     uint64
		ident   string
		ok      bool
	}{
		{"O 12 > > o.a Xo7ya1XX", "O > >", 12, "Xo7ya1XX", true},
		{"O 3 o.a\fo.b y.a\f> o.b", "O o.a\fo.b y.a\f>", 3, "", true},
		{"O 0 > > o.a", "", 0, "", false},
		{"O x > > o.a", "", 0, "", false},
		{"O 1 > >", "", 0, "", false},
		{"", "", 0, "", false},
		{"$JS.ACK.O.C.1.2.3.4.5", "", 0, "", false},
	}
	for _, tc := range cases {
		key, seq, ident, ok := parseSourceHeader([]byte(tc.in))
		if key != tc.key || seq != tc.seq || ident != tc.ident || ok != tc.ok {
			t.Errorf("%q: %q %d %q %v", tc.in, key, seq, ident, ok)
		}
	}
}

// startInternal runs JetStream on a host that delivers nothing.
func startInternal(t *testing.T) *JetStream {
	t.Helper()
	js, err := Start(&nullHost{}, Config{StoreDir: t.TempDir(), MaxMemory: 1 << 30, MaxStore: 1 << 30, Account: jsapi.UnlimitedAccountLimits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.Shutdown() })
	return js
}

func createInternal(t *testing.T, js *JetStream, cfg jsapi.StreamConfig) *stream {
	t.Helper()
	c, _, apiErr := jsapi.CheckStreamCreate(cfg.Name, &jsapi.StreamConfigRequest{StreamConfig: cfg}, js.limitsEnv())
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	st, err := js.createStream(&c)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSourcesProgressFromHeaders: the copies stored after the last
// checkpoint of the progress (or with the checkpoint unreadable) tell
// where each source is.
func TestSourcesProgressFromHeaders(t *testing.T) {
	js := startInternal(t)
	o := createInternal(t, js, jsapi.StreamConfig{Name: "O", Subjects: []string{"o.*"}})
	s := createInternal(t, js, jsapi.StreamConfig{Name: "S", Sources: []*jsapi.StreamSource{{Name: "O", FilterSubject: "o.a"}}})
	for i := 0; i < 20; i++ {
		subj := "o.a"
		if i%4 == 0 {
			subj = "o.b"
		}
		if _, err := o.storeSourced(nil, subj, nil, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.lastSeq() < 15 {
		if time.Now().After(deadline) {
			t.Fatalf("copied %d of 15", s.lastSeq())
		}
		time.Sleep(5 * time.Millisecond)
	}
	key := "O o.a >"
	want := sourceProgress{Seq: 20, Ident: o.identity()}
	for _, rec := range [][]byte{
		nil, // never checkpointed
		[]byte(`{"dseq":3,"sources":{"O o.a >":{"seq":4}}}`), // an old checkpoint
		[]byte(`{"dseq":`), // unreadable
	} {
		s.mu.Lock()
		s.cmd = blockstore.Command{Op: blockstore.OpSetAux, Key: sourcesKey, Data: rec}
		if _, err := s.applyLocked(); err != nil {
			t.Fatal(err)
		}
		s.org.book = nil
		s.loadSourcesLocked()
		got := s.org.book[key]
		s.mu.Unlock()
		if got != want {
			t.Fatalf("record %q: progress %+v, want %+v", rec, got, want)
		}
	}
	// A checkpoint is what a restart reads first.
	s.mu.Lock()
	s.saveSourcesLocked(true)
	var rec sourcesRecord
	err := json.Unmarshal(s.store.Aux(sourcesKey), &rec)
	s.mu.Unlock()
	if err != nil || rec.DSeq != 15 || rec.Sources[key] != want {
		t.Fatalf("checkpoint %+v %v", rec, err)
	}
}

func TestBackupHeader(t *testing.T) {
	var buf bytes.Buffer
	h := backupHeader{Stream: "S", Storage: "file", Taken: time.Unix(1, 0).UTC(), NoConsumers: true}
	if err := writeBackupHeader(&buf, &h); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("KEELSNAP...")
	got, err := readBackupHeader(&buf)
	if err != nil || got != h || buf.String() != "KEELSNAP..." {
		t.Fatalf("%+v %v rest %q", got, err, buf.String())
	}
	good := func() []byte {
		var b bytes.Buffer
		writeBackupHeader(&b, &h)
		return b.Bytes()
	}
	for name, b := range map[string][]byte{
		"empty":      nil,
		"other":      []byte("NATSARC1 something"),
		"version":    []byte("KEELBKP9\x00\x00\x00\x00"),
		"too large":  []byte("KEELBKP1\xff\xff\xff\x7f"),
		"short":      good()[:14],
		"crc":        append(good()[:len(good())-1], 0),
		"not json":   []byte("KEELBKP1\x01\x00\x00\x00{\x00\x00\x00\x00"),
		"truncation": good()[:len(good())-4],
	} {
		if _, err := readBackupHeader(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzReadBackupHeader(f *testing.F) {
	var buf bytes.Buffer
	writeBackupHeader(&buf, &backupHeader{Stream: "S", Storage: "memory"})
	f.Add(buf.Bytes())
	f.Add([]byte("KEELBKP1\x02\x00\x00\x00{}\x00\x00\x00\x00"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readBackupHeader(bytes.NewReader(b))
		if err != nil {
			return
		}
		// What was accepted writes back to the same header.
		var out bytes.Buffer
		if err := writeBackupHeader(&out, &h); err != nil {
			t.Fatal(err)
		}
		h2, err := readBackupHeader(&out)
		j1, _ := json.Marshal(h)
		j2, _ := json.Marshal(h2)
		if err != nil || !bytes.Equal(j1, j2) {
			t.Fatalf("%s / %s %v", j1, j2, err)
		}
	})
}

func FuzzSourceHeaders(f *testing.F) {
	f.Add([]byte("O 12 > > o.a Xo7ya1XX"), []byte("NATS/1.0\r\nX: 1\r\n\r\n"))
	f.Add([]byte("O 3 o.a\fo.b y.a\f> o.b"), []byte("NATS/1.0 503\r\nNats-Expected-Stream: x\r\n\r\n"))
	f.Add([]byte(""), []byte("NATS/1.0\r\n"))
	f.Fuzz(func(t *testing.T, value, hdr []byte) {
		parseSourceHeader(value)
		out := sourcedHeader(nil, hdr, "O", 9, "> >", "o.a", "ID")
		if !bytes.HasPrefix(out, []byte(hdrLine)) || !bytes.HasSuffix(out, []byte("\r\n\r\n")) {
			t.Fatalf("header %q", out)
		}
		if _, seq, _, ok := parseSourceHeader(headerValue(out, jsapi.HdrStreamSource)); !ok || seq != 9 {
			t.Fatalf("built %q", out)
		}
	})
}

func FuzzDecodeSourcesRecord(f *testing.F) {
	f.Add([]byte(`{"dseq":3,"sources":{"O o.a >":{"seq":4,"ident":"x"}}}`))
	f.Add([]byte(`{"dseq":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeSourcesRecord(b)
		if err != nil && (rec.DSeq != 0 || rec.Sources != nil) {
			t.Fatal("an error with a record")
		}
	})
}
