package monitor

import (
	"fmt"
	"html"
	"net/http"
	"runtime"
	"slices"
	"time"

	"github.com/keelhq/keel/server"
)

// The index page, accounts, and the endpoints of features Keel does not
// have yet (routes, gateways, leafnodes), which answer in their empty
// form so that tools polling them keep working.

// indexLinks are the endpoints the index page lists, in its order.
var indexLinks = []struct{ title, path string }{
	{"General", VarzPath},
	{"JetStream", JszPath},
	{"Connections", ConnzPath},
	{"Accounts", AccountzPath},
	{"Account Stats", AccountStatzPath},
	{"Subscriptions", SubszPath},
	{"Routes", RoutezPath},
	{"LeafNodes", LeafzPath},
	{"Gateways", GatewayzPath},
	{"Health Probe", HealthzPath},
	{"Expvar", ExpvarzPath},
}

func (m *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	// The mux hands the index every path nobody else serves.
	if r.URL.Path != m.rootPath() {
		http.NotFound(w, r)
		return
	}
	m.reqMu.Lock()
	m.reqStats[RootPath]++
	m.reqMu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>Keel monitoring</title></head>\n<body>\n")
	fmt.Fprintf(w, "<h1>Keel</h1>\n<p>nats-server v%s compatible, server %s</p>\n<ul>\n",
		server.Version, html.EscapeString(m.srv.Name()))
	for _, l := range indexLinks {
		// Relative links keep working behind a base path or a proxy.
		fmt.Fprintf(w, "<li><a href=\".%s\">%s</a> <code>%s</code></li>\n", l.path, l.title, l.path)
	}
	fmt.Fprintf(w, "</ul>\n</body>\n</html>\n")
}

// Accountz is /accountz: the account names, or one account's details.
type Accountz struct {
	ID            string       `json:"server_id"`
	Now           time.Time    `json:"now"`
	SystemAccount string       `json:"system_account,omitempty"`
	Accounts      []string     `json:"accounts,omitempty"`
	Account       *AccountInfo `json:"account_detail,omitempty"`
}

// AccountInfo describes one account (/accountz?acc=NAME). Keel has no
// JWT accounts, imports, exports or mappings yet, so only the fields a
// configured account has are filled.
type AccountInfo struct {
	AccountName string        `json:"account_name"`
	LastUpdate  time.Time     `json:"update_time"`
	IsSystem    bool          `json:"is_system,omitempty"`
	Expired     bool          `json:"expired"`
	Complete    bool          `json:"complete"`
	JetStream   bool          `json:"jetstream_enabled"`
	LeafCnt     int           `json:"leafnode_connections"`
	ClientCnt   int           `json:"client_connections"`
	SubCnt      uint32        `json:"subscriptions"`
	NameTag     string        `json:"name_tag,omitempty"`
	Sublist     *SublistStats `json:"sublist_stats,omitempty"`
}

func (m *Server) handleAccountz(w http.ResponseWriter, r *http.Request) {
	az := &Accountz{ID: m.srv.ID(), Now: time.Now().UTC()}
	name := r.URL.Query().Get("acc")
	accounts := m.srv.Accounts()
	if name == "" {
		az.Accounts = []string{}
		for _, a := range accounts {
			az.Accounts = append(az.Accounts, a.Name)
		}
		m.writeJSON(w, az)
		return
	}
	i := slices.IndexFunc(accounts, func(a *server.Account) bool { return a.Name == name })
	if i < 0 {
		badRequest(w, fmt.Sprintf("Account %s does not exist", name))
		return
	}
	a := accounts[i]
	var totals sublistTotals
	totals.add(a.SublistStats())
	st := totals.stats()
	az.Account = &AccountInfo{
		AccountName: a.Name,
		// Accounts come from the configuration: they were last updated
		// when it was loaded.
		LastUpdate: m.srv.ConfigLoadTime().UTC(),
		Complete:   true,
		JetStream:  m.jetStreamAccount(a.Name),
		ClientCnt:  a.NumClients(),
		SubCnt:     a.NumSubscriptions(),
		NameTag:    a.Name,
		Sublist:    &st,
	}
	m.writeJSON(w, az)
}

// jetStreamAccount reports whether the account has JetStream enabled.
func (m *Server) jetStreamAccount(name string) bool {
	js := m.jetStream()
	if js == nil {
		return false
	}
	return slices.ContainsFunc(js.Accounts(false), func(a JSAccount) bool { return a.Name == name })
}

// AccountStatz is /accstatz: traffic per account.
type AccountStatz struct {
	ID       string         `json:"server_id"`
	Now      time.Time      `json:"now"`
	Accounts []*AccountStat `json:"account_statz"`
}

// AccountStat is one account's connections and traffic.
type AccountStat struct {
	Account       string    `json:"acc"`
	Name          string    `json:"name"`
	Conns         int       `json:"conns"`
	LeafNodes     int       `json:"leafnodes"`
	TotalConns    int       `json:"total_conns"`
	NumSubs       uint32    `json:"num_subscriptions"`
	Sent          DataStats `json:"sent"`
	Received      DataStats `json:"received"`
	SlowConsumers int64     `json:"slow_consumers"`
}

// DataStats counts messages and bytes, split by where they went.
type DataStats struct {
	MsgBytes
	Gateways *MsgBytes `json:"gateways,omitempty"`
	Routes   *MsgBytes `json:"routes,omitempty"`
	Leafs    *MsgBytes `json:"leafs,omitempty"`
}

// MsgBytes is a message count and a byte count.
type MsgBytes struct {
	Msgs  int64 `json:"msgs"`
	Bytes int64 `json:"bytes"`
}

func (m *Server) handleAccountStatz(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	unused := q.boolean("unused")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	az := &AccountStatz{ID: m.srv.ID(), Now: time.Now().UTC(), Accounts: []*AccountStat{}}
	st := m.srv.Stats()
	for _, a := range m.srv.Accounts() {
		n := a.NumClients()
		if n == 0 && !unused {
			continue
		}
		as := &AccountStat{
			Account: a.Name, Name: a.Name, Conns: n, TotalConns: n,
			NumSubs:  a.NumSubscriptions(),
			Sent:     DataStats{Gateways: &MsgBytes{}, Routes: &MsgBytes{}, Leafs: &MsgBytes{}},
			Received: DataStats{Gateways: &MsgBytes{}, Routes: &MsgBytes{}, Leafs: &MsgBytes{}},
		}
		if a.Name == server.GlobalAccountName {
			// Every client uses the global account (multiple accounts are
			// not built yet), so the server's traffic is its traffic.
			as.Sent.MsgBytes = MsgBytes{Msgs: st.OutMsgs.Load(), Bytes: st.OutBytes.Load()}
			as.Received.MsgBytes = MsgBytes{Msgs: st.InMsgs.Load(), Bytes: st.InBytes.Load()}
			as.SlowConsumers = st.SlowConsumers.Load()
		}
		az.Accounts = append(az.Accounts, as)
	}
	m.writeJSON(w, az)
}

// Routez is /routez; Keel has no cluster routes yet.
type Routez struct {
	ID        string    `json:"server_id"`
	Name      string    `json:"server_name"`
	Now       time.Time `json:"now"`
	NumRoutes int       `json:"num_routes"`
	Routes    []any     `json:"routes"`
}

func (m *Server) handleRoutez(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	q.subs()
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	m.writeJSON(w, &Routez{ID: m.srv.ID(), Name: m.srv.Name(), Now: time.Now().UTC(), Routes: []any{}})
}

// Gatewayz is /gatewayz; Keel has no gateways yet.
type Gatewayz struct {
	ID               string           `json:"server_id"`
	Now              time.Time        `json:"now"`
	Name             string           `json:"name,omitempty"`
	Host             string           `json:"host,omitempty"`
	Port             int              `json:"port,omitempty"`
	OutboundGateways map[string]any   `json:"outbound_gateways"`
	InboundGateways  map[string][]any `json:"inbound_gateways"`
}

func (m *Server) handleGatewayz(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	q.subs()
	q.boolean("accs")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	m.writeJSON(w, &Gatewayz{
		ID: m.srv.ID(), Now: time.Now().UTC(),
		OutboundGateways: map[string]any{}, InboundGateways: map[string][]any{},
	})
}

// Leafz is /leafz; Keel has no leafnodes yet.
type Leafz struct {
	ID       string    `json:"server_id"`
	Now      time.Time `json:"now"`
	NumLeafs int       `json:"leafnodes"`
	Leafs    []any     `json:"leafs"`
}

func (m *Server) handleLeafz(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	q.boolean("subs")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	m.writeJSON(w, &Leafz{ID: m.srv.ID(), Now: time.Now().UTC(), Leafs: []any{}})
}

// handleRaftz answers as the reference does without Raft groups (Keel has
// no clustering yet).
func (m *Server) handleRaftz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("No Raft nodes registered"))
}

// handleIPQueuesz lists internal queues with their backlog; Keel has none
// of the reference's, so the list is empty.
func (m *Server) handleIPQueuesz(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	q.boolean("all")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	respond(w, http.StatusOK, []byte("{}"))
}

// handleStacksz dumps every goroutine's stack, for debugging a stuck
// server; it takes no lock, so it answers even then.
func (m *Server) handleStacksz(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	respond(w, http.StatusOK, buf)
}
