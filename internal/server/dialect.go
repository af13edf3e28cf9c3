package server

import (
	"net/http"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
)

// writeDialectError answers with e in the client's dialect: OpenAI's error
// object, or Anthropic's {"type":"error",...} with Anthropic's statuses
// (529 for an overloaded or unavailable upstream, whoever the upstream
// was).
func writeDialectError(w http.ResponseWriter, d llm.Dialect, e *llm.Error) {
	if len(e.Message) > maxMessageBytes {
		c := *e
		c.Message = clip(e.Message, maxMessageBytes)
		e = &c
	}
	status, body := e.HTTPStatus(), []byte(nil)
	if d == llm.DialectAnthropic {
		status, body = anthropicwire.ErrorStatus(e), anthropicwire.ErrorBody(e)
		if anthropicwire.ErrorType(e) == "overloaded_error" {
			// The body says overloaded_error for "no vendor reachable"
			// too; Anthropic sends that type only with its 529, which
			// its SDKs retry, so the status must agree.
			status = anthropicwire.StatusOverloaded
		}
	} else {
		body = openaiwire.ErrorBody(e)
		if e.Kind == llm.KindOverloaded {
			// Anthropic's 529 means nothing to OpenAI clients, whose SDKs
			// retry a 503.
			status = http.StatusServiceUnavailable
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	switch {
	case e.RetryAfter != "":
		h.Set("Retry-After", e.RetryAfter)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == 529:
		// SDKs back off by retry-after; without one they guess, so the
		// gateway always gives one (docs/protocols.md#trap-retry-after).
		h.Set("Retry-After", "1")
	}
	if status == 499 {
		// The client has gone; nobody reads this.
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	w.Write(body)
}

// errorEvent is how a stream that fails after its first byte ends, in the
// client's dialect: an OpenAI error chunk, or Anthropic's event: error.
func errorEvent(d llm.Dialect, e *llm.Error) []byte {
	if d == llm.DialectAnthropic {
		return anthropicwire.ErrorEvent(e)
	}
	return openaiwire.ErrorChunk(e)
}
