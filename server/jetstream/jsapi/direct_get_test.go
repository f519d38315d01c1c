package jsapi

import (
	"testing"
	"time"
)

func TestParseDirectGet(t *testing.T) {
	cases := []struct {
		body, status string
	}{
		{``, DirectGetEmptyRequest},
		{`{}`, DirectGetEmptyRequest},
		{`{"no_hdr":true}`, DirectGetEmptyRequest},
		{`{"seq":`, DirectGetMalformedRequest},
		{`{"seq":"1"}`, DirectGetMalformedRequest},
		{`{"seq":1}`, ""},
		{`{"seq":1,"bogus":2}`, ""}, // unknown fields are ignored here
		{`{"last_by_subj":"a"}`, ""},
		{`{"next_by_subj":"a.*","seq":5,"batch":10,"max_bytes":100}`, ""},
		{`{"multi_last":["a.>"],"up_to_seq":10}`, ""},
		{`{"start_time":"2026-01-01T00:00:00Z","next_by_subj":"a"}`, ""},
		{`{"seq":1,"last_by_subj":"a"}`, DirectGetBadRequest},
		{`{"seq":1,"start_time":"2026-01-01T00:00:00Z"}`, DirectGetBadRequest},
		{`{"last_by_subj":"a","start_time":"2026-01-01T00:00:00Z"}`, DirectGetBadRequest},
		{`{"last_by_subj":"a","next_by_subj":"b"}`, DirectGetBadRequest},
		{`{"last_by_subj":"a","batch":2}`, DirectGetBadRequest},
		{`{"last_by_subj":"a","multi_last":["b"]}`, DirectGetBadRequest},
		{`{"next_by_subj":"a","multi_last":["b"]}`, DirectGetBadRequest},
		{`{"multi_last":["b"],"up_to_seq":1,"up_to_time":"2026-01-01T00:00:00Z"}`, DirectGetBadRequest},
	}
	for _, c := range cases {
		if _, status := ParseDirectGet([]byte(c.body)); status != c.status {
			t.Errorf("%s: status %q, want %q", c.body, status, c.status)
		}
	}
}

func TestParseDirectGetLastBySubject(t *testing.T) {
	cases := []struct {
		subject, body, status, key string
	}{
		{"$JS.API.DIRECT.GET.KV.kv.a", ``, "", "kv.a"},
		{"$JS.API.DIRECT.GET.KV.$KV.b.x.y", `{"no_hdr":true}`, "", "$KV.b.x.y"},
		{"$JS.API.DIRECT.GET.KV.kv.a", `{"seq":1}`, DirectGetBadRequest, ""},
		{"$JS.API.DIRECT.GET.KV.kv.a", `{"batch":1}`, DirectGetBadRequest, ""},
		{"$JS.API.DIRECT.GET.KV.kv.a", `nope`, DirectGetMalformedRequest, ""},
		{"$JS.API.DIRECT.GET.KV.", ``, DirectGetBadRequest, ""},
		{"$JS.API.DIRECT.GET.KV", ``, DirectGetBadRequest, ""},
	}
	for _, c := range cases {
		req, status := ParseDirectGetLastBySubject(c.subject, []byte(c.body))
		if status != c.status || (status == "" && req.LastFor != c.key) {
			t.Errorf("%s %s: %q %q, want %q %q", c.subject, c.body, status, req.LastFor, c.status, c.key)
		}
	}
}

func TestDirectGetHeaders(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("X", 3600))
	got := string(DirectGetHeaders("KV", "kv.a", 7, ts, false, 0, 0))
	want := "NATS/1.0\r\nNats-Stream: KV\r\nNats-Subject: kv.a\r\nNats-Sequence: 7\r\nNats-Time-Stamp: 2026-01-02T02:04:05.0000006Z\r\n\r\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	got = string(DirectGetHeaders("KV", "kv.a", 7, ts, true, 3, 5))
	want = "NATS/1.0\r\nNats-Stream: KV\r\nNats-Subject: kv.a\r\nNats-Sequence: 7\r\nNats-Time-Stamp: 2026-01-02T02:04:05.0000006Z\r\nNats-Num-Pending: 3\r\nNats-Last-Sequence: 5\r\n\r\n"
	if got != want {
		t.Errorf("batch: got %q\nwant %q", got, want)
	}
	if got := string(DirectGetEOB(2, 9, false, 0)); got != "NATS/1.0 204 EOB\r\nNats-Num-Pending: 2\r\nNats-Last-Sequence: 9\r\n\r\n" {
		t.Errorf("EOB %q", got)
	}
	if got := string(DirectGetEOB(0, 9, true, 12)); got != "NATS/1.0 204 EOB\r\nNats-Num-Pending: 0\r\nNats-Last-Sequence: 9\r\nNats-UpTo-Sequence: 12\r\n\r\n" {
		t.Errorf("multi EOB %q", got)
	}
}

func FuzzParseDirectGet(f *testing.F) {
	f.Add("$JS.API.DIRECT.GET.KV", []byte(`{"seq":1}`))
	f.Add("$JS.API.DIRECT.GET.KV.a.b", []byte(``))
	f.Add("$JS.API.DIRECT.GET.KV", []byte(`{"multi_last":["a"],"up_to_time":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, subject string, body []byte) {
		req, status := ParseDirectGet(body)
		if status == "" && req.Seq == 0 && req.LastFor == "" && req.NextFor == "" && len(req.MultiLastFor) == 0 && req.StartTime == nil {
			t.Fatalf("accepted a request that selects nothing: %s", body)
		}
		req, status = ParseDirectGetLastBySubject(subject, body)
		if status == "" && req.LastFor == "" {
			t.Fatalf("accepted %q without a subject", subject)
		}
	})
}
