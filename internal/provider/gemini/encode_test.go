package gemini_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider/gemini"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

func text(s string) llm.Part { return llm.Part{Type: llm.PartText, Text: s} }

func user(parts ...llm.Part) llm.Message { return llm.Message{Role: llm.RoleUser, Parts: parts} }

func assistant(parts ...llm.Part) llm.Message {
	return llm.Message{Role: llm.RoleAssistant, Parts: parts}
}

func call(id, name, args string) llm.Part {
	return llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: id, Name: name, Arguments: args}}
}

func result(id, content string) llm.Part {
	return llm.Part{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: id, Content: []llm.Part{text(content)}}}
}

func ptr[T any](v T) *T { return &v }

var weatherTool = llm.Tool{
	Name:        "get_weather",
	Description: "Weather for a city.",
	Parameters: json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string"}},
		"required": ["city"], "additionalProperties": false}`),
	Strict: true,
}

// encodeCases are canonical requests whose Gemini bodies are kept in
// testdata/encode.
var encodeCases = []struct {
	name string
	req  llm.Request
}{
	{"system-and-turns", llm.Request{
		Model:  "gemini-2.5-flash",
		System: []llm.Part{text("You are terse."), text(""), text("Answer in French.")},
		Messages: []llm.Message{
			user(text("Hello"), text("")),
			user(text("Are you there?")), // merged with the turn before
			assistant(text(""), text("Oui.")),
			user(text("Merci")),
		},
		Temperature: ptr(0.2), TopP: ptr(0.9), TopK: ptr(40), Seed: ptr(int64(7)),
		MaxTokens: 256, Stop: []string{"END"},
	}},
	{"images", llm.Request{
		Model: "gemini-2.5-flash",
		Messages: []llm.Message{user(
			text("Compare these."),
			llm.Part{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "iVBORw0KGgo="}},
			llm.Part{Type: llm.PartImage, Image: &llm.Image{URL: "data:image/jpeg;base64,/9j/4AAQ"}},
			llm.Part{Type: llm.PartImage, Image: &llm.Image{URL: "gs://bucket/cat.webp"}},
		)},
	}},
	{"tools", llm.Request{
		Model:      "gemini-2.5-flash",
		Messages:   []llm.Message{user(text("Weather in Paris?"))},
		Tools:      []llm.Tool{weatherTool, {Name: "now"}},
		ToolChoice: &llm.ToolChoice{Mode: "tool", Name: "get_weather"},
	}},
	// Parallel results arrive as separate user messages (as OpenAI's tool
	// messages decode); Gemini needs them in one user turn
	// (docs/protocols.md#trap-tool-results),
	// named after their calls.
	{"pitfall14-tool-results-one-turn", llm.Request{
		Model: "gemini-2.5-flash",
		Messages: []llm.Message{
			user(text("Weather in Paris and Rome?")),
			assistant(text("Checking."), call("c1", "get_weather", `{"city": "Paris"}`), call("c2", "get_weather", `{"city":"Rome"}`)),
			user(result("c1", "18C and sunny")),
			user(result("c2", `{"temp_c": 21}`)),
			user(llm.Part{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "c3", Name: "now", IsError: true,
				Content: []llm.Part{text("clock unavailable")}}}),
			user(llm.Part{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "c2", Content: []llm.Part{
				text("radar"), {Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "iVBO"}}}}}),
		},
		Tools: []llm.Tool{weatherTool},
	}},
	// Gemini's own signatures go back on their parts byte for byte
	// (docs/protocols.md#trap-signatures and #trap-gemini-thought-signature);
	// another vendor's reasoning and signatures do not.
	{"pitfall5-signatures", llm.Request{
		Model: "gemini-3-pro-preview",
		Messages: []llm.Message{
			user(text("Which country?")),
			assistant(
				llm.Part{Type: llm.PartReasoning, Text: "Thinking about it.", Origin: "gemini"},
				llm.Part{Type: llm.PartReasoning, Signature: "R0VNSU5JLVNJRw==", Origin: "gemini"},
				llm.Part{Type: llm.PartReasoning, Text: "claude thoughts", Signature: "EqQBCkYIBxgC", Origin: "anthropic"},
				llm.Part{Type: llm.PartReasoning, Redacted: "EmwKAhgBEgy", Origin: "anthropic"},
				llm.Part{Type: llm.PartText, Text: "Let me look.", Signature: "VEVYVC1TSUc=", Origin: "gemini"},
				llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_x_0", Name: "get_country", Arguments: "{}",
					Signature: "Q0FMTC1TSUc=", Origin: "gemini"}},
				llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "toolu_1", Name: "get_capital", Arguments: "",
					Signature: "not-for-gemini", Origin: "anthropic"}},
			),
			user(result("call_x_0", "Mexico"), result("toolu_1", "Mexico City")),
		},
	}},
	{"json-schema-output", llm.Request{
		Model:    "gemini-2.5-flash",
		Messages: []llm.Message{user(text("A city, please."))},
		Output: &llm.OutputFormat{Type: "json_schema", Name: "city", Strict: true,
			Schema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}`)},
	}},
	{"json-object-output", llm.Request{
		Model:    "gemini-2.5-flash",
		Messages: []llm.Message{user(text("JSON, please."))},
		Output:   &llm.OutputFormat{Type: "json_object"},
	}},
	{"reasoning-budget", llm.Request{
		Model:     "gemini-2.5-pro",
		Messages:  []llm.Message{user(text("Think."))},
		Reasoning: &llm.Reasoning{BudgetTokens: 2048},
		MaxTokens: 4096,
	}},
	{"reasoning-effort-gemini-3", llm.Request{
		Model:     "gemini/gemini-3-pro-preview",
		Messages:  []llm.Message{user(text("Think."))},
		Reasoning: &llm.Reasoning{Effort: "high"},
	}},
}

func TestEncodeGolden(t *testing.T) {
	for _, tc := range encodeCases {
		t.Run(tc.name, func(t *testing.T) {
			body, dropped, err := gemini.EncodeRequest(&tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(body) {
				t.Fatalf("invalid JSON: %s", body)
			}
			var b bytes.Buffer
			json.Indent(&b, body, "", "  ")
			b.WriteString("\ndropped: " + strings.Join(dropped, ",") + "\n")
			pt.Golden(t, "encode/"+tc.name+".golden", b.Bytes())
		})
	}
}

// encoded decodes the body EncodeRequest makes for req.
func encoded(t *testing.T, req *llm.Request) map[string]any {
	t.Helper()
	body, _, err := gemini.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPitfall14_AllResultsInOneUserTurn(t *testing.T) {
	req := encodeCases[3].req
	m := encoded(t, &req)
	contents := m["contents"].([]any)
	if len(contents) != 3 {
		t.Fatalf("%d contents, want user, model, user", len(contents))
	}
	last := contents[2].(map[string]any)
	parts := last["parts"].([]any)
	var names []string
	for _, p := range parts {
		p := p.(map[string]any)
		if fr, ok := p["functionResponse"].(map[string]any); ok {
			names = append(names, fr["name"].(string))
		} else {
			names = append(names, "other")
		}
	}
	// Responses first, in call order; the image a tool returned after them.
	if got := strings.Join(names, ","); got != "get_weather,get_weather,now,get_weather,other" {
		t.Errorf("last user turn parts = %s", got)
	}
}

func TestPitfall12_ParametersJSONSchemaPreferred(t *testing.T) {
	req := encodeCases[2].req
	m := encoded(t, &req)
	decl := m["tools"].([]any)[0].(map[string]any)["functionDeclarations"].([]any)[0].(map[string]any)
	if _, ok := decl["parameters"]; ok {
		t.Error("sent parameters; want parametersJsonSchema")
	}
	schema := decl["parametersJsonSchema"].(map[string]any)
	if schema["additionalProperties"] != false {
		t.Errorf("parametersJsonSchema lost additionalProperties: %v", schema)
	}
}

// With a version other than v1beta, from api_version or base_url, schemas
// go in the OpenAPI-subset fields, sanitized
// (docs/protocols.md#trap-gemini-schema).
func TestPitfall12_LegacySchemaSanitized(t *testing.T) {
	byConfig := cfg
	byConfig.APIVersion = "v1"
	byURL := cfg
	byURL.BaseURL = "/v1/"
	for name, c := range map[string]config.Provider{"api_version": byConfig, "base_url": byURL} {
		t.Run(name, func(t *testing.T) {
			req := encodeCases[2].req
			req.Stream = true
			req.Output = encodeCases[5].req.Output
			res := pt.Generate(t, c, ":streamGenerateContent", pt.Transcript(t, "gemini-stream-text.sse"), &req)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Sent.Path != "/v1/models/gemini-2.5-flash:streamGenerateContent" {
				t.Errorf("path = %s", res.Sent.Path)
			}
			body := string(res.Sent.Body)
			if strings.Contains(body, "additionalProperties") || strings.Contains(body, "JsonSchema") {
				t.Errorf("sent %s", body)
			}
			if !strings.Contains(body, `"parameters":{`) || !strings.Contains(body, `"responseSchema":{`) {
				t.Errorf("sent %s", body)
			}
		})
	}
}

// A base_url written with v1beta at its end is not given another.
func TestBaseURLWithVersion(t *testing.T) {
	c := cfg
	c.BaseURL = "/v1beta"
	res := pt.Generate(t, c, ":generateContent", pt.Transcript(t, "gemini-generate-content-function-call.json"), userText("gemini-2.5-flash", "hi", false))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Sent.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("path = %s", res.Sent.Path)
	}
}

func TestToolChoiceModes(t *testing.T) {
	for mode, want := range map[string]string{
		"auto":     `{"functionCallingConfig":{"mode":"AUTO"}}`,
		"none":     `{"functionCallingConfig":{"mode":"NONE"}}`,
		"required": `{"functionCallingConfig":{"mode":"ANY"}}`,
		"tool":     `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}`,
	} {
		req := llm.Request{Model: "gemini-2.5-flash", Messages: []llm.Message{user(text("hi"))}, Tools: []llm.Tool{weatherTool},
			ToolChoice: &llm.ToolChoice{Mode: mode}}
		if mode == "tool" {
			req.ToolChoice.Name = "get_weather"
		}
		body, _, err := gemini.EncodeRequest(&req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(body, []byte(`"toolConfig":`+want)) {
			t.Errorf("%s: sent %s", mode, body)
		}
	}
}

func TestThinkingConfig(t *testing.T) {
	for _, tc := range []struct {
		model string
		r     llm.Reasoning
		want  string
	}{
		{"gemini-2.5-flash", llm.Reasoning{BudgetTokens: 300}, `{"thinkingBudget":300,"includeThoughts":true}`},
		{"gemini-3-pro-preview", llm.Reasoning{BudgetTokens: 300}, `{"thinkingBudget":300,"includeThoughts":true}`},
		{"gemini-2.5-flash", llm.Reasoning{Disabled: true}, `{"thinkingBudget":0}`},
		{"gemini-2.5-flash", llm.Reasoning{Effort: "none"}, `{"thinkingBudget":0}`},
		{"gemini-2.5-flash", llm.Reasoning{Effort: "minimal"}, `{"thinkingBudget":512,"includeThoughts":true}`},
		{"gemini-2.5-flash", llm.Reasoning{Effort: "low"}, `{"thinkingBudget":1024,"includeThoughts":true}`},
		{"gemini-2.5-pro", llm.Reasoning{Effort: "medium"}, `{"thinkingBudget":8192,"includeThoughts":true}`},
		{"gemini-2.5-pro", llm.Reasoning{Effort: "xhigh"}, `{"thinkingBudget":24576,"includeThoughts":true}`},
		{"gemini-2.5-pro", llm.Reasoning{Adaptive: true}, `{"thinkingBudget":-1,"includeThoughts":true}`},
		{"gemini-3-pro-preview", llm.Reasoning{Effort: "minimal"}, `{"thinkingLevel":"low","includeThoughts":true}`},
		{"gemini-3-flash-preview", llm.Reasoning{Effort: "medium"}, `{"thinkingLevel":"high","includeThoughts":true}`},
		{"gemini-3-pro-preview", llm.Reasoning{Adaptive: true}, `{"includeThoughts":true}`},
		{"gemini-3-pro-preview", llm.Reasoning{Summary: "auto"}, `{"includeThoughts":true}`},
	} {
		req := llm.Request{Model: tc.model, Messages: []llm.Message{user(text("hi"))}, Reasoning: &tc.r}
		body, _, err := gemini.EncodeRequest(&req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(body, []byte(`"thinkingConfig":`+tc.want+`}`)) {
			t.Errorf("%s %+v: sent %s, want thinkingConfig %s", tc.model, tc.r, body, tc.want)
		}
	}
}

// Content Gemini cannot take is an invalid_request naming the field,
// never dropped in silence.
func TestEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   llm.Request
		param string
	}{
		{"https image", llm.Request{Messages: []llm.Message{user(text("look"),
			llm.Part{Type: llm.PartImage, Image: &llm.Image{URL: "https://example.com/cat.png"}})}},
			"messages[0].parts[1].image.url"},
		{"data URL not base64", llm.Request{Messages: []llm.Message{user(
			llm.Part{Type: llm.PartImage, Image: &llm.Image{URL: "data:image/png,raw"}})}},
			"messages[0].parts[0].image.url"},
		{"inline image without type", llm.Request{Messages: []llm.Message{user(
			llm.Part{Type: llm.PartImage, Image: &llm.Image{Data: "iVBO"}})}},
			"messages[0].parts[0].image.media_type"},
		{"arguments not JSON", llm.Request{Messages: []llm.Message{user(text("hi")), assistant(call("c1", "f", `{"a":`))}},
			"messages[1].parts[0].tool_call.arguments"},
		{"arguments not an object", llm.Request{Messages: []llm.Message{user(text("hi")), assistant(call("c1", "f", `[1]`))}},
			"messages[1].parts[0].tool_call.arguments"},
		{"result for an unknown call", llm.Request{Messages: []llm.Message{user(result("nope", "x"))}},
			"messages[0].parts[0].tool_result.call_id"},
		{"tool parameters not an object", llm.Request{Messages: []llm.Message{user(text("hi"))},
			Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`"string"`)}}},
			"tools[0].parameters"},
		{"output schema not an object", llm.Request{Messages: []llm.Message{user(text("hi"))},
			Output: &llm.OutputFormat{Type: "json_schema", Schema: json.RawMessage(`[]`)}},
			"output.schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := gemini.EncodeRequest(&tc.req)
			e := llm.AsError(err)
			if err == nil || e.Kind != llm.KindInvalidRequest || e.Param != tc.param {
				t.Fatalf("err = %+v, want invalid_request for %s", err, tc.param)
			}
			if !strings.HasPrefix(e.Message, tc.param) {
				t.Errorf("message %q does not name %s", e.Message, tc.param)
			}
		})
	}
}

// An invalid request never reaches Gemini.
func TestEncodeErrorSendsNothing(t *testing.T) {
	req := llm.Request{Model: "gemini-2.5-flash", Messages: []llm.Message{user(
		llm.Part{Type: llm.PartImage, Image: &llm.Image{URL: "https://example.com/cat.png"}})}}
	res := pt.Generate(t, cfg, ":generateContent", pt.Transcript(t, "gemini-stream-text.sse"), &req)
	if res.Err == nil || res.Err.Kind != llm.KindInvalidRequest || res.Sent.Path != "" {
		t.Errorf("err %+v, sent %q", res.Err, res.Sent.Path)
	}
}

// A conversation that moved to Gemini 3 from another vendor has calls
// without Gemini signatures; Gemini 3 would refuse them
// (docs/protocols.md#trap-gemini-thought-signature), so
// the first call of such a turn carries Google's documented skip value.
func TestPitfall5_ForeignCallsGetSkipSignature(t *testing.T) {
	msgs := []llm.Message{
		user(text("hi")),
		assistant(call("toolu_1", "f", "{}"), call("toolu_2", "g", "{}")),
		user(result("toolu_1", "1"), result("toolu_2", "2")),
	}
	for model, want := range map[string]string{
		"gemini-3-pro-preview": `{"functionCall":{"name":"f","args":{}},"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"name":"g","args":{}}}`,
		"gemini-2.5-flash":     `{"functionCall":{"name":"f","args":{}}},{"functionCall":{"name":"g","args":{}}}`,
	} {
		body, _, err := gemini.EncodeRequest(&llm.Request{Model: model, Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(body, []byte(`"role":"model","parts":[`+want+`]`)) {
			t.Errorf("%s: sent %s", model, body)
		}
	}
}
