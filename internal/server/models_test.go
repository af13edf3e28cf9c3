package server

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/provider"
	_ "github.com/switchyard-ai/switchyard/internal/provider/all"
	"github.com/switchyard-ai/switchyard/internal/router"
)

// modelsServer is a Server whose router has providers of the given configs.
func modelsServer(t *testing.T, cfgs ...config.Provider) *Server {
	t.Helper()
	ps, err := provider.NewSet(cfgs, func(config.Provider) provider.Options { return provider.Options{Client: http.DefaultClient} })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(ps, nil, config.Router{})
	if err != nil {
		t.Fatal(err)
	}
	prices, err := pricing.Default(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Pricing: prices, Logger: slog.New(slog.DiscardHandler)}
	s.SetRouter(rt)
	return s
}

func ids(s *Server) []string {
	var out []string
	for _, m := range s.models(&call{}) {
		out = append(out, m.ID)
	}
	return out
}

func modelRequests(f *fakeupstream.Server) int {
	n := 0
	for _, r := range f.Requests() {
		if strings.HasSuffix(r.Path, "/models") {
			n++
		}
	}
	return n
}

// Providers with list_models list what their vendor lists, in the
// vendor's shape, asked once and then cached; others are not asked.
func TestModelsFromVendors(t *testing.T) {
	oa, an, ge, quiet := fakeupstream.New(), fakeupstream.New(), fakeupstream.New(), fakeupstream.New()
	for _, f := range []*fakeupstream.Server{oa, an, ge, quiet} {
		defer f.Close()
	}
	oa.Handle("/models", fakeupstream.OpenAIModels("openai", "alpha", "beta"))
	an.Handle("/v1/models", fakeupstream.AnthropicModels("claude-x"))
	ge.Handle("/v1beta/models", fakeupstream.GeminiModels("gemini-x", "text-embedding-x"))
	quiet.Handle("/models", fakeupstream.OpenAIModels("openai", "never-listed"))
	s := modelsServer(t,
		config.Provider{Name: "oa", Type: "openai", BaseURL: oa.URL() + "/v1", APIKey: "k1", ListModels: true},
		config.Provider{Name: "an", Type: "anthropic", BaseURL: an.URL(), APIKey: "k2", ListModels: true},
		config.Provider{Name: "ge", Type: "gemini", BaseURL: ge.URL(), APIKey: "k3", ListModels: true},
		config.Provider{Name: "quiet", Type: "openai", BaseURL: quiet.URL() + "/v1", APIKey: "k4"},
		config.Provider{Name: "named", Type: "openai", BaseURL: quiet.URL() + "/v1", ListModels: true, Models: []string{"configured"}},
	)
	want := []string{"oa/alpha", "oa/beta", "an/claude-x", "ge/gemini-x", "named/configured"}
	for range 3 {
		if got := ids(s); !slices.Equal(got, want) {
			t.Fatalf("models %v, want %v", got, want)
		}
	}
	if modelRequests(oa) != 1 || modelRequests(an) != 1 || modelRequests(ge) != 1 || modelRequests(quiet) != 0 {
		t.Errorf("model list requests: oa %d, an %d, ge %d, quiet %d; want 1, 1, 1, 0", modelRequests(oa), modelRequests(an), modelRequests(ge), modelRequests(quiet))
	}
	for _, c := range []struct {
		f      *fakeupstream.Server
		header string
		value  string
	}{{oa, "Authorization", "Bearer k1"}, {an, "X-Api-Key", "k2"}, {ge, "X-Goog-Api-Key", "k3"}} {
		if got := c.f.LastRequest().Header.Get(c.header); got != c.value {
			t.Errorf("%s = %q, want %q", c.header, got, c.value)
		}
	}
}

// While a vendor does not answer, or when it fails, the models of the
// type the price list knows are listed; the listing does not wait for the
// vendor, and a failure is not asked again at once.
func TestModelsFallBackToPriceList(t *testing.T) {
	defer func(d time.Duration) { modelsWait = d }(modelsWait)
	modelsWait = 0
	stalled, failing := fakeupstream.New(), fakeupstream.New()
	defer stalled.Close()
	defer failing.Close()
	stalled.Handle("/models", fakeupstream.Response{FirstByteDelay: time.Hour})
	failing.Handle("/models", fakeupstream.ServerError(500))
	s := modelsServer(t,
		config.Provider{Name: "ds", Type: "deepseek", BaseURL: stalled.URL(), ListModels: true},
		config.Provider{Name: "xa", Type: "xai", BaseURL: failing.URL(), ListModels: true},
	)
	got := ids(s)
	for _, want := range []string{"ds/deepseek-chat", "ds/deepseek-reasoner", "xa/grok-3"} {
		if !slices.Contains(got, want) {
			t.Errorf("models %v lack %s", got, want)
		}
	}
	for _, m := range got {
		if strings.ContainsAny(m, "*?[") {
			t.Errorf("a price pattern listed as a model: %s", m)
		}
	}
	// The failure is seen by the time the failing vendor has answered;
	// wait for that by asking until it is recorded, then list again.
	for modelRequests(failing) == 0 {
		time.Sleep(time.Millisecond)
	}
	ids(s)
	if n := modelRequests(failing); n != 1 {
		t.Errorf("a failing vendor was asked %d times, want once until modelsRetry passes", n)
	}
}
