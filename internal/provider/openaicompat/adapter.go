// Package openaicompat is the adapter for every vendor that speaks the OpenAI
// Chat Completions wire format. Vendor packages (openai, azure, xai,
// deepseek, mistral, compat) configure it with their Quirks; the quirks
// themselves live in those packages.
//
// Requests are forwarded with only the top-level fields that must change
// rewritten, and streams are passed through event by event, byte for byte,
// unless a chunk needs normalising (reasoning field names, think tags, a
// vendor's shape). That is the gateway's fast path.
package openaicompat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
)

// Quirks describe how one vendor departs from OpenAI's own API.
type Quirks struct {
	// BaseURL is the vendor's default base URL, used when the config sets none.
	BaseURL string
	// URL builds the request URL from the base URL, an operation path
	// ("/chat/completions", "/embeddings") and the model. Nil means base+op.
	URL func(base, op, model string) string
	// Auth sets the credential header. Nil means "Authorization: Bearer".
	Auth func(h http.Header, key string)
	// NoStreamOptions: the vendor rejects stream_options and always sends
	// usage on its last chunk, so the gateway must not ask for it.
	NoStreamOptions bool
	// PrepareChat edits a chat request body before it is sent and returns
	// notes on parameters it dropped or rewrote, reported to the client in
	// the x-switchyard-dropped-params / x-switchyard-rewritten-params headers.
	PrepareChat func(model string, body *jsonobj.Object) (Notes, error)
	// Usage converts the vendor's usage object. Nil means OpenAI semantics.
	Usage func(u *openaiwire.Usage) llm.Usage
	// ParseError reads a vendor error body that is not OpenAI-shaped. It
	// returns nil when it does not recognise the body.
	ParseError func(body []byte) *llm.Error
	// Chunk, when set, rewrites chunks for which Match reports true, after
	// decoding. It returns false to drop the chunk.
	Chunk *ChunkQuirk
	// NoEmbeddings: the vendor has no embeddings endpoint.
	NoEmbeddings bool
	// NoModelList: the vendor has no list of the models the provider's
	// clients can name (GET /models), so none is asked for.
	NoModelList bool
	// ReasoningField is the assistant message field in which Generate
	// replays earlier reasoning: "reasoning_content" for vendors that
	// want it back (DeepSeek 400s without it on tool-call turns), or ""
	// for vendors that take none. See openaiwire.EncodeOptions.
	ReasoningField string
}

// ChunkQuirk rewrites the decoded chunks (or whole responses) a vendor sends
// in a shape the gateway must normalise.
type ChunkQuirk struct {
	// Match is a cheap test on the raw chunk; Rewrite runs only when true.
	Match func(data []byte) bool
	// New returns per-stream state for Rewrite (e.g. a tool-call counter).
	New func() func(chunk map[string]any) (keep bool)
	// Message rewrites a whole non-streamed response.
	Message func(resp map[string]any)
}

// Notes lists parameters the adapter changed.
type Notes struct {
	Dropped   []string // parameters removed because the vendor rejects them
	Rewritten []string // "old=new" renames
}

// Adapter is a provider.Provider for an OpenAI-wire vendor.
type Adapter struct {
	cfg       config.Provider
	client    *http.Client
	q         Quirks
	base      string
	thinkTags bool
}

// New returns an adapter for cfg with the vendor's quirks.
func New(cfg config.Provider, opts provider.Options, q Quirks) (*Adapter, error) {
	base := cfg.BaseURL
	if base == "" {
		base = q.BaseURL
	}
	if base == "" {
		return nil, fmt.Errorf("provider %q: base_url is required for type %s", cfg.Name, cfg.Type)
	}
	return &Adapter{
		cfg:       cfg,
		client:    opts.Client,
		q:         q,
		base:      strings.TrimRight(base, "/"),
		thinkTags: cfg.Reasoning == "think-tags",
	}, nil
}

func (a *Adapter) Name() string     { return a.cfg.Name }
func (a *Adapter) Type() string     { return a.cfg.Type }
func (a *Adapter) Models() []string { return a.cfg.Models }

// Generate implements provider.Provider. The canonical request is encoded
// as an OpenAI chat request and sent through Chat, so that every vendor
// quirk applies to it as to a client's own request; the normalised answer
// is then decoded into canonical events.
func (a *Adapter) Generate(ctx context.Context, req *llm.Request, model string) (*provider.Generation, error) {
	body, dropped, err := openaiwire.EncodeChat(req, model, openaiwire.EncodeOptions{ReasoningField: a.q.ReasoningField})
	if err != nil {
		return nil, err
	}
	creq, err := openaiwire.ParseChatRequest(body)
	if err != nil {
		return nil, err // e.g. a request without messages
	}
	if a.q.NoStreamOptions {
		// The vendor sends usage unasked and rejects the option; taking it
		// out here keeps Chat from naming it as a client parameter dropped.
		creq.Body.Delete("stream_options")
	}
	reply, err := a.Chat(ctx, creq, model)
	if err != nil {
		return nil, err
	}
	g := &provider.Generation{Header: reply.Header}
	if len(dropped) > 0 {
		if prev := g.Header.Get("X-Switchyard-Dropped-Params"); prev != "" {
			dropped = append(strings.Split(prev, ","), dropped...)
		}
		g.Header.Set("X-Switchyard-Dropped-Params", strings.Join(dropped, ","))
	}
	if reply.Stream != nil {
		g.Events = &usageStream{Stream: openaiwire.DecodeStream(reply.Stream), src: reply.Stream}
		return g, nil
	}
	resp, err := openaiwire.DecodeResponse(reply.Body)
	if err != nil {
		return nil, err
	}
	resp.Usage = reply.Usage // normalised by the vendor's quirks
	g.Events = resp.Events()
	return g, nil
}

// usageStream replaces the usage of the Stop event with the one the
// normalising stream computed, which applies the vendor's usage quirks.
type usageStream struct {
	llm.Stream
	src provider.Stream
}

func (s *usageStream) Next() (llm.Event, error) {
	ev, err := s.Stream.Next()
	if err == nil && ev.Type == llm.EventStop {
		u := s.src.Usage()
		ev.Usage = &u
	}
	return ev, err
}

// Speaks implements provider.Native: an OpenAI-wire vendor takes OpenAI
// Chat requests as they come.
func (a *Adapter) Speaks(d llm.Dialect) bool { return d == llm.DialectOpenAI }

// Forward implements provider.Native.
func (a *Adapter) Forward(ctx context.Context, req *provider.NativeRequest, model string) (*provider.Reply, error) {
	return a.Chat(ctx, &openaiwire.ChatRequest{Body: req.Body, Stream: req.Stream, IncludeUsage: req.IncludeUsage}, model)
}

// Chat sends an OpenAI Chat request for model, with only its top-level
// fields edited: the fast path.
func (a *Adapter) Chat(ctx context.Context, req *openaiwire.ChatRequest, model string) (*provider.Reply, error) {
	// Copy the field list: the request may be sent to another target later.
	body := jsonobj.Object{Fields: append([]jsonobj.Field(nil), req.Body.Fields...)}
	body.SetString("model", model)
	var notes Notes
	if a.q.PrepareChat != nil {
		var err error
		if notes, err = a.q.PrepareChat(model, &body); err != nil {
			return nil, err
		}
	}
	if req.Stream {
		if a.q.NoStreamOptions {
			if body.Delete("stream_options") {
				notes.Dropped = append(notes.Dropped, "stream_options")
			}
		} else if !req.IncludeUsage {
			// Usage is always recorded, so always ask for it; the extra
			// chunk is taken out again before it reaches the client.
			so, _ := jsonobj.Parse(body.Get("stream_options")) // absent or already validated
			so.Set("include_usage", []byte("true"))
			body.Set("stream_options", so.Bytes())
		}
	}
	resp, err := a.do(ctx, "/chat/completions", model, body.Bytes(), req.Stream)
	if err != nil {
		return nil, err
	}
	reply := &provider.Reply{Header: passHeaders(resp.Header)}
	notes.set(reply.Header)
	if req.Stream {
		reply.Stream = a.newStream(resp.Body, req.IncludeUsage)
		return reply, nil
	}
	defer resp.Body.Close()
	raw, err := upstream.ReadBody(resp.Body)
	if err != nil {
		return nil, err
	}
	if reply.Body, reply.Usage, reply.Reasoning, err = a.normaliseMessage(raw); err != nil {
		return nil, err
	}
	return reply, nil
}

// Embeddings implements provider.Provider.
func (a *Adapter) Embeddings(ctx context.Context, body jsonobj.Object, model string) (*provider.Reply, error) {
	if a.q.NoEmbeddings {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "model", Class: "bad_request",
			Message: fmt.Sprintf("provider %q (type %s) does not offer embeddings", a.cfg.Name, a.cfg.Type)}
	}
	body = jsonobj.Object{Fields: append([]jsonobj.Field(nil), body.Fields...)}
	body.SetString("model", model)
	resp, err := a.do(ctx, "/embeddings", model, body.Bytes(), false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := upstream.ReadBody(resp.Body)
	if err != nil {
		return nil, err
	}
	var out struct {
		Usage *openaiwire.Usage `json:"usage"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, upstream.Malformed("the upstream returned an invalid JSON body")
	}
	reply := &provider.Reply{Header: passHeaders(resp.Header), Body: raw}
	if out.Usage != nil {
		reply.Usage = a.usage(out.Usage)
	}
	return reply, nil
}

// do sends one request and turns every failure into an *llm.Error.
func (a *Adapter) do(ctx context.Context, op, model string, body []byte, stream bool) (*http.Response, error) {
	url := a.base + op
	if a.q.URL != nil {
		url = a.q.URL(a.base, op, model)
	}
	return upstream.Post(ctx, upstream.Call{Client: a.client, Provider: a.cfg.Name, Timeout: a.cfg.Timeout,
		URL: url, Body: body, Stream: stream, Header: a.cfg.Headers, Auth: a.auth, Error: a.upstreamError})
}

func (a *Adapter) auth(h http.Header) {
	switch {
	case a.cfg.APIKey == "":
	case a.q.Auth != nil:
		a.q.Auth(h, a.cfg.APIKey)
	default:
		h.Set("Authorization", "Bearer "+a.cfg.APIKey)
	}
}

// upstreamError translates a vendor's error answer, keeping its status,
// message and retry-after.
func (a *Adapter) upstreamError(resp *http.Response, raw []byte) *llm.Error {
	e := &llm.Error{RetryAfter: upstream.RetryAfter(resp.Header)}
	var oe struct {
		Error *struct {
			Message string          `json:"message"`
			Type    *string         `json:"type"`
			Param   *string         `json:"param"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	var parsed *llm.Error
	if json.Unmarshal(raw, &oe) == nil && oe.Error != nil && oe.Error.Message != "" {
		parsed = &llm.Error{Message: oe.Error.Message}
		if oe.Error.Type != nil {
			parsed.Type = *oe.Error.Type
		}
		if oe.Error.Param != nil {
			parsed.Param = *oe.Error.Param
		}
		var code string
		if json.Unmarshal(oe.Error.Code, &code) == nil {
			parsed.Code = code
		}
	} else if a.q.ParseError != nil {
		parsed = a.q.ParseError(raw)
	}
	if parsed != nil {
		e.Message, e.Type, e.Param, e.Code = parsed.Message, parsed.Type, parsed.Param, parsed.Code
	}
	upstream.Classify(e, a.cfg.Name, resp.StatusCode)
	return e
}

// passHeaders picks the upstream response headers worth showing the client.
func passHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"X-Request-Id", "Openai-Processing-Ms"} {
		if v := h.Get(k); v != "" {
			out.Set("X-Upstream-"+strings.TrimPrefix(k, "X-"), v)
		}
	}
	return out
}

func (n Notes) set(h http.Header) {
	if len(n.Dropped) > 0 {
		h.Set("X-Switchyard-Dropped-Params", strings.Join(n.Dropped, ","))
	}
	if len(n.Rewritten) > 0 {
		h.Set("X-Switchyard-Rewritten-Params", strings.Join(n.Rewritten, ","))
	}
}

func (a *Adapter) usage(u *openaiwire.Usage) llm.Usage {
	if a.q.Usage != nil {
		return a.q.Usage(u)
	}
	return u.Canonical()
}
