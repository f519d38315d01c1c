package monitor_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/keelhq/keel/server/monitor"
)

func subjects(sz *monitor.Subsz) string {
	var out []string
	for _, sd := range sz.Subs {
		s := sd.Subject
		if sd.Queue != "" {
			s += "/" + sd.Queue
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// TestSubsz: statistics, the listing in a stable order with paging, and
// test= listing the subscriptions a publish would reach.
func TestSubsz(t *testing.T) {
	n := startNode(t, false, nil)
	// The server's own subscriptions (system requests) count in the
	// statistics, as in nats-server, but are not clients' to list.
	var base monitor.Subsz
	getJSON(t, n, "/subsz", &base)
	a := connect(t, n, nats.Name("a"))
	b := connect(t, n, nats.Name("b"))
	a.SubscribeSync("foo.bar")           // sid 1
	a.SubscribeSync("foo.*")             // sid 2
	a.QueueSubscribeSync("foo.>", "q")   // sid 3
	a.SubscribeSync("other")             // sid 4
	b.SubscribeSync(">")                 // sid 1
	b.QueueSubscribeSync("foo.bar", "q") // sid 2
	a.Flush()
	b.Flush()
	// Two publishers: the second finds the first's match in the shared
	// cache (each connection also caches on its own).
	a.Publish("foo.bar", nil)
	a.Flush()
	b.Publish("foo.bar", nil)
	b.Flush()

	var sz monitor.Subsz
	getJSON(t, n, "/subsz", &sz)
	if sz.NumSubs != base.NumSubs+6 || sz.NumInserts != base.NumInserts+6 || sz.NumRemoves != 0 || sz.Total != 0 || sz.Subs != nil || sz.Limit != monitor.DefaultSubListSize {
		t.Fatalf("stats: %+v", sz)
	}
	if sz.NumMatches < 2 || sz.NumCache < 1 || sz.MaxFanout != 4 || sz.CacheHitRate <= 0 || sz.AvgFanout <= 0 {
		t.Fatalf("match statistics: %+v", sz)
	}
	cases := []struct {
		query, want string
		total       int
	}{
		{"subs=1", "foo.bar foo.* foo.>/q other > foo.bar/q", 6},
		{"subs=1&limit=2&offset=1", "foo.* foo.>/q", 6},
		{"subs=1&offset=6", "", 6},
		{"subs=1&test=foo.bar", "foo.bar foo.* foo.>/q > foo.bar/q", 5},
		{"subs=1&test=foo.baz.x", "foo.>/q >", 2},
		{"subs=1&test=nothing.here", ">", 1},
		{"subs=1&acc=$G&test=other", "other >", 2},
		{"subs=1&acc=NOPE", "", 0},
		{"test=foo.bar", "", 0}, // test applies to the listing only
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			var sz monitor.Subsz
			getJSON(t, n, "/subsz?"+c.query, &sz)
			if subjects(&sz) != c.want || sz.Total != c.total {
				t.Fatalf("got %q (total %d), want %q (total %d)", subjects(&sz), sz.Total, c.want, c.total)
			}
			for _, sd := range sz.Subs {
				if sd.Account != "$G" || sd.AccountTag != "$G" || sd.Cid == 0 || sd.Sid == "" {
					t.Fatalf("detail %+v", sd)
				}
			}
		})
	}
	// The statistics of an unknown account are empty.
	getJSON(t, n, "/subsz?acc=NOPE", &sz)
	if sz.NumSubs != 0 {
		t.Fatalf("unknown account: %+v", sz)
	}
	// The old name answers the same.
	var alias monitor.Subsz
	getJSON(t, n, "/subscriptionsz?subs=1", &alias)
	if alias.Total != 6 {
		t.Fatalf("/subscriptionsz: %+v", alias)
	}
	// Removals are counted.
	b.Close()
	waitFor(t, "removals counted", func() bool {
		var sz monitor.Subsz
		getJSON(t, n, "/subsz", &sz)
		return sz.NumRemoves == 2 && sz.NumSubs == base.NumSubs+4
	})
}
