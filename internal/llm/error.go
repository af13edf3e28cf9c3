package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/switchyard-ai/switchyard/internal/sse"
)

// ErrorKind classifies a failure independently of any dialect; each ingress
// renders it in its own error shape and status.
type ErrorKind string

const (
	KindInvalidRequest  ErrorKind = "invalid_request"
	KindAuthentication  ErrorKind = "authentication"
	KindPermission      ErrorKind = "permission"
	KindNotFound        ErrorKind = "not_found"
	KindRequestTooLarge ErrorKind = "request_too_large"
	KindRateLimit       ErrorKind = "rate_limit"
	KindServer          ErrorKind = "server_error"   // the gateway itself failed
	KindUpstream        ErrorKind = "upstream_error" // the vendor answered garbage or failed
	KindOverloaded      ErrorKind = "overloaded"     // the vendor is overloaded
	KindTimeout         ErrorKind = "timeout"        // the vendor did not answer in time
	KindUnavailable     ErrorKind = "unavailable"    // no vendor could be reached
)

// Error is a failure to be reported to a client.
type Error struct {
	Kind    ErrorKind
	Status  int    // HTTP status; 0 means the kind's default
	Message string // safe to show to the client: never secrets
	Param   string // the request field at fault, if any
	Code    string // a machine-readable code, if any (e.g. "model_not_found")
	// Type is the vendor's own error type, kept when the client speaks the
	// same dialect as the vendor (e.g. "insufficient_quota").
	Type string
	// RetryAfter is the value of a retry-after header to send, if any.
	RetryAfter string
	// Class is the error class recorded in the request log.
	Class string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Kind, e.Message) }

// HTTPStatus returns the status to send.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	switch e.Kind {
	case KindInvalidRequest:
		return http.StatusBadRequest
	case KindAuthentication:
		return http.StatusUnauthorized
	case KindPermission:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindRateLimit:
		return http.StatusTooManyRequests
	case KindUpstream:
		return http.StatusBadGateway
	case KindOverloaded, KindUnavailable:
		return http.StatusServiceUnavailable
	case KindTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// AsError returns err as an *Error: the one it wraps, or an internal
// server error that shows the client nothing of err.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindServer, Class: "internal", Message: "internal error"}
}

// ReadError turns a failure to read a streamed answer into the failure the
// client sees: the error itself when it already is one, the client gone,
// a timeout, an oversized event, or else a stream cut before its end.
func ReadError(err error) *Error {
	var le *Error
	switch {
	case errors.As(err, &le):
		return le
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindServer, Status: 499, Class: "client_gone", Message: "the client closed the request"}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, Class: "upstream_timeout", Message: "the upstream stream timed out"}
	case errors.Is(err, sse.ErrEventTooLarge):
		return &Error{Kind: KindUpstream, Class: "upstream_malformed", Message: "the upstream sent a stream event larger than the gateway accepts"}
	}
	return &Error{Kind: KindUpstream, Class: "stream_cut", Message: "the upstream stream ended before it was complete"}
}
