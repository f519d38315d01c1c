package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/keelhq/keel/server/opts"
	"github.com/nats-io/nats.go"
)

// TestUserInfoRequest: $SYS.REQ.USER.INFO answers any client with who it
// is (nats-server's reply: the server, then the user and its account), as
// `nats account info` reads it.
func TestUserInfoRequest(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*opts.Options)
		conn []nats.Option
		user string
	}{
		{"no auth", nil, nil, ""},
		{"user", func(o *opts.Options) { o.Username, o.Password = "alice", "pw" }, []nats.Option{nats.UserInfo("alice", "pw")}, "alice"},
		{"token", func(o *opts.Options) { o.Authorization = "tok" }, []nats.Option{nats.Token("tok")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := runServer(t, c.mod)
			nc := connect(t, s, c.conn...)
			var replies []uint64
			for range 2 {
				m, err := nc.Request(userInfoSubject, nil, 2*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				var r struct {
					Server struct {
						Name, ID, Ver string
						Seq           uint64
						Time          time.Time
					}
					Data struct {
						User        string `json:"user"`
						Account     string `json:"account"`
						AccountName string `json:"account_name"`
					}
				}
				if err := json.Unmarshal(m.Data, &r); err != nil {
					t.Fatalf("%s: %v", m.Data, err)
				}
				if r.Server.ID != s.ID() || r.Server.Name != s.Name() || r.Server.Ver != Version || r.Server.Time.IsZero() {
					t.Fatalf("server part %+v", r.Server)
				}
				if r.Data.User != c.user || r.Data.Account != GlobalAccountName || r.Data.AccountName != GlobalAccountName {
					t.Fatalf("data %+v, want user %q in %s", r.Data, c.user, GlobalAccountName)
				}
				replies = append(replies, r.Server.Seq)
			}
			if replies[1] <= replies[0] {
				t.Fatalf("reply sequence numbers %v do not increase", replies)
			}
		})
	}
}
