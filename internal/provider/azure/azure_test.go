package azure_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	_ "github.com/switchyard-ai/switchyard/internal/provider/azure"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

const req = `{"model":"azure/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true}`

func TestDeploymentURLAndPitfall11EmptyFirstChunk(t *testing.T) {
	res := pt.Chat(t, config.Provider{Type: "azure-openai", APIVersion: "2024-10-21", APIKey: "az-key"},
		pt.Transcript(t, "azure-openai-chat-stream-deployments.sse"), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Sent.Path != "/openai/deployments/gpt-4o-mini/chat/completions" || res.Sent.RawQuery != "api-version=2024-10-21" {
		t.Errorf("sent to %s?%s", res.Sent.Path, res.Sent.RawQuery)
	}
	if res.Sent.Header.Get("Api-Key") != "az-key" || res.Sent.Header.Get("Authorization") != "" {
		t.Errorf("auth headers: %v", res.Sent.Header)
	}
	// P11: the prompt_filter_results chunk with no choices is not passed on.
	if bytes.Contains(res.Out, []byte("prompt_filter_results")) {
		t.Error("prompt_filter_results chunk passed to the client")
	}
	// Everything else is forwarded unchanged.
	want := pt.Body(t, "azure-openai-chat-stream-deployments.sse")
	if _, rest, ok := bytes.Cut(want, []byte("\n\n")); !ok || !bytes.Equal(res.Out, rest) {
		t.Errorf("stream changed beyond its first chunk")
	}
	pt.Golden(t, "deployments.golden", res.Out)
}

func TestV1URL(t *testing.T) {
	res := pt.Chat(t, config.Provider{Type: "azure-openai", BaseURL: "/openai/v1"},
		pt.Transcript(t, "azure-openai-v1-chat-stream-include-usage.sse"), strings.Replace(req, "gpt-4o-mini", "gpt-5-mini", 1))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Sent.Path != "/openai/v1/chat/completions" || res.Sent.RawQuery != "" {
		t.Errorf("sent to %s?%s", res.Sent.Path, res.Sent.RawQuery)
	}
	if !bytes.Contains(res.Sent.Body, []byte(`"model":"gpt-5-mini"`)) {
		t.Errorf("model not in body: %s", res.Sent.Body)
	}
	if res.Usage.InputTokens == 0 || res.Usage.OutputTokens == 0 {
		t.Errorf("usage = %+v", res.Usage)
	}
	if bytes.Contains(res.Out, []byte(`"choices":[]`)) {
		t.Error("a chunk without choices reached a client that asked for no usage")
	}
	pt.Golden(t, "v1.golden", res.Out)
}
