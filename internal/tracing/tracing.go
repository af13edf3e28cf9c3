// Package tracing sets up OpenTelemetry tracing: spans exported over
// OTLP/HTTP to a collector, or, when no endpoint is configured, a no-op
// provider that costs the hot path nothing.
package tracing

import (
	"context"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/switchyard-ai/switchyard/internal/config"
)

// Name is the instrumentation scope of Switchyard's spans.
const Name = "github.com/switchyard-ai/switchyard"

// Setup returns the tracer provider for cfg and the function that flushes
// and stops it. With no endpoint, tracing is off: the provider is a no-op
// and shutdown does nothing.
//
// The endpoint is the collector's base URL (http://otel-collector:4318);
// spans go to its /v1/traces, unless the URL has a path of its own.
// New traces are sampled at cfg.SampleRatio (a zero ratio means 1, the
// default); a request that arrives in a sampled trace is always recorded.
func Setup(ctx context.Context, cfg config.Tracing) (trace.TracerProvider, func(context.Context) error, error) {
	if cfg.Endpoint == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, nil, err
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, nil, err
	}
	name := cfg.ServiceName
	if name == "" {
		name = "switchyard"
	}
	ratio := cfg.SampleRatio
	if ratio == 0 {
		ratio = 1
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", name)))
	if err != nil {
		res = resource.NewSchemaless(attribute.String("service.name", name))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return tp, tp.Shutdown, nil
}

// Tracer returns Switchyard's tracer from tp; nil means tracing is off.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return noopTracer
	}
	return tp.Tracer(Name)
}

var noopTracer = noop.NewTracerProvider().Tracer(Name)

type operationKey struct{}

// WithOperation notes the GenAI operation of a request ("chat",
// "embeddings") in ctx, for the spans of its upstream attempts.
func WithOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// Operation returns the operation WithOperation noted, "chat" by default.
func Operation(ctx context.Context) string {
	if op, ok := ctx.Value(operationKey{}).(string); ok {
		return op
	}
	return "chat"
}

// Enabled reports whether tp records anything: it is neither nil nor the
// no-op provider, so callers can skip even starting spans.
func Enabled(tp trace.TracerProvider) bool {
	if tp == nil {
		return false
	}
	_, off := tp.(noop.TracerProvider)
	return !off
}
