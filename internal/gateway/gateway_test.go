package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// env is a gateway in front of one fake upstream, with every OpenAI-family
// provider type configured against it.
type env struct {
	t      testing.TB
	fake   *fakeupstream.Server
	gw     *gateway.Gateway
	srv    *httptest.Server
	key    string
	client openai.Client
}

func newEnv(t testing.TB, mutate ...func(*config.Config)) *env {
	t.Helper()
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	u := fake.URL()
	cfg := &config.Config{
		Storage: "sqlite:" + filepath.Join(t.TempDir(), "switchyard.db"),
		Providers: []config.Provider{
			{Name: "openai", Type: "openai", BaseURL: u + "/v1", APIKey: "sk-openai-secret", Models: []string{"gpt-4o-mini"}},
			{Name: "azure", Type: "azure-openai", BaseURL: u, APIKey: "az-secret", APIVersion: "2024-10-21"},
			{Name: "xai", Type: "xai", BaseURL: u + "/v1", APIKey: "xai-secret"},
			{Name: "deepseek", Type: "deepseek", BaseURL: u, APIKey: "ds-secret"},
			{Name: "mistral", Type: "mistral", BaseURL: u + "/v1", APIKey: "mi-secret"},
			{Name: "vllm", Type: "openai-compatible", BaseURL: u + "/v1", Reasoning: "think-tags"},
		},
		Models:   []config.Model{{Name: "chat-default", Target: "openai/gpt-4o-mini"}},
		AdminKey: "admin-secret",
	}
	cfg.SetDefaults()
	cfg.RequestLog.FlushInterval = 10 * time.Millisecond
	for _, m := range mutate {
		m(cfg)
	}
	ctx := context.Background()
	gw, err := gateway.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler)
	t.Cleanup(func() {
		srv.Close()
		gw.Close(context.Background())
	})
	secret, k, err := keys.Generate("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fake: fake, gw: gw, srv: srv, key: secret}
	e.client = openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	return e
}

// logs flushes the request log and returns what it stored, newest first.
func (e *env) logs() []store.RequestLog {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls, err := e.gw.Store.Requests(context.Background(), store.RequestFilter{Limit: 100})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(ls) > 0 || time.Now().After(deadline) {
			return ls
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// accumulate reads a stream to its end, as the SDK's accumulator
// assembles it, and fails the test on a stream error.
func accumulate(t *testing.T, s *ssestream.Stream[openai.ChatCompletionChunk]) openai.ChatCompletionAccumulator {
	t.Helper()
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return acc
}

func userMsg(s string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(s)}
}

// Every provider type, streamed and not, through the official SDK.
func TestConformanceText(t *testing.T) {
	tests := []struct {
		model, transcript string
		stream            bool
		content           string // a prefix of the expected answer
		reasoning         bool
		noUsage           bool // the recording has none
	}{
		{"openai/gpt-4o-mini", "openai-chat-stream-text-include-usage.sse", true, "", false, false},
		{"chat-default", "openai-chat-tool-call.json", false, "", false, false},
		{"azure/gpt-4o-mini", "azure-openai-chat-stream-deployments.sse", true, "", false, true},
		{"deepseek/deepseek-reasoner", "deepseek-reasoner-stream.sse", true, "", true, false},
		{"deepseek/deepseek-reasoner", "deepseek-reasoner.json", false, "", true, false},
		{"mistral/magistral-medium-latest", "mistral-magistral-stream-thinking.sse", true, "", true, false},
		{"vllm/deepseek-ai/DeepSeek-R1", "together-deepseek-r1-stream-think-tags.sse", true, "Cross", true, false},
		{"xai/grok-3-mini", "xai-chat-stream-tool-call.chunks.jsonl", true, "", true, false},
		{"vllm/gemma3:4b", "ollama-openai-compat-chat.json", false, "4200 + 42", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.transcript, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Handle("/chat/completions", fakeupstream.MustTranscript(tt.transcript))
			params := openai.ChatCompletionNewParams{Model: tt.model, Messages: userMsg("hi")}
			var msg openai.ChatCompletionMessage
			var usage openai.CompletionUsage
			var reasoning strings.Builder
			if tt.stream {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				s := e.client.Chat.Completions.NewStreaming(context.Background(), params)
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					chunk := s.Current()
					acc.AddChunk(chunk)
					for _, ch := range chunk.Choices {
						if f, ok := ch.Delta.JSON.ExtraFields["reasoning_content"]; ok {
							var r string
							json.Unmarshal([]byte(f.Raw()), &r)
							reasoning.WriteString(r)
						}
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				if len(acc.Choices) == 0 {
					t.Fatal("no choices")
				}
				msg, usage = acc.Choices[0].Message, acc.Usage
			} else {
				resp, err := e.client.Chat.Completions.New(context.Background(), params)
				if err != nil {
					t.Fatal(err)
				}
				msg, usage = resp.Choices[0].Message, resp.Usage
				if f, ok := msg.JSON.ExtraFields["reasoning_content"]; ok {
					var r string
					json.Unmarshal([]byte(f.Raw()), &r)
					reasoning.WriteString(r)
				}
			}
			if msg.Content == "" && len(msg.ToolCalls) == 0 {
				t.Error("empty answer")
			}
			if !strings.HasPrefix(msg.Content, tt.content) {
				t.Errorf("content = %.60q, want prefix %q", msg.Content, tt.content)
			}
			if !tt.noUsage && (usage.PromptTokens == 0 || usage.CompletionTokens == 0) {
				t.Errorf("usage = %+v", usage)
			}
			if tt.reasoning != (reasoning.Len() > 0) {
				t.Errorf("reasoning_content seen = %v, want %v", reasoning.Len() > 0, tt.reasoning)
			}
			ls := e.logs()
			if len(ls) != 1 {
				t.Fatalf("%d request logs", len(ls))
			}
			l := ls[0]
			if l.Status != 200 || l.RequestedModel != tt.model || l.Stream != tt.stream {
				t.Errorf("log = %+v", l)
			}
			if tt.noUsage {
				// The vendor sent none: the record has an estimate, never zero.
				if l.UsageSource != store.UsageEstimated || l.Usage.InputTokens == 0 || l.Usage.OutputTokens == 0 {
					t.Errorf("log usage %+v from %q, want an estimate", l.Usage, l.UsageSource)
				}
			} else if l.UsageSource != store.UsageVendor || l.Usage.InputTokens != usage.PromptTokens || l.Usage.OutputTokens != usage.CompletionTokens {
				t.Errorf("log usage %+v from %q, client usage %+v", l.Usage, l.UsageSource, usage)
			}
			if tt.reasoning && l.Reasoning == "" {
				t.Error("reasoning not stored in the request log")
			}
			if tt.stream && l.TTFT <= 0 {
				t.Error("no time to first token recorded")
			}
		})
	}
}

func TestConformanceParallelToolCalls(t *testing.T) {
	e := newEnv(t)
	e.fake.Handle("/chat/completions", fakeupstream.MustTranscript("openai-chat-stream-parallel-tool-calls.sse"))
	params := openai.ChatCompletionNewParams{
		Model:    "openai/gpt-4o-mini",
		Messages: userMsg("weather in Paris and Rome?"),
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:       "get_weather",
			Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		})},
		ParallelToolCalls: openai.Bool(true),
	}
	s := e.client.Chat.Completions.NewStreaming(context.Background(), params)
	acc := accumulate(t, s)
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) < 2 {
		t.Fatalf("%d tool calls", len(calls))
	}
	for _, c := range calls {
		if c.ID == "" || c.Function.Name == "" || !json.Valid([]byte(c.Function.Arguments)) {
			t.Errorf("incomplete call %+v", c)
		}
	}
	// What went upstream: the tools, unchanged, and the provider's model.
	var sent map[string]json.RawMessage
	json.Unmarshal(e.fake.LastRequest().Body, &sent)
	if string(sent["model"]) != `"gpt-4o-mini"` || !bytes.Contains(sent["tools"], []byte(`"get_weather"`)) {
		t.Errorf("sent %s", e.fake.LastRequest().Body)
	}
	if h := e.fake.LastRequest().Header; h.Get("Authorization") != "Bearer sk-openai-secret" {
		t.Errorf("upstream auth %q", h.Get("Authorization"))
	}
}

// Images, JSON-schema output, n, user, metadata and max_completion_tokens
// reach the upstream as the client sent them.
func TestConformanceRequestFields(t *testing.T) {
	e := newEnv(t)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion(`{"city":"Paris"}`))
	params := openai.ChatCompletionNewParams{
		Model: "openai/gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("what city?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/a.png"}),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="}),
		})},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "city", Schema: map[string]any{"type": "object"}, Strict: openai.Bool(true)},
		}},
		N:                   openai.Int(1),
		User:                openai.String("user-42"),
		Metadata:            shared.Metadata{"app": "test"},
		MaxCompletionTokens: openai.Int(64),
	}
	resp, err := e.client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != `{"city":"Paris"}` {
		t.Errorf("content %q", resp.Choices[0].Message.Content)
	}
	sent := e.fake.LastRequest().Body
	for _, want := range []string{`"data:image/png;base64,iVBORw0KGgo="`, `"json_schema"`, `"n":1`, `"user":"user-42"`, `"metadata":{"app":"test"}`, `"max_completion_tokens":64`} {
		if !bytes.Contains(sent, []byte(want)) {
			t.Errorf("upstream request lacks %s: %s", want, sent)
		}
	}
	if l := e.logs()[0]; l.Metadata != `{"app":"test"}` {
		t.Errorf("metadata not logged: %q", l.Metadata)
	}
}

func TestConformanceModels(t *testing.T) {
	e := newEnv(t)
	page, err := e.client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "chat-default,openai/gpt-4o-mini" {
		t.Errorf("models = %v", ids)
	}
	m, err := e.client.Models.Get(context.Background(), "openai/gpt-4o-mini")
	if err != nil || m.OwnedBy != "openai" {
		t.Errorf("get = %+v, %v", m, err)
	}
}

func TestConformanceEmbeddings(t *testing.T) {
	e := newEnv(t)
	e.fake.Handle("/embeddings", fakeupstream.Response{Status: 200, ContentType: "application/json", Body: []byte(
		`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":3,"total_tokens":3}}`)})
	resp, err := e.client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "openai/text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 1 || len(resp.Data[0].Embedding) != 2 || resp.Usage.PromptTokens != 3 {
		t.Errorf("resp = %+v", resp)
	}
	if e.fake.LastRequest().Path != "/v1/embeddings" {
		t.Errorf("path %s", e.fake.LastRequest().Path)
	}
	// DeepSeek has no embeddings: a clear 400, not a silent upstream 404.
	_, err = e.client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "deepseek/x", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "embeddings") {
		t.Errorf("err = %v", err)
	}
}

func TestConformanceErrors(t *testing.T) {
	// A short deadline: a retry-after beyond it is passed to the client
	// rather than waited for.
	e := newEnv(t, func(c *config.Config) { c.Router.Deadline = 2 * time.Second })
	ctx := context.Background()
	var apiErr *openai.Error

	// Unknown model.
	_, err := e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "nope/x", Messages: userMsg("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: %v", err)
	}
	// Bad key.
	bad := openai.NewClient(option.WithBaseURL(e.srv.URL+"/v1/"), option.WithAPIKey("sk-sy-wrong"), option.WithMaxRetries(0))
	_, err = bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openai/gpt-4o", Messages: userMsg("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Errorf("bad key: %v", err)
	}
	// Upstream rate limit: status, body and retry-after come through.
	e.fake.Enqueue("/chat/completions", fakeupstream.RateLimited("12"))
	_, err = e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openai/gpt-4o", Messages: userMsg("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Response.Header.Get("Retry-After") != "12" {
		t.Errorf("rate limit: %v", err)
	} else if n := apiErr.Response.Header.Get("X-Switchyard-Attempts"); n != "1" {
		t.Errorf("retried a 429 whose retry-after exceeds the deadline: %s attempts", n)
	}
	// Upstream 5xx, retried once (the default) and then passed on.
	e.fake.Enqueue("/chat/completions", fakeupstream.ServerError(500), fakeupstream.ServerError(500))
	_, err = e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openai/gpt-4o", Messages: userMsg("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Errorf("upstream 500: %v", err)
	}
	// A stream cut after some chunks: the client gets an error, not a
	// silently truncated answer.
	cut := fakeupstream.TextStream(10, "w ", false)
	cut.CutAfterEvents = 4
	e.fake.Enqueue("/chat/completions", cut)
	s := e.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "openai/gpt-4o", Messages: userMsg("hi")})
	n := 0
	for s.Next() {
		n++
	}
	if s.Err() == nil || n == 0 {
		t.Errorf("cut stream: %d chunks, err %v", n, s.Err())
	}
	// A stream that fails before its first byte is an ordinary error.
	e.fake.Enqueue("/chat/completions", fakeupstream.MalformedJSON(), fakeupstream.MalformedJSON())
	_, err = e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openai/gpt-4o", Messages: userMsg("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 {
		t.Errorf("malformed upstream: %v", err)
	}
}

// Bad input that no SDK would send, over plain HTTP.
func TestBadInput(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.MaxBodyBytes = 1024 })
	tests := []struct {
		name, body string
		status     int
		param      string
	}{
		{"malformed", `{"model":`, 400, ""},
		{"not an object", `[1,2]`, 400, ""},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model"},
		{"empty messages", `{"model":"openai/gpt-4o","messages":[]}`, 400, "messages"},
		{"stream not bool", `{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":"yes"}`, 400, "stream"},
		{"too large", `{"model":"openai/gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.srv.URL+"/v1/chat/completions", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+e.key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
				} `json:"error"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &body); err != nil || body.Error.Message == "" || body.Error.Type == "" {
				t.Fatalf("not an OpenAI error: %s", raw)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			if tt.param != "" && (body.Error.Param == nil || *body.Error.Param != tt.param) {
				t.Errorf("param %v, want %s", body.Error.Param, tt.param)
			}
		})
	}
	if len(e.fake.Requests()) != 0 {
		t.Error("bad requests reached the upstream")
	}
}

// A client that goes away cancels the upstream call.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	e := newEnv(t)
	slow := fakeupstream.TextStream(1000, "w ", false)
	slow.EventDelay = 20 * time.Millisecond
	e.fake.Handle("/chat/completions", slow)
	ctx, cancel := context.WithCancel(context.Background())
	s := e.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "openai/gpt-4o", Messages: userMsg("hi")})
	if !s.Next() {
		t.Fatal(s.Err())
	}
	cancel()
	for s.Next() {
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls, _ := e.gw.Store.Requests(context.Background(), store.RequestFilter{})
		if len(ls) == 1 {
			if ls[0].ErrorClass != "client_gone" {
				t.Errorf("error class %q", ls[0].ErrorClass)
			}
			if ls[0].Latency > 4*time.Second {
				t.Errorf("upstream kept streaming after the client left: %v", ls[0].Latency)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never finished after the client went away")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t)
	do := func(method, path, key, body string) (int, []byte) {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, _ := do("GET", "/admin/keys", e.key, ""); st != 401 {
		t.Errorf("virtual key opened /admin: %d", st)
	}
	st, b := do("POST", "/admin/keys", "admin-secret", `{"name":"app","models":["openai/*"]}`)
	var created struct {
		ID, Key string
	}
	json.Unmarshal(b, &created)
	if st != 201 || !strings.HasPrefix(created.Key, "sk-sy-") {
		t.Fatalf("create: %d %s", st, b)
	}
	st, b = do("GET", "/admin/keys", "admin-secret", "")
	if st != 200 || bytes.Contains(b, []byte(created.Key)) || !bytes.Contains(b, []byte(`"app"`)) {
		t.Errorf("list: %d %s", st, b)
	}
	// The new key works for its models only.
	c := openai.NewClient(option.WithBaseURL(e.srv.URL+"/v1/"), option.WithAPIKey(created.Key), option.WithMaxRetries(0))
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("hi"))
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "openai/gpt-4o", Messages: userMsg("hi")}); err != nil {
		t.Errorf("allowed model: %v", err)
	}
	var apiErr *openai.Error
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "deepseek/deepseek-chat", Messages: userMsg("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
		t.Errorf("forbidden model: %v", err)
	}
	if st, b = do("DELETE", "/admin/keys/"+created.ID, "admin-secret", ""); st != 200 {
		t.Errorf("revoke: %d %s", st, b)
	}
	e.logs() // wait for the request log to be flushed
	st, b = do("GET", "/admin/requests?limit=10", "admin-secret", "")
	if st != 200 || !bytes.Contains(b, []byte("chat.completions")) {
		t.Errorf("requests: %d %s", st, b)
	}
}
