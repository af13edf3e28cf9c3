package responseswire

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// decoded is what a golden file of a decoded request holds.
type decoded struct {
	Canonical          *llm.Request    `json:"canonical"`
	Store              bool            `json:"store"`
	PreviousResponseID string          `json:"previous_response_id,omitempty"`
	Include            []string        `json:"include,omitempty"`
	Instructions       string          `json:"instructions,omitempty"`
	Metadata           json.RawMessage `json:"metadata,omitempty"`
	Input              json.RawMessage `json:"input"`
}

func decodeFile(t *testing.T, name string) *Request {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "requests", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRequest(body)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// TestDecodeRequestGolden: each request in testdata/requests decodes to the
// canonical request and normalised input in its golden file.
func TestDecodeRequestGolden(t *testing.T) {
	for _, name := range []string{"text", "tools", "json-schema", "images", "reasoning-replay"} {
		t.Run(name, func(t *testing.T) {
			r := decodeFile(t, name)
			if r.Canonical.Dialect != llm.DialectResponses {
				t.Errorf("dialect %q", r.Canonical.Dialect)
			}
			var input any
			if err := json.Unmarshal(r.Input, &input); err != nil {
				t.Fatalf("input is not JSON: %v\n%s", err, r.Input)
			}
			golden(t, filepath.Join("requests", name+".golden"), indent(t, decoded{
				r.Canonical, r.Store, r.PreviousResponseID, r.Include, r.Instructions, r.Metadata, r.Input,
			}))
		})
	}
}

func TestDecodeRequestFields(t *testing.T) {
	r := decodeFile(t, "text")
	c := r.Canonical
	if r.Store || c.MaxTokens != 256 || *c.Temperature != 0.2 || *c.TopP != 0.9 || c.User != "u-1" || !c.Stream {
		t.Errorf("top-level fields: store %v %+v", r.Store, c)
	}
	if len(c.System) != 1 || c.System[0].Text != "You are terse." || r.Instructions != "You are terse." {
		t.Errorf("instructions: %+v", c.System)
	}
	for _, k := range []string{"service_tier", "truncation", "prompt_cache_key", "metadata"} {
		if _, ok := c.Extra[k]; !ok {
			t.Errorf("extra lacks %s: %v", k, c.Extra)
		}
	}
	for _, k := range []string{"stream_options", "store", "instructions", "input", "model"} {
		if _, ok := c.Extra[k]; ok {
			t.Errorf("extra has %s", k)
		}
	}
	var items []map[string]any
	if err := json.Unmarshal(r.Input, &items); err != nil || len(items) != 1 {
		t.Fatalf("input %s", r.Input)
	}
	if id, _ := items[0]["id"].(string); !strings.HasPrefix(id, "msg_") || items[0]["role"] != "user" {
		t.Errorf("string input item %v", items[0])
	}
	again := decodeFile(t, "text")
	if string(again.Input) != string(r.Input) {
		t.Errorf("ids are not deterministic:\n%s\n%s", r.Input, again.Input)
	}

	r = decodeFile(t, "tools")
	c = r.Canonical
	// The developer message and the system message join instructions, in
	// order; the other items keep theirs, merged by side.
	if len(c.System) != 3 || c.System[1].Text != "Use tools when useful." || c.System[2].Text != "Be exact." {
		t.Errorf("system %+v", c.System)
	}
	roles := []llm.Role{}
	for _, m := range c.Messages {
		roles = append(roles, m.Role)
	}
	if want := []llm.Role{"user", "assistant", "user", "assistant", "user"}; !equalRoles(roles, want) {
		t.Errorf("roles %v, want %v", roles, want)
	}
	if tr := c.Messages[2].Parts[0].ToolResult; tr.Name != "weather" || tr.CallID != "call_A" {
		t.Errorf("tool result %+v", tr)
	}
	if tc := c.Messages[1].Parts[1].ToolCall; tc.Arguments != "{}" {
		t.Errorf("empty arguments became %q", tc.Arguments)
	}
	if c.ToolChoice.Mode != "tool" || c.ToolChoice.Name != "weather" || *c.ParallelToolCalls {
		t.Errorf("tool choice %+v %v", c.ToolChoice, *c.ParallelToolCalls)
	}
	if r.PreviousResponseID != "resp_prev" || r.Include[0] != "reasoning.encrypted_content" {
		t.Errorf("state fields %+v", r)
	}
	if !strings.Contains(string(r.Input), `"id":"fc_1"`) {
		t.Errorf("a client's item id was replaced: %s", r.Input)
	}
}

func equalRoles(a, b []llm.Role) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDecodeReasoningReplay: reasoning items come back as the canonical
// parts they were made from, whoever made them.
func TestDecodeReasoningReplay(t *testing.T) {
	c := decodeFile(t, "reasoning-replay").Canonical
	a := c.Messages[1].Parts
	if a[0].Type != llm.PartReasoning || a[0].Text != "Paris, one call." || a[0].Signature != "EqQBCkYIBxgCKkB+sig==" || a[0].Origin != "anthropic" {
		t.Errorf("anthropic thinking %+v", a[0])
	}
	if a[1].Redacted != "EmwKAhgBEgy3redacted==" || a[1].Origin != "anthropic" || a[1].Text != "" {
		t.Errorf("redacted thinking %+v", a[1])
	}
	g := c.Messages[5].Parts
	if g[0].Signature != "CiQBsigThought==" || g[0].Origin != "gemini" || g[0].Text != "Thinking about Rome." {
		t.Errorf("gemini thought %+v", g[0])
	}
	if tc := g[1].ToolCall; tc == nil || tc.ID != "call_G" || tc.Signature != "CiQBsigCall==" || tc.Origin != "gemini" {
		t.Errorf("gemini call %+v (the signature-only reasoning item must not stay a part)", g[1])
	}
	g = c.Messages[7].Parts
	if len(g) != 1 || g[0].Type != llm.PartText || g[0].Text != "Rome is 21C." || g[0].Signature != "CiQBsigText==" || g[0].Origin != "gemini" {
		t.Errorf("gemini signed text %+v", g)
	}
	o := c.Messages[9].Parts
	if o[0].Origin != OriginOpenAI || o[0].Signature != "gAAAAABoyXusnBzv6TRLFFsi09D2XC4A5Jod6AOAtsnxA4Vdp6sHIAr4B0UwlKwAdOwh-Lx6Ltdw==" || o[0].Text != "**Plan**\n\nOne.\n\n**Check**\n\nTwo." {
		t.Errorf("openai reasoning %+v", o[0])
	}
	if o[2].Type != llm.PartReasoning || o[2].Text != "DeepSeek thought in plain text." || o[2].Signature != "" || o[2].Origin != "" {
		t.Errorf("plain reasoning %+v", o[2])
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	const user = `{"role":"user","content":"hi"}`
	for _, tc := range []struct {
		name, body, param, msg string
	}{
		{"not json", `{`, "", "parse"},
		{"not object", `[]`, "", "parse"},
		{"no model", `{"input":"hi"}`, "model", "model"},
		{"no input", `{"model":"m"}`, "input", "required"},
		{"empty input", `{"model":"m","input":[]}`, "input", "at least one"},
		{"only system", `{"model":"m","input":[{"role":"system","content":"x"}]}`, "input", "at least one"},
		{"input number", `{"model":"m","input":3}`, "input", "string or an array"},
		{"background", `{"model":"m","input":"hi","background":true}`, "background", "not supported"},
		{"background type", `{"model":"m","input":"hi","background":"yes"}`, "background", "boolean"},
		{"conversation", `{"model":"m","input":"hi","conversation":"conv_1"}`, "conversation", "not supported"},
		{"web search", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"},{"type":"function","name":"g"},{"type":"web_search"}]}`, "tools[2].type", "built-in tools"},
		{"file search", `{"model":"m","input":"hi","tools":[{"type":"file_search","vector_store_ids":["v"]}]}`, "tools[0].type", "built-in tools"},
		{"code interpreter", `{"model":"m","input":"hi","tools":[{"type":"code_interpreter"}]}`, "tools[0].type", "built-in tools"},
		{"computer use", `{"model":"m","input":"hi","tools":[{"type":"computer_use_preview"}]}`, "tools[0].type", "built-in tools"},
		{"mcp", `{"model":"m","input":"hi","tools":[{"type":"mcp","server_label":"x"}]}`, "tools[0].type", "built-in tools"},
		{"image generation", `{"model":"m","input":"hi","tools":[{"type":"image_generation"}]}`, "tools[0].type", "built-in tools"},
		{"shell", `{"model":"m","input":"hi","tools":[{"type":"shell"}]}`, "tools[0].type", "built-in tools"},
		{"local shell", `{"model":"m","input":"hi","tools":[{"type":"local_shell"}]}`, "tools[0].type", "built-in tools"},
		{"custom", `{"model":"m","input":"hi","tools":[{"type":"custom","name":"apply_patch"}]}`, "tools[0].type", "built-in tools"},
		{"tool no type", `{"model":"m","input":"hi","tools":[{"name":"f"}]}`, "tools[0].type", "required"},
		{"tool no name", `{"model":"m","input":"hi","tools":[{"type":"function"}]}`, "tools[0].name", "required"},
		{"tool params", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":[]}]}`, "tools[0].parameters", "object"},
		{"tools type", `{"model":"m","input":"hi","tools":{}}`, "tools", "array"},
		{"tool choice", `{"model":"m","input":"hi","tool_choice":"any"}`, "tool_choice", "auto"},
		{"tool choice builtin", `{"model":"m","input":"hi","tool_choice":{"type":"web_search_preview"}}`, "tool_choice.type", "built-in tools"},
		{"tool choice name", `{"model":"m","input":"hi","tool_choice":{"type":"function"}}`, "tool_choice.name", "required"},
		{"allowed tools", `{"model":"m","input":"hi","tool_choice":{"type":"allowed_tools","mode":"auto","tools":[]}}`, "tool_choice.type", "allowed_tools"},
		{"input file", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"x"},{"type":"input_file","file_id":"f"}]}]}`, "input[0].content[1].type", "input_file"},
		{"image file id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}`, "input[0].content[0].file_id", "file ids"},
		{"image no url", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image"}]}]}`, "input[0].content[0].image_url", "required"},
		{"bad data url", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png,xyz"}]}]}`, "input[0].content[0].image_url", "data URL"},
		{"assistant image", `{"model":"m","input":[` + user + `,{"role":"assistant","content":[{"type":"input_image","image_url":"https://x"}]}]}`, "input[1].content[0].type", "input_image"},
		{"system image", `{"model":"m","input":[{"role":"system","content":[{"type":"input_image","image_url":"https://x"}]},` + user + `]}`, "input[0].content[0].type", "input_image"},
		{"audio", `{"model":"m","input":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "input[0].content[0].type", "not supported"},
		{"part no type", `{"model":"m","input":[{"role":"user","content":[{"text":"x"}]}]}`, "input[0].content[0].type", "required"},
		{"part no text", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text"}]}]}`, "input[0].content[0].text", "required"},
		{"content number", `{"model":"m","input":[{"role":"user","content":5}]}`, "input[0].content", "string or an array"},
		{"role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", "tool"},
		{"message no role", `{"model":"m","input":[{"type":"message","content":"x"}]}`, "input[0].role", "required"},
		{"item not object", `{"model":"m","input":[` + user + `,"x"]}`, "input[1]", "item object"},
		{"item no type", `{"model":"m","input":[{"content":"x"}]}`, "input[0].type", "required"},
		{"builtin item", `{"model":"m","input":[` + user + `,{"type":"web_search_call","id":"ws_1"}]}`, "input[1].type", "not supported"},
		{"item reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type", "references"},
		{"call no id", `{"model":"m","input":[` + user + `,{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[1].call_id", "required"},
		{"call no name", `{"model":"m","input":[` + user + `,{"type":"function_call","call_id":"c","arguments":"{}"}]}`, "input[1].name", "required"},
		{"output no id", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", "required"},
		{"output missing", `{"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}`, "input[0].output", "required"},
		{"output file", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_file","file_data":"x"}]}]}`, "input[0].output[0].type", "input_file"},
		{"summary type", `{"model":"m","input":[` + user + `,{"type":"reasoning","summary":"x"}]}`, "input[1].summary", "array"},
		{"summary text", `{"model":"m","input":[` + user + `,{"type":"reasoning","summary":[{"type":"summary_text"}]}]}`, "input[1].summary[0].text", "required"},
		{"damaged envelope", `{"model":"m","input":[` + user + `,{"type":"reasoning","summary":[],"encrypted_content":"swy1:!!!"}]}`, "input[1].encrypted_content", "damaged"},
		{"empty envelope", `{"model":"m","input":[` + user + `,{"type":"reasoning","summary":[],"encrypted_content":"swy1:e30"}]}`, "input[1].encrypted_content", "incomplete"},
		{"text format", `{"model":"m","input":"hi","text":{"format":{"type":"xml"}}}`, "text.format.type", "xml"},
		{"schema name", `{"model":"m","input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}`, "text.format.name", "required"},
		{"schema", `{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"n"}}}`, "text.format.schema", "object"},
		{"text type", `{"model":"m","input":"hi","text":"json"}`, "text", "object"},
		{"effort", `{"model":"m","input":"hi","reasoning":{"effort":"max"}}`, "reasoning.effort", "max"},
		{"summary", `{"model":"m","input":"hi","reasoning":{"summary":"long"}}`, "reasoning.summary", "long"},
		{"max tokens", `{"model":"m","input":"hi","max_output_tokens":0}`, "max_output_tokens", "positive"},
		{"temperature", `{"model":"m","input":"hi","temperature":"hot"}`, "temperature", "number"},
		{"top p", `{"model":"m","input":"hi","top_p":[]}`, "top_p", "number"},
		{"user", `{"model":"m","input":"hi","user":1}`, "user", "string"},
		{"stream", `{"model":"m","input":"hi","stream":"yes"}`, "stream", "boolean"},
		{"store", `{"model":"m","input":"hi","store":1}`, "store", "boolean"},
		{"metadata", `{"model":"m","input":"hi","metadata":[]}`, "metadata", "object"},
		{"instructions", `{"model":"m","input":"hi","instructions":["x"]}`, "instructions", "string"},
		{"include", `{"model":"m","input":"hi","include":"x"}`, "include", "array"},
		{"previous", `{"model":"m","input":"hi","previous_response_id":7}`, "previous_response_id", "string"},
		{"parallel", `{"model":"m","input":"hi","parallel_tool_calls":"no"}`, "parallel_tool_calls", "boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tc.body))
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("error %v (%T), want *llm.Error", err, err)
			}
			if le.Kind != llm.KindInvalidRequest || le.HTTPStatus() != 400 {
				t.Errorf("kind %s status %d", le.Kind, le.HTTPStatus())
			}
			if le.Param != tc.param {
				t.Errorf("param %q, want %q (%s)", le.Param, tc.param, le.Message)
			}
			if !strings.Contains(le.Message, tc.msg) {
				t.Errorf("message %q lacks %q", le.Message, tc.msg)
			}
		})
	}
}

// TestDecodeRequestAccepts: forms real clients send that must pass.
func TestDecodeRequestAccepts(t *testing.T) {
	for _, body := range []string{
		`{"model":"m","previous_response_id":"resp_1"}`,                                    // input from the stored conversation
		`{"model":"m","input":"hi","background":false,"conversation":null}`,                // explicit defaults
		`{"model":"m","input":"hi","reasoning":{"effort":null,"generate_summary":"auto"}}`, // the older name
		`{"model":"m","input":"hi","text":{"format":{"type":"json_object"}}}`,
		`{"model":"m","input":"hi","tool_choice":"required","tools":[{"type":"function","name":"f","parameters":null,"strict":null}]}`,
		`{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAA"},{"role":"user","content":"x"}]}`,
	} {
		if _, err := DecodeRequest([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}
