// Package proto parses the NATS client protocol: CONNECT, PUB, HPUB, SUB,
// UNSUB, PING, PONG, +OK, -ERR and INFO as a server receives them, and MSG,
// HMSG as a client receives them.
//
// Parser is a byte-at-a-time state machine that keeps its state between
// reads, so a command or a payload may be split across any number of
// reads. It hands the Handler slices that point into the read buffer; only
// when a command spans reads is it copied into the parser's own scratch
// space (reused, so steady traffic allocates nothing). Slices are valid
// only during the callback.
package proto

import (
	"errors"
	"strconv"
)

// Errors that end a connection. The server maps them to the reference's
// -ERR text (or to none, for ArgError).
var (
	// ErrUnknownOp: 'Unknown Protocol Operation'.
	ErrUnknownOp = errors.New("unknown protocol operation")
	// ErrMaxControlLine: 'maximum control line exceeded'.
	ErrMaxControlLine = errors.New("maximum control line exceeded")
	// ErrMaxPayload: 'Maximum Payload Violation'.
	ErrMaxPayload = errors.New("maximum payload violation")
	// ErrAuthRequired: a command other than CONNECT arrived while
	// RequireConnect was set ('Authorization Violation').
	ErrAuthRequired = errors.New("authorization required before any command")
	// ErrHeadersNotSupported: HPUB from a connection that did not ask
	// for headers (closed without an -ERR).
	ErrHeadersNotSupported = errors.New("message headers not supported")
)

// ArgError reports a control line whose arguments cannot be parsed. The
// reference closes the connection without sending an -ERR for these.
type ArgError struct {
	Op  string
	Arg string
}

func (e *ArgError) Error() string { return "proto: " + e.Op + " parse error: " + e.Arg }

// PayloadError is ErrMaxPayload (errors.Is matches it) with the sizes,
// for the server's log line.
type PayloadError struct {
	Size, Max int
}

func (e *PayloadError) Error() string {
	return "maximum payload exceeded: " + strconv.Itoa(e.Size) + " vs " + strconv.Itoa(e.Max)
}

// Is makes errors.Is(err, ErrMaxPayload) true.
func (e *PayloadError) Is(target error) bool { return target == ErrMaxPayload }

// Msg describes one message: a PUB/HPUB received by a server or a
// MSG/HMSG received by a client.
type Msg struct {
	Subject []byte
	Reply   []byte // nil when absent
	Sid     []byte // MSG/HMSG only
	// HdrLen is the length of the header block at the start of the data,
	// or -1 for PUB/MSG (no headers).
	HdrLen int
	// Size is the announced total size (header plus payload).
	Size int
}

// Handler receives the parsed commands. Returning an error stops parsing;
// Parse returns that error.
type Handler interface {
	Connect(arg []byte) error
	Info(arg []byte) error
	// Msg delivers a PUB/HPUB (server mode) or MSG/HMSG (client mode);
	// data holds the header (when m.HdrLen >= 0) then the payload, without
	// the trailing CRLF.
	Msg(m *Msg, data []byte) error
	Sub(subject, queue, sid []byte) error
	// Unsub has max -1 when no maximum was given or it was not a number.
	Unsub(sid []byte, max int64) error
	Ping() error
	Pong() error
	OK() error
	Err(arg []byte) error
}

// Mode selects which side of the protocol is parsed.
type Mode uint8

const (
	// ServerMode parses what clients send to a server.
	ServerMode Mode = iota
	// ClientMode parses what a server sends to a client.
	ClientMode
)

// CRLF and the fixed protocol replies, shared to avoid re-building them.
var (
	CRLF = []byte("\r\n")
	PING = []byte("PING\r\n")
	PONG = []byte("PONG\r\n")
	OK   = []byte("+OK\r\n")
)
