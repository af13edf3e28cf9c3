package fakeupstream

import (
	"bytes"
	"embed"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

//go:embed transcripts
var transcriptFS embed.FS

// A transcriptInfo says how to serve one recorded file.
type transcriptInfo struct {
	status      int
	contentType string
	// header holds extra response headers the recording is known to have
	// carried.
	header http.Header
	// jsonl marks a .chunks.jsonl file: data payloads only, one per line,
	// which must be framed as SSE before replay.
	jsonl bool
	// done appends "data: [DONE]" to a framed jsonl stream, as the
	// OpenAI-compatible vendors end their streams.
	done bool
}

// Content types as the vendors sent them (SOURCES.md). Where SOURCES.md
// lists no content type (fixtures rather than recorded HTTP exchanges), the
// one the same vendor uses for the same kind of body is used.
const (
	ctSSEUTF8     = "text/event-stream; charset=utf-8"
	ctSSE         = "text/event-stream"
	ctSSETogether = "text/event-stream;charset=utf-8"
	ctJSON        = "application/json"
	ctJSONUTF8    = "application/json; charset=utf-8"
	ctJSONGoogle  = "application/json; charset=UTF-8"
)

// transcriptTable maps every embedded transcript (except SOURCES.md) to its
// reply. TestTranscriptTableComplete checks that it covers the directory.
var transcriptTable = map[string]transcriptInfo{
	"openai-chat-stream-tool-call-include-usage.sse":      {status: 200, contentType: ctSSEUTF8},
	"openai-chat-stream-text-include-usage.sse":           {status: 200, contentType: ctSSEUTF8},
	"openai-chat-stream-parallel-tool-calls.sse":          {status: 200, contentType: ctSSEUTF8},
	"openai-chat-tool-call.json":                          {status: 200, contentType: ctJSON},
	"openai-error-401-invalid-api-key.json":               {status: 401, contentType: ctJSONUTF8},
	"openai-error-404-model-not-found.json":               {status: 404, contentType: ctJSONUTF8},
	"openai-error-400-unsupported-parameter.json":         {status: 400, contentType: ctJSONUTF8},
	"openai-responses-stream-function-call.sse":           {status: 200, contentType: ctSSEUTF8},
	"openai-responses-stream-reasoning-function-call.sse": {status: 200, contentType: ctSSEUTF8},
	"openai-responses-stream-reasoning-summary.sse":       {status: 200, contentType: ctSSEUTF8},
	"azure-openai-chat-stream-deployments.sse":            {status: 200, contentType: ctSSEUTF8},
	"azure-openai-v1-chat-stream-include-usage.sse":       {status: 200, contentType: ctSSEUTF8},
	"anthropic-messages-stream-thinking.sse":              {status: 200, contentType: ctSSEUTF8},
	"anthropic-messages-stream-redacted-thinking.sse":     {status: 200, contentType: ctSSEUTF8},
	"anthropic-messages-stream-tool-use.sse":              {status: 200, contentType: ctSSEUTF8},
	"anthropic-message-tool-use.json":                     {status: 200, contentType: ctJSON},
	"anthropic-message-thinking.json":                     {status: 200, contentType: ctJSON},
	"anthropic-error-401-authentication.json":             {status: 401, contentType: ctJSON, header: http.Header{"X-Should-Retry": {"false"}}},
	"anthropic-error-404-not-found-stream-request.json":   {status: 404, contentType: ctJSON},
	"anthropic-error-400-invalid-request.json":            {status: 400, contentType: ctJSON},
	"gemini-stream-text.sse":                              {status: 200, contentType: ctSSE},
	"gemini-stream-thoughts-include-thoughts.sse":         {status: 200, contentType: ctSSE},
	"gemini-stream-function-call-thought-signature.sse":   {status: 200, contentType: ctSSE},
	"gemini-generate-content-function-call.json":          {status: 200, contentType: ctJSONGoogle},
	"gemini-error-400-invalid-api-key.json":               {status: 400, contentType: ctJSONGoogle},
	"gemini-error-404-model-not-found.json":               {status: 404, contentType: ctJSONGoogle},
	"gemini-error-429-resource-exhausted.json":            {status: 429, contentType: ctJSONGoogle},
	"vertex-gemini-stream-partial-args.chunks.jsonl":      {status: 200, contentType: ctSSE, jsonl: true},
	"deepseek-reasoner-stream.sse":                        {status: 200, contentType: ctSSEUTF8},
	"deepseek-reasoner-stream-tool-call.chunks.jsonl":     {status: 200, contentType: ctSSEUTF8, jsonl: true, done: true},
	"deepseek-reasoner.json":                              {status: 200, contentType: ctJSON},
	"mistral-magistral-stream-thinking.sse":               {status: 200, contentType: ctSSEUTF8},
	"mistral-stream-tool-call.chunks.jsonl":               {status: 200, contentType: ctSSEUTF8, jsonl: true, done: true},
	"xai-chat-stream-tool-call.chunks.jsonl":              {status: 200, contentType: ctSSEUTF8, jsonl: true, done: true},
	"together-deepseek-r1-stream-think-tags.sse":          {status: 200, contentType: ctSSETogether},
	"ollama-openai-compat-chat.json":                      {status: 200, contentType: ctJSON},
}

// Transcript returns a Response that replays the named recorded transcript
// (a file name such as "gemini-stream-text.sse") with the status and content
// type the vendor sent. .sse and .json bodies are replayed byte for byte;
// .chunks.jsonl payloads are framed as "data: <line>\n\n", followed by
// "data: [DONE]\n\n" for the OpenAI-compatible vendors (DeepSeek, xAI,
// Mistral) but not for Gemini/Vertex, which send no terminator.
func Transcript(name string) (Response, error) {
	info, ok := transcriptTable[name]
	if !ok {
		return Response{}, fmt.Errorf("fakeupstream: unknown transcript %q", name)
	}
	body, err := transcriptFS.ReadFile("transcripts/" + name)
	if err != nil {
		return Response{}, fmt.Errorf("fakeupstream: %w", err)
	}
	if info.jsonl {
		body = frameJSONL(body, info.done)
	}
	return Response{
		Status:      info.status,
		Header:      info.header.Clone(),
		ContentType: info.contentType,
		Body:        body,
	}, nil
}

// MustTranscript is like [Transcript] but panics on an unknown name.
func MustTranscript(name string) Response {
	r, err := Transcript(name)
	if err != nil {
		panic(err)
	}
	return r
}

// TranscriptNames returns the names of all replayable transcripts, sorted.
func TranscriptNames() []string {
	names := make([]string, 0, len(transcriptTable))
	for name := range transcriptTable {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// frameJSONL frames one SSE data payload per line. A final line without a
// newline is still a payload; empty lines carry none.
func frameJSONL(src []byte, done bool) []byte {
	var b bytes.Buffer
	for line := range strings.Lines(string(src)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteString("\n\n")
	}
	if done {
		b.WriteString("data: [DONE]\n\n")
	}
	return b.Bytes()
}
