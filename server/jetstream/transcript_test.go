package jetstream_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Transcript tests drive a server through nats.go and write down what a
// client sees (every reply with its headers, errors as nats.go reports
// them), normalized. testdata/transcripts/<name>.golden is what the
// reference wrote, captured with
//
//	go test ./server/jetstream -run TestTranscript -jsref -update
//
// and Keel must write the same.
func goldenTranscript(t *testing.T, name string, run func(t *testing.T, tg *target, w *strings.Builder)) {
	t.Helper()
	t.Parallel()
	if *updateGolden && !*jsRef {
		t.Fatal("-update needs -jsref: golden files come from the reference")
	}
	tg := startTarget(t, "", "")
	var w strings.Builder
	run(t, tg, &w)
	got := w.String()
	checkGolden(t, filepath.Join("testdata", "transcripts", name+".golden"), got, diffLines)
}

// checkGolden compares got with the reference's transcript in path (diff
// says how they differ, "" when they do not), or with -update records got
// there.
func checkGolden(t *testing.T, path, got string, diff func(want, got string) string) {
	t.Helper()
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (capture with -jsref -update)", err)
	}
	if d := diff(string(want), got); d != "" {
		t.Errorf("%s differs from the reference (- reference, + got):\n%s", path, d)
	}
}

// diffLines lists the lines that differ, with a little context.
func diffLines(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var d strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 40; i++ {
		var a, b string
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if a != b {
			fmt.Fprintf(&d, "line %d:\n- %s\n+ %s\n", i+1, a, b)
			shown++
		}
	}
	return d.String()
}

// requestAll sends a request and writes down every reply: a single reply
// for a plain request, and for a batch (batch or multi_last in the body)
// everything up to the status that ends it.
func requestAll(t *testing.T, nc *nats.Conn, w *strings.Builder, subj string, hdr nats.Header, body string) {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	m := &nats.Msg{Subject: subj, Reply: inbox, Data: []byte(body), Header: hdr}
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "> %s %s\n", subj, body)
	batch := strings.Contains(body, `"batch"`) || strings.Contains(body, `"multi_last"`)
	for {
		r, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			fmt.Fprintf(w, "  <%v>\n", err)
			return
		}
		writeMsg(w, r)
		if r.Header.Get("Status") != "" || !batch {
			break
		}
	}
	// Nothing may follow the end of an answer.
	if r, err := sub.NextMsg(20 * time.Millisecond); err == nil {
		fmt.Fprintf(w, "  unexpected extra reply:\n")
		writeMsg(w, r)
	}
}

// writeMsg writes a reply: status, headers sorted (timestamps masked), data.
func writeMsg(w *strings.Builder, m *nats.Msg) {
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "  reply:")
	for _, k := range keys {
		v := strings.Join(m.Header[k], ",")
		if k == "Nats-Time-Stamp" {
			v = "<ts>"
		}
		fmt.Fprintf(w, " %s=%s;", k, v)
	}
	fmt.Fprintf(w, " data=%q\n", m.Data)
}
