// Package gemini is the adapter for Google's Gemini API (generateContent and
// streamGenerateContent), and best effort for Gemini on Vertex AI.
//
// Gemini speaks no client dialect, so every request goes through the
// canonical model: [EncodeRequest] writes the Gemini body and the decoder
// turns Gemini's answers (a JSON response or an SSE stream) into canonical
// events.
//
// Endpoints and credentials:
//
//   - Gemini Developer API (the default): base_url defaults to
//     https://generativelanguage.googleapis.com; requests go to
//     {base}/{version}/models/{model}:generateContent, or
//     :streamGenerateContent?alt=sse when streaming, with the key in the
//     x-goog-api-key header. The version is v1beta unless api_version says
//     otherwise or base_url already ends in one (…/v1, …/v1beta).
//   - Vertex AI: when base_url contains aiplatform.googleapis.com it is taken
//     as the prefix up to and including the publisher, e.g.
//     https://us-central1-aiplatform.googleapis.com/v1/projects/P/locations/L/publishers/google,
//     and /models/{model}:… is appended. api_key is sent as
//     "Authorization: Bearer"; it must be an OAuth access token, which the
//     gateway does not refresh.
//
// Tool call ids: Gemini usually gives none, so the decoder makes one from
// the response id and the call's position ("call_<responseId>_<n>"), which
// is unique within the response and, because response ids are, across a
// conversation. Ids are not sent back to Gemini: it matches function
// responses to calls by name and order.
//
// JSON Schema (tool parameters, structured output) is sent as
// parametersJsonSchema and responseJsonSchema, which take it unchanged
// (docs/protocols.md#trap-gemini-schema). With Developer API version v1 (any version
// but v1beta and v1alpha) the adapter sends the OpenAPI-subset fields
// instead, sanitized by [SanitizeSchema].
//
// Embeddings go through batchEmbedContents on the Developer API; Vertex AI
// embeddings are not supported.
//
// Only the first candidate is read; the gateway never asks for more.
package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
)

// Type is the provider type this package registers.
const Type = "gemini"

// DefaultBaseURL is the Gemini Developer API.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

func init() { provider.Register(Type, New) }

// Adapter is a provider.Provider for Gemini.
type Adapter struct {
	cfg    config.Provider
	client *http.Client
	base   string
	vertex bool
	// legacySchema makes the encoder send sanitized OpenAPI-subset schemas
	// (parameters, responseSchema) instead of JSON Schema
	// (parametersJsonSchema, responseJsonSchema); see [SanitizeSchema].
	legacySchema bool
	version      string // API version of the Developer API
	versioned    bool   // base already ends with the version
}

// New returns a Gemini adapter for cfg.
func New(cfg config.Provider, opts provider.Options) (provider.Provider, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("provider %q: bad base_url: %v", cfg.Name, err)
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	a := &Adapter{
		cfg:    cfg,
		client: client,
		base:   base,
		vertex: strings.Contains(base, "aiplatform.googleapis.com"),
	}
	if !a.vertex {
		// A base_url that already ends in a version (a common way to
		// write it) is used as it is, and that version counts as the
		// configured one.
		a.version = cfg.APIVersion
		if i := strings.LastIndexByte(base, '/'); i >= 0 {
			switch last := base[i+1:]; last {
			case "v1", "v1beta", "v1alpha":
				a.version, a.versioned = last, true
			}
		}
		if a.version == "" {
			a.version = "v1beta"
		}
		// Only the preview surfaces are known to accept the JSON Schema
		// fields; an operator who pins another version gets the OpenAPI
		// subset every version takes.
		a.legacySchema = a.version != "v1beta" && a.version != "v1alpha"
	}
	return a, nil
}

func (a *Adapter) Name() string     { return a.cfg.Name }
func (a *Adapter) Type() string     { return a.cfg.Type }
func (a *Adapter) Models() []string { return a.cfg.Models }

// Generate implements provider.Provider.
func (a *Adapter) Generate(ctx context.Context, req *llm.Request, model string) (*provider.Generation, error) {
	body, dropped, err := encode(req, model, encodeOptions{legacySchema: a.legacySchema})
	if err != nil {
		return nil, err
	}
	resp, err := a.do(ctx, a.url(model, req.Stream), body, req.Stream)
	if err != nil {
		return nil, err
	}
	g := &provider.Generation{Header: http.Header{}}
	if len(dropped) > 0 {
		g.Header.Set("X-Switchyard-Dropped-Params", strings.Join(dropped, ","))
	}
	if req.Stream {
		g.Events = newStream(resp.Body)
		return g, nil
	}
	defer resp.Body.Close()
	raw, err := upstream.ReadBody(resp.Body)
	if err != nil {
		return nil, err
	}
	r, err := DecodeResponse(raw)
	if err != nil {
		return nil, err
	}
	g.Events = r.Events()
	return g, nil
}

// url returns the generateContent or streamGenerateContent URL for model.
func (a *Adapter) url(model string, stream bool) string {
	if stream {
		return a.opURL(model, "streamGenerateContent") + "?alt=sse"
	}
	return a.opURL(model, "generateContent")
}

// opURL returns the URL of a model's method (":generateContent" etc.).
func (a *Adapter) opURL(model, method string) string {
	model = strings.TrimPrefix(model, "models/")
	prefix := a.base
	if !a.vertex && !a.versioned {
		prefix += "/" + a.version
	}
	return prefix + "/models/" + url.PathEscape(model) + ":" + method
}

// do sends one request and turns every failure into an *llm.Error.
func (a *Adapter) do(ctx context.Context, url string, body []byte, stream bool) (*http.Response, error) {
	return upstream.Post(ctx, upstream.Call{Client: a.client, Provider: a.cfg.Name, Timeout: a.cfg.Timeout,
		URL: url, Body: body, Stream: stream, Header: a.cfg.Headers, Auth: a.auth, Error: a.upstreamError})
}

// auth sends the key as Vertex AI (a bearer token) or the Developer API
// (x-goog-api-key) wants it.
func (a *Adapter) auth(h http.Header) {
	switch {
	case a.cfg.APIKey == "":
	case a.vertex:
		h.Set("Authorization", "Bearer "+a.cfg.APIKey)
	default:
		h.Set("X-Goog-Api-Key", a.cfg.APIKey)
	}
}

// apiError is Google's error body: {"error":{code,message,status,details}}.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []struct {
		Type       string `json:"@type"`
		Reason     string `json:"reason"`     // google.rpc.ErrorInfo
		RetryDelay string `json:"retryDelay"` // google.rpc.RetryInfo
	} `json:"details"`
}

// reason returns the google.rpc.ErrorInfo reason, if any.
func (e *apiError) reason() string {
	for _, d := range e.Details {
		if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") && d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

// retryDelay returns google.rpc.RetryInfo's delay as whole seconds for a
// retry-after header ("34.4s" → "35": rounding down would invite a retry
// the vendor has said it will refuse).
func (e *apiError) retryDelay() string {
	for _, d := range e.Details {
		if !strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			continue
		}
		s, ok := strings.CutSuffix(strings.TrimSpace(d.RetryDelay), "s")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e9 {
			continue
		}
		return strconv.FormatInt(int64(math.Ceil(f)), 10)
	}
	return ""
}

// upstreamError translates a Gemini error answer, keeping its status,
// message and retry delay.
func (a *Adapter) upstreamError(resp *http.Response, raw []byte) *llm.Error {
	var body struct {
		Error *apiError `json:"error"`
	}
	var ae *apiError
	if json.Unmarshal(raw, &body) == nil && body.Error != nil && body.Error.Message != "" {
		ae = body.Error
	}
	e := classify(a.cfg.Name, resp.StatusCode, ae)
	if v := resp.Header.Get("Retry-After"); v != "" {
		e.RetryAfter = v
	}
	return e
}

// classify turns an HTTP status and Google error into an *llm.Error. It
// serves both error answers and error chunks inside a stream.
func classify(name string, status int, ae *apiError) *llm.Error {
	e := &llm.Error{Status: status}
	if ae != nil {
		e.Message, e.Type, e.Code = ae.Message, ae.Status, ae.reason()
		e.RetryAfter = ae.retryDelay()
	} else {
		e.Message = fmt.Sprintf("provider %q answered HTTP %d", name, status)
	}
	if status == 400 && e.Code == "API_KEY_INVALID" {
		// Gemini says its key was refused with a 400.
		status = http.StatusUnauthorized
	}
	upstream.Classify(e, name, status)
	return e
}
