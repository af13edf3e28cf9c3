package anthropicwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// DefaultMaxTokens is sent when the client set no output bound: Anthropic
// requires max_tokens, and other dialects make it optional.
const DefaultMaxTokens = 4096

// EffortBudget maps a reasoning effort from a dialect without thinking
// budgets (OpenAI's reasoning_effort) to an Anthropic budget_tokens. 1024 is
// Anthropic's minimum budget.
var EffortBudget = map[string]int{
	"minimal": 1024,
	"low":     1024,
	"medium":  4096,
	"high":    16384,
	"xhigh":   32768,
	"max":     32768,
}

// outRequest is the body of POST /v1/messages as this package writes it. Field
// order is the wire order.
type outRequest struct {
	Model         string            `json:"model"`
	MaxTokens     int               `json:"max_tokens"`
	System        []outBlock        `json:"system,omitempty"`
	Messages      []outMessage      `json:"messages"`
	Tools         []wireTool        `json:"tools,omitempty"`
	ToolChoice    *wireToolChoice   `json:"tool_choice,omitempty"`
	Thinking      *wireThinking     `json:"thinking,omitempty"`
	OutputConfig  *wireOutputConfig `json:"output_config,omitempty"`
	StopSequences []string          `json:"stop_sequences,omitempty"`
	Temperature   *float64          `json:"temperature,omitempty"`
	TopP          *float64          `json:"top_p,omitempty"`
	TopK          *int              `json:"top_k,omitempty"`
	Metadata      *outMetadata      `json:"metadata,omitempty"`
	Stream        bool              `json:"stream,omitempty"`
}

type outMetadata struct {
	UserID string `json:"user_id"`
}

type outMessage struct {
	Role    llm.Role   `json:"role"`
	Content []outBlock `json:"content"`
}

// outBlock is an input content block. Pointers tell "absent" from "empty":
// a thinking block keeps an empty thinking text, a text block never has one.
type outBlock struct {
	Type         string          `json:"type"`
	Text         *string         `json:"text,omitempty"`
	Source       *outSource      `json:"source,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      []outBlock      `json:"content,omitempty"`
	IsError      bool            `json:"is_error,omitempty"`
	Thinking     *string         `json:"thinking,omitempty"`
	Signature    *string         `json:"signature,omitempty"`
	Data         *string         `json:"data,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type outSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// dropSet collects the names of fields that could not be sent, once each.
type dropSet []string

func (d *dropSet) add(name string) {
	if !slices.Contains(*d, name) {
		*d = append(*d, name)
	}
}

// EncodeRequest encodes r as an Anthropic Messages request body for model.
// dropped names the canonical fields, and the client's extra fields, that
// Anthropic has no place for; the caller reports them to the client.
//
// The encoding applies the rules the API enforces
// (docs/protocols.md#anthropic-request): empty and whitespace-only text blocks are
// dropped (docs/protocols.md#trap-empty-text); consecutive messages of one role
// are merged, and in a user message the tool results come first, in the
// order of the calls they answer (docs/protocols.md#trap-tool-results); reasoning
// is replayed only when Anthropic made it, byte for byte
// (docs/protocols.md#trap-signatures).
func EncodeRequest(r *llm.Request, model string) (body []byte, dropped []string, err error) {
	var drop dropSet
	out := outRequest{Model: model, Temperature: r.Temperature, TopP: r.TopP, TopK: r.TopK, Stream: r.Stream}

	for _, p := range r.System {
		if p.Type != llm.PartText {
			drop.add("system." + string(p.Type))
			continue
		}
		if strings.TrimSpace(p.Text) == "" {
			continue
		}
		out.System = append(out.System, outBlock{Type: "text", Text: ptr(p.Text), CacheControl: p.CacheControl})
	}

	if out.Messages, err = encodeMessages(r.Messages, &drop); err != nil {
		return nil, nil, err
	}

	for _, t := range r.Tools {
		schema := t.Parameters
		if len(bytes.TrimSpace(schema)) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		out.Tools = append(out.Tools, wireTool{Name: t.Name, Description: t.Description, InputSchema: schema, Strict: t.Strict, CacheControl: t.CacheControl})
	}
	encodeToolChoice(r, &out, &drop)

	budget := encodeReasoning(r, &out, &drop)
	if r.Dialect != llm.DialectAnthropic && out.Thinking != nil && out.Thinking.Type != "disabled" && !thinkingAllowed(&out) {
		// An Anthropic client gets the API's own answer; for another
		// dialect, thinking is the client's nice-to-have and a 400 is not.
		out.Thinking, budget = nil, 0
		if out.OutputConfig != nil {
			out.OutputConfig.Effort = ""
		}
		drop.add("reasoning")
	}
	out.MaxTokens = r.MaxTokens
	if out.MaxTokens <= 0 {
		out.MaxTokens = DefaultMaxTokens
		if budget >= out.MaxTokens {
			// Anthropic requires max_tokens > budget_tokens.
			out.MaxTokens = budget + DefaultMaxTokens
		}
	}

	if o := r.Output; o != nil {
		switch o.Type {
		case "json_schema":
			if out.OutputConfig == nil {
				out.OutputConfig = &wireOutputConfig{}
			}
			out.OutputConfig.Format = &wireFormat{Type: "json_schema", Schema: o.Schema}
		case "json_object":
			// No schema-less JSON mode at Anthropic.
			drop.add("response_format")
		}
	}
	out.StopSequences = r.Stop
	if r.Seed != nil {
		drop.add("seed")
	}
	if r.User != "" {
		out.Metadata = &outMetadata{UserID: r.User}
	}

	body, err = marshal(out)
	if err != nil {
		return nil, nil, invalid("", "the request could not be encoded for Anthropic: "+err.Error())
	}
	if len(r.Extra) > 0 {
		body = appendExtra(body, r, &drop)
	}
	return body, drop, nil
}

// appendExtra adds the client's extra top-level fields when the client spoke
// Anthropic's own dialect, and names them as dropped otherwise: another
// dialect's extras mean nothing here.
func appendExtra(body []byte, r *llm.Request, drop *dropSet) []byte {
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.Write(body[:len(body)-1]) // without the closing brace
	for _, k := range keys {
		v := r.Extra[k]
		if r.Dialect != llm.DialectAnthropic || knownFields[k] || !json.Valid(v) {
			drop.add(k)
			continue
		}
		kb, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(bytes.TrimSpace(v))
	}
	b.WriteByte('}')
	return b.Bytes()
}

func encodeToolChoice(r *llm.Request, out *outRequest, drop *dropSet) {
	if len(out.Tools) == 0 {
		// Anthropic rejects tool_choice without tools.
		if r.ToolChoice != nil && r.ToolChoice.Mode != "none" && r.ToolChoice.Mode != "auto" {
			drop.add("tool_choice")
		}
		return
	}
	tc := r.ToolChoice
	if tc != nil {
		switch tc.Mode {
		case "auto", "none":
			out.ToolChoice = &wireToolChoice{Type: tc.Mode}
		case "required":
			out.ToolChoice = &wireToolChoice{Type: "any"}
		case "tool":
			out.ToolChoice = &wireToolChoice{Type: "tool", Name: tc.Name}
		default:
			drop.add("tool_choice")
		}
	}
	if r.ParallelToolCalls != nil && !*r.ParallelToolCalls {
		if out.ToolChoice == nil {
			out.ToolChoice = &wireToolChoice{Type: "auto"}
		}
		// Type none takes no options; with no calls, none are parallel.
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}
}

// encodeReasoning sets thinking and output_config.effort and returns the
// thinking budget sent, or 0.
//
// An Anthropic client's settings go back as they came. An effort from
// another dialect, with no budget, becomes a budget through EffortBudget,
// bounded by the client's max_tokens; when that leaves less than
// Anthropic's minimum of 1024, thinking is not requested and "reasoning" is
// named as dropped.
func encodeReasoning(r *llm.Request, out *outRequest, drop *dropSet) int {
	rs := r.Reasoning
	if rs == nil {
		return 0
	}
	display := ""
	switch rs.Summary {
	case "summarized", "omitted":
		display = rs.Summary
	case "auto", "concise", "detailed":
		display = "summarized" // OpenAI's summary settings all ask to see it
	}
	effortOut := func() {
		if rs.Effort != "" {
			if out.OutputConfig == nil {
				out.OutputConfig = &wireOutputConfig{}
			}
			out.OutputConfig.Effort = rs.Effort
		}
	}
	switch {
	case rs.Disabled || rs.Effort == "none":
		out.Thinking = &wireThinking{Type: "disabled"}
		return 0
	case rs.Adaptive:
		out.Thinking = &wireThinking{Type: "adaptive", Display: display}
		effortOut()
		return 0
	case rs.BudgetTokens > 0:
		out.Thinking = &wireThinking{Type: "enabled", BudgetTokens: rs.BudgetTokens, Display: display}
		effortOut()
		return rs.BudgetTokens
	case rs.Effort != "" && r.Dialect == llm.DialectAnthropic:
		effortOut()
		return 0
	case rs.Effort != "":
		budget, ok := EffortBudget[rs.Effort]
		if !ok {
			drop.add("reasoning_effort")
			return 0
		}
		if r.MaxTokens > 0 && budget >= r.MaxTokens {
			budget = r.MaxTokens - 1
		}
		if budget < 1024 {
			drop.add("reasoning_effort")
			return 0
		}
		out.Thinking = &wireThinking{Type: "enabled", BudgetTokens: budget, Display: display}
		return budget
	}
	if display != "" {
		drop.add("reasoning.summary")
	}
	return 0
}

// thinkingAllowed reports whether the API accepts thinking for out: not
// when tool_choice forces a tool, and not when the last assistant turn
// calls tools without starting with the thinking that led to the calls
// (a conversation begun with another vendor: "Expected thinking or
// redacted_thinking, but found tool_use").
func thinkingAllowed(out *outRequest) bool {
	if tc := out.ToolChoice; tc != nil && (tc.Type == "any" || tc.Type == "tool") {
		return false
	}
	for i := len(out.Messages) - 1; i >= 0; i-- {
		m := out.Messages[i]
		if m.Role != llm.RoleAssistant {
			continue
		}
		calls := slices.ContainsFunc(m.Content, func(b outBlock) bool { return b.Type == "tool_use" })
		return !calls || m.Content[0].Type == "thinking" || m.Content[0].Type == "redacted_thinking"
	}
	return true
}

// encodeMessages converts, drops what cannot be sent, then merges.
func encodeMessages(msgs []llm.Message, drop *dropSet) ([]outMessage, error) {
	var out []outMessage
	for i, m := range msgs {
		if m.Role != llm.RoleUser && m.Role != llm.RoleAssistant {
			return nil, invalid(fmt.Sprintf("messages[%d].role", i), fmt.Sprintf("messages[%d].role: %q is not a role Anthropic accepts", i, m.Role))
		}
		var blocks []outBlock
		for j, p := range m.Parts {
			b, ok, err := encodePart(p, fmt.Sprintf("messages[%d].content[%d]", i, j), drop)
			if err != nil {
				return nil, err
			}
			if ok {
				blocks = append(blocks, b)
			}
		}
		if len(blocks) == 0 {
			continue // e.g. an OpenAI assistant turn with content "" only
		}
		if n := len(out); n > 0 && out[n-1].Role == m.Role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			continue
		}
		out = append(out, outMessage{Role: m.Role, Content: blocks})
	}
	for i := range out {
		if out[i].Role == llm.RoleUser && i > 0 {
			orderToolResults(out[i].Content, out[i-1].Content)
		}
	}
	// A final assistant turn is a prefill, and the API rejects one that
	// ends with whitespace ("final assistant content cannot end with
	// trailing whitespace").
	if n := len(out); n > 0 && out[n-1].Role == llm.RoleAssistant {
		c := out[n-1].Content
		if b := &c[len(c)-1]; b.Type == "text" {
			b.Text = ptr(strings.TrimRightFunc(*b.Text, unicode.IsSpace))
		}
	}
	return out, nil
}

// orderToolResults moves the tool results of a user message to its front,
// in the order of the calls in the assistant message before it; the API
// requires both (docs/protocols.md#anthropic-request, #trap-tool-results).
func orderToolResults(blocks, prev []outBlock) {
	order := map[string]int{}
	for _, b := range prev {
		if b.Type == "tool_use" {
			order[b.ID] = len(order)
		}
	}
	rank := func(b outBlock) int {
		if b.Type != "tool_result" {
			return len(order) + 1 // after every result
		}
		if n, ok := order[b.ToolUseID]; ok {
			return n
		}
		return len(order) // results of unknown calls: after the known ones
	}
	slices.SortStableFunc(blocks, func(a, b outBlock) int { return rank(a) - rank(b) })
}

func encodePart(p llm.Part, at string, drop *dropSet) (outBlock, bool, error) {
	switch p.Type {
	case llm.PartText:
		if strings.TrimSpace(p.Text) == "" {
			return outBlock{}, false, nil // docs/protocols.md#trap-empty-text
		}
		return outBlock{Type: "text", Text: ptr(p.Text), CacheControl: p.CacheControl}, true, nil
	case llm.PartImage:
		src, err := encodeImage(p.Image, at)
		if err != nil {
			return outBlock{}, false, err
		}
		if p.Image.Detail != "" {
			drop.add("image_url.detail")
		}
		return outBlock{Type: "image", Source: src, CacheControl: p.CacheControl}, true, nil
	case llm.PartToolCall:
		tc := p.ToolCall
		if tc == nil {
			return outBlock{}, false, invalid(at, at+": tool call part without a call")
		}
		args := bytes.TrimSpace([]byte(tc.Arguments))
		if len(args) == 0 || string(args) == "null" {
			args = []byte("{}")
		}
		if args[0] != '{' || !json.Valid(args) {
			return outBlock{}, false, invalid(at+".input", at+": the arguments of tool call "+tc.ID+" are not a JSON object")
		}
		return outBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: args, CacheControl: p.CacheControl}, true, nil
	case llm.PartToolResult:
		tr := p.ToolResult
		if tr == nil {
			return outBlock{}, false, invalid(at, at+": tool result part without a result")
		}
		b := outBlock{Type: "tool_result", ToolUseID: tr.CallID, IsError: tr.IsError, CacheControl: p.CacheControl}
		for k, c := range tr.Content {
			if c.Type != llm.PartText && c.Type != llm.PartImage {
				drop.add("tool_result." + string(c.Type))
				continue
			}
			cb, ok, err := encodePart(c, fmt.Sprintf("%s.content[%d]", at, k), drop)
			if err != nil {
				return outBlock{}, false, err
			}
			if ok {
				b.Content = append(b.Content, cb)
			}
		}
		return b, true, nil
	case llm.PartReasoning:
		if p.Origin != Origin {
			// Another vendor's reasoning: Anthropic cannot verify it and
			// would reject an unsigned thinking block.
			drop.add("reasoning")
			return outBlock{}, false, nil
		}
		if p.Redacted != "" {
			return outBlock{Type: "redacted_thinking", Data: ptr(p.Redacted)}, true, nil
		}
		// Kept even with empty text (display: omitted): the signature is
		// what the API checks (docs/protocols.md#trap-signatures).
		return outBlock{Type: "thinking", Thinking: ptr(p.Text), Signature: ptr(p.Signature)}, true, nil
	}
	drop.add(string(p.Type))
	return outBlock{}, false, nil
}

func encodeImage(img *llm.Image, at string) (*outSource, error) {
	switch {
	case img == nil:
		return nil, invalid(at, at+": image part without an image")
	case img.Data != "":
		mt := img.MediaType
		if mt == "" {
			return nil, invalid(at, at+": inline image data needs a media type")
		}
		return &outSource{Type: "base64", MediaType: mt, Data: img.Data}, nil
	case strings.HasPrefix(img.URL, "data:"):
		// data:<media type>;base64,<data>
		meta, data, ok := strings.Cut(strings.TrimPrefix(img.URL, "data:"), ",")
		mt, enc, _ := strings.Cut(meta, ";")
		if !ok || enc != "base64" || mt == "" || data == "" {
			return nil, invalid(at, at+": image data URLs must be data:<media type>;base64,<data>")
		}
		return &outSource{Type: "base64", MediaType: mt, Data: data}, nil
	case strings.HasPrefix(img.URL, "https://") || strings.HasPrefix(img.URL, "http://"):
		return &outSource{Type: "url", URL: img.URL}, nil
	}
	return nil, invalid(at, at+": images must be an http(s) URL, a data: URL or base64 data")
}

func ptr[T any](v T) *T { return &v }

// marshal encodes v as compact JSON without HTML escaping, as the vendor
// writes it.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
