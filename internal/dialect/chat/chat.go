// Package chat is the OpenAI Chat Completions ingress dialect
// (POST /v1/chat/completions). Requests to a vendor that speaks the same
// wire format are forwarded with only their top-level fields edited; any
// other vendor gets them through the canonical model (package openaiwire
// translates both ways).
package chat

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/internal/dialect"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

func init() { dialect.Register(Dialect{}) }

// Dialect is OpenAI Chat Completions.
type Dialect struct{}

func (Dialect) Name() llm.Dialect { return llm.DialectOpenAI }

func (Dialect) Routes() []dialect.Route {
	return []dialect.Route{{Method: http.MethodPost, Pattern: "/chat/completions", Endpoint: "chat.completions", Decode: decode}}
}

// Error is OpenAI's error object. Anthropic's 529 means nothing to OpenAI
// clients, whose SDKs retry a 503 instead.
func (Dialect) Error(e *llm.Error) (int, []byte) {
	status := e.HTTPStatus()
	if e.Kind == llm.KindOverloaded {
		status = http.StatusServiceUnavailable
	}
	return status, openaiwire.ErrorBody(e)
}

func (Dialect) ErrorEvent(e *llm.Error) []byte { return openaiwire.ErrorChunk(e) }
func (Dialect) Text(body []byte) string        { return openaiwire.MessageText(body) }
func (Dialect) ChunkText(frame []byte) string  { return openaiwire.StreamText(frame) }

func decode(_ context.Context, _ *http.Request, body []byte, _ dialect.Env) (*dialect.Request, *llm.Error) {
	req, err := openaiwire.ParseChatRequest(body)
	if err != nil {
		return nil, llm.AsError(err)
	}
	return &dialect.Request{
		Model: req.Model, Stream: req.Stream, User: req.User, Metadata: req.Metadata, Size: len(body),
		Canonical: sync.OnceValues(func() (*llm.Request, error) { return openaiwire.DecodeChat(req) }),
		Native:    Native(req),
		Encoding:  Encoding(req.IncludeUsage),
	}, nil
}

// Native is req as a provider that speaks OpenAI Chat takes it.
func Native(req *openaiwire.ChatRequest) *provider.NativeRequest {
	return &provider.NativeRequest{Dialect: llm.DialectOpenAI, Body: req.Body, Stream: req.Stream, IncludeUsage: req.IncludeUsage}
}

// Encoding encodes canonical answers as chat completions; includeUsage is
// whether the client asked for the usage chunk.
func Encoding(includeUsage bool) dialect.Encoding {
	return dialect.Encoding{
		Body: func(r *llm.Response) []byte { return openaiwire.EncodeResponse(r, time.Now().Unix()) },
		Stream: func(s llm.Stream) provider.Stream {
			return openaiwire.NewStreamEncoder(s, includeUsage)
		},
	}
}

// Send sends an OpenAI Chat request to p: passed through when p speaks the
// wire format, otherwise translated through the canonical model. It is
// for callers outside the server (the eval runner, adapter tests), which
// have no route policy to apply.
func Send(ctx context.Context, p provider.Provider, req *openaiwire.ChatRequest, model string) (*provider.Reply, error) {
	if n, ok := p.(provider.Native); ok && n.Speaks(llm.DialectOpenAI) {
		return n.Forward(ctx, Native(req), model)
	}
	r, err := openaiwire.DecodeChat(req)
	if err != nil {
		return nil, err
	}
	g, err := p.Generate(ctx, r, model)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return &provider.Reply{Header: g.Header, Stream: openaiwire.NewStreamEncoder(g.Events, req.IncludeUsage)}, nil
	}
	resp, err := llm.Collect(g.Events)
	if err != nil {
		return nil, err
	}
	return &provider.Reply{Header: g.Header, Body: openaiwire.EncodeResponse(resp, time.Now().Unix()),
		Usage: resp.Usage, Reasoning: resp.Reasoning()}, nil
}
