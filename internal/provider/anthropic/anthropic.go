// Package anthropic is the provider adapter for Anthropic's Messages API
// (docs/protocols.md#anthropic). It translates through the canonical model with
// package anthropicwire, in both directions.
package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/capability"
	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
)

const (
	// DefaultBaseURL is used when the configuration sets none.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the anthropic-version sent when the configuration
	// sets none. 2023-06-01 still accepts temperature, top_p and top_k,
	// which every other dialect may send (docs/protocols.md#anthropic-headers).
	DefaultVersion = "2023-06-01"
	// samplingRemoved is the first API version that rejects temperature,
	// top_p and top_k. Versions are dates, so they compare as strings.
	samplingRemoved = "2026-10-21"
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
	// What the model cannot take is taken out first (docs/capabilities.md):
	// Claude Code asks every model for max_tokens 32000, which the older
	// ones refuse.
	fitted, changes := capability.Fit(req, model)
	body, dropped, err := p.encode(fitted, model)
	if err != nil {
		return nil, err
	}
	resp, err := p.do(ctx, "/v1/messages", body, req)
	if err != nil {
		return nil, err
	}
	g := &provider.Generation{Header: passHeaders(resp.Header)}
	if dropped = append(changes.Dropped, dropped...); len(dropped) > 0 {
		g.Header.Set("X-Switchyard-Dropped-Params", strings.Join(dropped, ","))
	}
	if len(changes.Rewritten) > 0 {
		g.Header.Set("X-Switchyard-Rewritten-Params", strings.Join(changes.Rewritten, ","))
	}
	if req.Stream {
		g.Events = anthropicwire.DecodeStream(resp.Body)
		return g, nil
	}
	defer resp.Body.Close()
	raw, err := upstream.ReadBody(resp.Body)
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
// when the configured API version rejects them
// (docs/protocols.md#trap-rejected-params).
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
	raw, err := upstream.ReadBody(resp.Body)
	if err != nil {
		return 0, err
	}
	var out struct {
		InputTokens *int64 `json:"input_tokens"`
	}
	if json.Unmarshal(raw, &out) != nil || out.InputTokens == nil {
		return 0, upstream.Malformed("the upstream returned no input_tokens count")
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
	// Betas are Anthropic's own switches: only an Anthropic client can have
	// meant them for this vendor.
	var betas []string
	if req.Dialect == llm.DialectAnthropic {
		betas = req.Header[anthropicwire.HeaderBeta]
	}
	return p.post(ctx, path, body, req.Stream, p.version(), betas)
}

func (p *Provider) post(ctx context.Context, path string, body []byte, stream bool, version string, betas []string) (*http.Response, error) {
	return upstream.Post(ctx, upstream.Call{Client: p.client, Provider: p.cfg.Name, Timeout: p.cfg.Timeout,
		URL: p.base + path, Body: body, Stream: stream, Header: p.cfg.Headers,
		Auth: func(h http.Header) { p.setHeaders(h, version, betas) }, Error: p.upstreamError})
}

// setHeaders sets Anthropic's own headers: the betas a client asked for
// (after any the configuration sets), the API version and the key.
func (p *Provider) setHeaders(h http.Header, version string, betas []string) {
	if len(betas) > 0 {
		if configured := h.Get("Anthropic-Beta"); configured != "" {
			betas = append([]string{configured}, betas...)
		}
		h.Set("Anthropic-Beta", strings.Join(betas, ","))
	}
	h.Set("Anthropic-Version", version)
	if p.cfg.APIKey != "" {
		h.Set("X-Api-Key", p.cfg.APIKey)
	}
}

// Speaks implements provider.Native: Anthropic clients' requests are
// passed through.
func (p *Provider) Speaks(d llm.Dialect) bool { return d == llm.DialectAnthropic }

// Forward implements provider.Native. The body goes as the client sent it,
// with the model set, under the client's anthropic-version (its body is
// in that version's shape) or, when it sent none, the configured one;
// the answer comes back byte for byte (docs/dialects.md).
func (p *Provider) Forward(ctx context.Context, req *provider.NativeRequest, model string) (*provider.Reply, error) {
	body := jsonobj.Object{Fields: append([]jsonobj.Field(nil), req.Body.Fields...)}
	body.SetString("model", model)
	version := req.Header.Get("Anthropic-Version")
	var dropped []string
	if version == "" {
		version = p.version()
		if version >= samplingRemoved {
			// As on the canonical path: the configured version rejects them.
			for _, k := range []string{"temperature", "top_p", "top_k"} {
				if body.Delete(k) {
					dropped = append(dropped, k)
				}
			}
		}
	}
	resp, err := p.post(ctx, "/v1/messages", body.Bytes(), req.Stream, version, anthropicwire.Betas(req.Header))
	if err != nil {
		return nil, err
	}
	reply := &provider.Reply{Header: passHeaders(resp.Header)}
	if len(dropped) > 0 {
		reply.Header.Set("X-Switchyard-Dropped-Params", strings.Join(dropped, ","))
	}
	if req.Stream {
		reply.Stream = anthropicwire.NewPassStream(resp.Body)
		return reply, nil
	}
	defer resp.Body.Close()
	raw, err := upstream.ReadBody(resp.Body)
	if err != nil {
		return nil, err
	}
	// Decoded only for the usage and reasoning to record; the client gets
	// the vendor's bytes.
	r, err := anthropicwire.DecodeResponse(raw)
	if err != nil {
		return nil, err
	}
	reply.Body, reply.Usage, reply.Reasoning = raw, r.Usage, r.Reasoning()
	return reply, nil
}

// upstreamError translates Anthropic's error answer
// (docs/protocols.md#anthropic-errors),
// keeping its status, type, message and retry-after.
func (p *Provider) upstreamError(resp *http.Response, raw []byte) *llm.Error {
	e := &llm.Error{RetryAfter: upstream.RetryAfter(resp.Header)}
	typ, msg, ok := anthropicwire.ParseError(raw)
	if ok {
		e.Type, e.Message = typ, msg
	}
	status := resp.StatusCode
	if typ == "overloaded_error" {
		status = anthropicwire.StatusOverloaded
	}
	upstream.Classify(e, p.cfg.Name, status)
	return e
}

// passHeaders picks the upstream response headers worth showing the client.
func passHeaders(h http.Header) http.Header {
	out := http.Header{}
	if v := h.Get("Request-Id"); v != "" {
		out.Set("X-Upstream-Request-Id", v)
	}
	return out
}
