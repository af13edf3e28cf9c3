package azure_test

import (
	"bytes"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

// No Azure Responses stream is recorded; OpenAI's shows that the v1
// surface is addressed and authenticated as Azure wants, and that the
// stream goes through untouched.
func TestResponsesV1(t *testing.T) {
	const name = "openai-responses-stream-function-call.sse"
	res := pt.Forward(t, config.Provider{Type: "azure-openai", BaseURL: "/openai/v1", APIKey: "az-key"}, "/responses",
		fakeupstream.MustResponsesTranscript(name, true), llm.DialectResponses, `{"model":"azure/my-gpt-4o","input":"hi","stream":true}`, true)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Sent.Path != "/openai/v1/responses" || res.Sent.RawQuery != "" {
		t.Errorf("sent to %s?%s", res.Sent.Path, res.Sent.RawQuery)
	}
	if res.Sent.Header.Get("Api-Key") != "az-key" || res.Sent.Header.Get("Authorization") != "" {
		t.Errorf("auth headers: %v", res.Sent.Header)
	}
	if !bytes.Contains(res.Sent.Body, []byte(`"model":"my-gpt-4o"`)) {
		t.Errorf("model not in body: %s", res.Sent.Body)
	}
	if !bytes.Equal(res.Out, pt.Body(t, name)) {
		t.Error("stream changed in transit")
	}
	if want := (llm.Usage{InputTokens: 255, OutputTokens: 16}); res.Usage != want {
		t.Errorf("usage = %+v", res.Usage)
	}
}

func TestResponsesNotOnDeployments(t *testing.T) {
	for _, c := range []struct {
		cfg  config.Provider
		want bool
	}{
		{config.Provider{Name: "a", Type: "azure-openai", BaseURL: "https://x.openai.azure.com", APIVersion: "2024-10-21"}, false},
		{config.Provider{Name: "b", Type: "azure-openai", BaseURL: "https://x.openai.azure.com/openai/v1"}, true},
	} {
		p, err := provider.New(c.cfg, provider.Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, ok := p.(provider.Native)
		if got := ok && n.Speaks(llm.DialectResponses); got != c.want {
			t.Errorf("api_version %q: Speaks(responses) = %v, want %v", c.cfg.APIVersion, got, c.want)
		}
	}
}
