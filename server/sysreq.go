package server

import (
	"encoding/json"
	"time"
)

// System requests. Keel has no system account yet, but some requests that
// nats-server answers for any client (in the client's own account) are
// what tools read to describe a connection: `nats account info` shows the
// user and account from $SYS.REQ.USER.INFO.

const userInfoSubject = "$SYS.REQ.USER.INFO"

// systemSubscriptions is how many internal subscriptions every server
// holds in the global account for system requests.
const systemSubscriptions = 1

// sysServerInfo identifies the answering server in a system reply, with
// nats-server's field names.
type sysServerInfo struct {
	Name      string    `json:"name"`
	Host      string    `json:"host"`
	ID        string    `json:"id"`
	Version   string    `json:"ver"`
	JetStream bool      `json:"jetstream"`
	Flags     uint64    `json:"flags"`
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
}

// userInfo is the data of a $SYS.REQ.USER.INFO reply.
type userInfo struct {
	User        string `json:"user"`
	Account     string `json:"account"`
	AccountName string `json:"account_name,omitempty"`
}

type sysReply struct {
	Server sysServerInfo `json:"server"`
	Data   any           `json:"data"`
}

// serveSystemRequests subscribes the system requests Keel answers.
func (s *Server) serveSystemRequests() error {
	_, err := s.SubscribeInternal(userInfoSubject, "", func(m *InMsg) {
		if m.Reply == "" {
			return
		}
		s.sysReply(m.Reply, userInfo{User: m.User, Account: m.Account, AccountName: m.Account})
	})
	return err
}

// sysReply answers a system request with data.
func (s *Server) sysReply(reply string, data any) {
	o := s.getOpts()
	b, err := json.Marshal(sysReply{
		Server: sysServerInfo{
			Name: s.Name(), Host: o.Host, ID: s.ID(), Version: Version,
			JetStream: s.js.Load() != nil, Seq: s.sysSeq.Add(1), Time: time.Now().UTC(),
		},
		Data: data,
	})
	if err != nil {
		s.Errorf("system reply: %v", err)
		return
	}
	s.Publish(reply, "", nil, b)
}
