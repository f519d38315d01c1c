package jetstream

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nuid"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Advisories on $JS.EVENT.ADVISORY.>: stream created, updated, deleted,
// and an audit event for every API request. They are built only when
// someone listens (when the host can tell).

// interestChecker is the optional part of Host that tells whether anyone
// subscribes to a subject.
type interestChecker interface {
	HasInterest(subject string) bool
}

func (js *JetStream) wanted(subject string) bool {
	if ic, ok := js.host.(interestChecker); ok {
		return ic.HasInterest(subject)
	}
	return true
}

func (js *JetStream) sendAdvisory(subject string, v any) {
	if !js.wanted(subject) {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		js.host.Warnf("JetStream advisory %s: %v", subject, err)
		return
	}
	js.publish(subject, nil, b)
}

func typedEvent(typ string) jsapi.TypedEvent {
	return jsapi.TypedEvent{Type: typ, ID: nuid.Next(), Time: time.Now().UTC()}
}

// clientLister is the optional part of Host that describes the connected
// clients (*server.Server has it), for the client block of audits.
type clientLister interface {
	ClientSummaries() []server.ClientInfo
}

// clientInfo describes the requester of an API call as the reference's
// audits do: connection start, address, language and version, round trip,
// and the server it is connected to.
func (js *JetStream) clientInfo(r *Request) *jsapi.ClientInfo {
	ci := &jsapi.ClientInfo{
		ID:      r.ClientID,
		Account: r.Account,
		Server:  js.host.Name(),
		Kind:    "Client",
	}
	cl, ok := js.host.(clientLister)
	if !ok || r.ClientID == 0 {
		return ci
	}
	// A scan of the connections: audits are built only while someone
	// listens to them.
	for _, c := range cl.ClientSummaries() {
		if c.CID != r.ClientID {
			continue
		}
		start := c.Start.UTC()
		ci.Start, ci.Host, ci.Name, ci.User = &start, c.IP, c.Name, c.User
		ci.Lang, ci.Version, ci.RTT = c.Lang, c.Version, c.RTT
		ci.ClientType = "nats"
		break
	}
	return ci
}

// streamAdvisory reports a stream created, updated or deleted.
func (js *JetStream) streamAdvisory(stream string, action jsapi.ActionAdvisoryType, r *Request) {
	var pre string
	switch action {
	case jsapi.CreateEvent:
		pre = jsapi.AdvisoryStreamCreatedPre
	case jsapi.DeleteEvent:
		pre = jsapi.AdvisoryStreamDeletedPre
	default:
		pre = jsapi.AdvisoryStreamUpdatedPre
	}
	js.sendAdvisory(pre+"."+stream, &jsapi.StreamActionAdvisory{
		TypedEvent: typedEvent(jsapi.StreamActionAdvisoryType),
		Stream:     stream,
		Action:     action,
		Domain:     js.cfg.Domain,
	})
}

// auditAdvisory reports an API request and its response.
func (js *JetStream) auditAdvisory(r *Request, response []byte) {
	if r == nil || !js.wanted(jsapi.AdvisoryAPIAudit) {
		return
	}
	js.sendAdvisory(jsapi.AdvisoryAPIAudit, &jsapi.APIAudit{
		TypedEvent: typedEvent(jsapi.APIAuditType),
		Server:     js.host.Name(),
		Client:     js.clientInfo(r),
		Subject:    r.Subject,
		Request:    string(r.Data),
		Response:   string(response),
		Domain:     js.cfg.Domain,
	})
}
