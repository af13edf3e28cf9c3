package demo_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/demo"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/store"
	_ "github.com/switchyard-ai/switchyard/internal/store/sqlite"
)

// demoGateway is a gateway on the demo vendors, routes and key, as serve
// --demo assembles it, on a store of the test's own.
func demoGateway(t *testing.T) string {
	t.Helper()
	dv, err := demo.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dv.Close)
	cfg := &config.Config{
		Storage:   "sqlite:" + filepath.Join(t.TempDir(), "demo.db"),
		Providers: dv.Providers,
		Models:    demo.Routes(),
	}
	cfg.SetDefaults()
	if err := cfg.Validate(nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gw, err := gateway.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler)
	t.Cleanup(func() { srv.Close(); gw.Close(context.Background()) })
	if key, err := demo.EnsureKey(ctx, gw.Store); err != nil || key != demo.Key {
		t.Fatalf("demo key %q, %v", key, err)
	}
	return srv.URL
}

// Every demo vendor answers an OpenAI client and an Anthropic client,
// streamed and not, through the gateway.
func TestDemoVendorsAnswer(t *testing.T) {
	base := demoGateway(t)
	oc := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(demo.Key), option.WithMaxRetries(0))
	ac := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey(demo.Key), aoption.WithMaxRetries(0))
	ctx := context.Background()
	for _, model := range []string{"openai/gpt-4o-mini", "azure/gpt-4o", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash",
		"xai/grok-3-mini", "deepseek/deepseek-reasoner", "mistral/magistral-medium-latest", "chat-default"} {
		params := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}}
		resp, err := oc.Chat.Completions.New(ctx, params)
		if err != nil || len(resp.Choices) == 0 || resp.Choices[0].Message.Content == "" {
			t.Errorf("%s: %v", model, err)
		}
		stream := oc.Chat.Completions.NewStreaming(ctx, params)
		var text strings.Builder
		for stream.Next() {
			for _, c := range stream.Current().Choices {
				text.WriteString(c.Delta.Content)
			}
		}
		if err := stream.Err(); err != nil || text.Len() == 0 {
			t.Errorf("%s streamed: %v, %q", model, err, text.String())
		}
		msg, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}})
		if err != nil || len(msg.Content) == 0 {
			t.Errorf("%s, Anthropic client: %v", model, err)
		}
	}
}

// A model name's suffix asks for a fault, in the vendor's own shape; the
// demo routes show a fallback and a hedge serve anyway.
func TestDemoFaults(t *testing.T) {
	base := demoGateway(t)
	ctx := context.Background()
	oc := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(demo.Key), option.WithMaxRetries(0))
	ask := func(model string) (*http.Response, error) {
		var resp *http.Response
		_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}}, option.WithResponseInto(&resp))
		return resp, err
	}
	for model, status := range map[string]int{"openai/gpt-4o-mini+429": 429, "anthropic/claude-sonnet-4-5+429": 429,
		"gemini/gemini-2.5-flash+500": 500, "deepseek/deepseek-chat+500": 500} {
		_, err := ask(model)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode/100 != status/100 {
			t.Errorf("%s: %v, want a %d", model, err, status)
		}
	}
	for _, route := range []string{"demo-fallback", "demo-hedge"} {
		resp, err := ask(route)
		if err != nil {
			t.Fatalf("%s: %v", route, err)
		}
		if p := resp.Header.Get("X-Switchyard-Provider"); route == "demo-fallback" && p != "anthropic" || route == "demo-hedge" && p != "deepseek" {
			t.Errorf("%s served by %q (attempts %s)", route, p, resp.Header.Get("X-Switchyard-Attempts"))
		}
	}
	// A cut stream ends in an error after some content.
	stream := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "deepseek/deepseek-reasoner+cut",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}})
	n := 0
	for stream.Next() {
		n++
	}
	if stream.Err() == nil || n == 0 {
		t.Errorf("cut stream: %d chunks, error %v", n, stream.Err())
	}
}

// The demo vendors list models, which /v1/models shows: the vendors' own
// lists, not the price list's.
func TestDemoModels(t *testing.T) {
	base := demoGateway(t)
	oc := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(demo.Key))
	page, err := oc.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	for _, want := range []string{"chat-default", "demo-fallback", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5-20250929",
		"gemini/gemini-2.5-pro", "deepseek/deepseek-chat", "xai/grok-3-mini", "mistral/magistral-medium-latest", "azure/gpt-4o"} {
		if !slices.Contains(ids, want) {
			t.Errorf("models lack %s: %v", want, ids)
		}
	}
	if slices.Contains(ids, "gemini/text-embedding-004") {
		t.Error("an embedding-only Gemini model is listed for chat")
	}
}

func TestCheckListen(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:0": true,
		":8080": false, "0.0.0.0:8080": false, "10.1.2.3:8080": false, "example.com:80": false} {
		if err := demo.CheckListen(addr, false); (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
		if err := demo.CheckListen(addr, true); err != nil {
			t.Errorf("%s, public: %v", addr, err)
		}
	}
	if err := demo.CheckListen(":8080", false); !strings.Contains(err.Error(), "--demo-public") {
		t.Errorf("the refusal does not say how to ask: %v", err)
	}
}

// A revoked demo key is replaced by a new one, whose secret is returned.
func TestEnsureKeyAfterRevoke(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if k, err := demo.EnsureKey(ctx, st); err != nil || k != demo.Key {
		t.Fatalf("first: %q %v", k, err)
	}
	if k, err := demo.EnsureKey(ctx, st); err != nil || k != demo.Key {
		t.Fatalf("again: %q %v", k, err)
	}
	if err := st.RevokeKey(ctx, demo.KeyName); err != nil {
		t.Fatal(err)
	}
	k, err := demo.EnsureKey(ctx, st)
	if err != nil || k == demo.Key || !strings.HasPrefix(k, "sk-sy-") {
		t.Fatalf("after revoke: %q %v", k, err)
	}
}
