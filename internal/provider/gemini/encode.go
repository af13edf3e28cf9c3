package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// The request body, in Gemini's field names. Parts are written with only
// the fields they use; Text is a pointer because a signed part may carry
// an empty text that must be sent as it came.
type (
	wireRequest struct {
		Contents          []content         `json:"contents"`
		SystemInstruction *content          `json:"systemInstruction,omitempty"`
		Tools             []wireTool        `json:"tools,omitempty"`
		ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
		GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
	}
	content struct {
		Role  string `json:"role,omitempty"`
		Parts []part `json:"parts"`
	}
	part struct {
		Text             *string       `json:"text,omitempty"`
		Thought          bool          `json:"thought,omitempty"`
		InlineData       *blob         `json:"inlineData,omitempty"`
		FileData         *fileData     `json:"fileData,omitempty"`
		FunctionCall     *functionCall `json:"functionCall,omitempty"`
		FunctionResponse *functionResp `json:"functionResponse,omitempty"`
		ThoughtSignature string        `json:"thoughtSignature,omitempty"`
	}
	blob struct {
		MimeType string `json:"mimeType"`
		Data     string `json:"data"`
	}
	fileData struct {
		MimeType string `json:"mimeType,omitempty"`
		FileURI  string `json:"fileUri"`
	}
	functionCall struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	}
	functionResp struct {
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
	}
	wireTool struct {
		FunctionDeclarations []functionDecl `json:"functionDeclarations"`
	}
	functionDecl struct {
		Name                 string          `json:"name"`
		Description          string          `json:"description,omitempty"`
		Parameters           json.RawMessage `json:"parameters,omitempty"`
		ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
	}
	toolConfig struct {
		FunctionCallingConfig functionCallingConfig `json:"functionCallingConfig"`
	}
	functionCallingConfig struct {
		Mode                 string   `json:"mode"`
		AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
	}
	generationConfig struct {
		Temperature        *float64        `json:"temperature,omitempty"`
		TopP               *float64        `json:"topP,omitempty"`
		TopK               *int            `json:"topK,omitempty"`
		MaxOutputTokens    int             `json:"maxOutputTokens,omitempty"`
		StopSequences      []string        `json:"stopSequences,omitempty"`
		Seed               *int64          `json:"seed,omitempty"`
		ResponseMimeType   string          `json:"responseMimeType,omitempty"`
		ResponseSchema     json.RawMessage `json:"responseSchema,omitempty"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
		ThinkingConfig     *thinkingConfig `json:"thinkingConfig,omitempty"`
	}
	thinkingConfig struct {
		ThinkingBudget  *int   `json:"thinkingBudget,omitempty"`
		ThinkingLevel   string `json:"thinkingLevel,omitempty"`
		IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	}
)

type encodeOptions struct {
	// legacySchema sends sanitized OpenAPI-subset schemas in parameters
	// and responseSchema instead of JSON Schema.
	legacySchema bool
}

// EncodeRequest writes r as a Gemini generateContent body for the model
// r.Model names (a "provider/" prefix is ignored; it only steers the
// thinking configuration). It returns the request fields it could not
// carry, for the x-switchyard-dropped-params header, and an
// *llm.Error (invalid_request, naming the field) for content Gemini cannot
// accept, such as an https image URL: nothing is dropped silently.
//
// Reasoning maps to thinkingConfig as follows, with includeThoughts set
// whenever thinking is on so that thought summaries come back as
// reasoning parts:
//
//   - BudgetTokens n: thinkingBudget n.
//   - Disabled or Effort "none": thinkingBudget 0.
//   - Adaptive: thinkingBudget -1 (Gemini's dynamic thinking) on Gemini
//     1.x/2.x models; on later models the level is left to the model.
//   - Effort on Gemini 1.x/2.x models (budget only): minimal 512, low 1024,
//     medium 8192, high, xhigh and max 24576 (every 2.5 model accepts
//     these).
//   - Effort on later models: thinkingLevel "low" for minimal and low,
//     "high" for medium and above (the two levels every Gemini 3 model
//     accepts).
func EncodeRequest(r *llm.Request) (body []byte, dropped []string, err error) {
	model := r.Model
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		model = model[i+1:]
	}
	return encode(r, model, encodeOptions{})
}

func encode(r *llm.Request, model string, opt encodeOptions) ([]byte, []string, error) {
	var w wireRequest
	var dropped []string

	var sys []part
	for _, p := range r.System {
		if p.Type == llm.PartText && p.Text != "" {
			sys = append(sys, textPart(p.Text))
		}
	}
	if len(sys) > 0 {
		w.SystemInstruction = &content{Parts: sys}
	}

	contents, err := encodeMessages(r.Messages)
	if err != nil {
		return nil, nil, err
	}
	if !budgetModel(model) {
		signUnsignedCalls(contents)
	}
	w.Contents = contents

	if len(r.Tools) > 0 {
		decls := make([]functionDecl, 0, len(r.Tools))
		for i, t := range r.Tools {
			d := functionDecl{Name: t.Name, Description: t.Description}
			if len(bytes.TrimSpace(t.Parameters)) > 0 && !isNull(t.Parameters) {
				param := fmt.Sprintf("tools[%d].parameters", i)
				if opt.legacySchema {
					s, err := SanitizeSchema(t.Parameters)
					if err != nil {
						return nil, nil, invalid(param, "tool %q: %v", t.Name, err)
					}
					d.Parameters = s
				} else {
					if !isObject(t.Parameters) {
						return nil, nil, invalid(param, "tool %q: parameters must be a JSON Schema object", t.Name)
					}
					d.ParametersJSONSchema = compact(t.Parameters)
				}
			}
			decls = append(decls, d)
		}
		w.Tools = []wireTool{{FunctionDeclarations: decls}}
	}
	if tc := r.ToolChoice; tc != nil {
		var fc functionCallingConfig
		switch tc.Mode {
		case "auto", "":
			fc.Mode = "AUTO"
		case "none":
			fc.Mode = "NONE"
		case "required":
			fc.Mode = "ANY"
		case "tool":
			fc.Mode = "ANY"
			fc.AllowedFunctionNames = []string{tc.Name}
		default:
			return nil, nil, invalid("tool_choice", "unknown tool choice mode %q", tc.Mode)
		}
		w.ToolConfig = &toolConfig{FunctionCallingConfig: fc}
	}
	if r.ParallelToolCalls != nil && !*r.ParallelToolCalls {
		// Gemini cannot be told to call one tool at a time.
		dropped = append(dropped, "parallel_tool_calls")
	}

	var gc generationConfig
	gc.Temperature, gc.TopP, gc.TopK, gc.Seed = r.Temperature, r.TopP, r.TopK, r.Seed
	gc.MaxOutputTokens = r.MaxTokens
	gc.StopSequences = r.Stop
	if o := r.Output; o != nil {
		switch o.Type {
		case "", "text":
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if len(bytes.TrimSpace(o.Schema)) > 0 {
				if opt.legacySchema {
					s, err := SanitizeSchema(o.Schema)
					if err != nil {
						return nil, nil, invalid("output.schema", "%v", err)
					}
					gc.ResponseSchema = s
				} else {
					if !isObject(o.Schema) {
						return nil, nil, invalid("output.schema", "the output schema must be a JSON Schema object")
					}
					gc.ResponseJSONSchema = compact(o.Schema)
				}
			}
		default:
			return nil, nil, invalid("output", "unknown output format %q", o.Type)
		}
	}
	gc.ThinkingConfig = thinking(r.Reasoning, model)
	if gc.Temperature != nil || gc.TopP != nil || gc.TopK != nil || gc.Seed != nil ||
		gc.MaxOutputTokens != 0 || len(gc.StopSequences) > 0 || gc.ResponseMimeType != "" || gc.ThinkingConfig != nil {
		w.GenerationConfig = &gc
	}

	if r.User != "" {
		dropped = append(dropped, "user")
	}
	if r.UsesCacheControl() {
		// Gemini caches through cachedContent objects, not markers.
		dropped = append(dropped, "cache_control")
	}
	// Gemini speaks no client dialect: the client's vendor-specific fields
	// and headers have nowhere to go.
	extra := make([]string, 0, len(r.Extra)+len(r.Header))
	for k := range r.Extra {
		extra = append(extra, k)
	}
	for k := range r.Header {
		extra = append(extra, strings.ToLower(k))
	}
	sort.Strings(extra)
	dropped = append(dropped, extra...)

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		// Every raw field was validated above, so this is a bug.
		return nil, nil, &llm.Error{Kind: llm.KindServer, Class: "internal", Message: "internal error encoding the gemini request"}
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), dropped, nil
}

// encodeMessages writes the conversation as Gemini contents: roles user
// and model, consecutive turns of one role merged (Gemini wants them
// alternating, and every tool result of a turn in one user turn:
// see docs/protocols.md#trap-tool-results), and turns left without parts
// omitted.
func encodeMessages(msgs []llm.Message) ([]content, error) {
	// Gemini matches results to calls by name; clients often give only the
	// call id, so names are looked up from the calls seen so far.
	callNames := map[string]string{}
	var out []content
	for i, m := range msgs {
		var role string
		switch m.Role {
		case llm.RoleUser:
			role = "user"
		case llm.RoleAssistant:
			role = "model"
		default:
			return nil, invalid(fmt.Sprintf("messages[%d].role", i), "unknown role %q", m.Role)
		}
		var parts, trailing []part
		for j, p := range m.Parts {
			param := fmt.Sprintf("messages[%d].parts[%d]", i, j)
			switch p.Type {
			case llm.PartText:
				gp := textPart(p.Text)
				if p.Origin == Type {
					gp.ThoughtSignature = p.Signature
				}
				if p.Text == "" && gp.ThoughtSignature == "" {
					continue
				}
				parts = append(parts, gp)
			case llm.PartReasoning:
				// Only Gemini's own thoughts go back, with their signatures
				// byte for byte; another vendor's reasoning means nothing
				// to Gemini (docs/protocols.md#trap-signatures).
				if p.Origin != Type || (p.Text == "" && p.Signature == "") {
					continue
				}
				gp := textPart(p.Text)
				gp.Thought = p.Text != ""
				gp.ThoughtSignature = p.Signature
				parts = append(parts, gp)
			case llm.PartImage:
				gp, err := imagePart(p.Image, param+".image")
				if err != nil {
					return nil, err
				}
				parts = append(parts, gp)
			case llm.PartToolCall:
				tc := p.ToolCall
				if tc == nil {
					return nil, invalid(param, "tool call part without a tool call")
				}
				args, err := callArgs(tc.Arguments)
				if err != nil {
					return nil, invalid(param+".tool_call.arguments", "tool call %q: arguments must be a JSON object", tc.Name)
				}
				callNames[tc.ID] = tc.Name
				gp := part{FunctionCall: &functionCall{Name: tc.Name, Args: args}}
				if tc.Origin == Type {
					// Gemini 3 refuses a replayed call without its
					// signature (docs/protocols.md#trap-gemini-thought-signature).
					gp.ThoughtSignature = tc.Signature
				}
				parts = append(parts, gp)
			case llm.PartToolResult:
				tr := p.ToolResult
				if tr == nil {
					return nil, invalid(param, "tool result part without a tool result")
				}
				name := tr.Name
				if name == "" {
					name = callNames[tr.CallID]
				}
				if name == "" {
					return nil, invalid(param+".tool_result.call_id", "tool result for call %q: no earlier tool call has that id, and Gemini needs the tool's name", tr.CallID)
				}
				resp, images, err := resultResponse(tr, param)
				if err != nil {
					return nil, err
				}
				parts = append(parts, part{FunctionResponse: &functionResp{Name: name, Response: resp}})
				// Images a tool returned follow the responses in the same
				// turn: every Gemini version accepts them there.
				trailing = append(trailing, images...)
			default:
				return nil, invalid(param+".type", "unknown part type %q", p.Type)
			}
		}
		parts = append(parts, trailing...)
		if len(parts) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Parts = append(out[n-1].Parts, parts...)
			continue
		}
		out = append(out, content{Role: role, Parts: parts})
	}
	// Function responses go first in a merged user turn, as Gemini pairs
	// them with the preceding model turn's calls.
	for i := range out {
		if out[i].Role == "user" {
			slices.SortStableFunc(out[i].Parts, func(a, b part) int {
				return boolRank(a.FunctionResponse == nil) - boolRank(b.FunctionResponse == nil)
			})
		}
	}
	return out, nil
}

// skipSignature is the value Google documents for a functionCall whose
// thought signature is lost or never existed (calls another vendor made,
// in a conversation that moved to Gemini): Gemini 3 then skips the check
// instead of refusing the request.
const skipSignature = "skip_thought_signature_validator"

// signUnsignedCalls gives the first call of each model turn that has no
// signed call the skip signature. Gemini 3 validates the signature of the
// first call in each model turn (the one its own parallel calls carry).
func signUnsignedCalls(contents []content) {
	for _, c := range contents {
		if c.Role != "model" {
			continue
		}
		first := -1
		for i, p := range c.Parts {
			if p.FunctionCall == nil {
				continue
			}
			if p.ThoughtSignature != "" {
				first = -1
				break
			}
			if first < 0 {
				first = i
			}
		}
		if first >= 0 {
			c.Parts[first].ThoughtSignature = skipSignature
		}
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func textPart(s string) part { return part{Text: &s} }

// imagePart writes an image as inline data, or as a file reference for the
// URIs Gemini can read itself. Gemini cannot fetch web URLs.
func imagePart(img *llm.Image, param string) (part, error) {
	if img == nil {
		return part{}, invalid(param, "image part without an image")
	}
	if img.Data != "" {
		if img.MediaType == "" {
			return part{}, invalid(param+".media_type", "an inline image needs its media type")
		}
		return part{InlineData: &blob{MimeType: img.MediaType, Data: img.Data}}, nil
	}
	u := img.URL
	switch {
	case strings.HasPrefix(u, "data:"):
		meta, data, ok := strings.Cut(u[len("data:"):], ",")
		mt, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || mt == "" || data == "" {
			return part{}, invalid(param+".url", "a data: URL must be base64 with a media type (data:image/png;base64,…)")
		}
		return part{InlineData: &blob{MimeType: mt, Data: data}}, nil
	case strings.HasPrefix(u, "gs://"),
		strings.HasPrefix(u, "https://generativelanguage.googleapis.com/"):
		mt := img.MediaType
		if mt == "" {
			mt = mime.TypeByExtension(path.Ext(u))
			mt, _, _ = strings.Cut(mt, ";")
		}
		return part{FileData: &fileData{MimeType: mt, FileURI: u}}, nil
	case u == "":
		return part{}, invalid(param, "an image needs data or a URL")
	}
	return part{}, invalid(param+".url", "provider type gemini cannot fetch image URLs: send the image as base64 data or a data: URL (gs:// and Gemini Files API URIs are passed through)")
}

// callArgs checks that a tool call's arguments are a JSON object.
func callArgs(s string) (json.RawMessage, error) {
	if strings.TrimSpace(s) == "" {
		return json.RawMessage("{}"), nil
	}
	if !isObject([]byte(s)) {
		return nil, fmt.Errorf("not a JSON object")
	}
	return compact([]byte(s)), nil
}

// resultResponse builds a functionResponse's response object: the result's
// text when that is a JSON object, else {"result": text} (or {"error":
// text} for a failed call), since Gemini accepts only objects. Image
// content is returned separately.
func resultResponse(tr *llm.ToolResult, param string) (json.RawMessage, []part, error) {
	var text strings.Builder
	var images []part
	for k, c := range tr.Content {
		switch c.Type {
		case llm.PartText:
			text.WriteString(c.Text)
		case llm.PartImage:
			img, err := imagePart(c.Image, fmt.Sprintf("%s.tool_result.content[%d].image", param, k))
			if err != nil {
				return nil, nil, err
			}
			images = append(images, img)
		default:
			return nil, nil, invalid(fmt.Sprintf("%s.tool_result.content[%d].type", param, k), "a tool result may hold only text and images, not %q", c.Type)
		}
	}
	s := text.String()
	if isObject([]byte(s)) && !tr.IsError {
		return compact([]byte(s)), images, nil
	}
	key := "result"
	if tr.IsError {
		key = "error"
	}
	v, _ := json.Marshal(map[string]string{key: s})
	return v, images, nil
}

// thinking maps canonical reasoning settings to thinkingConfig; see
// EncodeRequest for the table.
func thinking(r *llm.Reasoning, model string) *thinkingConfig {
	if r == nil {
		return nil
	}
	budget := func(n int) *thinkingConfig { return &thinkingConfig{ThinkingBudget: &n, IncludeThoughts: n != 0} }
	budgetOnly := budgetModel(model)
	switch {
	case r.Disabled || r.Effort == "none":
		return budget(0)
	case r.BudgetTokens > 0:
		return budget(r.BudgetTokens)
	case r.Effort != "" && budgetOnly:
		switch r.Effort {
		case "minimal":
			return budget(512)
		case "low":
			return budget(1024)
		case "medium":
			return budget(8192)
		default:
			return budget(24576)
		}
	case r.Effort != "":
		switch r.Effort {
		case "minimal", "low":
			return &thinkingConfig{ThinkingLevel: "low", IncludeThoughts: true}
		default:
			return &thinkingConfig{ThinkingLevel: "high", IncludeThoughts: true}
		}
	case r.Adaptive && budgetOnly:
		return budget(-1)
	}
	return &thinkingConfig{IncludeThoughts: true}
}

// budgetModel reports whether model predates thinkingLevel (Gemini 1.x and
// 2.x, which take only thinkingBudget).
func budgetModel(model string) bool {
	model = strings.TrimPrefix(model, "models/")
	return strings.HasPrefix(model, "gemini-1") || strings.HasPrefix(model, "gemini-2")
}

func invalid(param, format string, args ...any) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Class: "bad_request", Param: param,
		Message: fmt.Sprintf("%s: %s", param, fmt.Sprintf(format, args...))}
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// compact removes insignificant space from valid JSON, leaving every value
// as the client wrote it.
func compact(b []byte) json.RawMessage {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return json.RawMessage(b)
	}
	return out.Bytes()
}
