package server

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/tracing"
)

// traceContext reads a client's W3C traceparent, so that the request joins
// the client's trace. Explicit, not the global propagator.
var traceContext = propagation.TraceContext{}

// noSpan is a span that records nothing.
var noSpan = trace.SpanFromContext(context.Background())

// startSpan starts the server span of a request for the GenAI operation op
// ("chat", "embeddings"); it is named once the model is known (nameSpan).
// The context it returns carries the span to the upstream attempts.
func (s *Server) startSpan(r *http.Request, op string, c *call) (context.Context, trace.Span) {
	if !tracing.Enabled(s.TracerProvider) {
		return r.Context(), noSpan
	}
	ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx = tracing.WithOperation(ctx, op)
	return tracing.Tracer(s.TracerProvider).Start(ctx, op, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(c.start),
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", op),
			attribute.String("switchyard.request_id", c.id),
		))
}

// nameSpan names a request's span after the model the client asked for.
func nameSpan(span trace.Span, op, model string) {
	if !span.IsRecording() {
		return
	}
	model = clip(model, maxModelBytes) // a longer one is refused, but after this
	span.SetName(op + " " + model)
	span.SetAttributes(attribute.String("gen_ai.request.model", model))
}

// servedSpan notes on a request's span the target that served it.
func servedSpan(span trace.Span, res *router.Result) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(
		attribute.String("gen_ai.system", res.Target.Provider.Type()),
		attribute.String("gen_ai.response.model", res.Target.Model),
	)
}

// endSpan records a finished request on its span and ends it. It runs
// after the response's last byte.
func endSpan(span trace.Span, rec *store.RequestLog) {
	if !span.IsRecording() {
		return
	}
	if rec.Status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", rec.Status))
	}
	if rec.Status == http.StatusOK {
		span.SetAttributes(
			attribute.Int64("gen_ai.usage.input_tokens", rec.Usage.InputTokens),
			attribute.Int64("gen_ai.usage.output_tokens", rec.Usage.OutputTokens),
		)
	}
	if rec.ErrorClass != "" {
		span.SetAttributes(attribute.String("error.type", rec.ErrorClass))
		span.SetStatus(codes.Error, rec.ErrorMessage)
	}
	span.End()
}
