package router

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	_ "github.com/switchyard-ai/switchyard/internal/provider/openai"
)

// A model of a provider that is not configured is refused with a 404 that
// says so, and how to configure it.
func TestResolveUnconfiguredProvider(t *testing.T) {
	ps, err := provider.NewSet([]config.Provider{{Name: "local", Type: "openai", APIKey: "k", Models: []string{"org/model"}}},
		func(config.Provider) provider.Options { return provider.Options{} })
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(ps, nil, config.Router{})
	if err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]string{
		"openai/gpt-4o-mini": "names the provider `openai`, which is not configured: set OPENAI_API_KEY (without a config file), or add it under providers: in the config file; to try the gateway without vendor keys, run switchyard serve --demo",
		"azure/gpt-4o":       "set AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT",
		"acme/model":         "names the provider `acme`, which is not configured: add it under providers: in the config file",
		"local/":             "does not exist",
		"no-such-bare-model": "does not exist",
	} {
		_, err := r.Resolve(model)
		var e *llm.Error
		if !errors.As(err, &e) || e.Kind != llm.KindNotFound || !strings.Contains(e.Message, want) {
			t.Errorf("%s: %v, want a not-found saying %q", model, err, want)
		}
	}
	// A bare model name with a slash, listed by a provider, still resolves.
	if rt, err := r.Resolve("org/model"); err != nil || rt.Targets[0].String() != "local/org/model" {
		t.Errorf("org/model: %v %v", rt, err)
	}
}
