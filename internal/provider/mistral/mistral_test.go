package mistral_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/provider/mistral"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

var cfg = config.Provider{Type: "mistral"}

func TestToolCallIndexAdded(t *testing.T) {
	res := pt.Chat(t, cfg, pt.Transcript(t, "mistral-stream-tool-call.chunks.jsonl"),
		`{"model":"mistral/mistral-small-latest","messages":[{"role":"user","content":"weather?"}],"stream":true,"stream_options":{"include_usage":true},"user":"u1"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !bytes.Contains(res.Out, []byte(`"index":0,"type":"function"`)) && !bytes.Contains(res.Out, []byte(`"index":0`)) {
		t.Errorf("no index on the tool call: %s", res.Out)
	}
	if bytes.Contains(res.Sent.Body, []byte("stream_options")) || bytes.Contains(res.Sent.Body, []byte(`"user":"u1"`)) {
		t.Errorf("sent %s", res.Sent.Body)
	}
	if res.Usage.InputTokens != 124 || res.Usage.OutputTokens != 22 {
		t.Errorf("usage = %+v", res.Usage)
	}
	pt.Golden(t, "tool-call.golden", res.Out)
}

func TestMagistralThinking(t *testing.T) {
	res := pt.Chat(t, cfg, pt.Transcript(t, "mistral-magistral-stream-thinking.sse"),
		`{"model":"magistral-medium-latest","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if bytes.Contains(res.Out, []byte(`"content":[`)) {
		t.Error("content arrays reached the client")
	}
	if !strings.HasPrefix(res.Reasoning, "Okay") {
		t.Errorf("reasoning = %.40q", res.Reasoning)
	}
	pt.Golden(t, "magistral.golden", res.Out)
}

func TestPitfall15_ToolCallIDs(t *testing.T) {
	body := `{"model":"mistral-small-latest","messages":[{"role":"user","content":"hi"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_ZR5UUuTt3pf61kjwAJIYdVMj","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"abcDEF123","type":"function","function":{"name":"g","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"call_ZR5UUuTt3pf61kjwAJIYdVMj","content":"1"},{"role":"tool","tool_call_id":"abcDEF123","content":"2"}]}`
	res := pt.Chat(t, cfg, fakeupstream.TextCompletion("ok"), body)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var sent struct {
		Messages []struct {
			ToolCallID string `json:"tool_call_id"`
			ToolCalls  []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
		} `json:"messages"`
	}
	json.Unmarshal(res.Sent.Body, &sent)
	mapped := mistral.ToolCallID("call_ZR5UUuTt3pf61kjwAJIYdVMj")
	if len(mapped) != 9 || sent.Messages[1].ToolCalls[0].ID != mapped || sent.Messages[2].ToolCallID != mapped {
		t.Errorf("ids not mapped consistently: %s", res.Sent.Body)
	}
	if sent.Messages[1].ToolCalls[1].ID != "abcDEF123" || sent.Messages[3].ToolCallID != "abcDEF123" {
		t.Errorf("valid ids changed: %s", res.Sent.Body)
	}
}

func TestErrorBody(t *testing.T) {
	r := fakeupstream.Response{Status: 422, ContentType: "application/json",
		Body: []byte(`{"object":"error","message":"Extra inputs are not permitted","type":"invalid_request_error","param":null,"code":null}`)}
	res := pt.Chat(t, cfg, r, `{"model":"mistral-small-latest","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err == nil || res.Err.HTTPStatus() != 422 || res.Err.Message != "Extra inputs are not permitted" {
		t.Fatalf("err = %+v", res.Err)
	}
}
