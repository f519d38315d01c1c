package monitor_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keelhq/keel/server/jetstream/jsapi"
	"github.com/keelhq/keel/server/monitor"
)

// FuzzHandlers: any path and query string gets an answer (never a panic),
// with one of the statuses the endpoints use.
func FuzzHandlers(f *testing.F) {
	for _, seed := range []string{
		"/varz", "/connz?sort=idle&state=all&subs=detail&auth=1&offset=1&limit=2",
		"/connz?cid=18446744073709551615&state=closed", "/connz?limit=-9223372036854775808&offset=9223372036854775807",
		"/subsz?subs=1&test=a.b&offset=3&limit=1", "/subsz?subs=1&test=%00", "/healthz?account=$G&stream=S&consumer=C&details=1",
		"/jsz?accounts=1&streams=1&consumers=1&config=1&offset=-1&limit=0&acc=A", "/accountz?acc=%FF",
		"/accstatz?unused=1", "/routez?subs=detail", "/gatewayz?accs=1&subs=1", "/leafz?subs=0", "/", "/x/y?z",
	} {
		f.Add(seed)
	}
	fake := &fakeJS{accounts: []monitor.JSAccount{{Name: "A", Streams: []monitor.JSStream{{Name: "S",
		Consumers: []*jsapi.ConsumerInfo{{Name: "C"}}}}}}}
	m := startWithSource(f, true, fake)
	h := m.Handler()
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.NewRequest(http.MethodGet, "http://monitor"+target, nil)
		if err != nil || req.URL.Path == "" || req.URL.Path[0] != '/' {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 301, 307, 400, 404, 500, 503:
		default:
			t.Fatalf("%s: status %d", target, rec.Code)
		}
	})
}
