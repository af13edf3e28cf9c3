package responseswire

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// FuzzDecodeRequest: any body decodes without panic into an *llm.Error or
// a well-formed canonical request: user and assistant turns only, each
// part with the field its type needs, an input array of items with ids;
// and the response encoders take any answer the request could have had.
func FuzzDecodeRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, r := range answers {
		f.Add([]byte(`{"model":"m","input":` + string(OutputItems(r, Meta{ID: "resp_f"})) + `}`))
	}
	f.Add([]byte(`{"model":"m","input":[{"type":"reasoning","summary":[],"encrypted_content":"swy1:eyJ0ZXh0Ijp0cnVlLCJzaWduYXR1cmUiOiJ4In0"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		if err != nil {
			var le *llm.Error
			if !errors.As(err, &le) || le.Kind != llm.KindInvalidRequest || le.Message == "" {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		c := r.Canonical
		if c.Model == "" || c.Dialect != llm.DialectResponses {
			t.Fatalf("model %q dialect %q", c.Model, c.Dialect)
		}
		if len(c.Messages) == 0 && r.PreviousResponseID == "" {
			t.Fatal("no messages")
		}
		for _, p := range c.System {
			if p.Type != llm.PartText {
				t.Fatalf("system part %+v", p)
			}
		}
		var parts []llm.Part
		for i, m := range c.Messages {
			if m.Role != llm.RoleUser && m.Role != llm.RoleAssistant {
				t.Fatalf("role %q", m.Role)
			}
			if i > 0 && c.Messages[i-1].Role == m.Role {
				t.Fatalf("two %s messages in a row", m.Role)
			}
			for _, p := range m.Parts {
				checkPart(t, p, m.Role)
				if m.Role == llm.RoleAssistant {
					parts = append(parts, p)
				}
			}
		}
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(r.Input, &items); err != nil {
			t.Fatalf("input %v: %s", err, r.Input)
		}
		for _, it := range items {
			if len(it["id"]) < 3 {
				t.Fatalf("item without id: %v", it)
			}
		}
		// The answer the conversation could have had encodes, and the SDK's
		// types can read it.
		resp := &llm.Response{ID: "x", Parts: parts, StopReason: llm.StopEndTurn}
		var o map[string]any
		if err := json.Unmarshal(EncodeResponse(resp, Meta{ID: "resp_f", Req: r}), &o); err != nil {
			t.Fatalf("response: %v", err)
		}
	})
}

func checkPart(t *testing.T, p llm.Part, role llm.Role) {
	t.Helper()
	ok := false
	switch p.Type {
	case llm.PartText:
		ok = p.Image == nil && p.ToolCall == nil
	case llm.PartImage:
		ok = role == llm.RoleUser && p.Image != nil && (p.Image.URL != "" || p.Image.Data != "" && p.Image.MediaType != "")
	case llm.PartToolCall:
		ok = role == llm.RoleAssistant && p.ToolCall != nil && p.ToolCall.ID != "" && p.ToolCall.Name != "" && p.ToolCall.Arguments != ""
	case llm.PartToolResult:
		ok = role == llm.RoleUser && p.ToolResult != nil && p.ToolResult.CallID != ""
		if ok {
			for _, q := range p.ToolResult.Content {
				ok = ok && (q.Type == llm.PartText || q.Type == llm.PartImage)
			}
		}
	case llm.PartReasoning:
		ok = role == llm.RoleAssistant && (p.Text != "" || p.Signature != "" || p.Redacted != "") && (p.Redacted == "" || p.Text == "")
	}
	if !ok {
		t.Fatalf("malformed %s part in a %s message: %+v", p.Type, role, p)
	}
}
