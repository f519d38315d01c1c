package jetstream

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

func TestHeaderValue(t *testing.T) {
	hdr := []byte("NATS/1.0\r\nX-A: 1\r\nNats-Msg-Id:  abc\r\nNats-Msg-Id-Extra: no\r\nEmpty:\r\n\r\n")
	cases := []struct {
		key, want string
		present   bool
	}{
		{"Nats-Msg-Id", "abc", true},
		{"X-A", "1", true},
		{"Empty", "", true},
		{"Msg-Id", "", false},
		{"nats-msg-id", "", false},
		{"Missing", "", false},
	}
	for _, tc := range cases {
		if got := string(headerValue(hdr, tc.key)); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
		}
		if got := hasHeader(hdr, tc.key); got != tc.present {
			t.Errorf("has %s = %v", tc.key, got)
		}
	}
	if n, ok := headerUint([]byte("NATS/1.0\r\nN: 42\r\n\r\n"), "N"); !ok || n != 42 {
		t.Fatalf("headerUint %d %v", n, ok)
	}
	if n, ok := headerUint([]byte("NATS/1.0\r\nN: x\r\n\r\n"), "N"); !ok || n != ^uint64(0) {
		t.Fatalf("unparsable number %d %v", n, ok)
	}
}

func TestHeaderEdit(t *testing.T) {
	hdr := []byte("NATS/1.0\r\nA: 1\r\nB: 2\r\n\r\n")
	got := appendHeaderField(hdr, "C", "3")
	if string(got) != "NATS/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n" {
		t.Fatalf("append: %q", got)
	}
	if string(hdr) != "NATS/1.0\r\nA: 1\r\nB: 2\r\n\r\n" {
		t.Fatal("append changed its input")
	}
	if got := appendHeaderField(nil, "C", "3"); string(got) != "NATS/1.0\r\nC: 3\r\n\r\n" {
		t.Fatalf("append to none: %q", got)
	}
	if got := removeHeaderField(hdr, "A"); string(got) != "NATS/1.0\r\nB: 2\r\n\r\n" {
		t.Fatalf("remove: %q", got)
	}
	if got := removeHeaderField([]byte("NATS/1.0\r\nA: 1\r\n\r\n"), "A"); got != nil {
		t.Fatalf("remove last: %q", got)
	}
	if got := stripStatus([]byte("NATS/1.0 503 No\r\nA: 1\r\n\r\n")); string(got) != "NATS/1.0\r\nA: 1\r\n\r\n" {
		t.Fatalf("strip status: %q", got)
	}
}

func TestParseTTL(t *testing.T) {
	cases := []struct {
		in   string
		secs int64
		ok   bool
	}{
		{"never", -1, true}, {"NEVER", -1, true}, {"1s", 1, true}, {"1m30s", 90, true},
		{"30", 30, true}, {"0", 0, false}, {"999ms", 0, false}, {"-5", 0, false}, {"x", 0, false},
	}
	for _, tc := range cases {
		secs, ok := parseTTL(tc.in)
		if secs != tc.secs || ok != tc.ok {
			t.Errorf("parseTTL(%q) = %d %v, want %d %v", tc.in, secs, ok, tc.secs, tc.ok)
		}
	}
}

func TestSubjectTransform(t *testing.T) {
	cases := []struct{ src, dest, in, want string }{
		{"a.*.*", "b.$2.$1", "a.x.y", "b.y.x"},
		{"a.*", "b.{{wildcard(1)}}", "a.x", "b.x"},
		{"a.>", "b.>", "a.x.y.z", "b.x.y.z"},
		{"", "all.>", "q.r", "all.q.r"},
		{"a.*.>", "b.$1.>", "a.x.y.z", "b.x.y.z"},
		{"a.*", "p.{{partition(10,1)}}", "a.foo", "p.3"}, // FNV-1a("foo") % 10
		{"a.*", "s.{{SplitFromLeft(1,2)}}", "a.abcd", "s.ab.cd"},
		{"a.*", "s.{{SplitFromRight(1,1)}}", "a.abcd", "s.abc.d"},
		{"a.*", "s.{{SliceFromLeft(1,2)}}", "a.abcde", "s.ab.cd.e"},
		{"a.*", "s.{{SliceFromRight(1,2)}}", "a.abcde", "s.a.bc.de"},
		{"a.*", "s.{{Left(1,2)}}", "a.abcde", "s.ab"},
		{"a.*", "s.{{Right(1,2)}}", "a.abcde", "s.de"},
		{"a.*", "s.{{split(1,-)}}", "a.x-y--z", "s.x.y.z"},
		{"lit", "other", "lit", "other"},
	}
	for _, tc := range cases {
		tr, err := newSubjectTransform(tc.src, tc.dest)
		if err != nil {
			t.Fatalf("%s -> %s: %v", tc.src, tc.dest, err)
		}
		got, ok := tr.apply(tc.in)
		if !ok || got != tc.want {
			t.Errorf("%s -> %s on %s = %q %v, want %q", tc.src, tc.dest, tc.in, got, ok, tc.want)
		}
	}
	tr, _ := newSubjectTransform("a.*", "b.$1")
	if _, ok := tr.apply("c.x"); ok {
		t.Fatal("non-matching subject transformed")
	}
	if _, err := newSubjectTransform("a.*", "b.$2"); err == nil {
		t.Fatal("out of range wildcard accepted")
	}
}

func TestDedupWindow(t *testing.T) {
	var total atomic.Int64
	d := newDedupWindow(int64(time.Minute), &total)
	now := time.Now().UnixNano()
	ids := map[uint64]uint64{}
	for i := 1; i <= 5000; i++ {
		h := hashID([]byte(fmt.Sprint("id-", i)))
		ids[h] = uint64(i)
		d.add(h, uint64(i), now+int64(i)*int64(time.Millisecond), 1<<30)
	}
	find := func(h uint64) (uint64, bool) {
		var got uint64
		ok := d.find(h, func(seq uint64) bool { got = seq; return true })
		return got, ok
	}
	for h, seq := range ids {
		if got, ok := find(h); !ok || got != seq {
			t.Fatalf("find %d: %d %v", seq, got, ok)
		}
	}
	if total.Load() != 5000 || d.len() != 5000 {
		t.Fatalf("count %d %d", total.Load(), d.len())
	}
	// The first 3000 ids leave the window.
	d.expire(now + int64(time.Minute) + 3000*int64(time.Millisecond))
	if d.len() != 2000 || total.Load() != 2000 {
		t.Fatalf("after expiry %d %d", d.len(), total.Load())
	}
	for h, seq := range ids {
		_, ok := find(h)
		if ok != (seq > 3000) {
			t.Fatalf("id %d present=%v after expiry", seq, ok)
		}
	}
	d.reset()
	if total.Load() != 0 {
		t.Fatalf("total after reset %d", total.Load())
	}
}

// TestDedupTableRandom checks the open-addressing table against a map
// through random adds and expiries (colliding hashes included).
func TestDedupTableRandom(t *testing.T) {
	var total atomic.Int64
	d := newDedupWindow(100, &total)
	r := rand.New(rand.NewPCG(1, 2))
	type ent struct {
		h   uint64
		seq uint64
		ts  int64
	}
	var live []ent
	ts := int64(0)
	for step := 0; step < 20000; step++ {
		ts += int64(r.IntN(3))
		h := uint64(r.IntN(500)) // many collisions
		seq := uint64(step + 1)
		d.add(h, seq, ts, 1<<30)
		live = append(live, ent{h, seq, ts})
		if step%50 == 0 {
			d.expire(ts)
			for len(live) > 0 && ts-live[0].ts >= 100 {
				live = live[1:]
			}
			want := map[uint64]map[uint64]bool{}
			for _, e := range live {
				if want[e.h] == nil {
					want[e.h] = map[uint64]bool{}
				}
				want[e.h][e.seq] = true
			}
			for h, seqs := range want {
				got := map[uint64]bool{}
				d.find(h, func(seq uint64) bool { got[seq] = true; return false })
				if len(got) != len(seqs) {
					t.Fatalf("step %d hash %d: %v, want %v", step, h, got, seqs)
				}
			}
			if d.len() != len(live) {
				t.Fatalf("len %d want %d", d.len(), len(live))
			}
		}
	}
}

func TestDedupBound(t *testing.T) {
	var total atomic.Int64
	d := newDedupWindow(int64(time.Hour), &total)
	for i := 0; i < 100; i++ {
		d.add(uint64(i), uint64(i+1), int64(i), 10)
	}
	if d.len() != 10 || d.evict != 90 {
		t.Fatalf("len %d evicted %d", d.len(), d.evict)
	}
}

func TestAckQueue(t *testing.T) {
	var q ackQueue
	for i := 1; i <= 3000; i++ {
		q.push(ackEntry{ticket: uint64(i), seq: uint64(i)}, fmt.Sprint("_INBOX.", i), "")
	}
	var out []ackEntry
	var replies []byte
	out, empty := q.popDurable(2000, out, &replies)
	if empty || len(out) != 2000 {
		t.Fatalf("popped %d empty %v", len(out), empty)
	}
	for i, e := range out {
		if got := string(replies[e.roff : e.roff+e.rlen]); got != fmt.Sprint("_INBOX.", i+1) {
			t.Fatalf("reply %d = %q", i, got)
		}
	}
	// The queue compacted; the rest is still right.
	q.push(ackEntry{ticket: 3001, seq: 3001, dup: true, kind: ackCounter}, "_INBOX.last", "7")
	out, replies = out[:0], replies[:0]
	out, empty = q.popDurable(5000, out, &replies)
	if !empty || len(out) != 1001 {
		t.Fatalf("second pop %d empty %v", len(out), empty)
	}
	last := out[len(out)-1]
	if string(replies[last.roff:last.roff+last.rlen]) != "_INBOX.last" || !last.dup ||
		string(replies[last.roff+last.rlen:last.roff+last.rlen+last.vlen]) != "7" {
		t.Fatalf("last entry %+v", last)
	}
	if string(replies[out[0].roff:out[0].roff+out[0].rlen]) != "_INBOX.2001" {
		t.Fatal("first entry after compaction")
	}
}

func TestStoredConfigRoundTrip(t *testing.T) {
	cfg := jsapi.StreamConfig{Name: "S", Subjects: []string{"a"}, MaxAge: time.Hour, Metadata: map[string]string{"k": "v"}}
	raw, _ := json.Marshal(storedStream{Config: cfg, Created: time.Unix(100, 0).UTC()})
	ss, err := decodeStored(raw)
	if err != nil || ss.Config.Name != "S" || ss.Config.MaxAge != time.Hour || !ss.Created.Equal(time.Unix(100, 0)) {
		t.Fatalf("%v %+v", err, ss)
	}
	// A field from a newer server does not lose the rest.
	ss, err = decodeStored([]byte(`{"config":{"name":"S","subjects":["a"],"future_field":1},"created":"1970-01-01T00:01:40Z"}`))
	if err != nil || ss.Config.Name != "S" {
		t.Fatalf("lenient decode: %v %+v", err, ss)
	}
	if _, err := decodeStored([]byte(`{"config":{}}`)); err == nil {
		t.Fatal("nameless configuration accepted")
	}
}

func FuzzHeaderValue(f *testing.F) {
	f.Add([]byte("NATS/1.0\r\nNats-Msg-Id: a\r\n\r\n"), "Nats-Msg-Id")
	f.Add([]byte("NATS/1.0 503\r\n\r\n"), "Status")
	f.Add([]byte("\r\nX:"), "X")
	f.Add([]byte(""), "")
	f.Fuzz(func(t *testing.T, hdr []byte, key string) {
		if key == "" {
			return
		}
		v := headerValue(hdr, key)
		if len(v) > len(hdr) {
			t.Fatal("value longer than header")
		}
		hasHeader(hdr, key)
		headerUint(hdr, key)
		stripStatus(hdr)
		removeHeaderField(hdr, key)
		parseTTL(string(v))
	})
}

func FuzzDecodeStored(f *testing.F) {
	raw, _ := json.Marshal(storedStream{Config: jsapi.StreamConfig{Name: "S"}, Created: time.Unix(1, 0)})
	f.Add(raw)
	f.Add([]byte(`{"config":{"name":"x","max_age":"bad"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ss, err := decodeStored(b)
		if err == nil && ss.Config.Name == "" {
			t.Fatal("decoded a configuration without a name")
		}
	})
}

func TestCronNext(t *testing.T) {
	base := time.Date(2025, 3, 15, 10, 20, 30, 0, time.UTC) // a Saturday
	cases := []struct {
		pattern string
		want    time.Time
	}{
		{"* * * * * *", base.Add(time.Second)},
		{"0 * * * * *", time.Date(2025, 3, 15, 10, 21, 0, 0, time.UTC)},
		{"@hourly", time.Date(2025, 3, 15, 11, 0, 0, 0, time.UTC)},
		{"@daily", time.Date(2025, 3, 16, 0, 0, 0, 0, time.UTC)},
		{"0 0 12 * * mon", time.Date(2025, 3, 17, 12, 0, 0, 0, time.UTC)},
		{"0 0 0 1 jan *", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"*/15 * * * * *", time.Date(2025, 3, 15, 10, 20, 45, 0, time.UTC)},
		{"0 30 9-17/4 * * *", time.Date(2025, 3, 15, 13, 30, 0, 0, time.UTC)},
		{"0 0 0 13 * fri", time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)}, // Friday 21st comes before the 13th
		{"0 0 0 31 2 *", time.Time{}},                                    // never
	}
	for _, tc := range cases {
		spec, err := parseCronSpec(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		got, err := spec.next(base, time.UTC)
		if tc.want.IsZero() {
			if err == nil {
				t.Errorf("%s: matched %v", tc.pattern, got)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: next %v (%v), want %v", tc.pattern, got, err, tc.want)
		}
	}
	for _, bad := range []string{"* * * * *", "60 * * * * *", "* * * 0 * *", "* * * * 13 *", "a * * * * *", "1-2-3 * * * * *", "*/0 * * * * *", "5-1 * * * * *"} {
		if _, err := parseCronSpec(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNextScheduleForms(t *testing.T) {
	now := time.Now().UnixNano()
	if _, rep, ok := nextSchedule("@every 500ms", nil, now); ok || rep {
		t.Fatal("sub-second interval accepted")
	}
	if next, rep, ok := nextSchedule("@every 10s", nil, now); !ok || !rep || time.Until(next) > 11*time.Second {
		t.Fatalf("@every: %v %v %v", next, rep, ok)
	}
	if _, _, ok := nextSchedule("@at 2030-01-01T00:00:00Z", time.UTC, now); ok {
		t.Fatal("@at with a time zone accepted")
	}
	if next, rep, ok := nextSchedule("@at 2030-01-01T00:00:00Z", nil, now); !ok || rep || next.Year() != 2030 {
		t.Fatalf("@at: %v %v %v", next, rep, ok)
	}
	if _, _, ok := nextSchedule("bogus", nil, now); ok {
		t.Fatal("bogus pattern accepted")
	}
}

func FuzzCron(f *testing.F) {
	for _, s := range []string{"* * * * * *", "0 0 12 * * mon", "*/5 1-3,7 * ? jan-mar sun", "@hourly"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		spec, err := parseCronSpec(pattern)
		if err != nil {
			return
		}
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		if next, err := spec.next(base, time.UTC); err == nil && !next.After(base) {
			t.Fatalf("%q: next %v not after %v", pattern, next, base)
		}
	})
}
