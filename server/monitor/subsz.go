package monitor

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keelhq/keel/server/sublist"
)

// Subsz is /subsz: subscription routing statistics and, on request, a
// page of the subscriptions.
type Subsz struct {
	ID  string    `json:"server_id"`
	Now time.Time `json:"now"`
	SublistStats
	Total  int         `json:"total"`
	Offset int         `json:"offset"`
	Limit  int         `json:"limit"`
	Subs   []SubDetail `json:"subscriptions_list,omitempty"`
}

// SublistStats summarizes the subscription tables of the accounts shown.
type SublistStats struct {
	NumSubs      uint32  `json:"num_subscriptions"`
	NumCache     uint32  `json:"num_cache"`
	NumInserts   uint64  `json:"num_inserts"`
	NumRemoves   uint64  `json:"num_removes"`
	NumMatches   uint64  `json:"num_matches"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	MaxFanout    uint32  `json:"max_fanout"`
	AvgFanout    float64 `json:"avg_fanout"`
}

// sublistTotals adds up sublist statistics; the rates are computed from
// the sums, not averaged.
type sublistTotals struct {
	SublistStats
	hits, fanout uint64
}

func (t *sublistTotals) add(st sublist.Stats) {
	t.NumSubs += st.NumSubs
	t.NumCache += st.NumCache
	t.NumInserts += st.NumInserts
	t.NumRemoves += st.NumRemoves
	t.NumMatches += st.Matches
	t.MaxFanout = max(t.MaxFanout, st.MaxFanout)
	t.hits += st.CacheHits
	t.fanout += st.TotalFanout
}

func (t *sublistTotals) stats() SublistStats {
	s := t.SublistStats
	if s.NumMatches > 0 {
		s.CacheHitRate = float64(t.hits) / float64(s.NumMatches)
	}
	if s.NumCache > 0 {
		s.AvgFanout = float64(t.fanout) / float64(s.NumCache)
	}
	return s
}

// SubszOptions are /subsz's query parameters.
type SubszOptions struct {
	Subscriptions bool   // subs: list the subscriptions
	Offset, Limit int    // paging of the list (limit 1024 when 0)
	Account       string // acc: this account only
	Test          string // test: only subscriptions a publish to this subject reaches
}

// DefaultSubListSize is /subsz's page size when no limit is given.
const DefaultSubListSize = 1024

// Subsz builds /subsz. The error is a message for a 400 answer.
func (m *Server) Subsz(o SubszOptions) (*Subsz, error) {
	o.Offset = max(o.Offset, 0)
	if o.Limit <= 0 {
		o.Limit = DefaultSubListSize
	}
	if o.Test != "" && !sublist.IsValidLiteralSubject(o.Test) {
		return nil, fmt.Errorf("invalid test subject, must be valid publish subject: %s", o.Test)
	}
	sz := &Subsz{ID: m.srv.ID(), Now: time.Now().UTC(), Offset: o.Offset, Limit: o.Limit}
	var totals sublistTotals
	shown := make(map[string]bool)
	for _, a := range m.srv.Accounts() {
		if o.Account != "" && a.Name != o.Account {
			continue
		}
		shown[a.Name] = true
		totals.add(a.SublistStats())
	}
	sz.SublistStats = totals.stats()
	if !o.Subscriptions {
		return sz, nil
	}
	// Client subscriptions only: the server's own (JetStream's) have no
	// connection to name, as in the reference.
	var details []SubDetail
	for _, ci := range m.srv.Clients() {
		if !shown[ci.Account] {
			continue
		}
		for _, sd := range ci.SubsDetail {
			if o.Test != "" && !sublist.MatchLiteral(o.Test, sd.Subject) {
				continue
			}
			details = append(details, SubDetail{
				Account: ci.Account, AccountTag: ci.Account, Subject: sd.Subject, Queue: sd.Queue,
				Sid: sd.Sid, Msgs: sd.Msgs, Max: sd.Max, Cid: ci.CID,
			})
		}
	}
	// A stable order, so that pages do not overlap.
	slices.SortFunc(details, func(a, b SubDetail) int {
		return cmp.Or(cmp.Compare(a.Cid, b.Cid), strings.Compare(a.Sid, b.Sid), strings.Compare(a.Subject, b.Subject))
	})
	sz.Total = len(details)
	lo := min(o.Offset, len(details))
	sz.Subs = details[lo : lo+min(o.Limit, len(details)-lo)]
	return sz, nil
}

func (m *Server) handleSubsz(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	o := SubszOptions{Subscriptions: q.boolean("subs")}
	o.Offset = q.integer("offset")
	o.Limit = q.integer("limit")
	o.Test = q.str("test")
	o.Account = q.str("acc")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	sz, err := m.Subsz(o)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	m.writeJSON(w, sz)
}
