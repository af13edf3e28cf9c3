package openaiwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// chatFields are the top-level request fields DecodeChat translates; every
// other field goes to llm.Request.Extra. stream_options is absent from both:
// it is transport (the caller reads IncludeUsage from the ChatRequest), and
// an encoder sets it for its own upstream.
var chatFields = map[string]bool{
	"model": true, "messages": true, "stream": true, "stream_options": true,
	"tools": true, "tool_choice": true, "parallel_tool_calls": true,
	"response_format": true, "max_completion_tokens": true, "max_tokens": true,
	"temperature": true, "top_p": true, "seed": true, "stop": true,
	"reasoning_effort": true, "user": true,
}

// wireMessage is a request message in any role.
type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []wireToolCall  `json:"tool_calls"`
	ToolCallID *string         `json:"tool_call_id"`
	// Reasoning under either name: DeepSeek, vLLM and llama.cpp use
	// reasoning_content, newer vLLM and Ollama use reasoning
	// (docs/protocols.md#trap-reasoning-field).
	ReasoningContent *string `json:"reasoning_content"`
	Reasoning        *string `json:"reasoning"`
	Refusal          *string `json:"refusal"`
}

type wireToolCall struct {
	Index    *int   `json:"index,omitempty"` // streams only
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string  `json:"name,omitempty"`
		Arguments *string `json:"arguments,omitempty"`
	} `json:"function"`
	ExtraContent *extraContent `json:"extra_content,omitempty"`
}

// extraContent is the convention by which Gemini's OpenAI-compatible
// endpoint, and clients that speak to it, carry a tool call's
// thoughtSignature through the OpenAI wire format
// (docs/protocols.md#trap-gemini-thought-signature).
type extraContent struct {
	Google *googleExtra `json:"google,omitempty"`
}

type googleExtra struct {
	ThoughtSignature string `json:"thought_signature,omitempty"`
}

func (e *extraContent) signature() string {
	if e == nil || e.Google == nil {
		return ""
	}
	return e.Google.ThoughtSignature
}

func geminiExtra(sig string) *extraContent {
	return &extraContent{Google: &googleExtra{ThoughtSignature: sig}}
}

type wireContentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail"`
	} `json:"image_url"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	} `json:"function"`
}

type wireResponseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	} `json:"json_schema"`
}

// DecodeChat translates a chat completions request into the canonical
// model. Errors are *llm.Error of kind invalid_request naming the faulty
// param.
//
// Choices made where the two models differ:
//   - system and developer messages become Request.System wherever they
//     are, in order. OpenAI models treat a late system message as an
//     instruction, and every other vendor has a single system prompt, so
//     keeping it an instruction is closer than demoting it to user text;
//     only its position is lost.
//   - consecutive tool messages become one user message of tool_result
//     parts in order (docs/protocols.md#trap-tool-results), and a user message
//     right after them
//     joins that message, after the results, so the turn alternation the
//     other vendors require holds.
//   - empty text (content "" on a tool-call turn) makes no part: several
//     vendors reject empty text blocks (docs/protocols.md#trap-empty-text).
//   - content the canonical model cannot carry (audio, files, custom
//     tools, allowed_tools, the legacy function role) is an error rather
//     than a silent loss.
func DecodeChat(req *ChatRequest) (*llm.Request, error) {
	obj := &req.Body
	r := &llm.Request{Model: req.Model, Stream: req.Stream, User: req.User, Dialect: llm.DialectOpenAI}
	for _, f := range obj.Fields {
		if chatFields[f.Key] {
			continue
		}
		if r.Extra == nil {
			r.Extra = map[string]json.RawMessage{}
		}
		r.Extra[f.Key] = json.RawMessage(f.Value)
	}
	if err := decodeMessages(r, obj.Get("messages")); err != nil {
		return nil, err
	}
	if raw := present(obj.Get("tools")); raw != nil {
		var tools []wireTool
		if err := json.Unmarshal(raw, &tools); err != nil {
			return nil, invalid("tools", "tools must be an array of tool objects")
		}
		for i, t := range tools {
			if t.Type != "function" || t.Function == nil {
				return nil, invalid(fmt.Sprintf("tools[%d].type", i), fmt.Sprintf("tool type %q is not supported for this model; use function tools", t.Type))
			}
			if t.Function.Name == "" {
				return nil, invalid(fmt.Sprintf("tools[%d].function.name", i), "a function tool needs a name")
			}
			r.Tools = append(r.Tools, llm.Tool{
				Name:        t.Function.Name,
				Description: t.Function.Description,
				Parameters:  present(t.Function.Parameters),
				Strict:      t.Function.Strict != nil && *t.Function.Strict,
			})
		}
	}
	if raw := present(obj.Get("tool_choice")); raw != nil {
		tc, err := decodeToolChoice(raw)
		if err != nil {
			return nil, err
		}
		r.ToolChoice = tc
	}
	if raw := present(obj.Get("parallel_tool_calls")); raw != nil {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil, invalid("parallel_tool_calls", "parallel_tool_calls must be a boolean")
		}
		r.ParallelToolCalls = &b
	}
	if raw := present(obj.Get("response_format")); raw != nil {
		of, err := decodeResponseFormat(raw)
		if err != nil {
			return nil, err
		}
		r.Output = of
	}
	// max_completion_tokens replaced max_tokens with the same meaning; a
	// client sending both means the newer one.
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		if raw := present(obj.Get(k)); raw != nil {
			var n int
			if json.Unmarshal(raw, &n) != nil || n < 0 {
				return nil, invalid(k, k+" must be a non-negative integer")
			}
			r.MaxTokens = n
		}
	}
	var err error
	if r.Temperature, err = number[float64](obj.Get("temperature"), "temperature"); err != nil {
		return nil, err
	}
	if r.TopP, err = number[float64](obj.Get("top_p"), "top_p"); err != nil {
		return nil, err
	}
	if r.Seed, err = number[int64](obj.Get("seed"), "seed"); err != nil {
		return nil, err
	}
	if raw := present(obj.Get("stop")); raw != nil {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			r.Stop = []string{one}
		} else if json.Unmarshal(raw, &r.Stop) != nil {
			return nil, invalid("stop", "stop must be a string or an array of strings")
		}
	}
	if raw := present(obj.Get("reasoning_effort")); raw != nil {
		var effort string
		if json.Unmarshal(raw, &effort) != nil {
			return nil, invalid("reasoning_effort", "reasoning_effort must be a string")
		}
		r.Reasoning = &llm.Reasoning{Effort: effort}
	}
	return r, nil
}

// present returns raw, or nil when it is absent or JSON null: OpenAI
// clients send null for "not set".
func present(raw []byte) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

func number[T int64 | float64](raw []byte, param string) (*T, error) {
	if raw = present(raw); raw == nil {
		return nil, nil
	}
	var v T
	if json.Unmarshal(raw, &v) != nil {
		return nil, invalid(param, param+" must be a number")
	}
	return &v, nil
}

func decodeMessages(r *llm.Request, raw []byte) error {
	var msgs []wireMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return invalid("messages", "messages must be an array of message objects")
	}
	names := map[string]string{} // tool call id → tool name, for results
	for i, m := range msgs {
		param := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer":
			parts, err := decodeContent(m.Content, param, false)
			if err != nil {
				return err
			}
			r.System = append(r.System, parts...)
		case "user":
			parts, err := decodeContent(m.Content, param, true)
			if err != nil {
				return err
			}
			// A user message right after tool results joins their turn.
			if n := len(r.Messages); n > 0 && i > 0 && msgs[i-1].Role == "tool" {
				r.Messages[n-1].Parts = append(r.Messages[n-1].Parts, parts...)
				continue
			}
			r.Messages = append(r.Messages, llm.Message{Role: llm.RoleUser, Parts: parts})
		case "assistant":
			msg, err := decodeAssistant(m, param, names)
			if err != nil {
				return err
			}
			r.Messages = append(r.Messages, msg)
		case "tool":
			if m.ToolCallID == nil || *m.ToolCallID == "" {
				return invalid(param+".tool_call_id", "a tool message needs a tool_call_id")
			}
			content, err := decodeContent(m.Content, param, false)
			if err != nil {
				return err
			}
			id := *m.ToolCallID
			part := llm.Part{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: id, Name: names[id], Content: content}}
			if n := len(r.Messages); n > 0 && msgs[i-1].Role == "tool" {
				r.Messages[n-1].Parts = append(r.Messages[n-1].Parts, part)
				continue
			}
			r.Messages = append(r.Messages, llm.Message{Role: llm.RoleUser, Parts: []llm.Part{part}})
		case "function":
			return invalid(param+".role", "the legacy function role is not supported for this model; use tool messages")
		default:
			return invalid(param+".role", fmt.Sprintf("unknown message role %q", m.Role))
		}
	}
	return nil
}

func decodeAssistant(m wireMessage, param string, names map[string]string) (llm.Message, error) {
	msg := llm.Message{Role: llm.RoleAssistant}
	// Reasoning came before the answer, so it is the first part
	// (docs/protocols.md#trap-reasoning-field): vendors that replay it expect that
	// order.
	reasoning := m.ReasoningContent
	if reasoning == nil || *reasoning == "" {
		reasoning = m.Reasoning
	}
	if reasoning != nil && *reasoning != "" {
		msg.Parts = append(msg.Parts, llm.Part{Type: llm.PartReasoning, Text: *reasoning})
	}
	parts, err := decodeContent(m.Content, param, false)
	if err != nil {
		return msg, err
	}
	msg.Parts = append(msg.Parts, parts...)
	if m.Refusal != nil && *m.Refusal != "" && len(parts) == 0 {
		msg.Parts = append(msg.Parts, llm.Part{Type: llm.PartText, Text: *m.Refusal})
	}
	for j, c := range m.ToolCalls {
		p := fmt.Sprintf("%s.tool_calls[%d]", param, j)
		if c.ID == "" {
			return msg, invalid(p+".id", "a tool call needs an id")
		}
		if c.Function.Name == "" {
			return msg, invalid(p+".function.name", "a tool call needs a function name")
		}
		args := "{}"
		if c.Function.Arguments != nil && *c.Function.Arguments != "" {
			args = *c.Function.Arguments
		}
		tc := &llm.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: args}
		if sig := c.ExtraContent.signature(); sig != "" {
			tc.Signature, tc.Origin = sig, "gemini"
		}
		names[c.ID] = c.Function.Name
		msg.Parts = append(msg.Parts, llm.Part{Type: llm.PartToolCall, ToolCall: tc})
	}
	return msg, nil
}

// decodeContent reads a message's content: a string, null, or an array of
// parts. Images are allowed only where images may be (user messages).
func decodeContent(raw json.RawMessage, param string, images bool) ([]llm.Part, error) {
	raw = present(raw)
	if raw == nil {
		return nil, nil
	}
	param += ".content"
	if raw = bytes.TrimLeft(raw, " \t\r\n"); len(raw) == 0 {
		return nil, invalid(param, "content must be a string or an array of parts")
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, invalid(param, "content must be a string or an array of parts")
		}
		if s == "" {
			return nil, nil
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	case '[':
	default:
		return nil, invalid(param, "content must be a string or an array of parts")
	}
	var wparts []wireContentPart
	if json.Unmarshal(raw, &wparts) != nil {
		return nil, invalid(param, "content must be a string or an array of parts")
	}
	var parts []llm.Part
	for j, wp := range wparts {
		p := fmt.Sprintf("%s[%d]", param, j)
		switch wp.Type {
		case "text":
			if wp.Text != "" {
				parts = append(parts, llm.Part{Type: llm.PartText, Text: wp.Text})
			}
		case "refusal":
			if wp.Refusal != "" {
				parts = append(parts, llm.Part{Type: llm.PartText, Text: wp.Refusal})
			}
		case "image_url":
			if !images {
				return nil, invalid(p+".type", "image parts are only allowed in user messages")
			}
			if wp.ImageURL == nil || wp.ImageURL.URL == "" {
				return nil, invalid(p+".image_url.url", "an image_url part needs a url")
			}
			img, err := decodeImageURL(wp.ImageURL.URL, p+".image_url.url")
			if err != nil {
				return nil, err
			}
			img.Detail = wp.ImageURL.Detail
			parts = append(parts, llm.Part{Type: llm.PartImage, Image: img})
		default:
			return nil, invalid(p+".type", fmt.Sprintf("content part type %q is not supported for this model", wp.Type))
		}
	}
	return parts, nil
}

// decodeImageURL splits a data: URL into media type and base64 data, which
// is the form every other vendor takes inline images in; other URLs stay
// URLs.
func decodeImageURL(url, param string) (*llm.Image, error) {
	rest, ok := strings.CutPrefix(url, "data:")
	if !ok {
		return &llm.Image{URL: url}, nil
	}
	meta, data, ok := strings.Cut(rest, ",")
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isBase64 || mediaType == "" {
		return nil, invalid(param, "an image data URL must have the form data:<media type>;base64,<data>")
	}
	return &llm.Image{MediaType: mediaType, Data: data}, nil
}

func decodeToolChoice(raw []byte) (*llm.ToolChoice, error) {
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "none", "auto", "required":
			return &llm.ToolChoice{Mode: mode}, nil
		}
		return nil, invalid("tool_choice", fmt.Sprintf("unknown tool_choice %q", mode))
	}
	var c struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return nil, invalid("tool_choice", "tool_choice must be a string or an object")
	}
	if c.Type != "function" {
		return nil, invalid("tool_choice.type", fmt.Sprintf("tool_choice type %q is not supported for this model", c.Type))
	}
	if c.Function.Name == "" {
		return nil, invalid("tool_choice.function.name", "tool_choice needs a function name")
	}
	return &llm.ToolChoice{Mode: "tool", Name: c.Function.Name}, nil
}

func decodeResponseFormat(raw []byte) (*llm.OutputFormat, error) {
	var f wireResponseFormat
	if json.Unmarshal(raw, &f) != nil {
		return nil, invalid("response_format", "response_format must be an object")
	}
	switch f.Type {
	case "text", "json_object":
		return &llm.OutputFormat{Type: f.Type}, nil
	case "json_schema":
		s := f.JSONSchema
		if s == nil || s.Name == "" {
			return nil, invalid("response_format.json_schema.name", "a json_schema response format needs a name")
		}
		return &llm.OutputFormat{Type: f.Type, Name: s.Name, Description: s.Description, Schema: present(s.Schema), Strict: s.Strict != nil && *s.Strict}, nil
	}
	return nil, invalid("response_format.type", fmt.Sprintf("unknown response_format type %q", f.Type))
}
