package monitor

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// JSInfo is /jsz: JetStream's configuration, usage and totals, and per
// account details on request.
type JSInfo struct {
	JSStats
	ID              string           `json:"server_id"`
	Now             time.Time        `json:"now"`
	Disabled        bool             `json:"disabled,omitempty"`
	Config          JSConfig         `json:"config"`
	Limits          *JSLimits        `json:"limits,omitempty"`
	Streams         int              `json:"streams"`
	StreamsLeader   int              `json:"streams_leader,omitempty"`
	Consumers       int              `json:"consumers"`
	ConsumersLeader int              `json:"consumers_leader,omitempty"`
	Messages        uint64           `json:"messages"`
	Bytes           uint64           `json:"bytes"`
	AccountDetails  []*AccountDetail `json:"account_details,omitempty"`
	Total           int              `json:"total"`
}

// AccountDetail is one account in /jsz.
type AccountDetail struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	JSStats
	Streams []StreamDetail `json:"stream_detail,omitempty"`
}

// StreamDetail is one stream in /jsz?streams=true.
type StreamDetail struct {
	Name      string                    `json:"name"`
	Created   time.Time                 `json:"created"`
	Cluster   *jsapi.ClusterInfo        `json:"cluster,omitempty"`
	Config    *jsapi.StreamConfig       `json:"config,omitempty"`
	State     jsapi.StreamState         `json:"state"`
	Consumers []*jsapi.ConsumerInfo     `json:"consumer_detail,omitempty"`
	Mirror    *jsapi.StreamSourceInfo   `json:"mirror,omitempty"`
	Sources   []*jsapi.StreamSourceInfo `json:"sources,omitempty"`
}

// JszOptions are /jsz's query parameters.
type JszOptions struct {
	Account          string // acc: this account's details only
	Accounts         bool   // accounts: every account's details (paged)
	Streams          bool   // streams: stream details (implies accounts without acc)
	Consumers        bool   // consumers: consumer details (implies streams)
	Config           bool   // config: stream and consumer configurations
	LeaderOnly       bool   // leader-only: answer only on the meta leader
	Offset, Limit    int    // paging of account details
	RaftGroups       bool   // raft: count stream and consumer leaders
	StreamLeaderOnly bool   // stream-leader-only: streams this server leads
}

// defaultJszLimit is the page size of account details.
const defaultJszLimit = 1024

// errNotLeader answers leader-only requests on a server that is not the
// JetStream meta leader (the reference's text).
const errNotLeader = "filtered response: not leader"

// Jsz builds /jsz. The error is a message for a 400 answer.
func (m *Server) Jsz(o JszOptions) (*JSInfo, string) {
	o.Offset = max(o.Offset, 0)
	if o.Limit == 0 {
		o.Limit = defaultJszLimit
	}
	if o.Consumers {
		o.Streams = true
	}
	if o.Streams && o.Account == "" {
		o.Accounts = true
	}
	info := &JSInfo{ID: m.srv.ID(), Now: time.Now().UTC()}
	js := m.jetStream()
	if js == nil {
		if o.LeaderOnly {
			return nil, errNotLeader
		}
		info.Disabled = true
		return info, ""
	}
	// A standalone server is its own meta leader: leader-only answers.
	ov := js.Overview()
	info.JSStats, info.Config, info.Limits = ov.Stats, ov.Config, &ov.Limits
	accounts := js.Accounts(o.Consumers)
	info.Total = len(accounts)
	slices.SortFunc(accounts, func(a, b JSAccount) int { return strings.Compare(a.Name, b.Name) })
	for _, a := range accounts {
		info.Streams += len(a.Streams)
		for _, st := range a.Streams {
			info.Messages += st.State.Msgs
			info.Bytes += st.State.Bytes
			info.Consumers += st.State.Consumers
		}
	}
	if o.RaftGroups {
		// Without clustering every asset is led here.
		info.StreamsLeader, info.ConsumersLeader = info.Streams, info.Consumers
	}

	var page []JSAccount
	if i := slices.IndexFunc(accounts, func(a JSAccount) bool { return a.Name == o.Account }); o.Account != "" && i >= 0 {
		page = accounts[i : i+1]
	} else if o.Accounts && o.Limit > 0 {
		page = accounts[min(o.Offset, len(accounts)):]
		page = page[:min(o.Limit, len(page))]
	}
	for i := range page {
		info.AccountDetails = append(info.AccountDetails, m.accountDetail(&page[i], o))
	}
	return info, ""
}

func (m *Server) accountDetail(a *JSAccount, o JszOptions) *AccountDetail {
	d := &AccountDetail{
		Name: a.Name,
		ID:   a.Name,
		JSStats: JSStats{
			Memory: a.Memory, Store: a.Store,
			ReservedMemory: a.ReservedMemory, ReservedStore: a.ReservedStore,
			API: jsapi.APIStats{Total: a.API.Total, Errors: a.API.Errors},
		},
	}
	if !o.Streams {
		return d
	}
	streams := slices.Clone(a.Streams)
	slices.SortFunc(streams, func(x, y JSStream) int { return strings.Compare(x.Name, y.Name) })
	for i := range streams {
		st := &streams[i]
		sd := StreamDetail{
			Name: st.Name, Created: st.Created.UTC(), Cluster: st.Cluster,
			State: st.State, Mirror: st.Mirror, Sources: st.Sources,
		}
		if sd.Cluster == nil {
			// Standalone: this server leads every stream.
			sd.Cluster = &jsapi.ClusterInfo{Leader: m.srv.Name()}
		}
		if o.StreamLeaderOnly && sd.Cluster.Leader != m.srv.Name() {
			continue
		}
		if o.Config {
			cfg := st.Config
			sd.Config = &cfg
		}
		if o.Consumers {
			for _, ci := range st.Consumers {
				c := *ci
				if !o.Config {
					c.Config = nil
				}
				sd.Consumers = append(sd.Consumers, &c)
			}
		}
		d.Streams = append(d.Streams, sd)
	}
	return d
}

func (m *Server) handleJsz(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	o := JszOptions{
		Accounts:  q.boolean("accounts"),
		Streams:   q.boolean("streams"),
		Consumers: q.boolean("consumers"),
	}
	q.boolean("direct-consumers") // no direct consumers in Keel: parsed for its errors only
	o.Config = q.boolean("config")
	o.Offset = q.integer("offset")
	o.Limit = q.integer("limit")
	o.LeaderOnly = q.boolean("leader-only")
	o.RaftGroups = q.boolean("raft")
	o.StreamLeaderOnly = q.boolean("stream-leader-only")
	o.Account = q.str("acc")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	info, msg := m.Jsz(o)
	if msg != "" {
		badRequest(w, msg)
		return
	}
	m.writeJSON(w, info)
}
