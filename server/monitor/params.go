package monitor

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Query-parameter decoding. A value that does not parse is answered 400
// with the reference's plain-text message (tools match on it), and an
// absent or empty parameter is the zero value.

// query reads the parameters of one request and remembers the first
// decoding error; callers check err once after reading everything, in
// the order the reference reads them (so the same parameter is blamed).
type query struct {
	v   url.Values
	err error
}

func newQuery(u *url.URL) *query { return &query{v: u.Query()} }

func (q *query) str(name string) string { return q.v.Get(name) }

func (q *query) boolean(name string) bool {
	s := q.v.Get(name)
	if s == "" || q.err != nil {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.err = fmt.Errorf("Error decoding boolean for '%s': %v", name, err)
	}
	return b
}

func (q *query) integer(name string) int {
	s := q.v.Get(name)
	if s == "" || q.err != nil {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.err = fmt.Errorf("Error decoding int for '%s': %v", name, err)
	}
	return n
}

func (q *query) uint64(name string) uint64 {
	s := q.v.Get(name)
	if s == "" || q.err != nil {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		q.err = fmt.Errorf("Error decoding uint64 for '%s': %v", name, err)
	}
	return n
}

// subs reads "subs": a boolean, or "detail" for subscription details.
func (q *query) subs() (list, detail bool) {
	if strings.EqualFold(q.v.Get("subs"), "detail") {
		return false, true
	}
	return q.boolean("subs"), false
}

// ConnState selects open connections, closed ones (from the history of
// max_closed_clients), or both.
type ConnState int

// Connection states for /connz?state=.
const (
	ConnOpen ConnState = iota
	ConnClosed
	ConnAll
)

func (q *query) state() ConnState {
	s := q.v.Get("state")
	if q.err != nil {
		return ConnOpen
	}
	switch strings.ToLower(s) {
	case "", "open":
		return ConnOpen
	case "closed":
		return ConnClosed
	case "any", "all":
		return ConnAll
	}
	q.err = fmt.Errorf("Error decoding state for %s", s)
	return ConnOpen
}
