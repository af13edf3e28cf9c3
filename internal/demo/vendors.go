package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// A vendor is how one provider type's demo vendor answers.
type vendor struct {
	// basePath follows the fake's URL in the provider's base_url, where
	// the type's default base URL has a path (https://api.openai.com/v1).
	basePath string
	// wire is the vendor's API: "openai" (chat completions), "anthropic"
	// (messages) or "gemini" (generateContent).
	wire string
	// whole and stream answer a chat request, not streamed and streamed.
	whole, stream fakeupstream.Response
	// models answers GET .../models.
	models fakeupstream.Response
}

// Recorded answers, replayed byte for byte. Where a vendor's recordings
// hold no plain text answer (xAI's and Mistral's non-streamed answers, the
// OpenAI-compatible servers' streams), a synthesized answer in the vendor's
// shape carries the text of OpenAI's recording.
var (
	openAIStream = fakeupstream.MustTranscript("openai-chat-stream-text-include-usage.sse")
	openAIWhole  = fakeupstream.TextCompletion(streamText(openAIStream.Body))
)

var vendors = map[string]vendor{
	"openai": {basePath: "/v1", wire: "openai", stream: openAIStream, whole: openAIWhole,
		models: fakeupstream.OpenAIModels("openai", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "o3-mini", "text-embedding-3-small")},
	"azure-openai": {wire: "openai", stream: fakeupstream.MustTranscript("azure-openai-v1-chat-stream-include-usage.sse"), whole: openAIWhole,
		models: fakeupstream.OpenAIModels("system", "gpt-4o", "gpt-4o-mini", "gpt-4.1")},
	"xai": {basePath: "/v1", wire: "openai", stream: openAIStream, whole: openAIWhole,
		models: fakeupstream.OpenAIModels("xai", "grok-3", "grok-3-mini", "grok-4")},
	"deepseek": {wire: "openai", stream: fakeupstream.MustTranscript("deepseek-reasoner-stream.sse"), whole: fakeupstream.MustTranscript("deepseek-reasoner.json"),
		models: fakeupstream.OpenAIModels("deepseek", "deepseek-chat", "deepseek-reasoner")},
	"mistral": {basePath: "/v1", wire: "openai", stream: fakeupstream.MustTranscript("mistral-magistral-stream-thinking.sse"), whole: openAIWhole,
		models: fakeupstream.OpenAIModels("mistralai", "mistral-large-latest", "mistral-small-latest", "magistral-medium-latest")},
	"openai-compatible": {basePath: "/v1", wire: "openai", stream: openAIStream, whole: fakeupstream.MustTranscript("ollama-openai-compat-chat.json"),
		models: fakeupstream.OpenAIModels("library", "llama3.1:8b", "gemma3:4b")},
	"anthropic": {wire: "anthropic", stream: fakeupstream.MustTranscript("anthropic-messages-stream-thinking.sse"), whole: fakeupstream.MustTranscript("anthropic-message-thinking.json"),
		models: fakeupstream.AnthropicModels("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-opus-4-1")},
	"gemini": {wire: "gemini", stream: fakeupstream.MustTranscript("gemini-stream-text.sse"), whole: geminiWhole(streamText(fakeupstream.MustTranscript("gemini-stream-text.sse").Body)),
		models: fakeupstream.GeminiModels("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash", "text-embedding-004")},
}

// install sets the fake's replies.
func (v vendor) install(s *fakeupstream.Server) {
	s.Handle("/models", v.models)
	switch v.wire {
	case "openai":
		s.Respond("/chat/completions", v.answer)
	case "anthropic":
		s.Respond("/v1/messages", v.answer)
		s.Respond("/v1/messages/count_tokens", func(r fakeupstream.Recorded) fakeupstream.Response {
			// A token per four bytes of the request, as the gateway
			// estimates for vendors that cannot count.
			return fakeupstream.Response{ContentType: "application/json", Body: fmt.Appendf(nil, `{"input_tokens":%d}`, max(1, len(r.Body)/4))}
		})
	case "gemini":
		s.Respond(":generateContent", v.answer)
		s.Respond(":streamGenerateContent", v.answer)
	}
}

// answer replies to a chat request, with the faults its model name asks
// for.
func (v vendor) answer(r fakeupstream.Recorded) fakeupstream.Response {
	model, stream := v.request(r)
	resp := v.whole
	if stream {
		resp = v.stream
	}
	_, faults, _ := strings.Cut(model, "+")
	for _, f := range strings.Split(faults, "+") {
		switch f {
		case "429":
			return v.fault(http.StatusTooManyRequests)
		case "500":
			return v.fault(http.StatusInternalServerError)
		case "cut":
			// Half the events of a stream, then the connection drops; a
			// body is dropped right after its headers.
			resp.CutAfterEvents = -1
			if n := events(resp.Body); stream && n > 1 {
				resp.CutAfterEvents = n / 2
			}
		case "slow":
			resp.FirstByteDelay = 2 * time.Second
			if n := events(resp.Body); stream && n > 0 {
				resp.EventDelay = min(100*time.Millisecond, 3*time.Second/time.Duration(n))
			}
		}
	}
	return resp
}

// request reads the model a request names, and whether it asks for a
// stream.
func (v vendor) request(r fakeupstream.Recorded) (model string, stream bool) {
	if v.wire == "gemini" {
		// .../models/{model}:generateContent or :streamGenerateContent
		_, rest, _ := strings.Cut(r.Path, "/models/")
		model, method, _ := strings.Cut(rest, ":")
		return model, method == "streamGenerateContent"
	}
	var body struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	json.Unmarshal(r.Body, &body)
	if body.Model == "" {
		// Azure's deployment URLs name the model in the path.
		if _, rest, ok := strings.Cut(r.Path, "/deployments/"); ok {
			body.Model, _, _ = strings.Cut(rest, "/")
		}
	}
	return body.Model, body.Stream
}

// fault is the vendor's own error reply for status.
func (v vendor) fault(status int) fakeupstream.Response {
	switch {
	case v.wire == "anthropic" && status == http.StatusTooManyRequests:
		return fakeupstream.AnthropicError(status, "rate_limit_error", "demo: this model name asks for a rate limit (+429)")
	case v.wire == "anthropic":
		return fakeupstream.AnthropicError(status, "api_error", "demo: this model name asks for a server error (+500)")
	case v.wire == "gemini" && status == http.StatusTooManyRequests:
		return fakeupstream.GeminiError(status, "RESOURCE_EXHAUSTED", "demo: this model name asks for a rate limit (+429)")
	case v.wire == "gemini":
		return fakeupstream.GeminiError(status, "INTERNAL", "demo: this model name asks for a server error (+500)")
	case status == http.StatusTooManyRequests:
		return fakeupstream.RateLimited("1")
	default:
		return fakeupstream.ServerError(status)
	}
}

// events counts the events of an SSE body (LF or CRLF framed).
func events(body []byte) int {
	return bytes.Count(body, []byte("\n\n")) + bytes.Count(body, []byte("\r\n\r\n"))
}

// streamText is the text an OpenAI or Gemini stream carries.
func streamText(body []byte) string {
	var b strings.Builder
	for _, line := range strings.Split(string(body), "\n") {
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
			Candidates []struct {
				Content struct {
					Parts []struct{ Text string } `json:"parts"`
				} `json:"content"`
			} `json:"candidates"`
		}
		if json.Unmarshal([]byte(data), &chunk) != nil {
			continue
		}
		for _, c := range chunk.Choices {
			b.WriteString(c.Delta.Content)
		}
		for _, c := range chunk.Candidates {
			for _, p := range c.Content.Parts {
				b.WriteString(p.Text)
			}
		}
	}
	return b.String()
}

// geminiWhole is a generateContent answer in the Gemini API's shape.
func geminiWhole(text string) fakeupstream.Response {
	body, _ := json.MarshalIndent(map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"parts": []any{map[string]any{"text": text}}, "role": "model"},
			"finishReason": "STOP",
			"index":        0,
		}},
		"usageMetadata": map[string]any{"promptTokenCount": 15, "candidatesTokenCount": len(strings.Fields(text)), "totalTokenCount": 15 + len(strings.Fields(text))},
		"modelVersion":  "gemini-2.0-flash-exp",
	}, "", "  ")
	return fakeupstream.Response{ContentType: "application/json; charset=UTF-8", Body: body}
}
