// Package responseswire translates the OpenAI Responses wire format
// (POST /v1/responses, docs/responses.md) to and from the canonical model in
// package llm, for the gateway's Responses ingress: it decodes client
// requests and encodes answers, whole or streamed.
//
// The Responses API keeps conversations on the server, and its clients
// lean on that: a reasoning item's encrypted_content is what a client
// with store:false replays to keep the model's reasoning. This package
// needs no server state for that; the opaque reasoning state of any vendor
// travels inside encrypted_content in an envelope of the gateway's own
// (see EnvelopePrefix), and comes back canonical on the next request.
package responseswire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
)

// Request is a decoded Responses request: the canonical request and the
// fields the gateway itself acts on, which have no canonical meaning.
type Request struct {
	// Canonical is the request in canonical form; its Dialect is
	// llm.DialectResponses.
	Canonical *llm.Request
	// Store is the client's store flag: true unless it sent store:false.
	Store bool
	// PreviousResponseID is the response whose conversation this request
	// continues, if any. Resolving it is the server's business.
	PreviousResponseID string
	// Include is the client's include list (e.g.
	// "reasoning.encrypted_content").
	Include []string
	// Instructions is the client's instructions, which also open
	// Canonical.System.
	Instructions string
	// Metadata is the client's metadata object, raw, if any.
	Metadata json.RawMessage
	// Input is the client's input as a JSON array of items: a string input
	// becomes one user message item, and every item without an id gets a
	// deterministic one (a hash of its position and bytes, with the prefix
	// of its type: msg_, fc_, fco_, rs_), so that stored input items can
	// be listed by id.
	Input json.RawMessage
	// Body is the raw request body, for a vendor that speaks the Responses
	// API itself.
	Body jsonobj.Object
}

// handled are the top-level fields DecodeRequest translates or the gateway
// acts on; every other field goes to llm.Request.Extra untouched, so that a
// vendor of another dialect names it dropped.
var handled = map[string]bool{
	"model": true, "input": true, "instructions": true, "tools": true,
	"tool_choice": true, "parallel_tool_calls": true, "text": true,
	"reasoning": true, "max_output_tokens": true, "temperature": true,
	"top_p": true, "user": true, "stream": true, "stream_options": true,
	"store": true, "previous_response_id": true, "include": true,
	"background": true, "conversation": true,
}

// DecodeRequest decodes and validates a Responses request body. Errors are
// *llm.Error of kind invalid_request naming the faulty field in Param.
func DecodeRequest(body []byte) (*Request, error) {
	obj, err := jsonobj.Parse(body)
	if err != nil {
		return nil, invalid("", "We could not parse the JSON body of your request: "+err.Error())
	}
	top := map[string]json.RawMessage{}
	for _, f := range obj.Fields {
		if _, dup := top[f.Key]; !dup { // jsonobj.Get finds the first, too
			top[f.Key] = f.Value
		}
	}
	r := &Request{Body: obj, Store: true}
	c := &llm.Request{Dialect: llm.DialectResponses}
	r.Canonical = c

	if !decodeString(top["model"], &c.Model) || c.Model == "" {
		return nil, invalid("model", "model: field required (a non-empty string)")
	}
	if raw := present(top, "background"); raw != nil {
		var bg bool
		if json.Unmarshal(raw, &bg) != nil {
			return nil, invalid("background", "background: must be a boolean")
		}
		if bg {
			return nil, invalid("background", "background: background responses are not supported by the gateway")
		}
	}
	if present(top, "conversation") != nil {
		return nil, invalid("conversation", "conversation: conversation objects are not supported by the gateway; send previous_response_id or the whole input")
	}
	if raw := present(top, "store"); raw != nil && json.Unmarshal(raw, &r.Store) != nil {
		return nil, invalid("store", "store: must be a boolean")
	}
	if raw := present(top, "previous_response_id"); raw != nil && !decodeString(raw, &r.PreviousResponseID) {
		return nil, invalid("previous_response_id", "previous_response_id: must be a string")
	}
	if raw := present(top, "include"); raw != nil && json.Unmarshal(raw, &r.Include) != nil {
		return nil, invalid("include", "include: must be an array of strings")
	}
	if raw := present(top, "instructions"); raw != nil {
		if !decodeString(raw, &r.Instructions) {
			return nil, invalid("instructions", "instructions: must be a string")
		}
		if r.Instructions != "" {
			c.System = append(c.System, llm.Part{Type: llm.PartText, Text: r.Instructions})
		}
	}
	raw := present(top, "input")
	if raw == nil && r.PreviousResponseID == "" {
		return nil, invalid("input", "input: field required")
	}
	if r.Input, err = decodeInput(raw, c); err != nil {
		return nil, err
	}
	if len(c.Messages) == 0 && r.PreviousResponseID == "" {
		return nil, invalid("input", "input: at least one user or assistant item is required")
	}
	if raw := present(top, "tools"); raw != nil {
		if err := decodeTools(raw, c); err != nil {
			return nil, err
		}
	}
	if raw := present(top, "tool_choice"); raw != nil {
		if c.ToolChoice, err = decodeToolChoice(raw); err != nil {
			return nil, err
		}
	}
	if raw := present(top, "parallel_tool_calls"); raw != nil {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil, invalid("parallel_tool_calls", "parallel_tool_calls: must be a boolean")
		}
		c.ParallelToolCalls = &b
	}
	if raw := present(top, "text"); raw != nil {
		if c.Output, err = decodeText(raw); err != nil {
			return nil, err
		}
	}
	if raw := present(top, "reasoning"); raw != nil {
		if c.Reasoning, err = decodeReasoning(raw); err != nil {
			return nil, err
		}
	}
	if raw := present(top, "max_output_tokens"); raw != nil {
		if json.Unmarshal(raw, &c.MaxTokens) != nil || c.MaxTokens < 1 {
			return nil, invalid("max_output_tokens", "max_output_tokens: must be a positive integer")
		}
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"temperature", &c.Temperature}, {"top_p", &c.TopP}} {
		if raw := present(top, f.name); raw != nil && json.Unmarshal(raw, f.dst) != nil {
			return nil, invalid(f.name, f.name+": must be a number")
		}
	}
	if raw := present(top, "user"); raw != nil && !decodeString(raw, &c.User) {
		return nil, invalid("user", "user: must be a string")
	}
	if raw := present(top, "stream"); raw != nil && json.Unmarshal(raw, &c.Stream) != nil {
		return nil, invalid("stream", "stream: must be a boolean")
	}
	if raw := present(top, "metadata"); raw != nil {
		if raw[0] != '{' {
			return nil, invalid("metadata", "metadata: must be an object")
		}
		r.Metadata = raw
	}
	for _, f := range obj.Fields {
		if !handled[f.Key] {
			if c.Extra == nil {
				c.Extra = map[string]json.RawMessage{}
			}
			c.Extra[f.Key] = json.RawMessage(f.Value)
		}
	}
	return r, nil
}

func invalid(param, msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Class: "bad_request", Param: param, Message: msg}
}

// present returns a field that is present and not null.
func present(m map[string]json.RawMessage, k string) json.RawMessage {
	v := bytes.TrimSpace(m[k])
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

func decodeString(raw json.RawMessage, dst *string) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, dst) == nil
}

// inItem is any input item; which fields are set depends on Type.
type inItem struct {
	Type             string          `json:"type"`
	ID               string          `json:"id"`
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	CallID           *string         `json:"call_id"`
	Name             *string         `json:"name"`
	Arguments        *string         `json:"arguments"`
	Output           json.RawMessage `json:"output"`
	Summary          json.RawMessage `json:"summary"`
	EncryptedContent *string         `json:"encrypted_content"`
}

// contentPart is any part of a message's or a tool output's content.
type contentPart struct {
	Type     string  `json:"type"`
	Text     *string `json:"text"`
	Refusal  *string `json:"refusal"`
	ImageURL *string `json:"image_url"`
	FileID   *string `json:"file_id"`
	Detail   string  `json:"detail"`
}

// conversation assembles canonical messages from input items. Consecutive
// items of one side (a reasoning item, a message and function calls of the
// assistant; a user message and function call outputs) form one message.
type conversation struct {
	r     *llm.Request
	calls map[string]string // call_id → name, to name tool results
	// callSigs are signatures of function calls by call_id, from reasoning
	// items, attached to their calls once all items are read.
	callSigs map[string]envelope
	// lastText locates the text part the previous item ended with, for a
	// signature that belongs to it; msg is -1 when there is none.
	lastText struct{ msg, part int }
}

func (cv *conversation) add(role llm.Role, parts ...llm.Part) {
	ms := cv.r.Messages
	if n := len(ms); n > 0 && ms[n-1].Role == role {
		ms[n-1].Parts = append(ms[n-1].Parts, parts...)
		return
	}
	cv.r.Messages = append(ms, llm.Message{Role: role, Parts: parts})
}

// decodeInput decodes input (a string or an array of items, or nil) into
// r's messages and returns the normalised item array.
func decodeInput(raw json.RawMessage, r *llm.Request) (json.RawMessage, error) {
	if raw == nil {
		return json.RawMessage("[]"), nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, invalid("input", "input: must be a string or an array of items")
		}
		r.Messages = append(r.Messages, llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: s}}})
		b := []byte(`{"type":"message","role":"user","content":[{"type":"input_text","text":`)
		b = jsonobj.AppendString(b, s)
		b = append(b, `}]}`...)
		return normaliseItems([]json.RawMessage{b}, []string{"message"}), nil
	}
	var raws []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &raws) != nil {
		return nil, invalid("input", "input: must be a string or an array of items")
	}
	cv := &conversation{r: r, calls: map[string]string{}, callSigs: map[string]envelope{}}
	cv.lastText.msg = -1
	types := make([]string, len(raws))
	for i, ir := range raws {
		at := fmt.Sprintf("input[%d]", i)
		var it inItem
		if t := bytes.TrimSpace(ir); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &it) != nil {
			return nil, invalid(at, at+": must be an item object")
		}
		if it.Type == "" && it.Role != "" {
			it.Type = "message" // the "easy" input message form
		}
		types[i] = it.Type
		prev := cv.lastText
		cv.lastText.msg = -1
		var err error
		switch it.Type {
		case "message":
			err = cv.message(it, at)
		case "function_call":
			err = cv.functionCall(it, at)
		case "function_call_output":
			err = cv.functionCallOutput(it, at)
		case "reasoning":
			err = cv.reasoning(it, at, prev)
		case "":
			err = invalid(at+".type", at+".type: field required")
		case "item_reference":
			err = invalid(at+".type", at+".type: item references are not supported by the gateway; replay the item itself")
		default:
			err = invalid(at+".type", fmt.Sprintf("%s.type: items of type %q are not supported by the gateway (built-in tools are not)", at, it.Type))
		}
		if err != nil {
			return nil, err
		}
	}
	cv.attachCallSignatures()
	return normaliseItems(raws, types), nil
}

// message decodes a message item.
func (cv *conversation) message(it inItem, at string) error {
	var role llm.Role
	switch it.Role {
	case "user":
		role = llm.RoleUser
	case "assistant":
		role = llm.RoleAssistant
	case "system", "developer":
		// The canonical request has one system prompt; these join it in
		// order, after instructions, as the Chat dialect's system messages
		// do (docs/dialects.md).
		parts, err := decodeContent(it.Content, at+".content", false)
		if err != nil {
			return err
		}
		cv.r.System = append(cv.r.System, parts...)
		return nil
	case "":
		return invalid(at+".role", at+".role: field required")
	default:
		return invalid(at+".role", fmt.Sprintf("%s.role: must be \"user\", \"assistant\", \"system\" or \"developer\", not %q", at, it.Role))
	}
	parts, err := decodeContent(it.Content, at+".content", role == llm.RoleUser)
	if err != nil {
		return err
	}
	cv.add(role, parts...)
	if role == llm.RoleAssistant && len(parts) > 0 && parts[len(parts)-1].Type == llm.PartText {
		m := len(cv.r.Messages) - 1
		cv.lastText.msg, cv.lastText.part = m, len(cv.r.Messages[m].Parts)-1
	}
	return nil
}

// decodeContent decodes a message's content: a string or an array of
// parts. images says whether input_image parts are allowed.
func decodeContent(raw json.RawMessage, at string, images bool) ([]llm.Part, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, invalid(at, at+": must be a string or an array of content parts")
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	}
	var cps []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &cps) != nil {
		return nil, invalid(at, at+": must be a string or an array of content parts")
	}
	parts := make([]llm.Part, 0, len(cps))
	for j, cr := range cps {
		p, err := decodePart(cr, fmt.Sprintf("%s[%d]", at, j), images)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func decodePart(raw json.RawMessage, at string, images bool) (llm.Part, error) {
	var cp contentPart
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &cp) != nil {
		return llm.Part{}, invalid(at, at+": must be a content part object")
	}
	switch cp.Type {
	case "input_text", "output_text", "text":
		if cp.Text == nil {
			return llm.Part{}, invalid(at+".text", at+".text: field required")
		}
		return llm.Part{Type: llm.PartText, Text: *cp.Text}, nil
	case "refusal":
		// A replayed refusal is the model's words; the canonical model has
		// no refusal part, and every vendor reads it well as text.
		if cp.Refusal == nil {
			return llm.Part{}, invalid(at+".refusal", at+".refusal: field required")
		}
		return llm.Part{Type: llm.PartText, Text: *cp.Refusal}, nil
	case "input_image":
		if !images {
			return llm.Part{}, invalid(at+".type", at+".type: input_image parts are allowed only in user content and tool outputs")
		}
		if cp.FileID != nil {
			return llm.Part{}, invalid(at+".file_id", at+".file_id: file ids are not supported by the gateway; send image_url (an https or data: URL)")
		}
		if cp.ImageURL == nil || *cp.ImageURL == "" {
			return llm.Part{}, invalid(at+".image_url", at+".image_url: field required")
		}
		img, err := decodeImageURL(*cp.ImageURL, at+".image_url")
		if err != nil {
			return llm.Part{}, err
		}
		img.Detail = cp.Detail
		return llm.Part{Type: llm.PartImage, Image: img}, nil
	case "input_file":
		return llm.Part{}, invalid(at+".type", at+".type: input_file parts are not supported by the gateway")
	case "":
		return llm.Part{}, invalid(at+".type", at+".type: field required")
	}
	return llm.Part{}, invalid(at+".type", fmt.Sprintf("%s.type: content parts of type %q are not supported by the gateway", at, cp.Type))
}

// decodeImageURL splits a data: URL into media type and base64 data, the
// form every other vendor takes inline images in; other URLs stay URLs.
func decodeImageURL(url, param string) (*llm.Image, error) {
	rest, ok := strings.CutPrefix(url, "data:")
	if !ok {
		return &llm.Image{URL: url}, nil
	}
	meta, data, ok := strings.Cut(rest, ",")
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isBase64 || mediaType == "" {
		return nil, invalid(param, param+": an image data URL must have the form data:<media type>;base64,<data>")
	}
	return &llm.Image{MediaType: mediaType, Data: data}, nil
}

func (cv *conversation) functionCall(it inItem, at string) error {
	if it.CallID == nil || *it.CallID == "" {
		return invalid(at+".call_id", at+".call_id: field required")
	}
	if it.Name == nil || *it.Name == "" {
		return invalid(at+".name", at+".name: field required")
	}
	args := "{}"
	if it.Arguments != nil && strings.TrimSpace(*it.Arguments) != "" {
		args = *it.Arguments
	}
	cv.calls[*it.CallID] = *it.Name
	cv.add(llm.RoleAssistant, llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: *it.CallID, Name: *it.Name, Arguments: args}})
	return nil
}

func (cv *conversation) functionCallOutput(it inItem, at string) error {
	if it.CallID == nil || *it.CallID == "" {
		return invalid(at+".call_id", at+".call_id: field required")
	}
	out := bytes.TrimSpace(it.Output)
	if len(out) == 0 || string(out) == "null" {
		return invalid(at+".output", at+".output: field required")
	}
	content, err := decodeContent(out, at+".output", true)
	if err != nil {
		return err
	}
	cv.add(llm.RoleUser, llm.Part{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{
		CallID: *it.CallID, Name: cv.calls[*it.CallID], Content: content,
	}})
	return nil
}

type summaryPart struct {
	Type string  `json:"type"`
	Text *string `json:"text"`
}

// reasoning decodes a reasoning item: its summary (or raw reasoning
// content) is the reasoning text, and encrypted_content the opaque state,
// in the gateway's envelope or OpenAI's own (docs/responses.md).
// prevText is where the previous item's last text part is.
func (cv *conversation) reasoning(it inItem, at string, prevText struct{ msg, part int }) error {
	text, err := joinTexts(it.Summary, at+".summary", "summary_text")
	if err != nil {
		return err
	}
	if text == "" {
		if text, err = joinTexts(it.Content, at+".content", "reasoning_text"); err != nil {
			return err
		}
	}
	enc := ""
	if it.EncryptedContent != nil {
		enc = *it.EncryptedContent
	}
	p := llm.Part{Type: llm.PartReasoning, Text: text}
	env, sealed, err := openEnvelope(enc)
	switch {
	case err != nil:
		return invalid(at+".encrypted_content", at+".encrypted_content: the gateway's reasoning envelope is damaged")
	case sealed && env.Signature == "" && env.Redacted == "":
		return invalid(at+".encrypted_content", at+".encrypted_content: the gateway's reasoning envelope is incomplete")
	case sealed && env.CallID != "":
		cv.callSigs[env.CallID] = env
	case sealed && env.Text:
		if prevText.msg >= 0 {
			tp := &cv.r.Messages[prevText.msg].Parts[prevText.part]
			tp.Signature, tp.Origin = env.Signature, env.Origin
		} else {
			// The text it signed is gone; a signature-only reasoning part
			// still replays it (as the Gemini adapter decodes one).
			p.Signature, p.Origin = env.Signature, env.Origin
		}
	case sealed:
		p.Signature, p.Redacted, p.Origin = env.Signature, env.Redacted, env.Origin
		if p.Redacted != "" {
			p.Text = ""
		}
	case enc != "":
		p.Signature, p.Origin = enc, OriginOpenAI
	}
	if p.Text == "" && p.Signature == "" && p.Redacted == "" {
		return nil // nothing to replay
	}
	cv.add(llm.RoleAssistant, p)
	return nil
}

// joinTexts joins the texts of a summary or reasoning content array with
// blank lines; a single part is kept exactly.
func joinTexts(raw json.RawMessage, at, typ string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var ps []summaryPart
	if raw[0] != '[' || json.Unmarshal(raw, &ps) != nil {
		return "", invalid(at, at+": must be an array of "+typ+" parts")
	}
	texts := make([]string, 0, len(ps))
	for j, p := range ps {
		if p.Text == nil {
			pat := fmt.Sprintf("%s[%d].text", at, j)
			return "", invalid(pat, pat+": field required")
		}
		texts = append(texts, *p.Text)
	}
	return strings.Join(texts, "\n\n"), nil
}

// attachCallSignatures gives function calls the signatures their
// reasoning items carried.
func (cv *conversation) attachCallSignatures() {
	if len(cv.callSigs) == 0 {
		return
	}
	for _, m := range cv.r.Messages {
		for _, p := range m.Parts {
			if tc := p.ToolCall; tc != nil {
				if env, ok := cv.callSigs[tc.ID]; ok {
					tc.Signature, tc.Origin = env.Signature, env.Origin
				}
			}
		}
	}
}

var idPrefix = map[string]string{
	"message": "msg_", "function_call": "fc_", "function_call_output": "fco_", "reasoning": "rs_",
}

// normaliseItems returns the items as one array, each with an id. An id
// made here hashes the item's position and bytes, so the same request
// always yields the same ids.
func normaliseItems(raws []json.RawMessage, types []string) json.RawMessage {
	out := []byte{'['}
	for i, raw := range raws {
		if i > 0 {
			out = append(out, ',')
		}
		o, err := jsonobj.Parse(raw)
		if err != nil { // cannot happen: the items were decoded
			out = append(out, raw...)
			continue
		}
		if id, _ := o.String("id"); id == "" {
			h := sha256.Sum256(append(strconv.AppendInt(nil, int64(i), 10), raw...))
			o.SetString("id", idPrefix[types[i]]+hex.EncodeToString(h[:12]))
		}
		out = o.AppendTo(out)
	}
	return append(out, ']')
}

type wireTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

func decodeTools(raw json.RawMessage, r *llm.Request) error {
	var tools []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &tools) != nil {
		return invalid("tools", "tools: must be an array of tool objects")
	}
	for i, tr := range tools {
		at := fmt.Sprintf("tools[%d]", i)
		var t wireTool
		if b := bytes.TrimSpace(tr); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &t) != nil {
			return invalid(at, at+": must be a tool object")
		}
		switch t.Type {
		case "function":
		case "":
			return invalid(at+".type", at+".type: field required")
		default:
			return invalid(at+".type", fmt.Sprintf("%s.type: built-in tools (%q) are not supported by the gateway; declare a function tool", at, t.Type))
		}
		if t.Name == "" {
			return invalid(at+".name", at+".name: field required")
		}
		params := bytes.TrimSpace(t.Parameters)
		if string(params) == "null" {
			params = nil
		}
		if len(params) > 0 && params[0] != '{' {
			return invalid(at+".parameters", at+".parameters: must be a JSON Schema object")
		}
		r.Tools = append(r.Tools, llm.Tool{
			Name: t.Name, Description: t.Description, Parameters: json.RawMessage(params),
			Strict: t.Strict != nil && *t.Strict,
		})
	}
	return nil
}

func decodeToolChoice(raw json.RawMessage) (*llm.ToolChoice, error) {
	var mode string
	if decodeString(raw, &mode) {
		switch mode {
		case "auto", "none", "required":
			return &llm.ToolChoice{Mode: mode}, nil
		}
		return nil, invalid("tool_choice", fmt.Sprintf("tool_choice: must be \"auto\", \"none\", \"required\" or an object, not %q", mode))
	}
	var tc struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &tc) != nil {
		return nil, invalid("tool_choice", "tool_choice: must be a string or an object")
	}
	switch tc.Type {
	case "function":
		if tc.Name == "" {
			return nil, invalid("tool_choice.name", "tool_choice.name: field required")
		}
		return &llm.ToolChoice{Mode: "tool", Name: tc.Name}, nil
	case "":
		return nil, invalid("tool_choice.type", "tool_choice.type: field required")
	case "allowed_tools":
		return nil, invalid("tool_choice.type", "tool_choice.type: allowed_tools is not supported by the gateway")
	}
	return nil, invalid("tool_choice.type", fmt.Sprintf("tool_choice.type: built-in tools (%q) are not supported by the gateway", tc.Type))
}

func decodeText(raw json.RawMessage) (*llm.OutputFormat, error) {
	var t struct {
		Format json.RawMessage `json:"format"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &t) != nil {
		return nil, invalid("text", "text: must be an object")
	}
	fr := bytes.TrimSpace(t.Format)
	if len(fr) == 0 || string(fr) == "null" {
		return nil, nil
	}
	var f struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	}
	if fr[0] != '{' || json.Unmarshal(fr, &f) != nil {
		return nil, invalid("text.format", "text.format: must be an object")
	}
	switch f.Type {
	case "text", "json_object":
		return &llm.OutputFormat{Type: f.Type}, nil
	case "json_schema":
		if f.Name == "" {
			return nil, invalid("text.format.name", "text.format.name: field required")
		}
		schema := bytes.TrimSpace(f.Schema)
		if len(schema) == 0 || schema[0] != '{' {
			return nil, invalid("text.format.schema", "text.format.schema: must be a JSON Schema object")
		}
		return &llm.OutputFormat{Type: f.Type, Name: f.Name, Description: f.Description, Schema: json.RawMessage(schema), Strict: f.Strict != nil && *f.Strict}, nil
	case "":
		return nil, invalid("text.format.type", "text.format.type: field required")
	}
	return nil, invalid("text.format.type", fmt.Sprintf("text.format.type: must be \"text\", \"json_object\" or \"json_schema\", not %q", f.Type))
}

var efforts = map[string]bool{"none": true, "minimal": true, "low": true, "medium": true, "high": true, "xhigh": true}

func decodeReasoning(raw json.RawMessage) (*llm.Reasoning, error) {
	var w struct {
		Effort          *string `json:"effort"`
		Summary         *string `json:"summary"`
		GenerateSummary *string `json:"generate_summary"` // the older name
	}
	if raw[0] != '{' || json.Unmarshal(raw, &w) != nil {
		return nil, invalid("reasoning", "reasoning: must be an object")
	}
	rs := &llm.Reasoning{}
	if w.Effort != nil {
		if !efforts[*w.Effort] {
			return nil, invalid("reasoning.effort", fmt.Sprintf("reasoning.effort: must be one of none, minimal, low, medium, high, xhigh, not %q", *w.Effort))
		}
		rs.Effort = *w.Effort
	}
	if w.Summary == nil {
		w.Summary = w.GenerateSummary
	}
	if w.Summary != nil {
		switch *w.Summary {
		case "auto", "concise", "detailed":
			rs.Summary = *w.Summary
		default:
			return nil, invalid("reasoning.summary", fmt.Sprintf("reasoning.summary: must be \"auto\", \"concise\" or \"detailed\", not %q", *w.Summary))
		}
	}
	if *rs == (llm.Reasoning{}) {
		return nil, nil
	}
	return rs, nil
}
