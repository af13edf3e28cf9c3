package fakeupstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// A Response describes one reply of the fake upstream, including the faults
// to inject while sending it. A Response is only read by the server, so one
// value may be served to many requests at once.
type Response struct {
	// Status is the HTTP status code; zero means 200.
	Status int
	// Header holds extra response headers.
	Header http.Header
	// ContentType, if set, overrides any Content-Type in Header. If neither
	// is set, the reply carries no Content-Type at all rather than one
	// sniffed by net/http.
	ContentType string
	// Body is sent verbatim.
	Body []byte

	// FirstByteDelay is slept before the headers are written, on top of
	// the server's latency.
	FirstByteDelay time.Duration
	// EventDelay is slept between events. Events are split at blank lines,
	// whether framed with LF, CRLF or CR, and each is flushed as written.
	// A body that is not an SSE stream is usually a single event.
	EventDelay time.Duration
	// CutAfterEvents, if positive, sends only the first CutAfterEvents
	// events and then drops the connection without ending the chunked
	// body, so the client sees an unexpected EOF rather than a complete
	// stream. If negative, the connection is dropped right after the
	// headers. Zero sends the whole body.
	CutAfterEvents int
	// Malformed replaces the body with one that does not parse: a garbage
	// "data:" event for an event stream, truncated JSON otherwise.
	Malformed bool
}

// Bodies substituted by Response.Malformed.
var (
	malformedJSON = []byte(`{"id":"chatcmpl-fakeupstream","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"trunc`)
	malformedSSE  = []byte("data: {\"id\":\"chatcmpl-fakeupstream\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]]} garbage\n\n")
)

// contentType returns the Content-Type the reply will carry.
func (r *Response) contentType() string {
	if r.ContentType != "" {
		return r.ContentType
	}
	return r.Header.Get("Content-Type")
}

// body returns the bytes to send, applying Malformed.
func (r *Response) body() []byte {
	if !r.Malformed {
		return r.Body
	}
	if isEventStream(r.contentType()) {
		return malformedSSE
	}
	return malformedJSON
}

func isEventStream(contentType string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "text/event-stream")
}

// splitEvents splits an SSE body into events whose concatenation is body.
// Lines end with LF, CRLF or CR, as in the WHATWG framing rules. An event
// runs up to and including the blank line that ends it; further blank lines
// stay with it, so no event is empty. Trailing bytes without a blank line
// after them form a final event.
func splitEvents(body []byte) [][]byte {
	var events [][]byte
	start := 0
	content := false // the current event has a non-blank line
	ended := false   // ... followed by a blank line
	for i := 0; i < len(body); {
		j := i
		for j < len(body) && body[j] != '\n' && body[j] != '\r' {
			j++
		}
		if j > i {
			if ended {
				events = append(events, body[start:i])
				start, ended = i, false
			}
			content = true
		} else if content {
			ended = true
		}
		if j < len(body) && body[j] == '\r' && j+1 < len(body) && body[j+1] == '\n' {
			j++
		}
		i = j + 1
	}
	if start < len(body) {
		events = append(events, body[start:])
	}
	return events
}

// openAIErrorBody formats an OpenAI error body, pretty-printed the way the
// OpenAI API sends it (see transcripts/openai-error-401-invalid-api-key.json).
func openAIErrorBody(errType, code, message string) []byte {
	type detail struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	d := detail{Message: message, Type: errType}
	if code != "" {
		d.Code = &code
	}
	return marshal(struct {
		Error detail `json:"error"`
	}{d}, "    ")
}

// marshal encodes v as JSON without escaping HTML characters, as vendors do,
// indenting with indent unless it is empty.
func marshal(v any, indent string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		panic(err) // only fixed, encodable types are passed
	}
	if indent == "" {
		b.Truncate(b.Len() - 1) // compact JSON goes on one line
	}
	return b.Bytes()
}

// OpenAIError returns an OpenAI-shaped error reply:
// {"error":{"message":...,"type":...,"param":null,"code":...}}.
// An empty code is sent as null.
func OpenAIError(status int, errType, code, message string) Response {
	return Response{
		Status:      status,
		ContentType: ctJSONUTF8,
		Body:        openAIErrorBody(errType, code, message),
	}
}

// RateLimited returns a 429 with OpenAI's rate_limit_exceeded body. If
// retryAfter is not empty it is sent as the retry-after header (seconds or
// an HTTP date, passed through unchanged).
func RateLimited(retryAfter string) Response {
	r := OpenAIError(http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
		"Rate limit reached for gpt-4o-mini in organization org-fakeupstream on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.")
	if retryAfter != "" {
		r.Header = http.Header{"Retry-After": {retryAfter}}
	}
	return r
}

// ServerError returns an OpenAI-shaped server_error reply with the given
// status, typically 500 or 503.
func ServerError(status int) Response {
	msg := "The server had an error while processing your request. Sorry about that!"
	if status == http.StatusServiceUnavailable {
		msg = "The engine is currently overloaded, please try again later."
	}
	return OpenAIError(status, "server_error", "", msg)
}

// MalformedJSON returns a 200 application/json reply whose body is not
// valid JSON.
func MalformedJSON() Response {
	return Response{ContentType: ctJSON, Malformed: true}
}

// Fixed fields of the synthesized OpenAI replies.
const (
	fakeID           = "chatcmpl-fakeupstream"
	fakeModel        = "gpt-4o-mini-2024-07-18"
	fakeFingerprint  = "fp_fakeupstream"
	fakeCreated      = 1700000000
	fakePromptTokens = 10
)

// openAIUsage mirrors OpenAI's CompletionUsage with all detail fields.
type openAIUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

func newUsage(completion int) *openAIUsage {
	return &openAIUsage{
		PromptTokens:     fakePromptTokens,
		CompletionTokens: completion,
		TotalTokens:      fakePromptTokens + completion,
	}
}

// TextStream returns an OpenAI Chat Completions stream of n chunks whose
// delta content is piece (the first also carries role "assistant"),
// followed by a finish chunk with finish_reason "stop" and "data: [DONE]".
// If usage is set, the stream looks like one requested with
// stream_options.include_usage: the other chunks have "usage":null and a chunk
// with "choices":[] and usage (prompt_tokens 10, completion_tokens n)
// precedes [DONE]. With n <= 0 a single role chunk with content "" is sent.
func TextStream(n int, piece string, usage bool) Response {
	type delta struct {
		Role    string  `json:"role,omitempty"`
		Content *string `json:"content,omitempty"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Delta        delta   `json:"delta"`
		Logprobs     *int    `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	}
	type chunk struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"`
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		SystemFingerprint string       `json:"system_fingerprint"`
		Choices           []choice     `json:"choices"`
		Usage             *openAIUsage `json:"usage"`
	}
	// Without include_usage OpenAI omits the usage key; with it, every
	// chunk but the last carries "usage":null. Two encoders keep that
	// distinction without a custom marshaler.
	type chunkNoUsage struct {
		ID                string   `json:"id"`
		Object            string   `json:"object"`
		Created           int64    `json:"created"`
		Model             string   `json:"model"`
		SystemFingerprint string   `json:"system_fingerprint"`
		Choices           []choice `json:"choices"`
	}

	var b bytes.Buffer
	event := func(choices []choice, u *openAIUsage) {
		c := chunk{fakeID, "chat.completion.chunk", fakeCreated, fakeModel, fakeFingerprint, choices, u}
		b.WriteString("data: ")
		if usage {
			b.Write(marshal(c, ""))
		} else {
			b.Write(marshal(chunkNoUsage{c.ID, c.Object, c.Created, c.Model, c.SystemFingerprint, c.Choices}, ""))
		}
		b.WriteString("\n\n")
	}

	if n <= 0 {
		empty := ""
		event([]choice{{Delta: delta{Role: "assistant", Content: &empty}}}, nil)
	}
	for i := range n {
		d := delta{Content: &piece}
		if i == 0 {
			d.Role = "assistant"
		}
		event([]choice{{Delta: d}}, nil)
	}
	stop := "stop"
	event([]choice{{FinishReason: &stop}}, nil)
	if usage {
		event([]choice{}, newUsage(max(n, 0)))
	}
	b.WriteString("data: [DONE]\n\n")

	return Response{ContentType: ctSSEUTF8, Body: b.Bytes()}
}

// TextCompletion returns a non-streaming OpenAI chat.completion whose
// message content is text, with finish_reason "stop" and usage counting
// prompt_tokens 10 and one completion token per whitespace-separated word.
func TextCompletion(text string) Response {
	type message struct {
		Role        string   `json:"role"`
		Content     string   `json:"content"`
		Refusal     *string  `json:"refusal"`
		Annotations []string `json:"annotations"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Message      message `json:"message"`
		Logprobs     *int    `json:"logprobs"`
		FinishReason string  `json:"finish_reason"`
	}
	v := struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"`
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		Choices           []choice     `json:"choices"`
		Usage             *openAIUsage `json:"usage"`
		ServiceTier       string       `json:"service_tier"`
		SystemFingerprint string       `json:"system_fingerprint"`
	}{
		ID:      fakeID,
		Object:  "chat.completion",
		Created: fakeCreated,
		Model:   fakeModel,
		Choices: []choice{{
			Message:      message{Role: "assistant", Content: text, Annotations: []string{}},
			FinishReason: "stop",
		}},
		Usage:             newUsage(len(strings.Fields(text))),
		ServiceTier:       "default",
		SystemFingerprint: fakeFingerprint,
	}
	return Response{ContentType: ctJSON, Body: marshal(v, "  ")}
}

// notFound is the reply to a request no route matches.
func notFound(req *http.Request) Response {
	return OpenAIError(http.StatusNotFound, "invalid_request_error", "unknown_url",
		fmt.Sprintf("fakeupstream: no reply configured for %s %s", req.Method, req.URL.Path))
}
