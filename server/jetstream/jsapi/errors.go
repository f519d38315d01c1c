package jsapi

//go:generate go run ./internal/errgen -in errors.txt -table errors_table.go -funcs errors_new.go

import (
	"errors"
	"fmt"
	"strings"
)

// ApiError is the error object of a $JS.API response:
// {"code":404,"err_code":10059,"description":"stream not found"}.
// Code is HTTP-like; ErrCode identifies the condition and is what clients
// test.
type ApiError struct {
	Code        int     `json:"code"`
	ErrCode     ErrCode `json:"err_code,omitempty"`
	Description string  `json:"description,omitempty"`
}

// ErrCode is the err_code number of an API error (errors_table.go has one
// ErrCodeXxx constant per error of the reference).
type ErrCode uint16

// Error reads "stream not found (10059)", the reference's format.
func (e *ApiError) Error() string {
	return fmt.Sprintf("%s (%d)", e.Description, e.ErrCode)
}

// Is makes errors.Is(err, ErrStreamNotFound()) true for any *ApiError with
// the same err_code, whatever its description.
func (e *ApiError) Is(target error) bool {
	t, ok := target.(*ApiError)
	return ok && e != nil && t != nil && t.ErrCode == e.ErrCode
}

// IsErr reports whether err is (or wraps) an *ApiError with one of codes.
func IsErr(err error, codes ...ErrCode) bool {
	var ae *ApiError
	if !errors.As(err, &ae) || ae == nil {
		return false
	}
	for _, c := range codes {
		if ae.ErrCode == c {
			return true
		}
	}
	return false
}

// AsApiError passes an *ApiError (or one wrapped in err) through unchanged
// and wraps any other error with wrap: the reference answers
// NewJSStreamCreateError(err, Unless(err)) this way, so an API error from deep
// inside keeps its own code. A nil err gives nil.
func AsApiError(err error, wrap func(error) *ApiError) *ApiError {
	if err == nil {
		return nil
	}
	var ae *ApiError
	if errors.As(err, &ae) && ae != nil {
		return ae
	}
	return wrap(err)
}

// errorDef is one line of the error table.
type errorDef struct {
	status      int
	name        string
	description string // may hold {placeholders}
}

// Lookup returns a fresh error for code with its placeholders unfilled, and
// whether the code exists.
func Lookup(code ErrCode) (*ApiError, bool) {
	d, ok := errorTable[code]
	if !ok {
		return nil, false
	}
	return &ApiError{Code: d.status, ErrCode: code, Description: d.description}, true
}

// ErrorName is the table name of code ("StreamNotFound"), or "".
func ErrorName(code ErrCode) string {
	return errorTable[code].name
}

// newError builds the error for code, replacing each "{name}" placeholder
// with the value that follows it in args (an error by its message, anything
// else by %v). Every call builds a new value, so callers may keep or change
// what they get.
func newError(code ErrCode, args ...any) *ApiError {
	d := errorTable[code]
	desc := d.description
	if len(args) > 0 {
		pairs := make([]string, 0, len(args))
		for i := 0; i+1 < len(args); i += 2 {
			var v string
			switch x := args[i+1].(type) {
			case string:
				v = x
			case error:
				v = x.Error()
			default:
				v = fmt.Sprint(x)
			}
			pairs = append(pairs, args[i].(string), v)
		}
		desc = strings.NewReplacer(pairs...).Replace(desc)
	}
	return &ApiError{Code: d.status, ErrCode: code, Description: desc}
}
