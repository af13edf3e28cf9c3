package gateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// scrape fetches and parses GET /metrics.
func (e *env) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return fams
}

// series returns the metrics of family name whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// value is the sum of the counter or gauge values of the matching series.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, m := range series(fams, name, want) {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// histo is the summed sample count and sum of the matching histograms.
func histo(fams map[string]*dto.MetricFamily, name string, want map[string]string) (count uint64, sum float64) {
	for _, m := range series(fams, name, want) {
		count += m.GetHistogram().GetSampleCount()
		sum += m.GetHistogram().GetSampleSum()
	}
	return count, sum
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const target = "openai/gpt-4o-mini"
	ks, err := e.gw.Store.ListKeys(ctx, store.Page{})
	if err != nil || len(ks) != 1 {
		t.Fatal(ks, err)
	}
	keyName := ks[0].ID

	texts := []string{"one", "two words", "three little words"}
	streams := []int{3, 5}
	for _, s := range texts {
		e.fake.Enqueue("/chat/completions", fakeupstream.TextCompletion(s))
	}
	for _, n := range streams {
		e.fake.Enqueue("/chat/completions", fakeupstream.TextStream(n, "tok ", true))
	}
	// Once the queue is used up, every request is rate limited.
	e.fake.Handle("/chat/completions", fakeupstream.RateLimited(""))

	var inSum, outSum int64
	for _, s := range texts {
		resp, err := e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: target, Messages: userMsg("hi")})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.Usage.CompletionTokens, int64(len(strings.Fields(s))); got != want {
			t.Fatalf("completion tokens %d, the fake documents %d", got, want)
		}
		inSum += resp.Usage.PromptTokens
		outSum += resp.Usage.CompletionTokens
	}
	for _, n := range streams {
		st := e.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: target, Messages: userMsg("hi"),
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		acc := accumulate(t, st)
		if acc.Usage.CompletionTokens != int64(n) {
			t.Fatalf("stream completion tokens %d, the fake documents %d", acc.Usage.CompletionTokens, n)
		}
		inSum += acc.Usage.PromptTokens
		outSum += acc.Usage.CompletionTokens
	}
	var apiErr *openai.Error
	_, err = e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: target, Messages: userMsg("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("rate limited request: %v", err)
	}
	_, err = e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "no-such-model", Messages: userMsg("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown model: %v", err)
	}
	const total = 7

	// Wait for the request log to store everything, then scrape.
	deadline := time.Now().Add(5 * time.Second)
	for e.gw.Log.Stats().Written < total && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	logs := e.logs()
	errClass := map[int]string{}
	for _, l := range logs {
		errClass[l.Status] = l.ErrorClass
	}
	fams := e.scrape()

	// Requests, per status.
	req := "switchyard_requests_total"
	ok := map[string]string{"endpoint": "chat.completions", "provider": "openai", "model": target, "key": keyName, "status": "200", "error_type": ""}
	if got := value(fams, req, ok); got != float64(len(texts)+len(streams)) {
		t.Errorf("%s{status=200} = %v", req, got)
	}
	limited := map[string]string{"endpoint": "chat.completions", "provider": "openai", "model": target, "key": keyName, "status": "429", "error_type": errClass[429]}
	if got := value(fams, req, limited); got != 1 || errClass[429] == "" {
		t.Errorf("%s%v = %v", req, limited, got)
	}
	// A model the config does not know is not a label value of its own.
	unknown := map[string]string{"endpoint": "chat.completions", "provider": "", "model": "_other", "key": keyName, "status": "404", "error_type": errClass[404]}
	if got := value(fams, req, unknown); got != 1 || errClass[404] == "" {
		t.Errorf("%s%v = %v", req, unknown, got)
	}
	if n := len(series(fams, req, nil)); n != 3 {
		t.Errorf("%d series of %s, want 3", n, req)
	}
	if got := value(fams, req, nil); got != total {
		t.Errorf("%s total = %v, want %d", req, got, total)
	}

	// Tokens: exactly what the fake upstream reported.
	tok := map[string]string{"provider": "openai", "model": "gpt-4o-mini", "key": keyName}
	for typ, want := range map[string]int64{"input": inSum, "output": outSum} {
		tok["type"] = typ
		if got := value(fams, "switchyard_tokens_total", tok); got != float64(want) {
			t.Errorf("switchyard_tokens_total{type=%q} = %v, want %d", typ, got, want)
		}
	}
	if n := len(series(fams, "switchyard_tokens_total", nil)); n != 2 {
		t.Errorf("%d token series, want 2 (the fake reports no cached or reasoning tokens)", n)
	}
	genAI := map[string]string{"gen_ai_operation_name": "chat", "gen_ai_system": "openai", "gen_ai_request_model": target,
		"gen_ai_response_model": "gpt-4o-mini", "provider": "openai", "key": keyName}
	for typ, want := range map[string]int64{"input": inSum, "output": outSum} {
		genAI["gen_ai_token_type"] = typ
		if n, sum := histo(fams, "gen_ai_client_token_usage", genAI); n != uint64(len(texts)+len(streams)) || sum != float64(want) {
			t.Errorf("gen_ai_client_token_usage{%s}: count %d sum %v, want %d and %d", typ, n, sum, len(texts)+len(streams), want)
		}
	}
	delete(genAI, "gen_ai_token_type")
	if n, _ := histo(fams, "gen_ai_server_time_to_first_token_seconds", nil); n != uint64(len(streams)) {
		t.Errorf("time to first token count = %d, want %d", n, len(streams))
	}
	genAI["error_type"] = ""
	if n, _ := histo(fams, "gen_ai_client_operation_duration_seconds", genAI); n != uint64(len(texts)+len(streams)) {
		t.Errorf("operation duration count (ok) = %d", n)
	}
	if n, _ := histo(fams, "gen_ai_client_operation_duration_seconds", nil); n != total {
		t.Errorf("operation duration count = %d, want %d", n, total)
	}

	// Router: the rate-limited request tried the target 1+retries times.
	tries := 1 + router.DefaultRetries
	if got := value(fams, "switchyard_upstream_attempts_total", map[string]string{"target": target, "outcome": "ok"}); got != float64(len(texts)+len(streams)) {
		t.Errorf("ok attempts = %v", got)
	}
	if got := value(fams, "switchyard_upstream_attempts_total", nil); got != float64(len(texts)+len(streams)+tries) {
		t.Errorf("attempts = %v, want %d", got, len(texts)+len(streams)+tries)
	}
	if got := value(fams, "switchyard_retries_total", map[string]string{"target": target}); got != float64(router.DefaultRetries) {
		t.Errorf("retries = %v, want %d", got, router.DefaultRetries)
	}
	if got := value(fams, "switchyard_fallbacks_total", nil) + value(fams, "switchyard_hedges_total", nil); got != 0 {
		t.Errorf("fallbacks + hedges = %v", got)
	}
	if s := series(fams, "switchyard_breaker_state", map[string]string{"route": "chat-default", "target": target}); len(s) != 1 {
		t.Errorf("breaker state series: %v", s)
	} else if v := s[0].GetGauge().GetValue(); v < 0 || v > 2 {
		t.Errorf("breaker state = %v", v)
	}

	// Request log and store.
	for name, want := range map[string]float64{
		"switchyard_request_log_written_total": total, "switchyard_request_log_dropped_total": 0,
		"switchyard_request_log_failed_total": 0, "switchyard_request_log_queue_depth": 0, "switchyard_store_up": 1,
	} {
		if s := series(fams, name, nil); len(s) != 1 {
			t.Errorf("%s: %d series", name, len(s))
		} else if got := value(fams, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	// Readiness follows the store.
	ready := func() (int, string) {
		resp, err := http.Get(e.srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := ready(); code != http.StatusOK || body != "ready\n" {
		t.Errorf("readyz = %d %q", code, body)
	}
	e.gw.Store.Close()
	if code, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("readyz after closing the store = %d %q", code, body)
	}
	if got := value(e.scrape(), "switchyard_store_up", nil); got != 0 {
		t.Errorf("switchyard_store_up after closing the store = %v", got)
	}
}
