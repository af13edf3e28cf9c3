package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/switchyard-ai/switchyard/internal/dialect/chat"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

// canonicalOnly is a provider without the OpenAI fast path, such as an
// Anthropic or Gemini adapter. It records the request it was given.
type canonicalOnly struct {
	resp *llm.Response
	err  error
	got  *llm.Request
}

func (p *canonicalOnly) Name() string     { return "c" }
func (p *canonicalOnly) Type() string     { return "canonical" }
func (p *canonicalOnly) Models() []string { return nil }

func (p *canonicalOnly) Generate(ctx context.Context, req *llm.Request, model string) (*provider.Generation, error) {
	p.got = req
	if p.err != nil {
		return nil, p.err
	}
	return &provider.Generation{Header: http.Header{"X-Switchyard-Dropped-Params": {"logit_bias"}}, Events: p.resp.Events()}, nil
}

func (p *canonicalOnly) Embeddings(ctx context.Context, body jsonobj.Object, model string) (*provider.Reply, error) {
	return nil, errors.New("no")
}

func answer() *llm.Response {
	return &llm.Response{
		ID: "msg_1", Model: "claude-x", StopReason: llm.StopToolUse,
		Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "thinking", Signature: "sig", Origin: "anthropic"},
			{Type: llm.PartText, Text: "Let me look."},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "toolu_1", Name: "look", Arguments: `{"q":"x"}`}},
		},
		Usage: llm.Usage{InputTokens: 20, CachedInputTokens: 5, OutputTokens: 9, ReasoningTokens: 3},
	}
}

func request(t *testing.T, body string) *openaiwire.ChatRequest {
	t.Helper()
	req, err := openaiwire.ParseChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestChatCanonicalNonStream(t *testing.T) {
	p := &canonicalOnly{resp: answer()}
	reply, err := chat.Send(context.Background(), p, request(t, `{"model":"c/claude-x","messages":[{"role":"user","content":"hi"}],"logit_bias":{"1":1}}`), "claude-x")
	if err != nil {
		t.Fatal(err)
	}
	if p.got.Dialect != llm.DialectOpenAI || p.got.Messages[0].Parts[0].Text != "hi" || p.got.Extra["logit_bias"] == nil {
		t.Errorf("Generate got %+v", p.got)
	}
	var c openai.ChatCompletion
	if err := json.Unmarshal(reply.Body, &c); err != nil {
		t.Fatal(err)
	}
	m := c.Choices[0].Message
	if m.Content != "Let me look." || len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Arguments != `{"q":"x"}` || c.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("body %s", reply.Body)
	}
	if reply.Usage != answer().Usage || reply.Reasoning != "thinking" || reply.Header.Get("X-Switchyard-Dropped-Params") != "logit_bias" {
		t.Errorf("usage %+v reasoning %q header %v", reply.Usage, reply.Reasoning, reply.Header)
	}
}

func TestChatCanonicalStream(t *testing.T) {
	for _, includeUsage := range []bool{false, true} {
		p := &canonicalOnly{resp: answer()}
		body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true`
		if includeUsage {
			body += `,"stream_options":{"include_usage":true}`
		}
		reply, err := chat.Send(context.Background(), p, request(t, body+"}"), "m")
		if err != nil {
			t.Fatal(err)
		}
		if !p.got.Stream || reply.Stream == nil || reply.Body != nil {
			t.Fatalf("stream %v reply %+v", p.got.Stream, reply)
		}
		var out []byte
		for {
			b, err := reply.Stream.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
		st := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(&http.Response{
			Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(out))}), nil)
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if st.Err() != nil || acc.Choices[0].Message.Content != "Let me look." || len(acc.Choices[0].Message.ToolCalls) != 1 {
			t.Errorf("err %v, accumulated %s", st.Err(), acc.RawJSON())
		}
		if includeUsage != bytes.Contains(out, []byte(`"prompt_tokens":20`)) {
			t.Errorf("include_usage %v: %s", includeUsage, out)
		}
		if reply.Stream.Usage().InputTokens != 20 || reply.Stream.Reasoning() != "thinking" {
			t.Errorf("usage %+v reasoning %q", reply.Stream.Usage(), reply.Stream.Reasoning())
		}
	}
}

func TestChatCanonicalErrors(t *testing.T) {
	p := &canonicalOnly{resp: answer()}
	_, err := chat.Send(context.Background(), p, request(t, `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`), "m")
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindInvalidRequest || p.got != nil {
		t.Errorf("undecodable request: %v (generate called: %v)", err, p.got != nil)
	}
	want := &llm.Error{Kind: llm.KindRateLimit, Message: "slow down"}
	p = &canonicalOnly{err: want}
	if _, err := chat.Send(context.Background(), p, request(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`), "m"); err != want {
		t.Errorf("generate error: %v", err)
	}
}
