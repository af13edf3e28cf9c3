package llm

import "encoding/json"

// This file is the canonical request: the one shape every ingress dialect
// decodes into and every provider adapter encodes from. It is block-shaped,
// like Anthropic Messages and OpenAI Responses, so that each dialect maps
// into it without loss: N dialects and M vendors need N + M translators,
// never N × M.
//
// The JSON tags exist for golden files and logs, not for any wire format.

// Role is who wrote a message. Tool results are parts of a user message (as
// in Anthropic Messages and Gemini), so there is no "tool" role; system
// prompts live in Request.System.
type Role string

const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Dialect names a client wire format.
type Dialect string

const (
	DialectOpenAI    Dialect = "openai"    // OpenAI Chat Completions
	DialectAnthropic Dialect = "anthropic" // Anthropic Messages
	DialectResponses Dialect = "responses" // OpenAI Responses
)

// Request is a chat request in canonical form.
type Request struct {
	Model    string    `json:"model"`
	System   []Part    `json:"system,omitempty"` // text parts only
	Messages []Message `json:"messages"`

	Tools      []Tool      `json:"tools,omitempty"`
	ToolChoice *ToolChoice `json:"tool_choice,omitempty"`
	// ParallelToolCalls is the client's explicit choice, if it made one.
	ParallelToolCalls *bool `json:"parallel_tool_calls,omitempty"`

	// MaxTokens bounds the output; 0 means the client did not say.
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	TopK        *int     `json:"top_k,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
	Stop        []string `json:"stop,omitempty"`

	Output    *OutputFormat `json:"output,omitempty"`
	Reasoning *Reasoning    `json:"reasoning,omitempty"`

	Stream bool `json:"stream,omitempty"`
	// User identifies the client's end user, if it said.
	User string `json:"user,omitempty"`

	// Dialect is the wire format the client spoke. Extra and Header belong
	// to it: a provider that speaks the same dialect forwards them; any
	// other drops them and names each dropped field in the
	// x-switchyard-dropped-params response header.
	Dialect Dialect `json:"dialect,omitempty"`
	// Extra holds the client's top-level fields that have no canonical
	// meaning (e.g. OpenAI's logit_bias, Anthropic's metadata), raw.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
	// Header holds client headers meant for a vendor of the client's own
	// dialect (e.g. anthropic-beta), canonicalised names.
	Header map[string][]string `json:"header,omitempty"`
}

// Message is one turn of the conversation.
type Message struct {
	Role  Role   `json:"role"`
	Parts []Part `json:"parts"`
}

// PartType is the kind of a content part.
type PartType string

const (
	PartText       PartType = "text"
	PartImage      PartType = "image"
	PartToolCall   PartType = "tool_call"
	PartToolResult PartType = "tool_result"
	PartReasoning  PartType = "reasoning"
)

// Part is one block of a message or response. Which fields are set depends
// on Type; the others are zero.
type Part struct {
	Type PartType `json:"type"`

	// Text is the text of a text part, or the reasoning text of a
	// reasoning part (possibly empty when the vendor returned only a
	// signature).
	Text string `json:"text,omitempty"`

	Image      *Image      `json:"image,omitempty"`
	ToolCall   *ToolCall   `json:"tool_call,omitempty"`
	ToolResult *ToolResult `json:"tool_result,omitempty"`

	// Signature is opaque vendor state that must be replayed byte-exact:
	// Anthropic's thinking signature, or Gemini's thoughtSignature on a
	// text or thought part. Origin says which vendor family made it; it is
	// sent back only to that family (docs/protocols.md#trap-signatures).
	Signature string `json:"signature,omitempty"`
	// Redacted is the data of an Anthropic redacted_thinking block, byte
	// for byte. A reasoning part with Redacted set has no Text.
	Redacted string `json:"redacted,omitempty"`
	// Origin is the provider type that produced Signature or Redacted
	// ("anthropic", "gemini").
	Origin string `json:"origin,omitempty"`

	// CacheControl is Anthropic's cache_control marker, raw; only an
	// Anthropic provider sends it.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// Image is an image input: a URL (https or data:) or inline base64 data.
type Image struct {
	URL       string `json:"url,omitempty"`
	MediaType string `json:"media_type,omitempty"` // with Data
	Data      string `json:"data,omitempty"`       // base64, without a data: prefix
	Detail    string `json:"detail,omitempty"`     // OpenAI's "auto", "low", "high"
}

// ToolCall is a call the model made.
type ToolCall struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments is the arguments as JSON object text, exactly as the vendor
	// produced them ("{}" when there are none).
	Arguments string `json:"arguments"`
	// Signature is Gemini's thoughtSignature for this call; Origin as for
	// Part.
	Signature string `json:"signature,omitempty"`
	Origin    string `json:"origin,omitempty"`
}

// ToolResult is the answer to a tool call, sent back by the client.
type ToolResult struct {
	CallID string `json:"call_id"`
	// Name is the called tool's name when known; Gemini matches results by
	// name, so decoders fill it from the call when the dialect omits it.
	Name    string `json:"name,omitempty"`
	Content []Part `json:"content"` // text and image parts
	IsError bool   `json:"is_error,omitempty"`
}

// Tool is a function the model may call.
type Tool struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the arguments, raw.
	Parameters   json.RawMessage `json:"parameters,omitempty"`
	Strict       bool            `json:"strict,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// ToolChoice says whether and which tools the model must call.
type ToolChoice struct {
	// Mode is "auto", "none", "required" (any tool) or "tool" (Name).
	Mode string `json:"mode"`
	Name string `json:"name,omitempty"`
}

// OutputFormat asks for structured output.
type OutputFormat struct {
	// Type is "text", "json_object" or "json_schema".
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      bool            `json:"strict,omitempty"`
}

// Reasoning configures the model's thinking.
type Reasoning struct {
	// Effort is "none", "minimal", "low", "medium", "high", "xhigh" or
	// "max"; empty when the client set a budget instead.
	Effort string `json:"effort,omitempty"`
	// BudgetTokens is a thinking token budget; 0 when unset.
	BudgetTokens int `json:"budget_tokens,omitempty"`
	// Disabled is an explicit request for no thinking.
	Disabled bool `json:"disabled,omitempty"`
	// Adaptive is Anthropic's {"type":"adaptive"}.
	Adaptive bool `json:"adaptive,omitempty"`
	// Summary is OpenAI's summary setting or Anthropic's display
	// ("summarized", "omitted"), when given.
	Summary string `json:"summary,omitempty"`
}

// UsesCacheControl reports whether any block, system part or tool carries
// Anthropic's cache_control, so that encoders for other vendors can name
// the marker as dropped.
func (r *Request) UsesCacheControl() bool {
	parts := func(ps []Part) bool {
		for _, p := range ps {
			if len(p.CacheControl) > 0 {
				return true
			}
			if p.ToolResult != nil {
				for _, q := range p.ToolResult.Content {
					if len(q.CacheControl) > 0 {
						return true
					}
				}
			}
		}
		return false
	}
	if parts(r.System) {
		return true
	}
	for _, m := range r.Messages {
		if parts(m.Parts) {
			return true
		}
	}
	for _, t := range r.Tools {
		if len(t.CacheControl) > 0 {
			return true
		}
	}
	return false
}
