package responseswire

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
)

// Meta is what a response object says besides the answer itself.
type Meta struct {
	// ID is the response id ("resp_..."). Item ids are made from it and the
	// item's output index, so a response encoded whole and the same
	// response streamed have the same ids. When empty, the canonical
	// response's id is used, prefixed.
	ID string
	// Model is the model to report; when empty, the canonical one.
	Model string
	// CreatedAt is the creation time in Unix seconds.
	CreatedAt int64
	// Req is the decoded request, whose parameters the response object
	// echoes as OpenAI's does (instructions, tools, tool_choice, text,
	// reasoning, store, ...). It may be nil: defaults are echoed.
	Req *Request
}

// EncodeResponse encodes r as a Responses response object. It is the
// object a stream of the same answer ends with (StreamEncoder.Response).
func EncodeResponse(r *llm.Response, m Meta) []byte {
	b := newBuilder(m, false)
	b.run(r)
	return b.final
}

// OutputItems is the output array of r's response object alone, for
// keeping a conversation's items.
func OutputItems(r *llm.Response, m Meta) json.RawMessage {
	b := newBuilder(m, false)
	b.run(r)
	out, _ := json.Marshal(b.items)
	return out
}

// ErrorBody is e as an OpenAI error object, the shape Responses clients
// read on a non-200 answer.
func ErrorBody(e *llm.Error) []byte { return openaiwire.ErrorBody(e) }

// item is one output item. Which fields are set depends on Type; its JSON
// has the fields of that type only, in the order OpenAI writes them.
type item struct {
	Type   string
	ID     string
	Status string
	// message
	Content []outText
	// function_call
	CallID, Name, Arguments string
	// reasoning
	Summary   []summaryText
	Encrypted string
}

type outText struct {
	Type        string     `json:"type"`
	Annotations []struct{} `json:"annotations"`
	Logprobs    []struct{} `json:"logprobs"`
	Text        string     `json:"text"`
}

func newText(s string) outText {
	return outText{Type: "output_text", Annotations: []struct{}{}, Logprobs: []struct{}{}, Text: s}
}

type summaryText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (it item) MarshalJSON() ([]byte, error) {
	switch it.Type {
	case "message":
		content := it.Content
		if content == nil {
			content = []outText{}
		}
		return json.Marshal(struct {
			ID      string    `json:"id"`
			Type    string    `json:"type"`
			Status  string    `json:"status"`
			Content []outText `json:"content"`
			Role    string    `json:"role"`
		}{it.ID, it.Type, it.Status, content, "assistant"})
	case "function_call":
		return json.Marshal(struct {
			ID        string `json:"id"`
			Type      string `json:"type"`
			Status    string `json:"status"`
			Arguments string `json:"arguments"`
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
		}{it.ID, it.Type, it.Status, it.Arguments, it.CallID, it.Name})
	}
	summary := it.Summary
	if summary == nil {
		summary = []summaryText{}
	}
	return json.Marshal(struct {
		ID        string        `json:"id"`
		Type      string        `json:"type"`
		Encrypted string        `json:"encrypted_content,omitempty"`
		Summary   []summaryText `json:"summary"`
	}{it.ID, it.Type, it.Encrypted, summary})
}

// responseObject is the response object, its fields in OpenAI's order.
type responseObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	CreatedAt          int64             `json:"created_at"`
	Status             string            `json:"status"`
	Background         bool              `json:"background"`
	Error              *responseError    `json:"error"`
	IncompleteDetails  *incompleteDetail `json:"incomplete_details"`
	Instructions       *string           `json:"instructions"`
	MaxOutputTokens    *int              `json:"max_output_tokens"`
	Model              string            `json:"model"`
	Output             []item            `json:"output"`
	ParallelToolCalls  bool              `json:"parallel_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Reasoning          reasoningEcho     `json:"reasoning"`
	Store              bool              `json:"store"`
	Temperature        float64           `json:"temperature"`
	Text               textEcho          `json:"text"`
	ToolChoice         any               `json:"tool_choice"`
	Tools              []toolEcho        `json:"tools"`
	TopP               float64           `json:"top_p"`
	Truncation         string            `json:"truncation"`
	Usage              *usageOut         `json:"usage"`
	User               *string           `json:"user"`
	Metadata           json.RawMessage   `json:"metadata"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incompleteDetail struct {
	Reason string `json:"reason"`
}

type reasoningEcho struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type textEcho struct {
	Format formatEcho `json:"format"`
}

type formatEcho struct {
	Type        string          `json:"type"`
	Description string          `json:"description,omitempty"`
	Name        string          `json:"name,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

type toolEcho struct {
	Type        string          `json:"type"`
	Description *string         `json:"description"`
	Name        string          `json:"name"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      bool            `json:"strict"`
}

type toolChoiceEcho struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type usageOut struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

// usageOf renders canonical usage in the Responses API's terms, which are
// the canonical ones: input_tokens counts cached tokens too, and
// output_tokens counts reasoning tokens too.
func usageOf(u llm.Usage) *usageOut {
	w := &usageOut{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.Total()}
	w.InputTokensDetails.CachedTokens = u.CachedInputTokens
	w.InputTokensDetails.CacheWriteTokens = u.CacheWriteTokens
	w.OutputTokensDetails.ReasoningTokens = min(u.ReasoningTokens, u.OutputTokens)
	return w
}

// echo fills the request parameters of a response object from req.
func echo(req *Request) responseObject {
	o := responseObject{
		Object: "response", ParallelToolCalls: true, Store: true,
		Temperature: 1, TopP: 1, Truncation: "disabled",
		Text: textEcho{Format: formatEcho{Type: "text"}}, ToolChoice: "auto",
		Tools: []toolEcho{}, Metadata: json.RawMessage("{}"),
	}
	if req == nil {
		return o
	}
	o.Store = req.Store
	if req.Instructions != "" {
		o.Instructions = &req.Instructions
	}
	if req.PreviousResponseID != "" {
		o.PreviousResponseID = &req.PreviousResponseID
	}
	if len(req.Metadata) > 0 {
		o.Metadata = req.Metadata
	}
	c := req.Canonical
	if c == nil {
		return o
	}
	if c.MaxTokens > 0 {
		o.MaxOutputTokens = &c.MaxTokens
	}
	if c.ParallelToolCalls != nil {
		o.ParallelToolCalls = *c.ParallelToolCalls
	}
	if rs := c.Reasoning; rs != nil {
		if rs.Effort != "" {
			o.Reasoning.Effort = &rs.Effort
		}
		if rs.Summary != "" {
			o.Reasoning.Summary = &rs.Summary
		}
	}
	if c.Temperature != nil {
		o.Temperature = *c.Temperature
	}
	if c.TopP != nil {
		o.TopP = *c.TopP
	}
	if f := c.Output; f != nil {
		o.Text.Format = formatEcho{Type: f.Type}
		if f.Type == "json_schema" {
			strict := f.Strict
			o.Text.Format = formatEcho{Type: f.Type, Description: f.Description, Name: f.Name, Schema: f.Schema, Strict: &strict}
		}
	}
	if tc := c.ToolChoice; tc != nil {
		if tc.Mode == "tool" {
			o.ToolChoice = toolChoiceEcho{Type: "function", Name: tc.Name}
		} else {
			o.ToolChoice = tc.Mode
		}
	}
	for _, t := range c.Tools {
		te := toolEcho{Type: "function", Name: t.Name, Parameters: t.Parameters, Strict: t.Strict}
		if t.Description != "" {
			te.Description = &t.Description
		}
		if len(te.Parameters) == 0 {
			te.Parameters = json.RawMessage("null")
		}
		o.Tools = append(o.Tools, te)
	}
	if c.User != "" {
		o.User = &c.User
	}
	return o
}

// responseID is the id to report: m's, or one made from the canonical id.
func responseID(m Meta, canonical string) string {
	if m.ID != "" {
		return m.ID
	}
	id := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return -1
	}, canonical)
	if id == "" {
		id = "switchyard"
	}
	if strings.HasPrefix(id, "resp_") {
		return id
	}
	return "resp_" + id
}

// itemID is the id of output item i of response id.
func itemID(prefix, respID string, i int) string {
	return prefix + strings.TrimPrefix(respID, "resp_") + "_" + strconv.Itoa(i)
}

// status is the response status and incomplete reason for a stop reason:
// a response cut short by a token limit or a safety stop is incomplete,
// as OpenAI reports it.
func status(r llm.StopReason) (string, *incompleteDetail) {
	switch r {
	case llm.StopMaxTokens, llm.StopContextWindow:
		return "incomplete", &incompleteDetail{Reason: "max_output_tokens"}
	case llm.StopContentFilter:
		return "incomplete", &incompleteDetail{Reason: "content_filter"}
	}
	return "completed", nil
}

// failureCode is the code of a failed response's error: only a few codes
// are defined, and the SDKs know them.
func failureCode(e *llm.Error) string {
	switch e.Kind {
	case llm.KindRateLimit:
		return "rate_limit_exceeded"
	case llm.KindInvalidRequest:
		return "invalid_prompt"
	}
	return "server_error"
}
