package monitor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// HealthStatus is /healthz's answer. The HTTP status carries the code;
// StatusCode is left out of the JSON.
type HealthStatus struct {
	Status     string        `json:"status"`
	StatusCode int           `json:"status_code,omitempty"`
	Error      string        `json:"error,omitempty"`
	Errors     []HealthError `json:"errors,omitempty"`
}

// HealthError is one problem, listed when details are asked for.
type HealthError struct {
	Type     HealthErrorType `json:"type"`
	Account  string          `json:"account,omitempty"`
	Stream   string          `json:"stream,omitempty"`
	Consumer string          `json:"consumer,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// HealthErrorType classifies a health problem; it is a string in JSON.
type HealthErrorType string

// Health problem types, as the reference names them.
const (
	HealthErrorConn       HealthErrorType = "CONNECTION"
	HealthErrorBadRequest HealthErrorType = "BAD_REQUEST"
	HealthErrorJetStream  HealthErrorType = "JETSTREAM"
	HealthErrorAccount    HealthErrorType = "ACCOUNT"
	HealthErrorStream     HealthErrorType = "STREAM"
	HealthErrorConsumer   HealthErrorType = "CONSUMER"
)

// HealthzOptions are /healthz's query parameters.
type HealthzOptions struct {
	JSEnabledOnly        bool   // js-enabled-only (or the older js-enabled): JetStream is up, assets not checked
	JSServerOnly         bool   // js-server-only: the server alone
	JSMetaOnly           bool   // js-meta-only: the meta layer (standalone: the assets are checked as without it)
	LeafRemotesConnected bool   // leaf-remotes-connected (no leafnodes in Keel: nothing to check)
	Account              string // account, stream, consumer: check these assets only
	Stream               string
	Consumer             string
	Details              bool // details: list every problem in errors
}

// health collects the outcome: the first problem alone, or all of them
// with details.
type health struct {
	HealthStatus
	details bool
}

// fail records a problem. It reports whether the check should stop (it
// always should without details: one problem is the answer).
func (h *health) fail(status string, e HealthError) bool {
	if h.details {
		h.Errors = append(h.Errors, e)
		return false
	}
	h.Status, h.Error = status, e.Error
	return true
}

// Healthz runs the health check.
func (m *Server) Healthz(o HealthzOptions) *HealthStatus {
	h := &health{HealthStatus: HealthStatus{Status: "ok"}, details: o.Details}
	m.healthz(h, o)
	switch {
	case h.details && len(h.Errors) > 0:
		h.Status = "error"
	case h.details:
		h.Status = "ok"
	}
	if h.StatusCode == 0 {
		h.StatusCode = http.StatusOK
		if h.Error != "" || len(h.Errors) > 0 {
			h.StatusCode = http.StatusServiceUnavailable
		}
	}
	return &h.HealthStatus
}

const unavailable = "unavailable"

func (m *Server) healthz(h *health, o HealthzOptions) {
	badRequest := func(msg string) {
		h.StatusCode = http.StatusBadRequest
		h.fail("error", HealthError{Type: HealthErrorBadRequest, Error: msg})
	}
	if o.Account == "" && o.Stream != "" {
		badRequest(`"account" must not be empty when checking stream health`)
		return
	}
	if o.Stream == "" && o.Consumer != "" {
		badRequest(`"stream" must not be empty when checking consumer health`)
		return
	}
	if !m.srv.ReadyForConnections(0) {
		h.StatusCode = http.StatusInternalServerError
		h.fail("error", HealthError{Type: HealthErrorConn, Error: "failed to be ready for connections after 1ms: server"})
		return
	}
	if o.JSServerOnly || !m.srv.Options().JetStream {
		return
	}
	js := m.jetStream()
	if js == nil {
		h.StatusCode = http.StatusServiceUnavailable
		h.fail(unavailable, HealthError{Type: HealthErrorJetStream, Error: jsapi.ErrNotEnabled().Error()})
		return
	}
	if o.JSEnabledOnly {
		return
	}
	m.assetHealth(h, js, o)
}

// assetHealth checks that the streams (all, or the ones named) were
// recovered and can be written, and that named assets exist.
func (m *Server) assetHealth(h *health, js JetStream, o HealthzOptions) {
	accounts := js.Accounts(o.Consumer != "")
	slices.SortFunc(accounts, func(a, b JSAccount) int { return strings.Compare(a.Name, b.Name) })
	var accFound, streamFound, consumerFound bool
	for _, a := range accounts {
		if o.Account != "" {
			if a.Name != o.Account {
				continue
			}
			accFound = true
		}
		for _, name := range a.Unrecovered {
			if o.Stream != "" && name != o.Stream {
				continue
			}
			streamFound = streamFound || name == o.Stream
			if h.fail(unavailable, HealthError{Type: HealthErrorStream, Account: a.Name, Stream: name,
				Error: fmt.Sprintf("JetStream stream '%s > %s' could not be recovered", a.Name, name)}) {
				return
			}
		}
		for _, st := range a.Streams {
			if o.Stream != "" && st.Name != o.Stream {
				continue
			}
			if st.WriteErr != nil {
				if h.fail(unavailable, HealthError{Type: HealthErrorStream, Account: a.Name, Stream: st.Name,
					Error: fmt.Sprintf("JetStream stream '%s > %s' write error: %v", a.Name, st.Name, st.WriteErr)}) {
					return
				}
			}
			if o.Stream != "" {
				streamFound = true
				consumerFound = slices.ContainsFunc(st.Consumers, func(c *jsapi.ConsumerInfo) bool { return c.Name == o.Consumer })
			}
		}
	}
	notFound := func(e HealthError) {
		h.StatusCode = http.StatusNotFound
		if h.details {
			// A missing asset replaces whatever else was found.
			h.Errors = []HealthError{e}
			return
		}
		h.Status, h.Error = unavailable, e.Error
	}
	switch {
	case o.Account != "" && !accFound:
		notFound(HealthError{Type: HealthErrorAccount, Account: o.Account,
			Error: fmt.Sprintf("JetStream account %q not found", o.Account)})
	case o.Stream != "" && !streamFound:
		notFound(HealthError{Type: HealthErrorStream, Account: o.Account, Stream: o.Stream,
			Error: fmt.Sprintf("JetStream stream %q not found on account %q", o.Stream, o.Account)})
	case o.Consumer != "" && !consumerFound:
		notFound(HealthError{Type: HealthErrorConsumer, Account: o.Account, Stream: o.Stream, Consumer: o.Consumer,
			Error: fmt.Sprintf("JetStream consumer %q not found for stream %q on account %q", o.Consumer, o.Stream, o.Account)})
	}
}

func (m *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r.URL)
	jsEnabled := q.boolean("js-enabled")
	if jsEnabled {
		m.log.Warnf("Healthcheck: js-enabled deprecated, use js-enabled-only instead")
	}
	o := HealthzOptions{JSEnabledOnly: q.boolean("js-enabled-only") || jsEnabled}
	o.JSServerOnly = q.boolean("js-server-only")
	o.JSMetaOnly = q.boolean("js-meta-only")
	o.LeafRemotesConnected = q.boolean("leaf-remotes-connected")
	o.Details = q.boolean("details")
	o.Account, o.Stream, o.Consumer = q.str("account"), q.str("stream"), q.str("consumer")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	hs := m.Healthz(o)
	if hs.Error != "" {
		m.log.Warnf("Healthcheck failed: %q", hs.Error)
	} else if len(hs.Errors) != 0 {
		m.log.Warnf("Healthcheck failed: %d errors", len(hs.Errors))
	}
	code := hs.StatusCode
	hs.StatusCode = 0
	b, err := json.Marshal(hs)
	if err != nil {
		m.log.Errorf("monitor: encode health: %v", err)
	}
	respond(w, code, b)
}
