package openaiwire

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// wireCompletion is a chat.completion body as vendors send it.
type wireCompletion struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Message      wireMessage `json:"message"`
		FinishReason *string     `json:"finish_reason"`
	} `json:"choices"`
	Usage *Usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// DecodeResponse translates a chat.completion body into a canonical
// response. Only the first choice is read: the gateway asks for one.
// Usage is read with Usage.Canonical, OpenAI's semantics; an adapter whose
// vendor counts differently replaces it.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var c wireCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, malformed("the upstream returned an invalid chat completion body")
	}
	if e := errorObject(c.Error, "upstream_error"); e != nil {
		return nil, e
	}
	r := &llm.Response{ID: c.ID, Model: c.Model, StopReason: llm.StopEndTurn}
	if c.Usage != nil {
		r.Usage = c.Usage.Canonical()
	}
	if len(c.Choices) == 0 {
		return r, nil
	}
	ch := c.Choices[0]
	m := ch.Message
	if rs := firstNonEmpty(m.ReasoningContent, m.Reasoning); rs != "" {
		r.Parts = append(r.Parts, llm.Part{Type: llm.PartReasoning, Text: rs})
	}
	// A vendor's own answer may hold any content shape; decodeContent
	// would reject an image in it, and an assistant never sends one, so
	// text is all that is read.
	if text := contentText(m.Content); text != "" {
		r.Parts = append(r.Parts, llm.Part{Type: llm.PartText, Text: text})
	} else if m.Refusal != nil && *m.Refusal != "" {
		r.Parts = append(r.Parts, llm.Part{Type: llm.PartText, Text: *m.Refusal})
	}
	for _, tc := range m.ToolCalls {
		args := "{}"
		if tc.Function.Arguments != nil && *tc.Function.Arguments != "" {
			args = *tc.Function.Arguments
		}
		call := &llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args}
		if sig := tc.ExtraContent.signature(); sig != "" {
			call.Signature, call.Origin = sig, "gemini"
		}
		r.Parts = append(r.Parts, llm.Part{Type: llm.PartToolCall, ToolCall: call})
	}
	finish := ""
	if ch.FinishReason != nil {
		finish = *ch.FinishReason
	}
	r.StopReason = stopReason(finish, len(m.ToolCalls) > 0)
	return r, nil
}

// contentText returns the text of a content value: a string, or the text of
// an array of text parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []wireContentPart
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func firstNonEmpty(ss ...*string) string {
	for _, s := range ss {
		if s != nil && *s != "" {
			return *s
		}
	}
	return ""
}

// stopReason maps a finish_reason to the canonical stop reason. It decides
// from content first: OpenAI itself answers tool calls with "stop" when
// tool_choice names a function (docs/protocols.md#openai-finish-reasons).
func stopReason(finish string, toolCalls bool) llm.StopReason {
	switch finish {
	case "length":
		return llm.StopMaxTokens
	case "content_filter":
		return llm.StopContentFilter
	case "insufficient_system_resource":
		return llm.StopError // DeepSeek
	}
	if toolCalls || finish == "tool_calls" || finish == "function_call" {
		return llm.StopToolUse
	}
	return llm.StopEndTurn
}

// finishReason maps a canonical stop reason to a finish_reason.
func finishReason(s llm.StopReason) string {
	switch s {
	case llm.StopToolUse:
		return "tool_calls"
	case llm.StopMaxTokens, llm.StopContextWindow:
		return "length"
	case llm.StopContentFilter:
		return "content_filter"
	}
	return "stop"
}

// errorObject reads an error object a vendor sent instead of (or inside) an
// answer, or returns nil when raw is absent or null.
func errorObject(raw json.RawMessage, class string) *llm.Error {
	if present(raw) == nil {
		return nil
	}
	e := &llm.Error{Kind: llm.KindUpstream, Class: class, Message: "the upstream reported an error"}
	var obj struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	}
	var text string
	switch {
	case json.Unmarshal(raw, &obj) == nil:
		if obj.Message != "" {
			e.Message = obj.Message
		}
		e.Type = obj.Type
		if code, ok := obj.Code.(string); ok {
			e.Code = code
		}
	case json.Unmarshal(raw, &text) == nil && text != "":
		e.Message = text // {"error": "…"}, xAI's shape
	}
	return e
}

func malformed(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Class: "upstream_malformed", Message: msg}
}

// Response bodies, built from types for a stable key order.
type (
	completionBody struct {
		ID      string             `json:"id"`
		Object  string             `json:"object"`
		Created int64              `json:"created"`
		Model   string             `json:"model"`
		Choices []completionChoice `json:"choices"`
		Usage   *usageBody         `json:"usage,omitempty"`
	}
	completionChoice struct {
		Index        int                `json:"index"`
		Message      *completionMessage `json:"message,omitempty"`
		Delta        *deltaBody         `json:"delta,omitempty"`
		Logprobs     *struct{}          `json:"logprobs"`
		FinishReason *string            `json:"finish_reason"`
	}
	completionMessage struct {
		Role             string         `json:"role,omitempty"`
		Content          *string        `json:"content"` // null with only tool calls
		ReasoningContent *string        `json:"reasoning_content,omitempty"`
		ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
		// Refusal is null in every message OpenAI sends; SDKs read it.
		Refusal *string `json:"refusal"`
	}
	deltaBody struct {
		Role             string         `json:"role,omitempty"`
		Content          *string        `json:"content,omitempty"`
		ReasoningContent *string        `json:"reasoning_content,omitempty"`
		ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
	}
	usageBody struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		TotalTokens         int64 `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens     int64 `json:"cached_tokens"`
			CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	}
)

func usageOf(u llm.Usage) *usageBody {
	b := &usageBody{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.Total()}
	b.PromptTokensDetails.CachedTokens = u.CachedInputTokens
	b.PromptTokensDetails.CacheWriteTokens = u.CacheWriteTokens
	b.CompletionTokensDetails.ReasoningTokens = u.ReasoningTokens
	return b
}

// EncodeResponse renders r as a chat.completion body created at the given
// Unix time. Reasoning goes to message.reasoning_content, the name
// DeepSeek made common; signatures and redacted reasoning have no place in
// this format and are left out.
func EncodeResponse(r *llm.Response, created int64) []byte {
	msg := &completionMessage{Role: "assistant"}
	var text, reasoning strings.Builder
	for _, p := range r.Parts {
		switch p.Type {
		case llm.PartText:
			text.WriteString(p.Text)
		case llm.PartReasoning:
			reasoning.WriteString(p.Text)
		case llm.PartToolCall:
			msg.ToolCalls = append(msg.ToolCalls, toolCallOut(p.ToolCall, nil))
		}
	}
	// content is null only when the answer is tool calls alone, as OpenAI
	// sends it.
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	if reasoning.Len() > 0 {
		s := reasoning.String()
		msg.ReasoningContent = &s
	}
	finish := finishReason(r.StopReason)
	b := completionBody{
		ID:      completionID(r.ID),
		Object:  "chat.completion",
		Created: created,
		Model:   r.Model,
		Choices: []completionChoice{{Message: msg, FinishReason: &finish}},
		Usage:   usageOf(r.Usage),
	}
	return marshal(b)
}

// marshal encodes v without escaping <, > and & (reasoning is full of
// <think> tags and code); v holds only plain types, so it cannot fail.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// toolCallOut renders a whole tool call, or with index set the first delta
// of a streamed one (arguments "" to follow).
func toolCallOut(tc *llm.ToolCall, index *int) wireToolCall {
	w := wireToolCall{Index: index, ID: tc.ID, Type: "function"}
	args := tc.Arguments
	if index == nil && args == "" {
		args = "{}"
	}
	w.Function.Name, w.Function.Arguments = tc.Name, &args
	if tc.Signature != "" && tc.Origin == "gemini" {
		w.ExtraContent = geminiExtra(tc.Signature)
	}
	return w
}

// completionID returns a chat completion id for a response id, keeping an
// OpenAI-style id as it is.
func completionID(id string) string {
	if strings.HasPrefix(id, "chatcmpl-") {
		return id
	}
	if id == "" {
		var b [12]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	return "chatcmpl-" + id
}
