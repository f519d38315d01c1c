package jetstream_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestTranscriptAdvisories compares the advisories on $JS.EVENT.> (stream
// created, updated, deleted and the API audit, in order) with the
// reference's, field by field.
func TestTranscriptAdvisories(t *testing.T) {
	goldenTranscript(t, "advisories", func(t *testing.T, tg *target, w *strings.Builder) {
		nc, _ := tg.connect(t)
		sub, err := nc.SubscribeSync("$JS.EVENT.>")
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		requests := [][2]string{
			{"$JS.API.STREAM.CREATE.A", `{"name":"A","subjects":["a"]}`},
			{"$JS.API.STREAM.CREATE.A", `{"name":"A","subjects":["a"]}`},
			{"$JS.API.STREAM.CREATE.B", `{"name":"B","subjects":["a"]}`},
			{"$JS.API.STREAM.UPDATE.A", `{"name":"A","subjects":["a"],"max_msgs":5}`},
			{"$JS.API.STREAM.INFO.A", ``},
			{"$JS.API.STREAM.INFO.X", ``},
			{"$JS.API.STREAM.NAMES", ``},
			{"$JS.API.INFO", ``},
			{"$JS.API.STREAM.MSG.GET.A", `{"seq":1}`},
			{"$JS.API.STREAM.PURGE.A", ``},
			{"$JS.API.STREAM.DELETE.A", ``},
		}
		for _, r := range requests {
			if _, err := nc.Request(r[0], []byte(r[1]), 5*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		// 3 creates, 1 update, 1 delete advisories; one audit per request.
		for i := 0; i < len(requests)+3; i++ {
			m, err := sub.NextMsg(5 * time.Second)
			if err != nil {
				fmt.Fprintf(w, "<%v>\n", err)
				break
			}
			fmt.Fprintf(w, "%s\n", m.Subject)
			writeAdvisory(w, m)
		}
		if m, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			fmt.Fprintf(w, "unexpected: %s %s\n", m.Subject, m.Data)
		}
	})
}

// writeAdvisory writes an advisory as sorted JSON with what differs
// between servers masked, and its embedded request and response decoded.
func writeAdvisory(w *strings.Builder, m *nats.Msg) {
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		fmt.Fprintf(w, "  not JSON: %q\n", m.Data)
		return
	}
	for _, k := range []string{"id", "timestamp", "server"} {
		if _, ok := v[k]; ok {
			v[k] = "<volatile>"
		}
	}
	if c, ok := v["client"].(map[string]any); ok {
		for _, k := range []string{"start", "id", "server"} {
			if _, ok := c[k]; ok {
				c[k] = "<volatile>"
			}
		}
		// The round trip is measured by the core server; Keel's has none
		// to report this early in a connection.
		delete(c, "rtt")
	}
	if resp, ok := v["response"].(string); ok {
		var r any
		d := json.NewDecoder(strings.NewReader(resp))
		d.UseNumber()
		if d.Decode(&r) == nil {
			v["response"] = maskVolatile(r, "")
		}
	}
	b, _ := json.MarshalIndent(v, "  ", "  ")
	fmt.Fprintf(w, "  %s\n", b)
}
