package jetstream

import (
	"errors"
	"strings"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// Until the consumer layer lands, the consumer API answers as a server
// whose streams have no consumers: names and lists are empty, a named
// consumer is not found (the reference's replies for those cases), and
// creating one fails at once with a JetStream error instead of leaving the
// client to time out. The consumer layer replaces every one of these
// routes with HandleAPI (same patterns).

func consumerRoutes() []route {
	return []route{
		{jsapi.APIConsumerNames, jsapi.ConsumerNamesResponseType, handleConsumerNamesAbsent},
		{jsapi.APIConsumerList, jsapi.ConsumerListResponseType, handleConsumerNamesAbsent},
		{jsapi.APIConsumerInfo, jsapi.ConsumerInfoResponseType, handleConsumerNotFound},
		{jsapi.APIConsumerDelete, jsapi.ConsumerDeleteResponseType, handleConsumerNotFound},
		{jsapi.APIConsumerPause, jsapi.ConsumerPauseResponseType, handleConsumerNotFound},
		{jsapi.APIConsumerUnpin, jsapi.ConsumerUnpinResponseType, handleConsumerNotFound},
		{jsapi.APIConsumerCreate, jsapi.ConsumerCreateResponseType, handleConsumerCreateAbsent},
		{jsapi.APIConsumerCreateEx, jsapi.ConsumerCreateResponseType, handleConsumerCreateAbsent},
		{jsapi.APIDurableCreate, jsapi.ConsumerCreateResponseType, handleConsumerCreateAbsent},
	}
}

// errNoConsumerLayer is what a consumer creation meets meanwhile.
var errNoConsumerLayer = errors.New("consumers are not supported by this server yet")

// handleConsumerNamesAbsent answers CONSUMER.NAMES and CONSUMER.LIST: an
// empty page (offset 0 whatever was asked, as the reference answers).
func handleConsumerNamesAbsent(js *JetStream, r *Request) {
	names := strings.HasPrefix(r.Subject, "$JS.API.CONSUMER.NAMES.")
	typ, limit := jsapi.ConsumerListResponseType, jsapi.ListLimit
	if names {
		typ, limit = jsapi.ConsumerNamesResponseType, jsapi.NamesLimit
	}
	fail := func(err *jsapi.ApiError) { js.RespondError(r, typ, err) }
	var req jsapi.JSApiConsumersRequest
	if jsapi.IsJSONObjectOrArray(r.Data) {
		if err := js.decode(r.Data, &req); err != nil {
			fail(jsapi.ErrInvalidJSON(err))
			return
		}
	}
	if _, ok := js.lookup(jsapi.StreamNameFromSubject(r.Subject)); !ok {
		fail(jsapi.ErrStreamNotFound())
		return
	}
	paged := jsapi.ApiPaged{Limit: limit}
	if names {
		js.Respond(r, &jsapi.ConsumerNamesResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, ApiPaged: paged, Consumers: []string{}})
	} else {
		js.Respond(r, &jsapi.ConsumerListResponse{ApiResponse: jsapi.ApiResponse{Type: typ}, ApiPaged: paged, Consumers: []*jsapi.ConsumerInfo{}})
	}
}

// handleConsumerNotFound answers the requests that name a consumer.
func handleConsumerNotFound(js *JetStream, r *Request) {
	rt, _ := js.api.lookup(r.Subject)
	err := jsapi.ErrConsumerNotFound()
	if _, ok := js.lookup(jsapi.StreamNameFromSubject(r.Subject)); !ok {
		err = jsapi.ErrStreamNotFound()
	}
	js.RespondError(r, rt.respType, err)
}

func handleConsumerCreateAbsent(js *JetStream, r *Request) {
	const typ = jsapi.ConsumerCreateResponseType
	name := jsapi.StreamNameFromSubject(r.Subject)
	if strings.HasPrefix(r.Subject, "$JS.API.CONSUMER.DURABLE.") {
		name = jsapi.ConsumerNameFromSubject(r.Subject) // DURABLE.CREATE.<stream>.<durable>
	}
	if _, ok := js.lookup(name); !ok {
		js.RespondError(r, typ, jsapi.ErrStreamNotFound())
		return
	}
	js.RespondError(r, typ, jsapi.ErrConsumerCreate(errNoConsumerLayer))
}
