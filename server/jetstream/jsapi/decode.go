package jsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DecodeRequest decodes a $JS.API request body into v the way the
// reference does. In strict mode (the reference's default, jetstream {
// strict: true }) an unknown field is an error; otherwise a body that fails
// the strict decode is decoded again leniently. A body holding several JSON
// values is decoded value after value into v. A syntax error says where it
// is ("... at offset 12"). An empty body decodes nothing and is not an
// error.
//
// Wrap the error with ErrInvalidJSON to answer the request.
func DecodeRequest(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	for {
		err := dec.Decode(v)
		if err == nil {
			continue
		}
		if err == io.EOF {
			return nil
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			err = fmt.Errorf("%w at offset %d", err, syn.Offset)
		}
		if strict {
			return asReferenceTypeError(err)
		}
		return asReferenceTypeError(json.Unmarshal(data, v))
	}
}

// asReferenceTypeError names Go types as the reference's error text does:
// a JSON value of the wrong kind is reported with its Go type, whose
// package is "server" there ("[]*server.StreamSource").
func asReferenceTypeError(err error) error {
	var te *json.UnmarshalTypeError
	if err == nil || !errors.As(err, &te) {
		return err
	}
	if msg := err.Error(); strings.Contains(msg, "jsapi.") {
		return &renamedError{msg: strings.ReplaceAll(msg, "jsapi.", "server."), err: err}
	}
	return err
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// IsEmptyRequest reports whether a body carries no request: nothing, or a
// JSON object without keys. Requests that take no body (STREAM.DELETE)
// refuse anything else with ErrNotEmptyRequest; requests that need one
// (MSG.GET, MSG.DELETE, SNAPSHOT, RESTORE) refuse these with ErrBadRequest.
func IsEmptyRequest(data []byte) bool {
	if len(data) == 0 || string(data) == "{}" {
		return true
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return false
	}
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// IsJSONObjectOrArray reports whether a body, after JSON whitespace, starts
// an object or an array. The requests whose body is optional (INFO, NAMES,
// LIST, PURGE) decode it only then and ignore anything else.
func IsJSONObjectOrArray(data []byte) bool {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i < len(data) && (data[i] == '{' || data[i] == '[')
}
