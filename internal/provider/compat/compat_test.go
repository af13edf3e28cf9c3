package compat_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	_ "github.com/switchyard-ai/switchyard/internal/provider/compat"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// deltas collects the content and reasoning_content a client reads.
func deltas(t *testing.T, out []byte) (content, reasoning string) {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(out))
	var c, r strings.Builder
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		if ev.Data == nil || string(ev.Data) == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content          string `json:"content"`
					ReasoningContent string `json:"reasoning_content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(ev.Data, &chunk); err != nil {
			t.Fatalf("client cannot decode %s: %v", ev.Data, err)
		}
		for _, ch := range chunk.Choices {
			c.WriteString(ch.Delta.Content)
			r.WriteString(ch.Delta.ReasoningContent)
		}
	}
	return c.String(), r.String()
}

func TestThinkTagsStream(t *testing.T) {
	res := pt.Chat(t, config.Provider{Type: "openai-compatible", BaseURL: "/v1", Reasoning: "think-tags"},
		pt.Transcript(t, "together-deepseek-r1-stream-think-tags.sse"),
		`{"model":"deepseek-ai/DeepSeek-R1","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	content, reasoning := deltas(t, res.Out)
	if !strings.HasPrefix(reasoning, "Okay") || strings.Contains(reasoning, "<think>") || strings.Contains(reasoning, "</think>") {
		t.Errorf("reasoning = %.80q", reasoning)
	}
	if !strings.HasPrefix(content, "Cross") || strings.Contains(content, "think>") {
		t.Errorf("content = %.80q", content)
	}
	if res.Reasoning != reasoning {
		t.Error("logged reasoning differs from what the client got")
	}
	if res.Usage.InputTokens != 10 || res.Usage.OutputTokens != 955 {
		t.Errorf("usage = %+v", res.Usage)
	}
	pt.Golden(t, "think-tags.golden", res.Out)
}

func TestThinkTagsOffLeavesContent(t *testing.T) {
	res := pt.Chat(t, config.Provider{Type: "openai-compatible", BaseURL: "/v1"},
		pt.Transcript(t, "together-deepseek-r1-stream-think-tags.sse"),
		`{"model":"deepseek-ai/DeepSeek-R1","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`)
	if !bytes.Equal(res.Out, pt.Body(t, "together-deepseek-r1-stream-think-tags.sse")) {
		t.Error("stream changed without think-tags configured")
	}
}

func TestThinkTagsNonStream(t *testing.T) {
	r := fakeupstream.TextCompletion("<think>\nweigh it</think>\n\n42")
	res := pt.Chat(t, config.Provider{Type: "openai-compatible", Reasoning: "think-tags"}, r,
		`{"model":"qwq","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var out struct {
		Choices []struct {
			Message struct {
				Content          string `json:"content"`
				ReasoningContent string `json:"reasoning_content"`
			} `json:"message"`
		} `json:"choices"`
	}
	json.Unmarshal(res.Out, &out)
	if m := out.Choices[0].Message; m.Content != "\n42" || m.ReasoningContent != "weigh it" {
		t.Errorf("message = %+v", m)
	}
}

// vLLM (new) and Ollama name the field "reasoning"; clients read
// reasoning_content whatever the server.
func TestPitfall16_ReasoningFieldRenamed(t *testing.T) {
	stream := "data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning\":\"hmm\"}}]}\n\n" +
		"data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"yes\"},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n" +
		"data: [DONE]\n\n"
	r := fakeupstream.Response{Status: 200, ContentType: "text/event-stream", Body: []byte(stream)}
	res := pt.Chat(t, config.Provider{Type: "openai-compatible"}, r, `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	content, reasoning := deltas(t, res.Out)
	if content != "yes" || reasoning != "hmm" || res.Reasoning != "hmm" || bytes.Contains(res.Out, []byte(`"reasoning":`)) {
		t.Errorf("content %q reasoning %q out %s", content, reasoning, res.Out)
	}
	if res.Usage.Total() != 5 || bytes.Contains(res.Out, []byte(`"usage"`)) {
		t.Errorf("usage %+v, out %s", res.Usage, res.Out)
	}
}

func TestOllamaNonStream(t *testing.T) {
	res := pt.Chat(t, config.Provider{Type: "openai-compatible", BaseURL: "/v1"}, pt.Transcript(t, "ollama-openai-compat-chat.json"),
		`{"model":"ollama/gemma3:4b","messages":[{"role":"user","content":"hi"}],"metadata":{"a":"b"}}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !bytes.Equal(res.Out, pt.Body(t, "ollama-openai-compat-chat.json")) || res.Usage.Total() != 37 {
		t.Errorf("out %s usage %+v", res.Out, res.Usage)
	}
	if !bytes.Contains(res.Sent.Body, []byte(`"model":"gemma3:4b"`)) || bytes.Contains(res.Sent.Body, []byte("metadata")) {
		t.Errorf("sent %s", res.Sent.Body)
	}
}
