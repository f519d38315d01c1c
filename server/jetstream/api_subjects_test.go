package jetstream_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/keelhq/keel/server/opts"
)

// TestAPISubjects checks which consumer and cluster API subjects get an
// answer, with and without a domain: a pull from a consumer that does not
// exist gets "no responders" (as from the reference; the dispatcher must
// not swallow it), every consumer API request is answered, and the
// cluster API answers "clustering support required".
func TestAPISubjects(t *testing.T) {
	n := startNode(t, "", func(o *opts.Options) { o.JetStreamOpts.Domain = "hub" })
	nc, js := connect(t, n)
	mustStream(t, js, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}})

	cases := []struct {
		api  string // after $JS.API.
		body string
		code int // err_code of the answer; 0: none expected (no responders)
	}{
		{"CONSUMER.MSG.NEXT.S.C", `{"batch":1}`, 0},
		{"CONSUMER.MSG.NEXT.NOPE.C", `{"batch":1}`, 0},
		{"CONSUMER.INFO.S.C", "", 10014},
		{"CONSUMER.DELETE.S.C", "", 10014},
		{"CONSUMER.PAUSE.S.C", "", 10014},
		{"CONSUMER.UNPIN.S.C", `{"group":"g"}`, 10014},
		{"CONSUMER.NAMES.S", "", -1},
		{"CONSUMER.LIST.S", "", -1},
		{"CONSUMER.CREATE.S", `{"stream_name":"S","config":{"durable_name":"C"}}`, -2},
		{"CONSUMER.CREATE.S.C.s", `{"stream_name":"S","config":{"name":"C","filter_subject":"s"}}`, -2},
		{"CONSUMER.DURABLE.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C"}}`, -2},
		{"CONSUMER.LEADER.STEPDOWN.S.C", "", 10010},
		{"CONSUMER.PEER.REMOVE.S.C", `{"peer":"x"}`, 10010},
		{"CONSUMER.PEER.EVACUATE.S.C", "", 10010},
		{"STREAM.LEADER.STEPDOWN.S", "", 10010},
		{"STREAM.PEER.REMOVE.S", `{"peer":"x"}`, 10010},
		{"STREAM.PEER.EVACUATE.S", "", 10010},
		{"STREAM.CANCEL_MOVE.S", "", 10010},
	}
	for _, prefix := range []string{"$JS.API.", "$JS.hub.API."} {
		for _, tc := range cases {
			subj := prefix + tc.api
			resp, err := nc.Request(subj, []byte(tc.body), 2*time.Second)
			if tc.code == 0 {
				if !errors.Is(err, nats.ErrNoResponders) {
					t.Errorf("%s: %v, want no responders", subj, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v, want an answer", subj, err)
				continue
			}
			m := decodeJSON(t, resp.Data)
			switch code := errCode(m); {
			case tc.code == -1: // a list: no error
				if code != 0 {
					t.Errorf("%s: %v", subj, m)
				}
			case tc.code == -2: // answered, with or without an error
				if m["type"] == nil || !strings.Contains(m["type"].(string), "consumer_create_response") {
					t.Errorf("%s: %v", subj, m)
				}
			case code != tc.code:
				t.Errorf("%s: %v, want err_code %d", subj, m, tc.code)
			}
		}
	}

	// The jetstream package's consumer calls still get their answers.
	if _, err := js.Consumer(ctx(t), "S", "C"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("consumer lookup: %v", err)
	}
	if err := js.DeleteConsumer(ctx(t), "S", "C"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("consumer delete: %v", err)
	}
}
