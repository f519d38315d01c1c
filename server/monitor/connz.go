package monitor

import (
	"fmt"
	"net/http"
	"time"

	"github.com/keelhq/keel/server"
)

// Connz is /connz: a page of connections, open or closed.
type Connz struct {
	ID       string      `json:"server_id"`
	Now      time.Time   `json:"now"`
	NumConns int         `json:"num_connections"`
	Total    int         `json:"total"`
	Offset   int         `json:"offset"`
	Limit    int         `json:"limit"`
	Conns    []*ConnInfo `json:"connections"`
}

// ConnInfo describes one connection.
type ConnInfo struct {
	Cid            uint64      `json:"cid"`
	Kind           string      `json:"kind,omitempty"`
	Type           string      `json:"type,omitempty"`
	IP             string      `json:"ip"`
	Port           int         `json:"port"`
	Start          time.Time   `json:"start"`
	LastActivity   time.Time   `json:"last_activity"`
	Stop           *time.Time  `json:"stop,omitempty"`
	Reason         string      `json:"reason,omitempty"`
	RTT            string      `json:"rtt,omitempty"`
	Uptime         string      `json:"uptime"`
	Idle           string      `json:"idle"`
	Pending        int         `json:"pending_bytes"`
	InMsgs         int64       `json:"in_msgs"`
	OutMsgs        int64       `json:"out_msgs"`
	InBytes        int64       `json:"in_bytes"`
	OutBytes       int64       `json:"out_bytes"`
	Stalls         int64       `json:"stalls,omitempty"`
	NumSubs        uint32      `json:"subscriptions"`
	Name           string      `json:"name,omitempty"`
	Lang           string      `json:"lang,omitempty"`
	Version        string      `json:"version,omitempty"`
	AuthorizedUser string      `json:"authorized_user,omitempty"`
	Account        string      `json:"account,omitempty"`
	Subs           []string    `json:"subscriptions_list,omitempty"`
	SubsDetail     []SubDetail `json:"subscriptions_list_detail,omitempty"`
	NameTag        string      `json:"name_tag,omitempty"`

	rtt time.Duration // for sorting
}

// SubDetail describes one subscription (/connz?subs=detail, /subsz?subs=1).
type SubDetail struct {
	Account    string `json:"account,omitempty"`
	AccountTag string `json:"account_tag,omitempty"`
	Subject    string `json:"subject"`
	Queue      string `json:"qgroup,omitempty"`
	Sid        string `json:"sid"`
	Msgs       int64  `json:"msgs"`
	Max        int64  `json:"max,omitempty"`
	Cid        uint64 `json:"cid"`
}

// ConnzOptions are /connz's query parameters.
type ConnzOptions struct {
	Sort                SortOpt   // sort (cid when empty)
	Username            bool      // auth: include users and accounts
	Subscriptions       bool      // subs=true: subscription subjects
	SubscriptionsDetail bool      // subs=detail: subscription details
	Offset, Limit       int       // paging (limit 1024 when 0)
	CID                 uint64    // cid: this connection only
	State               ConnState // state: open, closed or all
	User                string    // user: connections of this user
	Account             string    // acc: connections of this account
	MQTTClient          string    // mqtt_client: no MQTT in Keel, matches nothing
}

// DefaultConnListSize is /connz's page size when no limit is given.
const DefaultConnListSize = 1024

// Connz builds /connz. The error is a message for a 400 answer.
func (m *Server) Connz(o ConnzOptions) (*Connz, error) {
	sortOpt := o.Sort
	if sortOpt == "" {
		sortOpt = ByCid
	}
	if !sortOpt.IsValid() {
		return nil, fmt.Errorf("invalid sorting option: %s", sortOpt)
	}
	if o.Offset < 0 {
		o.Offset = 0
	}
	if o.Limit <= 0 {
		o.Limit = DefaultConnListSize
	}
	// Stop times and close reasons exist only for closed connections.
	if sortOpt == ByStop && o.State != ConnClosed {
		return nil, fmt.Errorf("sort by stop only valid on closed connections")
	}
	if sortOpt == ByReason && o.State != ConnClosed {
		return nil, fmt.Errorf("sort by reason only valid on closed connections")
	}
	if o.CID > 0 {
		o.Limit = 1
	}
	now := time.Now()
	c := &Connz{ID: m.srv.ID(), Now: now.UTC(), Offset: o.Offset, Limit: o.Limit}
	if o.Account != "" && !m.accountExists(o.Account) {
		// The reference answers an unknown account with an empty page
		// whose list is null.
		return c, nil
	}

	var list []server.ClientInfo
	switch {
	case o.State == ConnClosed:
	case o.Subscriptions || o.SubscriptionsDetail:
		list = m.srv.Clients()
	default:
		// Listing every subscription of every connection costs; skip it
		// when the lists are not shown.
		list = m.srv.ClientSummaries()
	}
	// A connection asked for by id is looked up among the closed ones only
	// when it is not open.
	openMatch := o.CID > 0 && containsCID(list, o.CID)
	if (o.State == ConnClosed || o.State == ConnAll) && !openMatch {
		list = append(list, m.srv.ClosedClients()...)
	}
	conns := make([]*ConnInfo, 0, len(list))
	for i := range list {
		ci := &list[i]
		if !o.matches(ci) {
			continue
		}
		conns = append(conns, newConnInfo(ci, now, o))
		if o.CID > 0 {
			break
		}
	}
	c.Total = len(conns)
	sortConns(conns, sortOpt, now)
	lo := min(o.Offset, len(conns))
	hi := lo + min(o.Limit, len(conns)-lo)
	c.Conns = conns[lo:hi]
	c.NumConns = len(c.Conns)
	return c, nil
}

func containsCID(list []server.ClientInfo, cid uint64) bool {
	for i := range list {
		if list[i].CID == cid {
			return true
		}
	}
	return false
}

func (m *Server) accountExists(name string) bool {
	for _, a := range m.srv.Accounts() {
		if a.Name == name {
			return true
		}
	}
	return false
}

// matches applies the filters of o to one connection.
func (o *ConnzOptions) matches(ci *server.ClientInfo) bool {
	switch {
	case o.CID > 0 && ci.CID != o.CID:
		return false
	case o.Account != "" && ci.Account != o.Account:
		return false
	case o.User != "" && ci.User != o.User:
		return false
	case o.MQTTClient != "":
		return false
	}
	return true
}

func newConnInfo(ci *server.ClientInfo, now time.Time, o ConnzOptions) *ConnInfo {
	last := ci.LastIn
	if last.Before(ci.Start) {
		last = ci.Start
	}
	end := now
	if !ci.Stop.IsZero() {
		end = ci.Stop
	}
	info := &ConnInfo{
		Cid:          ci.CID,
		Kind:         ci.Kind,
		Type:         "nats",
		IP:           ci.IP,
		Port:         ci.Port,
		Start:        ci.Start.UTC(),
		LastActivity: last.UTC(),
		Reason:       ci.Reason,
		RTT:          rttString(ci.RTT),
		Uptime:       uptime(end.Sub(ci.Start)),
		Idle:         uptime(end.Sub(last)),
		Pending:      ci.Pending,
		InMsgs:       ci.InMsgs,
		OutMsgs:      ci.OutMsgs,
		InBytes:      ci.InBytes,
		OutBytes:     ci.OutBytes,
		Stalls:       ci.Stalls,
		NumSubs:      uint32(ci.NumSubs),
		Name:         ci.Name,
		Lang:         ci.Lang,
		Version:      ci.Version,
		rtt:          ci.RTT,
	}
	if !ci.Stop.IsZero() {
		stop := ci.Stop.UTC()
		info.Stop = &stop
	}
	closed := info.Stop != nil
	switch {
	case o.SubscriptionsDetail:
		for _, sd := range ci.SubsDetail {
			d := SubDetail{Subject: sd.Subject, Queue: sd.Queue, Sid: sd.Sid, Msgs: sd.Msgs, Max: sd.Max, Cid: ci.CID}
			if closed {
				// The history keeps subscriptions as /subsz lists them,
				// with their account (the reference does the same).
				d.Account, d.AccountTag = ci.Account, ci.Account
			}
			info.SubsDetail = append(info.SubsDetail, d)
		}
	case o.Subscriptions:
		for _, sd := range ci.SubsDetail {
			info.Subs = append(info.Subs, sd.Subject)
		}
	}
	if o.Username {
		info.AuthorizedUser = ci.User
		// The global account is implied. name_tag names the account of an
		// open connection (by its name, there being no JWT name tags);
		// the history has it only for other accounts.
		if ci.Account != server.GlobalAccountName {
			info.Account = ci.Account
		}
		if !closed || info.Account != "" {
			info.NameTag = ci.Account
		}
	}
	return info
}

// rttString renders a round trip as the reference does: microseconds
// precision below a millisecond, "0s" before the first PONG.
func rttString(d time.Duration) string {
	if d > time.Microsecond && d < time.Millisecond {
		d = d.Truncate(time.Microsecond)
	}
	return d.String()
}

func (m *Server) handleConnz(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	o := ConnzOptions{Sort: SortOpt(q.str("sort"))}
	o.Username = q.boolean("auth")
	o.Subscriptions, o.SubscriptionsDetail = q.subs()
	o.Offset = q.integer("offset")
	o.Limit = q.integer("limit")
	o.CID = q.uint64("cid")
	o.State = q.state()
	o.User = q.str("user")
	o.Account = q.str("acc")
	o.MQTTClient = q.str("mqtt_client")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	c, err := m.Connz(o)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	m.writeJSON(w, c)
}
