// Package jsapi defines the JetStream API's JSON: requests, responses,
// configurations, the error table, defaults and validation, as nats-server
// v2.15 speaks them.
//
// The package is pure data and rules: it holds no streams, opens no files and
// sends nothing. The JetStream layer (package jetstream) decodes a request
// with DecodeRequest, checks and completes a configuration with
// CheckStreamCreate or CheckStreamUpdate (which run the reference server's
// checks in the reference server's order, so that a request with several
// mistakes gets the same error from Keel as from nats-server), and answers
// with one of the response types, whose JSON keys, omitempty choices and
// Go field types follow the reference so that marshalled output matches it
// key for key. Marshal with encoding/json's defaults: the reference escapes
// '<', '>' and '&' in strings ("a.\u003e"), and so must Keel.
//
// Errors are *ApiError values built by the constructors in errors_new.go
// (generated with errors_table.go from errors.txt by internal/errgen):
// ErrStreamNotFound() has code 404 and err_code 10059, as in the reference.
//
// testdata/nats-server-v2.15.3.txt holds the reference's replies to the
// requests in golden_cases_test.go; the tests replay them through this
// package and compare bytes. Recapture with
//
//	go test ./server/jetstream/jsapi -run TestCaptureGolden -capture
package jsapi
