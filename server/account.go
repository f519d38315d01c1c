package server

import (
	"sort"
	"sync"

	"github.com/keelhq/keel/server/sublist"
)

// GlobalAccountName is the account every client belongs to until
// multi-account authentication lands.
const GlobalAccountName = "$G"

// Account is a subject namespace: its own subscriptions, its own clients.
// Messages never cross accounts (imports and exports will, later, be the
// explicit exception).
type Account struct {
	Name string
	sl   *sublist.Sublist[*subscription]

	mu      sync.Mutex
	clients map[*client]struct{}
}

func newAccount(name string, noCache bool) *Account {
	sl := sublist.New[*subscription]()
	if noCache {
		sl = sublist.NewNoCache[*subscription]()
	}
	return &Account{Name: name, sl: sl, clients: make(map[*client]struct{})}
}

func (a *Account) addClient(c *client) {
	a.mu.Lock()
	a.clients[c] = struct{}{}
	a.mu.Unlock()
}

func (a *Account) removeClient(c *client) {
	a.mu.Lock()
	delete(a.clients, c)
	a.mu.Unlock()
}

// NumClients is the number of client connections bound to the account.
func (a *Account) NumClients() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.clients)
}

// NumSubscriptions is the number of subscriptions in the account.
func (a *Account) NumSubscriptions() uint32 { return a.sl.Count() }

// SublistStats reports the account's subscription routing statistics.
func (a *Account) SublistStats() sublist.Stats { return a.sl.Stats() }

// Interest lists the subscriptions matching a literal subject, as
// "subject" or "subject queue" strings (/subsz?test=).
func (a *Account) Interest(subject string) []string {
	r := a.sl.Match(subject)
	var out []string
	for _, sub := range r.Plain {
		out = append(out, sub.subject)
	}
	for _, g := range r.Queues {
		for _, sub := range g {
			out = append(out, sub.subject+" "+sub.queue)
		}
	}
	return out
}

// lookupAccount returns the named account, creating it on first use.
func (s *Server) lookupAccount(name string) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[name]; ok {
		return a
	}
	a := newAccount(name, s.getOpts().DisableSublistCache)
	s.accounts[name] = a
	return a
}

// GlobalAccount is the default account "$G".
func (s *Server) GlobalAccount() *Account { return s.gacc }

// Accounts returns the server's accounts, sorted by name (/accountz).
func (s *Server) Accounts() []*Account {
	s.mu.Lock()
	out := make([]*Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, a)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
