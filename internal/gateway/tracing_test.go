package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// A request makes a server span, with a client span per upstream attempt
// under it, and the upstream receives the trace in traceparent.
func TestTracing(t *testing.T) {
	zero := 0
	e := newEnv(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "dead", Type: "openai", BaseURL: "http://127.0.0.1:1/v1", APIKey: "x",
			Timeout: time.Minute, ConnectTimeout: time.Second})
		c.Models = append(c.Models, config.Model{Name: "fallback", Target: "dead/gpt-4o-mini",
			Fallbacks: []string{"openai/gpt-4o-mini"}, Retries: &zero})
	})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	e.gw.SetTracerProvider(tp)

	// Not streamed, served by the fallback.
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("forty two"))
	var httpResp *http.Response
	resp, err := e.client.Chat.Completions.New(context.Background(),
		openai.ChatCompletionNewParams{Model: "fallback", Messages: userMsg("hi")}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	srv, attempts := serverSpan(t, exp, httpResp.Header.Get("X-Request-Id"))
	checkAttrs(t, srv, map[string]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.request.model":       "fallback",
		"gen_ai.response.model":      "gpt-4o-mini",
		"gen_ai.system":              "openai",
		"gen_ai.usage.input_tokens":  resp.Usage.PromptTokens,
		"gen_ai.usage.output_tokens": resp.Usage.CompletionTokens,
		"http.response.status_code":  int64(200),
	})
	if srv.Name != "chat fallback" || srv.Status.Code == codes.Error || srv.Parent.IsValid() {
		t.Errorf("server span %q, status %v, parent %v", srv.Name, srv.Status, srv.Parent)
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans, want 2", len(attempts))
	}
	dead, ok := attempts[0], attempts[1]
	checkAttrs(t, dead, map[string]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.system":              "openai",
		"gen_ai.request.model":       "gpt-4o-mini",
		"switchyard.target":          "dead/gpt-4o-mini",
		"switchyard.attempt.outcome": "upstream_connection",
		"error.type":                 "upstream_connection",
		"switchyard.hedge":           false,
	})
	if dead.Status.Code != codes.Error {
		t.Errorf("failed attempt status %v", dead.Status)
	}
	checkAttrs(t, ok, map[string]any{
		"gen_ai.system":              "openai",
		"gen_ai.request.model":       "gpt-4o-mini",
		"switchyard.target":          "openai/gpt-4o-mini",
		"switchyard.attempt.outcome": "ok",
		"switchyard.hedge":           false,
		"http.response.status_code":  int64(200),
	})
	if ok.Name != "chat gpt-4o-mini" || ok.SpanKind != trace.SpanKindClient || ok.Status.Code == codes.Error {
		t.Errorf("attempt span %q, kind %v, status %v", ok.Name, ok.SpanKind, ok.Status)
	}
	checkTraceparent(t, e, ok)

	// Streamed.
	exp.Reset()
	e.fake.Handle("/chat/completions", fakeupstream.TextStream(3, "ab ", true))
	s := e.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "openai/gpt-4o-mini", Messages: userMsg("hi"),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}, option.WithResponseInto(&httpResp))
	acc := accumulate(t, s)
	if acc.Usage.CompletionTokens == 0 {
		t.Fatal("no usage in the stream")
	}
	srv, attempts = serverSpan(t, exp, httpResp.Header.Get("X-Request-Id"))
	checkAttrs(t, srv, map[string]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.request.model":       "openai/gpt-4o-mini",
		"gen_ai.response.model":      "gpt-4o-mini",
		"gen_ai.system":              "openai",
		"gen_ai.usage.input_tokens":  acc.Usage.PromptTokens,
		"gen_ai.usage.output_tokens": acc.Usage.CompletionTokens,
		"http.response.status_code":  int64(200),
	})
	if srv.Name != "chat openai/gpt-4o-mini" {
		t.Errorf("server span %q", srv.Name)
	}
	if len(attempts) != 1 {
		t.Fatalf("%d attempt spans, want 1", len(attempts))
	}
	checkAttrs(t, attempts[0], map[string]any{"switchyard.attempt.outcome": "ok", "switchyard.target": "openai/gpt-4o-mini"})
	// The attempt span ends at the first event, before the stream does.
	if !attempts[0].EndTime.Before(srv.EndTime) {
		t.Errorf("attempt span ended %v, after its request's %v", attempts[0].EndTime, srv.EndTime)
	}
	checkTraceparent(t, e, attempts[0])
}

// serverSpan waits for the one server span of request id and returns it,
// with its children in start order.
func serverSpan(t *testing.T, exp *tracetest.InMemoryExporter, id string) (tracetest.SpanStub, []tracetest.SpanStub) {
	t.Helper()
	// The span ends after the response's last byte, so maybe just after
	// the client read it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var servers, children []tracetest.SpanStub
		spans := exp.GetSpans()
		for _, s := range spans {
			if s.SpanKind == trace.SpanKindServer {
				servers = append(servers, s)
			}
		}
		if len(servers) == 1 {
			srv := servers[0]
			if got := attr(srv, "switchyard.request_id"); got != id {
				t.Fatalf("server span request id %v, want %q", got, id)
			}
			for _, s := range spans {
				if s.SpanKind == trace.SpanKindClient {
					if s.Parent.SpanID() != srv.SpanContext.SpanID() || s.SpanContext.TraceID() != srv.SpanContext.TraceID() {
						t.Errorf("attempt span %q is not a child of the request's", s.Name)
					}
					children = append(children, s)
				}
			}
			if len(children)+1 != len(spans) {
				t.Errorf("%d spans, want the server span and its %d attempts", len(spans), len(children))
			}
			for i := 1; i < len(children); i++ {
				if children[i].StartTime.Before(children[i-1].StartTime) {
					children[i-1], children[i] = children[i], children[i-1]
				}
			}
			return srv, children
		}
		if len(servers) > 1 || time.Now().After(deadline) {
			t.Fatalf("%d server spans, want 1", len(servers))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func attr(s tracetest.SpanStub, key string) any {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.AsInterface()
		}
	}
	return nil
}

func checkAttrs(t *testing.T, s tracetest.SpanStub, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got := attr(s, k); got != v {
			t.Errorf("span %q: %s = %#v, want %#v", s.Name, k, got, v)
		}
	}
}

// checkTraceparent checks that the upstream got the trace of the attempt.
func checkTraceparent(t *testing.T, e *env, attempt tracetest.SpanStub) {
	t.Helper()
	tp := e.fake.LastRequest().Header.Get("Traceparent")
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[1] != attempt.SpanContext.TraceID().String() || parts[2] != attempt.SpanContext.SpanID().String() {
		t.Errorf("upstream traceparent %q, want trace %s, parent %s", tp, attempt.SpanContext.TraceID(), attempt.SpanContext.SpanID())
	}
}
