package server

import "errors"

// The -ERR texts clients see, exactly as nats-server v2.15 sends them.
const (
	errUnknownOp       = "Unknown Protocol Operation"
	errMaxPayload      = "Maximum Payload Violation"
	errMaxControlLine  = "maximum control line exceeded"
	errInvalidSubject  = "Invalid Subject"
	errInvalidPubSubj  = "Invalid Publish Subject"
	errStale           = "Stale Connection"
	errAuthViolation   = "Authorization Violation"
	errAuthTimeout     = "Authentication Timeout"
	errMaxConnections  = "maximum connections exceeded"
	errMaxSubs         = "maximum subscriptions exceeded"
	errBadProtocol     = "invalid client protocol"
	errNoRespNoHeaders = "no responders requires headers support"
	errServerShutdown  = "Server Shutdown"
)

// ClosedState says why a connection was closed (as monitoring reports it).
type ClosedState int

// Reasons a connection closes.
const (
	ClientClosed ClosedState = iota + 1
	AuthenticationTimeout
	AuthenticationViolation
	SlowConsumerPendingBytes
	SlowConsumerWriteDeadline
	WriteError
	ReadError
	ParseError
	StaleConnection
	ProtocolViolation
	BadClientProtocolVersion
	MaxConnectionsExceeded
	MaxPayloadExceeded
	MaxControlLineExceeded
	ServerShutdown
	NoRespondersRequiresHeaders
)

var closedStateNames = map[ClosedState]string{
	ClientClosed:                "Client Closed",
	AuthenticationTimeout:       "Authentication Timeout",
	AuthenticationViolation:     "Authentication Failure",
	SlowConsumerPendingBytes:    "Slow Consumer (Pending Bytes)",
	SlowConsumerWriteDeadline:   "Slow Consumer (Write Deadline)",
	WriteError:                  "Write Error",
	ReadError:                   "Read Error",
	ParseError:                  "Parse Error",
	StaleConnection:             "Stale Connection",
	ProtocolViolation:           "Protocol Violation",
	BadClientProtocolVersion:    "Bad Client Protocol Version",
	MaxConnectionsExceeded:      "Maximum Connections Exceeded",
	MaxPayloadExceeded:          "Maximum Message Payload Exceeded",
	MaxControlLineExceeded:      "Maximum Control Line Exceeded",
	ServerShutdown:              "Server Shutdown",
	NoRespondersRequiresHeaders: "No Responders Requires Headers",
}

func (s ClosedState) String() string {
	if n, ok := closedStateNames[s]; ok {
		return n
	}
	return "Unknown State"
}

// Errors returned by the server's API.
var (
	ErrServerNotRunning = errors.New("server: not running")
	ErrServerStarted    = errors.New("server: already started")
	// errClosed stops the read loop once the connection is being closed
	// (the -ERR, if any, has been queued already).
	errClosed = errors.New("server: connection closed")
)
