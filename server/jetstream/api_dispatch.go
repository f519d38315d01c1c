package jetstream

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/keelhq/keel/server"
	"github.com/keelhq/keel/server/jetstream/jsapi"
	"github.com/keelhq/keel/server/sublist"
)

// Request is one $JS.API request, copied off the publisher's goroutine.
// Subject is always in the $JS.API. form, also when the request came
// through a domain ($JS.<domain>.API.).
type Request struct {
	Subject  string
	Reply    string
	Header   []byte
	Data     []byte
	Account  string
	ClientID uint64
	Received time.Time
}

// Handler serves one kind of API request. It answers with
// JetStream.Respond (or not at all, as the reference sometimes does).
type Handler func(js *JetStream, r *Request)

// route is one entry of the dispatch table: requests whose subject matches
// pattern go to handler; respType is the "type" of its responses, used
// for the errors the dispatcher answers itself (Nats-Required-Api-Level).
type route struct {
	pattern  string
	respType string
	handler  Handler
}

// apiDispatcher receives $JS.API.> and hands requests to a few workers:
// requests may do disk I/O and wait for fsyncs, which must not happen on
// the goroutine of the client that published them.
type apiDispatcher struct {
	js      *JetStream
	workers int
	queue   chan *Request
	quit    chan struct{}
	wg      sync.WaitGroup

	mu     sync.RWMutex
	routes []route
	spaces []string // subjects subscribed ($JS.API form), nil before subscribe
	subs   []*server.InternalSub

	dropped  int64
	lastWarn time.Time
}

// apiQueueLen bounds the requests waiting for a worker; past it requests
// are dropped (with a rate-limited warning), as the reference does when
// its request queue is full.
const apiQueueLen = 10_000

func newAPIDispatcher(js *JetStream, workers int) *apiDispatcher {
	d := &apiDispatcher{js: js, workers: workers, queue: make(chan *Request, apiQueueLen), quit: make(chan struct{})}
	d.routes = append(append(defaultRoutes(), consumerRoutes()...), clusterRoutes()...)
	return d
}

// HandleAPI adds (or replaces) the handler of the requests matching
// pattern, a subject with '*' for the stream and consumer tokens, e.g.
// "$JS.API.CONSUMER.CREATE.*". respType is the response "type" string.
// The consumer layer and the snapshot/restore handlers plug in here.
func (js *JetStream) HandleAPI(pattern, respType string, h Handler) {
	d := js.api
	d.mu.Lock()
	replaced := false
	for i, r := range d.routes {
		if r.pattern == pattern {
			d.routes[i] = route{pattern, respType, h}
			replaced = true
			break
		}
	}
	if !replaced {
		d.routes = append(d.routes, route{pattern, respType, h})
	}
	// Once subscribed, a new consumer API subject needs its own
	// subscription (the others are covered by wildcards).
	newSpace := d.spaces != nil && strings.HasPrefix(pattern, consumerSpace) && !slices.Contains(d.spaces, pattern)
	if newSpace {
		d.spaces = append(d.spaces, pattern)
	}
	d.mu.Unlock()
	if newSpace {
		if err := d.subscribeSpace(pattern); err != nil {
			js.host.Errorf("JetStream API: %v", err)
		}
	}
}

// apiSpaces are the subscriptions that cover the API outside CONSUMER:
// all of $JS.API except DIRECT.GET, which only a stream allowing direct
// gets answers (a request to one that does not gets "no responders", as
// from the reference).
var apiSpaces = []string{"*", "STREAM.>", "ACCOUNT.>", "META.>", "SERVER.>"}

// consumerSpaces are the consumer API subjects the dispatcher takes: the
// reference's consumer API, and RESET, which it takes too without
// answering (a consumer answers its own). CONSUMER.MSG.NEXT is not among
// them: each consumer subscribes its own pull subject, so a pull from a
// consumer that does not exist gets "no responders", as from the
// reference. Routes added under CONSUMER later subscribe themselves.
var consumerSpaces = []string{
	jsapi.APIConsumerCreate, jsapi.APIConsumerCreateEx, jsapi.APIDurableCreate,
	jsapi.APIConsumerNames, jsapi.APIConsumerList, jsapi.APIConsumerInfo,
	jsapi.APIConsumerDelete, jsapi.APIConsumerPause, jsapi.APIConsumerUnpin,
	fmt.Sprintf(jsapi.APIConsumerResetT, "*", "*"),
	jsapi.APIConsumerLeaderStepDown, jsapi.APIConsumerRemovePeer, jsapi.APIConsumerEvacuatePeer,
}

// consumerSpace is the prefix of the consumer API.
const consumerSpace = "$JS.API.CONSUMER."

func (d *apiDispatcher) subscribe() error {
	var spaces []string
	for _, sp := range apiSpaces {
		spaces = append(spaces, "$JS.API."+sp)
	}
	spaces = append(spaces, consumerSpaces...)
	d.mu.Lock()
	for _, r := range d.routes {
		if strings.HasPrefix(r.pattern, consumerSpace) && !slices.Contains(spaces, r.pattern) {
			spaces = append(spaces, r.pattern)
		}
	}
	d.spaces = spaces
	d.mu.Unlock()
	for _, sp := range spaces {
		if err := d.subscribeSpace(sp); err != nil {
			return err
		}
	}
	for i := 0; i < d.workers; i++ {
		d.wg.Add(1)
		go d.work()
	}
	return nil
}

// subscribeSpace subscribes to space, a $JS.API subject, and to its
// domain form when a domain is set.
func (d *apiDispatcher) subscribeSpace(space string) error {
	subjects := []string{space}
	if dom := d.js.cfg.Domain; dom != "" {
		subjects = append(subjects, "$JS."+dom+".API."+strings.TrimPrefix(space, "$JS.API."))
	}
	for _, subj := range subjects {
		sub, err := d.js.host.SubscribeInternal(subj, "", d.receive)
		if err != nil {
			return fmt.Errorf("jetstream: subscribe %s: %w", subj, err)
		}
		d.mu.Lock()
		d.subs = append(d.subs, sub)
		d.mu.Unlock()
	}
	return nil
}

func (d *apiDispatcher) stop() {
	d.mu.Lock()
	subs := d.subs
	d.subs = nil
	d.mu.Unlock()
	for _, s := range subs {
		d.js.host.UnsubscribeInternal(s)
	}
	select {
	case <-d.quit:
	default:
		close(d.quit)
	}
	d.wg.Wait()
}

// receive runs on the publisher's goroutine: copy and queue.
func (d *apiDispatcher) receive(m *server.InMsg) {
	subject := m.Subject
	if dom := d.js.cfg.Domain; dom != "" && strings.HasPrefix(subject, "$JS.") && !strings.HasPrefix(subject, "$JS.API.") {
		rest, ok := strings.CutPrefix(subject, "$JS."+dom+".API.")
		if !ok {
			return
		}
		subject = "$JS.API." + rest
	} else {
		subject = strings.Clone(subject)
	}
	// Direct gets are served by each stream's own subscriptions.
	if strings.HasPrefix(subject, jsapi.APIDirectGetPrefix+".") {
		return
	}
	r := &Request{
		Subject: subject, Reply: strings.Clone(m.Reply),
		Account: m.Account, ClientID: m.ClientID, Received: time.Now(),
	}
	if len(m.Header) > 0 {
		r.Header = append([]byte(nil), m.Header...)
	}
	if len(m.Data) > 0 {
		r.Data = append([]byte(nil), m.Data...)
	}
	select {
	case d.queue <- r:
	default:
		d.mu.Lock()
		d.dropped++
		warn := time.Since(d.lastWarn) > time.Second
		if warn {
			d.lastWarn = time.Now()
		}
		n := d.dropped
		d.mu.Unlock()
		if warn {
			d.js.host.Warnf("JetStream API queue limit reached, dropped %d requests so far", n)
		}
	}
}

func (d *apiDispatcher) work() {
	defer d.wg.Done()
	for {
		select {
		case <-d.quit:
			return
		case r := <-d.queue:
			d.dispatch(r)
		}
	}
}

func (d *apiDispatcher) lookup(subject string) (route, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, r := range d.routes {
		if sublist.MatchLiteral(subject, r.pattern) {
			return r, true
		}
	}
	return route{}, false
}

func (d *apiDispatcher) dispatch(r *Request) {
	js := d.js
	rt, ok := d.lookup(r.Subject)
	if !ok {
		return // like the reference: no handler, no answer
	}
	js.apiTotal.Add(1)
	if lvl := headerValue(r.Header, jsapi.HdrRequiredAPILevel); len(lvl) > 0 {
		if err := jsapi.CheckRequiredAPILevel(string(lvl), js.APILevel()); err != nil {
			js.RespondError(r, rt.respType, err)
			return
		}
	}
	rt.handler(js, r)
}

// Respond sends an API response (v marshalled as JSON) and its audit
// advisory.
func (js *JetStream) Respond(r *Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		js.host.Warnf("JetStream API: marshal response to %s: %v", r.Subject, err)
		return
	}
	// The audit goes out first: once the requester has its answer it may
	// send the next request, whose audit must not overtake this one.
	js.auditAdvisory(r, b)
	js.reply(r.Reply, b)
}

// RespondError answers a request with {"type":respType,"error":err}, plus
// the keys the reference's response of that type always carries.
func (js *JetStream) RespondError(r *Request, respType string, err *jsapi.ApiError) {
	js.RespondErrorBody(r, errorResponse(respType, err))
}

// errorResponse is the error reply of a response type: some responses
// have fields without omitempty that appear in errors too.
func errorResponse(typ string, err *jsapi.ApiError) any {
	base := jsapi.ApiResponse{Type: typ, Error: err}
	switch typ {
	case jsapi.StreamPurgeResponseType:
		return &jsapi.StreamPurgeResponse{ApiResponse: base}
	case jsapi.StreamInfoResponseType:
		return &jsapi.StreamInfoResponse{ApiResponse: base}
	case jsapi.StreamNamesResponseType:
		return &jsapi.StreamNamesResponse{ApiResponse: base}
	case jsapi.StreamListResponseType:
		return &jsapi.StreamListResponse{ApiResponse: base, Streams: []*jsapi.StreamInfo{}}
	case jsapi.StreamRestoreResponseType:
		return &jsapi.StreamRestoreResponse{ApiResponse: base}
	case jsapi.ConsumerNamesResponseType:
		return &jsapi.ConsumerNamesResponse{ApiResponse: base, Consumers: []string{}}
	case jsapi.ConsumerListResponseType:
		return &jsapi.ConsumerListResponse{ApiResponse: base, Consumers: []*jsapi.ConsumerInfo{}}
	case jsapi.ConsumerPauseResponseType:
		return &jsapi.ConsumerPauseResponse{ApiResponse: base}
	}
	return &base
}

// RespondErrorBody answers with a full response value that carries an
// error (some responses keep other keys next to it).
func (js *JetStream) RespondErrorBody(r *Request, v any) {
	js.apiErrors.Add(1)
	js.Respond(r, v)
}

// bstr views b as a string without copying, for calls that do not keep it.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
