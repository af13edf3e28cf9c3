package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		status     int
		kind       llm.ErrorKind
		wantStatus int
		class      string
	}{
		{400, llm.KindInvalidRequest, 400, "upstream_4xx"},
		{401, llm.KindUpstream, 502, ClassAuth},
		{402, llm.KindPermission, 402, "upstream_4xx"},
		{403, llm.KindUpstream, 502, ClassAuth},
		{404, llm.KindNotFound, 404, "upstream_4xx"},
		{413, llm.KindRequestTooLarge, 413, "upstream_4xx"},
		{422, llm.KindInvalidRequest, 422, "upstream_4xx"},
		{429, llm.KindRateLimit, 429, "upstream_4xx"},
		{500, llm.KindUpstream, 500, "upstream_5xx"},
		{503, llm.KindOverloaded, 503, "upstream_5xx"},
		{529, llm.KindOverloaded, 529, "upstream_5xx"},
		{504, llm.KindTimeout, 504, "upstream_5xx"},
		{302, llm.KindUpstream, 502, "upstream_4xx"},
	} {
		e := &llm.Error{Message: "vendor says no", Type: "t"}
		Classify(e, "acme", tt.status)
		if e.Kind != tt.kind || e.HTTPStatus() != tt.wantStatus || e.Class != tt.class {
			t.Errorf("%d: kind %s status %d class %s", tt.status, e.Kind, e.HTTPStatus(), e.Class)
		}
	}
	// The gateway's refused credentials are the operator's problem, said so.
	e := &llm.Error{Message: "invalid x-api-key", Type: "authentication_error"}
	Classify(e, "acme", 401)
	if !strings.Contains(e.Message, `provider "acme" rejected the gateway's credentials`) || e.Type != "" {
		t.Errorf("401: %+v", e)
	}
	e = &llm.Error{}
	Classify(e, "acme", 500)
	if e.Message != `provider "acme" answered HTTP 500` {
		t.Errorf("no message: %q", e.Message)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		h    http.Header
		want string
	}{
		{http.Header{"Retry-After": {"7"}}, "7"},
		{http.Header{"Retry-After-Ms": {"1500"}}, "2"},
		{http.Header{"Retry-After": {"3"}, "Retry-After-Ms": {"100"}}, "3"},
		{http.Header{"Retry-After-Ms": {"soon"}}, ""},
		{http.Header{}, ""},
	} {
		if got := RetryAfter(tt.h); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.h, got, tt.want)
		}
	}
}

func TestTransportError(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if e := TransportError(gone, "acme", context.Canceled); e.Class != "client_gone" {
		t.Errorf("cancelled: %+v", e)
	}
	if e := TransportError(context.Background(), "acme", context.DeadlineExceeded); e.Kind != llm.KindTimeout {
		t.Errorf("deadline: %+v", e)
	}
	if e := TransportError(context.Background(), "acme", errors.New("connection refused")); e.Class != "upstream_connection" || !strings.Contains(e.Message, "acme") {
		t.Errorf("refused: %+v", e)
	}
	// A real refusal says so, without the address it was refused at.
	_, err := http.Get("http://127.0.0.1:1/")
	if e := TransportError(context.Background(), "acme", err); e.Message != `could not reach provider "acme": connection refused` {
		t.Errorf("a refused connection: %q (from %v)", e.Message, err)
	}
	_, err = http.Get("http://switchyard.invalid/")
	if e := TransportError(context.Background(), "acme", err); e.Message != `could not reach provider "acme": host name not resolved` || strings.Contains(e.Message, "invalid") {
		t.Errorf("an unknown host: %q (from %v)", e.Message, err)
	}
}

func TestReadBody(t *testing.T) {
	if b, err := ReadBody(strings.NewReader("ok")); err != nil || string(b) != "ok" {
		t.Fatalf("%q %v", b, err)
	}
	_, err := ReadBody(strings.NewReader(strings.Repeat("x", MaxBody+1)))
	var e *llm.Error
	if !errors.As(err, &e) || e.Class != "upstream_malformed" {
		t.Fatalf("oversized: %v", err)
	}
}

func TestReadError(t *testing.T) {
	own := &llm.Error{Kind: llm.KindTimeout, Class: "idle_timeout"}
	for _, tt := range []struct {
		err   error
		class string
	}{
		{own, "idle_timeout"},
		{fmt.Errorf("read: %w", context.Canceled), "client_gone"},
		{context.DeadlineExceeded, "upstream_timeout"},
		{sse.ErrEventTooLarge, "upstream_malformed"},
		{io.ErrUnexpectedEOF, "stream_cut"},
	} {
		if got := llm.ReadError(tt.err); got.Class != tt.class {
			t.Errorf("%v: class %q, want %q", tt.err, got.Class, tt.class)
		}
	}
}

func TestPost(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		if r.URL.Path == "/fail" {
			w.WriteHeader(429)
			io.WriteString(w, "slow down")
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	call := Call{Client: srv.Client(), Provider: "acme", Timeout: time.Minute, URL: srv.URL + "/ok", Body: []byte("{}"), Stream: true,
		Header: map[string]string{"X-Team": "a"}, Auth: func(h http.Header) { h.Set("X-Key", "k") },
		Error: func(resp *http.Response, body []byte) *llm.Error {
			return &llm.Error{Kind: llm.KindRateLimit, Message: string(body)}
		}}
	resp, err := Post(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Get("Accept") != "text/event-stream" || got.Get("Content-Type") != "application/json" || got.Get("X-Team") != "a" || got.Get("X-Key") != "k" {
		t.Errorf("headers sent: %v", got)
	}
	call.URL = srv.URL + "/fail"
	if _, err := Post(context.Background(), call); err == nil || err.(*llm.Error).Message != "slow down" {
		t.Errorf("error answer: %v", err)
	}
	// A refused connection is the vendor's failure, not the client's
	// departure, even though the call's context is released at once.
	call.URL = "http://127.0.0.1:1/x"
	if _, err := Post(context.Background(), call); err == nil || err.(*llm.Error).Class != "upstream_connection" {
		t.Errorf("refused: %v", err)
	}
}
