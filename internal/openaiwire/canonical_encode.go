package openaiwire

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
)

// EncodeOptions say how a vendor's dialect of the chat completions format
// differs from OpenAI's.
type EncodeOptions struct {
	// ReasoningField is the assistant message field in which earlier
	// reasoning is replayed: "reasoning_content" (DeepSeek, vLLM's older
	// name, llama.cpp), "reasoning" (newer vLLM, Ollama), or "" to drop
	// reasoning on replay (OpenAI, Azure, Mistral and xAI take none).
	ReasoningField string
}

// Request bodies are built from these types rather than maps so that key
// order, and therefore golden files and prompt caches, are stable.
type (
	chatBody struct {
		Model               string              `json:"model"`
		Messages            []chatMessage       `json:"messages"`
		Tools               []chatTool          `json:"tools,omitempty"`
		ToolChoice          any                 `json:"tool_choice,omitempty"`
		ParallelToolCalls   *bool               `json:"parallel_tool_calls,omitempty"`
		ResponseFormat      *chatResponseFormat `json:"response_format,omitempty"`
		MaxCompletionTokens int                 `json:"max_completion_tokens,omitempty"`
		Temperature         *float64            `json:"temperature,omitempty"`
		TopP                *float64            `json:"top_p,omitempty"`
		Seed                *int64              `json:"seed,omitempty"`
		Stop                []string            `json:"stop,omitempty"`
		ReasoningEffort     string              `json:"reasoning_effort,omitempty"`
		User                string              `json:"user,omitempty"`
		Stream              bool                `json:"stream,omitempty"`
		StreamOptions       *streamOptions      `json:"stream_options,omitempty"`
	}
	streamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	}
	chatMessage struct {
		Role string `json:"role"`
		// Content is a string, a []chatContentPart, or nil for JSON null
		// (an assistant turn with only tool calls).
		Content          any            `json:"content"`
		ReasoningContent string         `json:"reasoning_content,omitempty"`
		Reasoning        string         `json:"reasoning,omitempty"`
		ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
		ToolCallID       string         `json:"tool_call_id,omitempty"`
	}
	chatContentPart struct {
		Type     string        `json:"type"`
		Text     string        `json:"text,omitempty"`
		ImageURL *chatImageURL `json:"image_url,omitempty"`
	}
	chatImageURL struct {
		URL    string `json:"url"`
		Detail string `json:"detail,omitempty"`
	}
	chatTool struct {
		Type     string       `json:"type"`
		Function chatFunction `json:"function"`
	}
	chatFunction struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      bool            `json:"strict,omitempty"`
	}
	chatToolChoice struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	chatResponseFormat struct {
		Type       string          `json:"type"`
		JSONSchema *chatJSONSchema `json:"json_schema,omitempty"`
	}
	chatJSONSchema struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema,omitempty"`
		Strict      bool            `json:"strict,omitempty"`
	}
)

// EncodeChat renders r as a chat completions request body for model. It
// returns the names of the request fields it could not express, for the
// x-switchyard-dropped-params header.
//
// Translation choices:
//   - the system parts become one system message, joined by blank lines:
//     some OpenAI-compatible servers' chat templates take only one.
//   - a user message's tool results become one tool message each, in
//     order, and the rest of the message (text, images) a user message
//     after them, because OpenAI requires the tool messages to follow the
//     assistant's calls directly. Tool messages carry text only, so images
//     inside a tool result go to that user message too, after the
//     message's own parts, headed by a note naming the call. A result's
//     IsError has no field here; the text says what went wrong.
//   - reasoning is replayed in opt.ReasoningField, also on tool-call turns
//     (DeepSeek answers 400 without it there,
//     docs/protocols.md#trap-reasoning-field). Anthropic
//     thinking is never sent: its text is only meaningful to Anthropic
//     together with its signature, it is opaque state for another vendor,
//     and redacted thinking has no text at all.
//   - a Gemini tool-call signature goes in extra_content.google
//     .thought_signature (docs/protocols.md#trap-gemini-thought-signature);
//     Anthropic cache_control markers and
//     signatures of other origins are dropped silently, being state no
//     OpenAI-wire vendor reads.
//   - MaxTokens is sent as max_completion_tokens, OpenAI's current name;
//     the vendor adapters rename it where the vendor wants max_tokens.
//   - Reasoning.Effort goes to reasoning_effort ("max" as "xhigh", the
//     highest OpenAI level). A budget alone maps to an effort: below 4096
//     tokens "low", below 16384 "medium", otherwise "high". Disabled and
//     Adaptive send nothing, leaving the vendor's default, since "none"
//     is an error on most OpenAI-wire models.
//   - r.Extra is forwarded only when the client spoke this dialect.
func EncodeChat(r *llm.Request, model string, opt EncodeOptions) (body []byte, dropped []string, err error) {
	b := chatBody{
		Model:               model,
		ParallelToolCalls:   r.ParallelToolCalls,
		MaxCompletionTokens: r.MaxTokens,
		Temperature:         r.Temperature,
		TopP:                r.TopP,
		Seed:                r.Seed,
		Stop:                r.Stop,
		User:                r.User,
		Stream:              r.Stream,
	}
	if r.Stream {
		// Usage is always recorded, so always ask for it.
		b.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	if r.TopK != nil {
		dropped = append(dropped, "top_k")
	}
	if r.UsesCacheControl() {
		// OpenAI-wire vendors cache prompt prefixes on their own, but the
		// client's markers go nowhere, and it should know.
		dropped = append(dropped, "cache_control")
	}
	var system []string
	for _, p := range r.System {
		if p.Type == llm.PartText && p.Text != "" {
			system = append(system, p.Text)
		}
	}
	if len(system) > 0 {
		b.Messages = append(b.Messages, chatMessage{Role: "system", Content: strings.Join(system, "\n\n")})
	}
	for i, m := range r.Messages {
		switch m.Role {
		case llm.RoleUser:
			b.Messages = appendUser(b.Messages, m)
		case llm.RoleAssistant:
			msg, drop := encodeAssistant(m, opt)
			if drop {
				dropped = appendOnce(dropped, "image")
			}
			b.Messages = append(b.Messages, msg)
		default:
			return nil, nil, invalid(fmt.Sprintf("messages[%d].role", i), fmt.Sprintf("unknown message role %q", m.Role))
		}
	}
	for _, t := range r.Tools {
		b.Tools = append(b.Tools, chatTool{Type: "function", Function: chatFunction{
			Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict,
		}})
	}
	if tc := r.ToolChoice; tc != nil {
		switch tc.Mode {
		case "auto", "none", "required":
			b.ToolChoice = tc.Mode
		case "tool":
			c := chatToolChoice{Type: "function"}
			c.Function.Name = tc.Name
			b.ToolChoice = c
		default:
			return nil, nil, invalid("tool_choice", fmt.Sprintf("unknown tool choice mode %q", tc.Mode))
		}
	}
	if o := r.Output; o != nil {
		f := &chatResponseFormat{Type: o.Type}
		if o.Type == "json_schema" {
			f.JSONSchema = &chatJSONSchema{Name: o.Name, Description: o.Description, Schema: o.Schema, Strict: o.Strict}
			if f.JSONSchema.Name == "" {
				f.JSONSchema.Name = "response" // required by OpenAI; other dialects have none
			}
		}
		b.ResponseFormat = f
	}
	if rs := r.Reasoning; rs != nil {
		b.ReasoningEffort = effort(rs)
		if rs.Summary != "" {
			dropped = append(dropped, "reasoning.summary")
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		// Only a raw field (a schema, Extra) can fail, and it came from a
		// client: say which kind of thing was wrong.
		return nil, nil, &llm.Error{Kind: llm.KindInvalidRequest, Class: "bad_request", Message: "the request holds invalid JSON in a schema or parameter: " + err.Error()}
	}
	if len(r.Extra) == 0 {
		return out, dropped, nil
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if r.Dialect != llm.DialectOpenAI {
		return out, append(dropped, keys...), nil
	}
	obj, err := jsonobj.Parse(out)
	if err != nil {
		return nil, nil, &llm.Error{Kind: llm.KindServer, Class: "internal", Message: "internal error"}
	}
	for _, k := range keys {
		// A translated field is never overridden by a raw one.
		if !obj.Has(k) && json.Valid(r.Extra[k]) {
			obj.Set(k, r.Extra[k])
		}
	}
	return obj.Bytes(), dropped, nil
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// effort maps canonical reasoning settings to reasoning_effort.
func effort(rs *llm.Reasoning) string {
	switch {
	case rs.Effort == "max":
		return "xhigh"
	case rs.Effort != "":
		return rs.Effort
	case rs.BudgetTokens > 0 && rs.BudgetTokens < 4096:
		return "low"
	case rs.BudgetTokens > 0 && rs.BudgetTokens < 16384:
		return "medium"
	case rs.BudgetTokens > 0:
		return "high"
	}
	return ""
}

// appendUser appends a canonical user message: its tool results as tool
// messages, then everything else as one user message.
func appendUser(msgs []chatMessage, m llm.Message) []chatMessage {
	var rest []chatContentPart
	var resultImages []chatContentPart
	for _, p := range m.Parts {
		switch p.Type {
		case llm.PartToolResult:
			res := p.ToolResult
			var text []string
			var images []chatContentPart
			for _, c := range res.Content {
				switch c.Type {
				case llm.PartText:
					text = append(text, c.Text)
				case llm.PartImage:
					images = append(images, imagePart(c.Image))
				}
			}
			msgs = append(msgs, chatMessage{Role: "tool", ToolCallID: res.CallID, Content: strings.Join(text, "\n")})
			if len(images) > 0 {
				note := chatContentPart{Type: "text", Text: fmt.Sprintf("Images returned by tool call %s:", res.CallID)}
				resultImages = append(append(resultImages, note), images...)
			}
		case llm.PartText:
			if p.Text != "" {
				rest = append(rest, chatContentPart{Type: "text", Text: p.Text})
			}
		case llm.PartImage:
			rest = append(rest, imagePart(p.Image))
		}
	}
	rest = append(rest, resultImages...)
	switch {
	case len(rest) == 0:
		return msgs
	case len(rest) == 1 && rest[0].Type == "text":
		// A plain string is what every OpenAI-compatible server accepts.
		return append(msgs, chatMessage{Role: "user", Content: rest[0].Text})
	}
	return append(msgs, chatMessage{Role: "user", Content: rest})
}

func imagePart(img *llm.Image) chatContentPart {
	url := img.URL
	if url == "" {
		url = "data:" + img.MediaType + ";base64," + img.Data
	}
	return chatContentPart{Type: "image_url", ImageURL: &chatImageURL{URL: url, Detail: img.Detail}}
}

// encodeAssistant renders an assistant turn. droppedImage reports an image
// part, which an assistant message cannot carry.
func encodeAssistant(m llm.Message, opt EncodeOptions) (msg chatMessage, droppedImage bool) {
	msg.Role = "assistant"
	var text, reasoning strings.Builder
	for _, p := range m.Parts {
		switch p.Type {
		case llm.PartText:
			text.WriteString(p.Text)
		case llm.PartReasoning:
			if p.Origin != "anthropic" && p.Redacted == "" {
				reasoning.WriteString(p.Text)
			}
		case llm.PartToolCall:
			msg.ToolCalls = append(msg.ToolCalls, toolCallOut(p.ToolCall, nil))
		case llm.PartImage:
			droppedImage = true
		}
	}
	switch {
	case text.Len() > 0:
		msg.Content = text.String()
	case len(msg.ToolCalls) == 0:
		msg.Content = ""
	}
	switch opt.ReasoningField {
	case "reasoning_content":
		msg.ReasoningContent = reasoning.String()
	case "reasoning":
		msg.Reasoning = reasoning.String()
	}
	return msg, droppedImage
}
