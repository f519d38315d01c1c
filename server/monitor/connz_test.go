package monitor_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/keelhq/keel/server/monitor"
	"github.com/keelhq/keel/server/opts"
)

// names lists the connections of a page by name.
func names(c *monitor.Connz) string {
	var out []string
	for _, ci := range c.Conns {
		out = append(out, ci.Name)
	}
	return strings.Join(out, " ")
}

// fourClients sets up connections c1..c4 (in cid order) with distinct
// subscription counts and traffic:
//
//	c1: 1 sub, publishes 4×10 bytes nobody receives
//	c2: 3 subs, receives 2×5 bytes
//	c3: 2 subs, publishes 1×100 bytes nobody receives
//	c4: no subs, publishes the 2×5 bytes c2 receives
func fourClients(t *testing.T, n *node) {
	t.Helper()
	c1 := connect(t, n, nats.Name("c1"))
	c2 := connect(t, n, nats.Name("c2"))
	c3 := connect(t, n, nats.Name("c3"))
	c4 := connect(t, n, nats.Name("c4"))
	c1.SubscribeSync("a")
	in, _ := c2.SubscribeSync("to.c2")
	c2.SubscribeSync("b")
	c2.QueueSubscribeSync("c", "workers")
	c3.SubscribeSync("d")
	c3.SubscribeSync("e")
	for _, nc := range []*nats.Conn{c1, c2, c3} {
		nc.Flush()
	}
	for range 4 {
		c1.Publish("nobody", []byte("0123456789"))
	}
	c3.Publish("nobody", make([]byte, 100))
	c4.Publish("to.c2", []byte("01234"))
	c4.Publish("to.c2", []byte("01234"))
	for _, nc := range []*nats.Conn{c1, c3, c4} {
		nc.Flush()
	}
	for range 2 {
		if _, err := in.NextMsg(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "traffic counted", func() bool {
		var c monitor.Connz
		getJSON(t, n, "/connz?sort=msgs_from", &c)
		return names(&c) == "c1 c4 c3 c2" && c.Conns[0].InMsgs == 4
	})
}

func TestConnzFields(t *testing.T) {
	n := startNode(t, false, nil)
	fourClients(t, n)
	var c monitor.Connz
	getJSON(t, n, "/connz?subs=detail", &c)
	if c.ID != n.Server().ID() || c.NumConns != 4 || c.Total != 4 || c.Offset != 0 || c.Limit != monitor.DefaultConnListSize || c.Now.IsZero() {
		t.Fatalf("page: %+v", c)
	}
	c2 := c.Conns[1]
	if c2.Name != "c2" || c2.Kind != "Client" || c2.Type != "nats" || c2.Lang != "go" || c2.Version != nats.Version ||
		c2.IP != "127.0.0.1" || c2.Port == 0 || c2.Start.IsZero() || c2.LastActivity.Before(c2.Start) ||
		c2.Uptime == "" || c2.Idle == "" || c2.RTT == "" || c2.Stop != nil || c2.Reason != "" {
		t.Fatalf("c2: %+v", c2)
	}
	if c2.NumSubs != 3 || c2.OutMsgs != 2 || c2.OutBytes != 10 || c2.InMsgs != 0 {
		t.Fatalf("c2 counters: %+v", c2)
	}
	var queue *monitor.SubDetail
	for i, sd := range c2.SubsDetail {
		if sd.Cid != c2.Cid || sd.Sid == "" || sd.Account != "" {
			t.Fatalf("detail %+v", sd)
		}
		if sd.Subject == "c" {
			queue = &c2.SubsDetail[i]
		}
		if sd.Subject == "to.c2" && sd.Msgs != 2 {
			t.Fatalf("delivered count %+v", sd)
		}
	}
	if queue == nil || queue.Queue != "workers" {
		t.Fatalf("queue subscription detail: %+v", c2.SubsDetail)
	}
	if c2.Subs != nil || c2.AuthorizedUser != "" || c2.NameTag != "" {
		t.Fatalf("fields not asked for: %+v", c2)
	}

	var byCid monitor.Connz
	getJSON(t, n, "/connz?subs=true&cid="+fmt.Sprint(c2.Cid), &byCid)
	if byCid.Limit != 1 || len(byCid.Conns) != 1 || byCid.Conns[0].Name != "c2" {
		t.Fatalf("by cid: %+v", byCid)
	}
	subs := slices.Sorted(slices.Values(byCid.Conns[0].Subs))
	if strings.Join(subs, ",") != "b,c,to.c2" || byCid.Conns[0].SubsDetail != nil {
		t.Fatalf("subscriptions list %q, detail %+v", byCid.Conns[0].Subs, byCid.Conns[0].SubsDetail)
	}
}

// TestConnzSort: every sort order, with ties broken by cid in the
// direction of the sort.
func TestConnzSort(t *testing.T) {
	n := startNode(t, false, nil)
	fourClients(t, n)
	cases := []struct{ sort, want string }{
		{"", "c1 c2 c3 c4"},
		{"cid", "c1 c2 c3 c4"},
		{"start", "c1 c2 c3 c4"},
		{"subs", "c2 c3 c1 c4"},
		{"msgs_to", "c2 c4 c3 c1"},
		{"bytes_to", "c2 c4 c3 c1"},
		{"msgs_from", "c1 c4 c3 c2"},
		{"bytes_from", "c3 c1 c4 c2"},
		{"pending", "c4 c3 c2 c1"},
		{"uptime", "c4 c3 c2 c1"},
	}
	for _, c := range cases {
		t.Run("by "+c.sort, func(t *testing.T) {
			var cz monitor.Connz
			getJSON(t, n, "/connz?sort="+c.sort, &cz)
			if c.sort == "pending" {
				// Pending bytes are transient (a PONG may still be queued
				// for a client), so wait for the idle order instead of
				// sampling one moment.
				waitFor(t, "idle pending order", func() bool {
					getJSON(t, n, "/connz?sort="+c.sort, &cz)
					return names(&cz) == c.want
				})
			}
			if got := names(&cz); got != c.want {
				t.Fatalf("order %q, want %q", got, c.want)
			}
		})
	}
	// Orders by time: idle (most idle first) is last activity (most recent
	// first) reversed.
	var last, idle, rtt monitor.Connz
	getJSON(t, n, "/connz?sort=last", &last)
	getJSON(t, n, "/connz?sort=idle", &idle)
	getJSON(t, n, "/connz?sort=rtt", &rtt)
	for i := 1; i < len(last.Conns); i++ {
		if last.Conns[i].LastActivity.After(last.Conns[i-1].LastActivity) {
			t.Fatalf("sort=last not most recent first: %s", names(&last))
		}
	}
	rev := strings.Fields(names(&last))
	slices.Reverse(rev)
	if names(&idle) != strings.Join(rev, " ") {
		t.Fatalf("idle %q is not last %q reversed", names(&idle), names(&last))
	}
	if rtt.NumConns != 4 {
		t.Fatalf("sort=rtt: %+v", rtt)
	}
}

func TestConnzPaging(t *testing.T) {
	n := startNode(t, false, nil)
	fourClients(t, n)
	cases := []struct {
		query          string
		want           string
		offset, limit  int
		total, numConn int
	}{
		{"limit=2&offset=1", "c2 c3", 1, 2, 4, 2},
		{"limit=2&offset=3", "c4", 3, 2, 4, 1},
		{"offset=10", "", 10, 1024, 4, 0},
		{"offset=-3&limit=-1", "c1 c2 c3 c4", 0, 1024, 4, 4},
		{"sort=subs&limit=1&offset=1", "c3", 1, 1, 4, 1},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			var cz monitor.Connz
			getJSON(t, n, "/connz?"+c.query, &cz)
			if names(&cz) != c.want || cz.Offset != c.offset || cz.Limit != c.limit || cz.Total != c.total || cz.NumConns != c.numConn {
				t.Fatalf("got %q offset %d limit %d total %d num %d", names(&cz), cz.Offset, cz.Limit, cz.Total, cz.NumConns)
			}
			if cz.Conns == nil {
				t.Fatal("connections must be a list, not null")
			}
		})
	}
}

// TestConnzClosed: the history keeps the last max_closed_clients closed
// connections with their stop time, reason and subscriptions.
func TestConnzClosed(t *testing.T) {
	n := startNode(t, false, func(o *opts.Options) { o.MaxClosedClients = 2 })
	connect(t, n, nats.Name("open"))
	cids := map[string]uint64{}
	for _, name := range []string{"x1", "x2", "x3"} {
		nc := connect(t, n, nats.Name(name))
		nc.SubscribeSync("sub." + name)
		nc.Flush()
		id, _ := nc.GetClientID()
		cids[name] = id
		nc.Close()
		// Closing order decides which are kept: wait for each.
		waitFor(t, name+" closed", func() bool {
			var c monitor.Connz
			getJSON(t, n, fmt.Sprintf("/connz?state=closed&cid=%d", id), &c)
			return c.NumConns == 1
		})
	}
	var c monitor.Connz
	getJSON(t, n, "/connz?state=closed&subs=1", &c)
	if names(&c) != "x2 x3" || c.Total != 2 {
		t.Fatalf("history %q (total %d), want the last two", names(&c), c.Total)
	}
	x3 := c.Conns[1]
	if x3.Stop == nil || x3.Stop.Before(x3.Start) || x3.Reason != "Client Closed" || x3.NumSubs != 1 ||
		strings.Join(x3.Subs, ",") != "sub.x3" || x3.Uptime == "" || x3.Idle == "" {
		t.Fatalf("closed connection %+v", x3)
	}
	cases := []struct{ query, want string }{
		{"state=closed&sort=stop", "x3 x2"},
		{"state=closed&sort=reason", "x2 x3"},
		{"state=all", "open x2 x3"},
		{"state=ALL&sort=msgs_to", "x3 x2 open"},
		{"state=any&limit=1&offset=2", "x3"},
		{"state=open", "open"},
		{fmt.Sprintf("state=closed&cid=%d", cids["x1"]), ""},
		{fmt.Sprintf("state=all&cid=%d", cids["x3"]), "x3"},
		{fmt.Sprintf("state=open&cid=%d", cids["x3"]), ""},
	}
	for _, cs := range cases {
		t.Run(cs.query, func(t *testing.T) {
			var cz monitor.Connz
			getJSON(t, n, "/connz?"+cs.query, &cz)
			if names(&cz) != cs.want {
				t.Fatalf("got %q, want %q", names(&cz), cs.want)
			}
		})
	}
	// Details of closed subscriptions name their account, as /subsz does.
	var detail monitor.Connz
	getJSON(t, n, fmt.Sprintf("/connz?state=closed&subs=detail&cid=%d", cids["x3"]), &detail)
	if sd := detail.Conns[0].SubsDetail; len(sd) != 1 || sd[0].Account != "$G" || sd[0].AccountTag != "$G" || sd[0].Cid != cids["x3"] {
		t.Fatalf("closed detail %+v", sd)
	}
}

// TestConnzAuthFilters: with auth=true the user and account are shown, and
// user, acc and mqtt_client filter the list.
func TestConnzAuthFilters(t *testing.T) {
	n := startNode(t, false, func(o *opts.Options) { o.Username, o.Password = "alice", "secret" })
	connect(t, n, nats.UserInfo("alice", "secret"), nats.Name("a1"))
	connect(t, n, nats.UserInfo("alice", "secret"), nats.Name("a2"))
	cases := []struct {
		query, want string
		user        string
	}{
		{"auth=true", "a1 a2", "alice"},
		{"auth=false", "a1 a2", ""},
		{"user=alice", "a1 a2", ""},
		{"user=bob", "", ""},
		{"acc=$G&auth=1", "a1 a2", "alice"},
		{"acc=OTHER", "", ""},
		{"mqtt_client=device1", "", ""},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			var cz monitor.Connz
			getJSON(t, n, "/connz?"+c.query, &cz)
			if names(&cz) != c.want {
				t.Fatalf("got %q, want %q", names(&cz), c.want)
			}
			for _, ci := range cz.Conns {
				// The global account is implied: only name_tag shows it.
				if ci.AuthorizedUser != c.user || ci.Account != "" || (c.user != "") != (ci.NameTag == "$G") {
					t.Fatalf("auth fields %+v", ci)
				}
			}
		})
	}
}
