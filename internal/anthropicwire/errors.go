package anthropicwire

import (
	"encoding/json"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// StatusOverloaded is Anthropic's "overloaded" status, which its SDKs
// retry.
const StatusOverloaded = 529

// errorTypes are Anthropic's error types (anthropic-sdk-go v2
// shared/shared.go). An llm.Error whose Type is one of them keeps it.
var errorTypes = map[string]bool{
	"invalid_request_error": true, "authentication_error": true, "billing_error": true,
	"permission_error": true, "not_found_error": true, "conflict_error": true,
	"request_too_large": true, "rate_limit_error": true, "api_error": true,
	"timeout_error": true, "overloaded_error": true,
}

// ErrorType is the Anthropic error type for e (docs/protocols.md#anthropic-errors,
// #map-errors).
func ErrorType(e *llm.Error) string {
	if errorTypes[e.Type] {
		return e.Type
	}
	switch e.Kind {
	case llm.KindInvalidRequest:
		return "invalid_request_error"
	case llm.KindAuthentication:
		return "authentication_error"
	case llm.KindPermission:
		return "permission_error"
	case llm.KindNotFound:
		return "not_found_error"
	case llm.KindRequestTooLarge:
		return "request_too_large"
	case llm.KindRateLimit:
		return "rate_limit_error"
	case llm.KindOverloaded, llm.KindUnavailable:
		// Anthropic clients retry overloaded_error; "no vendor reachable"
		// deserves the same treatment.
		return "overloaded_error"
	case llm.KindTimeout:
		return "timeout_error"
	}
	return "api_error"
}

// ErrorStatus is the HTTP status an Anthropic client should see for e:
// 529 for an overloaded vendor, whatever status the vendor used (an
// Anthropic client should see 529 for a Gemini 503), otherwise
// e.HTTPStatus().
func ErrorStatus(e *llm.Error) int {
	if e.Kind == llm.KindOverloaded {
		return StatusOverloaded
	}
	return e.HTTPStatus()
}

type wireError struct {
	Type  string          `json:"type"`
	Error wireErrorDetail `json:"error"`
}

type wireErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ErrorBody is e as an Anthropic error body:
// {"type":"error","error":{"type":...,"message":...}}.
func ErrorBody(e *llm.Error) []byte {
	b, _ := marshal(wireError{Type: "error", Error: wireErrorDetail{Type: ErrorType(e), Message: e.Message}})
	return b
}

// ErrorEvent is e as a mid-stream Anthropic error event, the way the API
// reports failures after HTTP 200 (docs/protocols.md#anthropic-stream).
func ErrorEvent(e *llm.Error) []byte {
	return sseEvent("error", ErrorBody(e))
}

// ParseError reads an Anthropic error body. ok is false when body is not
// one.
func ParseError(body []byte) (typ, message string, ok bool) {
	var w struct {
		Error *wireErrorDetail `json:"error"`
	}
	if json.Unmarshal(body, &w) != nil || w.Error == nil || w.Error.Type == "" {
		return "", "", false
	}
	return w.Error.Type, w.Error.Message, true
}

// errorKind maps an Anthropic error type to the canonical kind.
func errorKind(typ string) llm.ErrorKind {
	switch typ {
	case "invalid_request_error", "conflict_error":
		return llm.KindInvalidRequest
	case "request_too_large":
		return llm.KindRequestTooLarge
	case "not_found_error":
		return llm.KindNotFound
	case "permission_error", "billing_error":
		return llm.KindPermission
	case "rate_limit_error":
		return llm.KindRateLimit
	case "overloaded_error":
		return llm.KindOverloaded
	case "timeout_error":
		return llm.KindTimeout
	}
	// api_error, and authentication_error: a refused key is the gateway's
	// credential, not the client's.
	return llm.KindUpstream
}

// errorFromEvent turns a mid-stream error event (or an error body in a 200
// answer) into an *llm.Error of class "stream_error".
func errorFromEvent(data []byte) *llm.Error {
	typ, msg, ok := ParseError(data)
	if !ok {
		return &llm.Error{Kind: llm.KindUpstream, Class: "stream_error", Message: "the upstream stream failed with an unreadable error event"}
	}
	if msg == "" {
		msg = "the upstream stream failed: " + typ
	}
	e := &llm.Error{Kind: errorKind(typ), Class: "stream_error", Type: typ, Message: msg}
	if e.Kind == llm.KindOverloaded {
		e.Status = StatusOverloaded
	}
	return e
}
