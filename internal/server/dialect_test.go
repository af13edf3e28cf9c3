package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// Whatever makes an Anthropic error body say overloaded_error (a vendor
// overloaded, or none reachable) goes out with Anthropic's 529, which its
// SDKs retry; OpenAI clients get 503 for the same.
func TestOverloadedStatusByDialect(t *testing.T) {
	for _, kind := range []llm.ErrorKind{llm.KindOverloaded, llm.KindUnavailable} {
		for d, want := range map[llm.Dialect]int{llm.DialectAnthropic: 529, llm.DialectOpenAI: 503} {
			w := httptest.NewRecorder()
			writeDialectError(w, d, &llm.Error{Kind: kind, Message: "no vendor answered"})
			if w.Code != want || w.Header().Get("Retry-After") == "" {
				t.Errorf("%s, dialect %v: status %d, retry-after %q; want %d with one", kind, d, w.Code, w.Header().Get("Retry-After"), want)
			}
			if d == llm.DialectAnthropic && !strings.Contains(w.Body.String(), `"overloaded_error"`) {
				t.Errorf("%s: body %s", kind, w.Body)
			}
		}
	}
}
