package router

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-ai/switchyard/internal/tracing"
)

// startAttemptSpan starts the client span of an attempt on t, following
// the OpenTelemetry GenAI semantic conventions.
func (r *Router) startAttemptSpan(ctx context.Context, t Target, hedge bool) (context.Context, trace.Span) {
	if !tracing.Enabled(r.TracerProvider) {
		return ctx, noSpan
	}
	op := tracing.Operation(ctx)
	return tracing.Tracer(r.TracerProvider).Start(ctx, op+" "+t.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("gen_ai.operation.name", op),
		attribute.String("gen_ai.system", t.Provider.Type()),
		attribute.String("gen_ai.request.model", t.Model),
		attribute.String("switchyard.target", t.String()),
		attribute.Bool("switchyard.hedge", hedge),
	))
}

// noSpan is a span that records nothing.
var noSpan = trace.SpanFromContext(context.Background())

// endAttemptSpan records an attempt's outcome on its span and ends it.
func endAttemptSpan(span trace.Span, a *Attempt) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("switchyard.attempt.outcome", a.Outcome))
	if a.Status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", a.Status))
	}
	if a.Outcome != "ok" {
		span.SetAttributes(attribute.String("error.type", a.Outcome))
		span.SetStatus(codes.Error, a.Error)
	}
	span.End()
}
