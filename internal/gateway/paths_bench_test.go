package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// BenchmarkPaths compares, in one run, a streamed request through the
// OpenAI fast path with the same kind of request through the canonical
// model: each client dialect to a vendor of the other wire format, and
// Anthropic to Anthropic. Each upstream answer is a real recorded stream.
// The figures include the loopback HTTP of client, gateway and fake
// upstream, so the differences between the sub-benchmarks, not their
// absolute values, are the translators' cost.
func BenchmarkPaths(b *testing.B) {
	e := matrixEnv(b)
	e.fake.SetRecording(false)
	e.fake.Handle("/chat/completions", fakeupstream.MustTranscript("openai-chat-stream-text-include-usage.sse"))
	e.fake.Handle("/v1/messages", fakeupstream.MustTranscript("anthropic-messages-stream-tool-use.sse"))
	openaiBody := func(model string) string {
		return `{"model":"` + model + `","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"What is the capital of the UK?"}]}`
	}
	anthropicBody := func(model string) string {
		return `{"model":"` + model + `","stream":true,"max_tokens":1024,"messages":[{"role":"user","content":"What is the capital of the UK?"}]}`
	}
	for _, bm := range []struct {
		name, path, body string
	}{
		{"openai-client/openai-vendor(fast path)", "/v1/chat/completions", openaiBody("m-openai")},
		{"anthropic-client/openai-vendor", "/v1/messages", anthropicBody("m-openai")},
		{"openai-client/anthropic-vendor", "/v1/chat/completions", openaiBody("m-anthropic")},
		{"anthropic-client/anthropic-vendor", "/v1/messages", anthropicBody("m-anthropic")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest("POST", e.srv.URL+bm.path, strings.NewReader(bm.body))
				req.Header.Set("Authorization", "Bearer "+e.key)
				req.Header.Set("Anthropic-Version", "2023-06-01")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || len(body) == 0 {
					b.Fatalf("%d %s", resp.StatusCode, body)
				}
			}
		})
	}
}
