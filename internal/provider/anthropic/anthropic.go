// Package anthropic is the provider adapter for Anthropic's Messages API
// (PROTOCOLS.md section 5). It translates through the canonical model with
// package anthropicwire, in both directions.
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

const (
	// DefaultBaseURL is used when the configuration sets none.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the anthropic-version sent when the configuration
	// sets none. 2023-06-01 still accepts temperature, top_p and top_k,
	// which every other dialect may send (PROTOCOLS.md finding 1).
	DefaultVersion = "2023-06-01"
	// samplingRemoved is the first API version that rejects temperature,
	// top_p and top_k. Versions are dates, so they compare as strings.
	samplingRemoved = "2026-10-21"

	maxBody = 64 << 20
)

func init() {
	provider.Register("anthropic", func(cfg config.Provider, opts provider.Options) (provider.Provider, error) {
		return New(cfg, opts), nil
	})
}

// Provider is a configured Anthropic account.
type Provider struct {
	cfg    config.Provider
	client *http.Client
	base   string
}

// New returns the adapter for cfg.
func New(cfg config.Provider, opts provider.Options) *Provider {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	// Some clients' base URLs include /v1 (@ai-sdk/anthropic); the paths
	// below add it.
	base = strings.TrimSuffix(base, "/v1")
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	return &Provider{cfg: cfg, client: client, base: base}
}

func (p *Provider) Name() string     { return p.cfg.Name }
func (p *Provider) Type() string     { return p.cfg.Type }
func (p *Provider) Models() []string { return p.cfg.Models }

func (p *Provider) version() string {
	if p.cfg.APIVersion != "" {
		return p.cfg.APIVersion
	}
	return DefaultVersion
}

// Generate implements provider.Provider.
func (p *Provider) Generate(ctx context.Context, req *llm.Request, model string) (*provider.Generation, error) {
	body, dropped, err := p.encode(req, model)
	if err != nil {
		return nil, err
	}
	resp, err := p.do(ctx, "/v1/messages", body, req)
	if err != nil {
		return nil, err
	}
	g := &provider.Generation{Header: passHeaders(resp.Header)}
	if len(dropped) > 0 {
		g.Header.Set("X-Switchyard-Dropped-Params", strings.Join(dropped, ","))
	}
	if req.Stream {
		g.Events = anthropicwire.DecodeStream(resp.Body)
		return g, nil
	}
	defer resp.Body.Close()
	raw, err := readBody(resp.Body)
	if err != nil {
		return nil, err
	}
	r, err := anthropicwire.DecodeResponse(raw)
	if err != nil {
		return nil, err
	}
	g.Events = r.Events()
	return g, nil
}

// encode encodes req for model, first taking out the sampling parameters
// when the configured API version rejects them (pitfall 20).
func (p *Provider) encode(req *llm.Request, model string) ([]byte, []string, error) {
	r := *req // shallow: only top-level fields change
	var dropped []string
	if p.version() >= samplingRemoved {
		if r.Temperature != nil {
			r.Temperature, dropped = nil, append(dropped, "temperature")
		}
		if r.TopP != nil {
			r.TopP, dropped = nil, append(dropped, "top_p")
		}
		if r.TopK != nil {
			r.TopK, dropped = nil, append(dropped, "top_k")
		}
	}
	body, d, err := anthropicwire.EncodeRequest(&r, model)
	if err != nil {
		return nil, nil, err
	}
	return body, append(dropped, d...), nil
}

// CountTokens asks Anthropic how many input tokens req would use with
// model (POST /v1/messages/count_tokens).
func (p *Provider) CountTokens(ctx context.Context, req *llm.Request, model string) (int64, error) {
	r := *req
	r.Stream = false
	body, _, err := anthropicwire.EncodeRequest(&r, model)
	if err != nil {
		return 0, err
	}
	// The endpoint takes the prompt-shaping fields only.
	obj, err := jsonobj.Parse(body)
	if err != nil {
		return 0, &llm.Error{Kind: llm.KindServer, Class: "internal", Message: "internal error"}
	}
	for _, f := range []string{"max_tokens", "stream", "stop_sequences", "temperature", "top_p", "top_k", "metadata", "service_tier"} {
		obj.Delete(f)
	}
	resp, err := p.do(ctx, "/v1/messages/count_tokens", obj.Bytes(), &r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := readBody(resp.Body)
	if err != nil {
		return 0, err
	}
	var out struct {
		InputTokens *int64 `json:"input_tokens"`
	}
	if json.Unmarshal(raw, &out) != nil || out.InputTokens == nil {
		return 0, badUpstream("the upstream returned no input_tokens count")
	}
	return *out.InputTokens, nil
}

// Embeddings implements provider.Provider: Anthropic has none.
func (p *Provider) Embeddings(ctx context.Context, body jsonobj.Object, model string) (*provider.Reply, error) {
	return nil, &llm.Error{Kind: llm.KindInvalidRequest, Class: "bad_request", Param: "model",
		Message: "provider type anthropic has no embeddings endpoint"}
}

// do sends one request and turns every failure into an *llm.Error.
func (p *Provider) do(ctx context.Context, path string, body []byte, req *llm.Request) (*http.Response, error) {
	// The timeout covers the whole call, body included, so the context is
	// cancelled when the body is closed.
	cancel := context.CancelFunc(func() {})
	if p.cfg.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, p.cfg.Timeout)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, &llm.Error{Kind: llm.KindServer, Class: "config", Message: fmt.Sprintf("provider %q: bad upstream URL", p.cfg.Name)}
	}
	p.setHeaders(httpReq, req)
	resp, err := p.client.Do(httpReq)
	if err != nil {
		cancel()
		return nil, transportError(ctx, p.cfg.Name, err)
	}
	if resp.StatusCode >= 300 {
		defer cancel()
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, p.upstreamError(resp, raw)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

func (p *Provider) setHeaders(httpReq *http.Request, req *llm.Request) {
	h := httpReq.Header
	h.Set("Content-Type", "application/json")
	if req.Stream {
		h.Set("Accept", "text/event-stream")
	} else {
		h.Set("Accept", "application/json")
	}
	for k, v := range p.cfg.Headers {
		h.Set(k, v)
	}
	// Betas are Anthropic's own switches: only an Anthropic client can have
	// meant them for this vendor.
	if req.Dialect == llm.DialectAnthropic {
		if betas := req.Header[anthropicwire.HeaderBeta]; len(betas) > 0 {
			if configured := h.Get("Anthropic-Beta"); configured != "" {
				betas = append([]string{configured}, betas...)
			}
			h.Set("Anthropic-Beta", strings.Join(betas, ","))
		}
	}
	h.Set("Anthropic-Version", p.version())
	if p.cfg.APIKey != "" {
		h.Set("X-Api-Key", p.cfg.APIKey)
	}
	traceContext.Inject(httpReq.Context(), propagation.HeaderCarrier(h))
}

var traceContext = propagation.TraceContext{}

// transportError classifies a failure to get a response at all.
func transportError(ctx context.Context, name string, err error) *llm.Error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return &llm.Error{Kind: llm.KindServer, Status: 499, Class: "client_gone", Message: "the client closed the request"}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &llm.Error{Kind: llm.KindTimeout, Class: "upstream_timeout", Message: fmt.Sprintf("provider %q did not answer in time", name)}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &llm.Error{Kind: llm.KindTimeout, Class: "upstream_timeout", Message: fmt.Sprintf("provider %q did not answer in time", name)}
	}
	return &llm.Error{Kind: llm.KindUpstream, Class: "upstream_connection", Message: fmt.Sprintf("could not reach provider %q", name)}
}

// upstreamError translates Anthropic's error answer (PROTOCOLS.md 5.7),
// keeping its status, type, message and retry-after.
func (p *Provider) upstreamError(resp *http.Response, raw []byte) *llm.Error {
	e := &llm.Error{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
	typ, msg, ok := anthropicwire.ParseError(raw)
	if ok {
		e.Type, e.Message = typ, msg
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("provider %q answered HTTP %d", p.cfg.Name, resp.StatusCode)
	}
	switch s := resp.StatusCode; {
	case typ == "overloaded_error" || s == 529 || s == 503:
		e.Kind, e.Status = llm.KindOverloaded, anthropicwire.StatusOverloaded
	case s == 400 || s == 409 || s == 422:
		e.Kind = llm.KindInvalidRequest
	case s == 413:
		e.Kind = llm.KindRequestTooLarge
	case s == 401:
		// The gateway's own key was refused: the operator's problem, not
		// the client's.
		e.Kind, e.Status = llm.KindUpstream, http.StatusBadGateway
		e.Message = fmt.Sprintf("provider %q rejected the gateway's credentials: %s", p.cfg.Name, e.Message)
		e.Type = ""
	case s == 402 || s == 403:
		e.Kind = llm.KindPermission
	case s == 404:
		e.Kind = llm.KindNotFound
	case s == 429:
		e.Kind = llm.KindRateLimit
	case s == 504:
		e.Kind = llm.KindTimeout
	case s >= 500:
		e.Kind = llm.KindUpstream
	default:
		e.Kind, e.Status = llm.KindUpstream, http.StatusBadGateway
	}
	if resp.StatusCode >= 500 {
		e.Class = "upstream_5xx"
	} else {
		e.Class = "upstream_4xx"
	}
	return e
}

// retryAfter returns the retry-after to pass on, from retry-after or
// retry-after-ms (pitfall 9).
func retryAfter(h http.Header) string {
	if v := h.Get("Retry-After"); v != "" {
		return v
	}
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		var n float64
		if _, err := fmt.Sscanf(ms, "%g", &n); err == nil && n >= 0 {
			return fmt.Sprint(int64(n+999) / 1000)
		}
	}
	return ""
}

// passHeaders picks the upstream response headers worth showing the client.
func passHeaders(h http.Header) http.Header {
	out := http.Header{}
	if v := h.Get("Request-Id"); v != "" {
		out.Set("X-Upstream-Request-Id", v)
	}
	return out
}

func readBody(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstream, Class: "upstream_connection", Message: "the upstream connection failed while reading the response"}
	}
	if len(raw) > maxBody {
		return nil, badUpstream("the upstream response exceeds the gateway's size limit")
	}
	return raw, nil
}

func badUpstream(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Class: "upstream_malformed", Message: msg}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
