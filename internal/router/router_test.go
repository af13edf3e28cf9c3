package router_test

import (
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	_ "github.com/switchyard-ai/switchyard/internal/provider/all"
	"github.com/switchyard-ai/switchyard/internal/router"
)

func TestResolve(t *testing.T) {
	ps, err := provider.NewSet([]config.Provider{
		{Name: "openai", Type: "openai", Models: []string{"gpt-4o", "shared"}},
		{Name: "deepseek", Type: "deepseek", Models: []string{"deepseek-chat", "shared"}},
		{Name: "local", Type: "openai-compatible", BaseURL: "http://127.0.0.1:1/v1"},
	}, func(config.Provider) provider.Options { return provider.Options{} })
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(ps, []config.Model{{Name: "chat-default", Target: "deepseek/deepseek-chat"}, {Name: "gpt-4o", Target: "local/llama"}}, config.Router{})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"chat-default":            "deepseek/deepseek-chat",
		"gpt-4o":                  "local/llama", // an alias wins over a bare name
		"deepseek-chat":           "deepseek/deepseek-chat",
		"shared":                  "openai/shared", // first provider in config order
		"openai/o3":               "openai/o3",     // any model of a configured provider
		"local/org/model:tag":     "local/org/model:tag",
		"deepseek/deepseek-coder": "deepseek/deepseek-coder",
	}
	for in, want := range tests {
		rt, err := r.Resolve(in)
		if err != nil || len(rt.Targets) != 1 || rt.Targets[0].String() != want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", in, rt, err, want)
			continue
		}
		if got := rt.Pick("any"); got.String() != want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"nope/x", "unknown", "openai/", "/x", ""} {
		_, err := r.Resolve(in)
		if e, ok := err.(*llm.Error); !ok || e.Kind != llm.KindNotFound || e.Code != "model_not_found" {
			t.Errorf("Resolve(%q) err = %v", in, err)
		}
	}
	if _, err := router.New(ps, []config.Model{{Name: "x", Target: "missing/m"}}, config.Router{}); err == nil {
		t.Error("alias to an unknown provider accepted")
	}
}
