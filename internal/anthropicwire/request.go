// Package anthropicwire translates the Anthropic Messages wire format
// (docs/protocols.md#anthropic) to and from the canonical model in package llm.
//
// Both directions live here because both sides of the gateway need them:
// the /v1/messages ingress decodes client requests and encodes responses,
// and the Anthropic provider encodes requests and decodes the vendor's
// responses. Keeping one package means one place that knows, for example,
// that Anthropic's input_tokens excludes the cache counters.
package anthropicwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// Origin is the llm.Part.Origin of reasoning state made by Anthropic. Only
// parts with this origin have their signature or redacted data sent back
// to Anthropic (docs/protocols.md#trap-signatures).
const Origin = "anthropic"

// HeaderBeta is the header a client may send for the vendor, kept in
// llm.Request.Header.
const HeaderBeta = "Anthropic-Beta"

// knownFields are the top-level request fields with a canonical home;
// every other field goes to llm.Request.Extra untouched.
var knownFields = map[string]bool{
	"model": true, "max_tokens": true, "messages": true, "system": true,
	"tools": true, "tool_choice": true, "thinking": true, "output_config": true,
	"stop_sequences": true, "temperature": true, "top_p": true, "top_k": true,
	"metadata": true, "stream": true,
}

// DecodeRequest decodes an Anthropic Messages request body and the client's
// headers into a canonical request. Errors are *llm.Error of kind
// invalid_request naming the faulty field in Param.
func DecodeRequest(body []byte, h http.Header) (*llm.Request, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, invalid("", "the request body must be a JSON object")
	}
	r := &llm.Request{Dialect: llm.DialectAnthropic}

	if err := str(top["model"], &r.Model); err != nil || r.Model == "" {
		return nil, invalid("model", "model: field required (a non-empty string)")
	}
	if raw, ok := present(top, "max_tokens"); !ok {
		return nil, invalid("max_tokens", "max_tokens: field required")
	} else if json.Unmarshal(raw, &r.MaxTokens) != nil || r.MaxTokens < 1 {
		return nil, invalid("max_tokens", "max_tokens: must be a positive integer")
	}
	raw, ok := present(top, "messages")
	if !ok {
		return nil, invalid("messages", "messages: field required")
	}
	var msgs []inMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, invalid("messages", "messages: must be an array of {role, content} objects")
	}
	if len(msgs) == 0 {
		return nil, invalid("messages", "messages: at least one message is required")
	}
	calls := map[string]string{} // tool_use id → name, to name tool results
	turns := 0                   // user and assistant turns
	for i, m := range msgs {
		if m.Role == "system" {
			// Claude Code puts part of its system prompt in a
			// {"role":"system"} turn for models it does not know. It
			// stays at its place: each encoder puts it where its vendor
			// takes system text (docs/dialects.md).
			at := fmt.Sprintf("messages[%d].content", i)
			parts, err := decodeSystem(m.Content, at)
			if err != nil {
				return nil, err
			}
			r.Messages = append(r.Messages, llm.Message{Role: llm.RoleSystem, Parts: parts})
			continue
		}
		msg, err := decodeMessage(m, i, calls)
		if err != nil {
			return nil, err
		}
		r.Messages = append(r.Messages, msg)
		turns++
	}

	if turns == 0 {
		return nil, invalid("messages", "messages: at least one user or assistant message is required")
	}
	if raw, ok := present(top, "system"); ok {
		sys, err := decodeSystem(raw, "system")
		if err != nil {
			return nil, err
		}
		r.System = sys
	}
	if raw, ok := present(top, "tools"); ok {
		if err := decodeTools(raw, r); err != nil {
			return nil, err
		}
	}
	if raw, ok := present(top, "tool_choice"); ok {
		if err := decodeToolChoice(raw, r); err != nil {
			return nil, err
		}
	}
	if raw, ok := present(top, "thinking"); ok {
		if err := decodeThinking(raw, r); err != nil {
			return nil, err
		}
	}
	if raw, ok := present(top, "output_config"); ok {
		if err := decodeOutputConfig(raw, r); err != nil {
			return nil, err
		}
	}
	if raw, ok := present(top, "stop_sequences"); ok {
		if json.Unmarshal(raw, &r.Stop) != nil {
			return nil, invalid("stop_sequences", "stop_sequences: must be an array of strings")
		}
	}
	for _, f := range []struct {
		name string
		dst  any
	}{{"temperature", &r.Temperature}, {"top_p", &r.TopP}, {"top_k", &r.TopK}} {
		if raw, ok := present(top, f.name); ok && json.Unmarshal(raw, f.dst) != nil {
			return nil, invalid(f.name, f.name+": must be a number")
		}
	}
	if raw, ok := present(top, "metadata"); ok {
		var md struct {
			UserID *string `json:"user_id"`
		}
		if json.Unmarshal(raw, &md) != nil {
			return nil, invalid("metadata", "metadata: must be an object with an optional string user_id")
		}
		if md.UserID != nil {
			r.User = *md.UserID
		}
	}
	if raw, ok := present(top, "stream"); ok && json.Unmarshal(raw, &r.Stream) != nil {
		return nil, invalid("stream", "stream: must be a boolean")
	}
	for k, v := range top {
		if !knownFields[k] {
			if r.Extra == nil {
				r.Extra = map[string]json.RawMessage{}
			}
			r.Extra[k] = v
		}
	}
	r.Header = decodeHeaders(h)
	return r, nil
}

// decodeHeaders keeps the anthropic-beta and anthropic-version headers. The
// SDKs send one anthropic-beta header per beta, and others send one
// comma-separated list; both become one value per beta.
func decodeHeaders(h http.Header) map[string][]string {
	var out map[string][]string
	if betas := Betas(h); len(betas) > 0 {
		out = map[string][]string{HeaderBeta: betas}
	}
	// anthropic-version is not kept: it names the client's wire format,
	// which the ingress has already decoded, and the Anthropic adapter
	// sends the version it is configured with.
	return out
}

// Betas are the anthropic-beta values in h, one per beta, whether sent as
// one header each or as one comma-separated list.
func Betas(h http.Header) []string {
	var betas []string
	for _, v := range h.Values(HeaderBeta) {
		for b := range strings.SplitSeq(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				betas = append(betas, b)
			}
		}
	}
	return betas
}

// present returns a field that is present and not null.
func present(m map[string]json.RawMessage, k string) (json.RawMessage, bool) {
	v, ok := m[k]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, false
	}
	return v, true
}

func str(raw json.RawMessage, dst *string) error {
	if raw == nil {
		return fmt.Errorf("missing")
	}
	return json.Unmarshal(raw, dst)
}

func invalid(param, msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Class: "bad_request", Param: param, Message: msg}
}

type inMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// inBlock is any input content block; which fields are set depends on Type.
type inBlock struct {
	Type         string          `json:"type"`
	Text         *string         `json:"text"`
	Source       *inSource       `json:"source"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"`
	IsError      bool            `json:"is_error"`
	Thinking     *string         `json:"thinking"`
	Signature    *string         `json:"signature"`
	Data         *string         `json:"data"`
	CacheControl json.RawMessage `json:"cache_control"`
}

type inSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

func decodeMessage(m inMessage, i int, calls map[string]string) (llm.Message, error) {
	at := fmt.Sprintf("messages[%d]", i)
	var msg llm.Message
	switch m.Role {
	case "user":
		msg.Role = llm.RoleUser
	case "assistant":
		msg.Role = llm.RoleAssistant
	default:
		return msg, invalid(at+".role", fmt.Sprintf("%s.role: must be \"user\", \"assistant\" or \"system\", not %q", at, m.Role))
	}
	parts, err := decodeContent(m.Content, at+".content", calls)
	if err != nil {
		return msg, err
	}
	if msg.Role == llm.RoleAssistant {
		parts = openEnvelopes(parts)
	}
	msg.Parts = parts
	return msg, nil
}

// decodeContent decodes a message's content: a string or an array of
// blocks.
func decodeContent(raw json.RawMessage, at string, calls map[string]string) ([]llm.Part, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid(at, at+": must be a string or an array of content blocks")
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	}
	var blocks []inBlock
	if err := json.Unmarshal(raw, &blocks); err != nil || blocks == nil {
		return nil, invalid(at, at+": must be a string or an array of content blocks")
	}
	parts := make([]llm.Part, 0, len(blocks))
	for j, b := range blocks {
		p, err := decodeBlock(b, fmt.Sprintf("%s[%d]", at, j), calls)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func decodeBlock(b inBlock, at string, calls map[string]string) (llm.Part, error) {
	p := llm.Part{CacheControl: b.CacheControl}
	switch b.Type {
	case "text":
		if b.Text == nil {
			return p, invalid(at+".text", at+".text: field required")
		}
		p.Type, p.Text = llm.PartText, *b.Text
	case "image":
		img, err := decodeImage(b.Source, at+".source")
		if err != nil {
			return p, err
		}
		p.Type, p.Image = llm.PartImage, img
	case "tool_use":
		if b.ID == "" || b.Name == "" {
			return p, invalid(at, at+": tool_use blocks need an id and a name")
		}
		args := string(bytes.TrimSpace(b.Input))
		if args == "" || args == "null" {
			args = "{}"
		} else if args[0] != '{' || !json.Valid(b.Input) {
			return p, invalid(at+".input", at+".input: must be an object")
		}
		calls[b.ID] = b.Name
		p.Type, p.ToolCall = llm.PartToolCall, &llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args}
	case "tool_result":
		if b.ToolUseID == "" {
			return p, invalid(at+".tool_use_id", at+".tool_use_id: field required")
		}
		tr := &llm.ToolResult{CallID: b.ToolUseID, Name: calls[b.ToolUseID], IsError: b.IsError}
		if c := bytes.TrimSpace(b.Content); len(c) > 0 && string(c) != "null" {
			content, err := decodeContent(c, at+".content", calls)
			if err != nil {
				return p, err
			}
			for _, cp := range content {
				if cp.Type != llm.PartText && cp.Type != llm.PartImage {
					return p, invalid(at+".content", at+".content: tool results may hold only text and image blocks")
				}
			}
			tr.Content = content
		}
		p.Type, p.ToolResult = llm.PartToolResult, tr
	case "thinking":
		if b.Thinking == nil || b.Signature == nil {
			return p, invalid(at, at+": thinking blocks need thinking and signature fields")
		}
		p.Type, p.Text, p.Signature = llm.PartReasoning, *b.Thinking, *b.Signature
		// An unsigned thinking block is reasoning this gateway relayed from
		// another vendor: not Anthropic's, so never sent back to it. Nor
		// is a gateway envelope (envelope.go), opened by decodeMessage.
		if p.Signature != "" && !strings.HasPrefix(p.Signature, EnvelopePrefix) {
			p.Origin = Origin
		}
	case "redacted_thinking":
		if b.Data == nil {
			return p, invalid(at+".data", at+".data: field required")
		}
		p.Type, p.Redacted, p.Origin = llm.PartReasoning, *b.Data, Origin
	case "":
		return p, invalid(at+".type", at+".type: field required")
	default:
		// document, search_result, server tool blocks and the like have no
		// canonical form yet. Refusing is better than silently losing them.
		return p, invalid(at+".type", fmt.Sprintf("%s.type: content blocks of type %q are not supported by this gateway", at, b.Type))
	}
	return p, nil
}

func decodeImage(s *inSource, at string) (*llm.Image, error) {
	if s == nil {
		return nil, invalid(at, at+": field required")
	}
	switch s.Type {
	case "base64":
		if s.Data == "" || s.MediaType == "" {
			return nil, invalid(at, at+": base64 sources need media_type and data")
		}
		return &llm.Image{MediaType: s.MediaType, Data: s.Data}, nil
	case "url":
		if s.URL == "" {
			return nil, invalid(at+".url", at+".url: field required")
		}
		return &llm.Image{URL: s.URL}, nil
	}
	return nil, invalid(at+".type", fmt.Sprintf("%s.type: image sources of type %q are not supported (use base64 or url)", at, s.Type))
}

// decodeSystem decodes a system prompt found at at: the top-level system
// field, or the content of a system turn.
func decodeSystem(raw json.RawMessage, at string) ([]llm.Part, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, invalid(at, at+": must be a string or an array of text blocks")
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	}
	var blocks []inBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return nil, invalid(at, at+": must be a string or an array of text blocks")
	}
	parts := make([]llm.Part, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != "text" || b.Text == nil {
			bat := fmt.Sprintf("%s[%d]", at, i)
			return nil, invalid(bat, bat+": system blocks must be text blocks")
		}
		parts = append(parts, llm.Part{Type: llm.PartText, Text: *b.Text, CacheControl: b.CacheControl})
	}
	return parts, nil
}

type wireTool struct {
	Type         string          `json:"type,omitempty"`
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	Strict       bool            `json:"strict,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// toolFields are the tool fields with a canonical home; the others go to
// llm.Tool.Extra.
var toolFields = map[string]bool{
	"type": true, "name": true, "description": true, "input_schema": true, "strict": true, "cache_control": true,
}

func decodeTools(raw json.RawMessage, r *llm.Request) error {
	var tools []wireTool
	var fields []map[string]json.RawMessage
	if json.Unmarshal(raw, &tools) != nil || json.Unmarshal(raw, &fields) != nil {
		return invalid("tools", "tools: must be an array of tool objects")
	}
	for i, t := range tools {
		at := fmt.Sprintf("tools[%d]", i)
		if t.Type != "" && t.Type != "custom" {
			// Server tools (web search, code execution) run at Anthropic
			// and have no canonical form.
			return invalid(at+".type", fmt.Sprintf("%s.type: server tools (%q) are not supported by this gateway", at, t.Type))
		}
		if t.Name == "" {
			return invalid(at+".name", at+".name: field required")
		}
		if len(bytes.TrimSpace(t.InputSchema)) == 0 || bytes.TrimSpace(t.InputSchema)[0] != '{' {
			return invalid(at+".input_schema", at+".input_schema: must be a JSON Schema object")
		}
		tool := llm.Tool{
			Name: t.Name, Description: t.Description, Parameters: t.InputSchema,
			Strict: t.Strict, CacheControl: t.CacheControl,
		}
		// Fields this gateway does not know (Claude Code sends
		// defer_loading) are kept, to be forwarded to Anthropic or named
		// as dropped.
		for k, v := range fields[i] {
			if !toolFields[k] {
				if tool.Extra == nil {
					tool.Extra = map[string]json.RawMessage{}
				}
				tool.Extra[k] = v
			}
		}
		r.Tools = append(r.Tools, tool)
	}
	return nil
}

type wireToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

func decodeToolChoice(raw json.RawMessage, r *llm.Request) error {
	var tc wireToolChoice
	if json.Unmarshal(raw, &tc) != nil {
		return invalid("tool_choice", "tool_choice: must be an object")
	}
	switch tc.Type {
	case "auto", "none":
		r.ToolChoice = &llm.ToolChoice{Mode: tc.Type}
	case "any":
		r.ToolChoice = &llm.ToolChoice{Mode: "required"}
	case "tool":
		if tc.Name == "" {
			return invalid("tool_choice.name", "tool_choice.name: field required when type is \"tool\"")
		}
		r.ToolChoice = &llm.ToolChoice{Mode: "tool", Name: tc.Name}
	default:
		return invalid("tool_choice.type", fmt.Sprintf("tool_choice.type: must be auto, any, tool or none, not %q", tc.Type))
	}
	if tc.DisableParallelToolUse {
		f := false
		r.ParallelToolCalls = &f
	}
	return nil
}

type wireThinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
	Display      string `json:"display,omitempty"`
}

func decodeThinking(raw json.RawMessage, r *llm.Request) error {
	var t wireThinking
	if json.Unmarshal(raw, &t) != nil {
		return invalid("thinking", "thinking: must be an object")
	}
	rs := reasoning(r)
	switch t.Type {
	case "enabled":
		if t.BudgetTokens < 1 {
			return invalid("thinking.budget_tokens", "thinking.budget_tokens: field required when type is \"enabled\"")
		}
		rs.BudgetTokens = t.BudgetTokens
	case "adaptive":
		rs.Adaptive = true
	case "disabled":
		rs.Disabled = true
	default:
		return invalid("thinking.type", fmt.Sprintf("thinking.type: must be enabled, adaptive or disabled, not %q", t.Type))
	}
	rs.Summary = t.Display
	return nil
}

func reasoning(r *llm.Request) *llm.Reasoning {
	if r.Reasoning == nil {
		r.Reasoning = &llm.Reasoning{}
	}
	return r.Reasoning
}

type wireOutputConfig struct {
	Effort string      `json:"effort,omitempty"`
	Format *wireFormat `json:"format,omitempty"`
}

type wireFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema,omitempty"`
}

func decodeOutputConfig(raw json.RawMessage, r *llm.Request) error {
	var oc wireOutputConfig
	if json.Unmarshal(raw, &oc) != nil {
		return invalid("output_config", "output_config: must be an object")
	}
	if oc.Effort != "" {
		reasoning(r).Effort = oc.Effort
	}
	if oc.Format != nil {
		if oc.Format.Type != "json_schema" || len(oc.Format.Schema) == 0 {
			return invalid("output_config.format", "output_config.format: must be {\"type\":\"json_schema\",\"schema\":{...}}")
		}
		r.Output = &llm.OutputFormat{Type: "json_schema", Schema: oc.Format.Schema}
	}
	return nil
}
