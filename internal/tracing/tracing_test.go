package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/switchyard-ai/switchyard/internal/config"
)

func TestOff(t *testing.T) {
	tp, shutdown, err := Setup(context.Background(), config.Tracing{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tp.(noop.TracerProvider); !ok {
		t.Errorf("provider %T, want a no-op", tp)
	}
	_, span := Tracer(tp).Start(context.Background(), "x")
	if span.IsRecording() {
		t.Error("a no-op span records")
	}
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if _, span := Tracer(nil).Start(context.Background(), "x"); span.IsRecording() {
		t.Error("nil provider records")
	}
}

func TestExport(t *testing.T) {
	var hits atomic.Int64
	var path atomic.Value
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		path.Store(r.URL.Path)
		hits.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	tp, shutdown, err := Setup(context.Background(), config.Tracing{Endpoint: collector.URL, SampleRatio: 1, ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := Tracer(tp).Start(context.Background(), "chat test")
	if !span.IsRecording() {
		t.Error("span not recording")
	}
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() == 0 {
		t.Fatal("nothing exported")
	}
	if p := path.Load(); p != "/v1/traces" {
		t.Errorf("exported to %v, want /v1/traces", p)
	}
}

func TestEnabled(t *testing.T) {
	tp, _, _ := Setup(context.Background(), config.Tracing{})
	if Enabled(nil) || Enabled(tp) {
		t.Error("no-op provider enabled")
	}
}
