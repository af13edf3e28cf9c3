package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router"
)

// anthropicVersions are the Anthropic API versions the ingress accepts:
// 2023-06-01 (the v1 SDKs, most tools) and 2026-10-21 (the v2 SDKs).
// Anthropic's own API rejects versions it does not know, so the gateway does
// too rather than guess what a future version means.
var anthropicVersions = map[string]bool{"2023-06-01": true, "2026-10-21": true}

// anthropicEncoding encodes canonical answers as Anthropic Messages.
var anthropicEncoding = encoding{
	body:   anthropicwire.EncodeResponse,
	stream: func(s llm.Stream) provider.Stream { return anthropicwire.NewStreamEncoder(s) },
}

// messages serves POST /v1/messages, Anthropic's Messages API, for any
// configured model: the request is decoded into the canonical model and
// each target's adapter translates it for its vendor.
func (s *Server) messages(w http.ResponseWriter, r *http.Request, c *call) {
	rec := s.newRecord(c, "messages")
	ctx, span := s.startSpan(r, "chat", c)
	defer endSpan(span, &rec)
	defer s.finish(&rec, c)

	req, e := s.decodeMessages(w, r, false)
	if e != nil {
		s.fail(w, c, &rec, e)
		return
	}
	rec.RequestedModel, rec.Stream = req.Model, req.Stream
	nameSpan(span, "chat", req.Model)
	rt, e := s.route(c, req.Model)
	if e != nil {
		s.fail(w, c, &rec, e)
		return
	}
	c.input = inputEstimate(func() *llm.Request { return req }, 0)
	if e := s.reserve(ctx, w, c, rt, func() (int64, int64) { return requestBounds(req, 0) }); e != nil {
		s.fail(w, c, &rec, e)
		return
	}
	ctx, release := upstreamContext(ctx, c)
	defer release()
	call := func(ctx context.Context, t router.Target) (*provider.Reply, error) {
		g, err := t.Provider.Generate(ctx, req, t.Model)
		if err != nil {
			return nil, err
		}
		return anthropicEncoding.reply(g, req.Stream, routePolicy(rt))
	}
	res, err := c.router.Do(ctx, rt, unit(rt, c, r, req.User), call)
	keep := len(rt.Shadows) > 0 && c.router.Shadow(rt, call, s.shadowDone(rec)) > 0
	if !served(w, &rec, c, res, err) {
		s.fail(w, c, &rec, llm.AsError(err))
		return
	}
	servedSpan(span, res)
	s.deliver(w, &rec, c, res.Reply, keep)
}

// decodeMessages reads and decodes an Anthropic Messages request. For
// count_tokens, whose requests carry no max_tokens, one is supplied so that
// the same decoder applies.
func (s *Server) decodeMessages(w http.ResponseWriter, r *http.Request, counting bool) (*llm.Request, *llm.Error) {
	if v := r.Header.Get("Anthropic-Version"); v != "" && !anthropicVersions[v] {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Class: "bad_request", Param: "anthropic-version",
			Message: "anthropic-version: unsupported version " + strconv.Quote(clip(v, maxEchoBytes)) + "; use 2023-06-01 or 2026-10-21"}
	}
	body, e := s.readBody(w, r)
	if e != nil {
		return nil, e
	}
	if counting {
		if obj, err := jsonobj.Parse(body); err == nil && obj.Get("max_tokens") == nil {
			obj.Set("max_tokens", []byte("1"))
			body = obj.Bytes()
		}
	}
	req, err := anthropicwire.DecodeRequest(body, r.Header)
	if err != nil {
		return nil, llm.AsError(err)
	}
	if counting {
		req.Stream = false
	}
	return req, nil
}

// tokenCounter is implemented by adapters whose vendor counts tokens
// exactly (Anthropic's count_tokens).
type tokenCounter interface {
	CountTokens(ctx context.Context, req *llm.Request, model string) (int64, error)
}

// countTokens serves POST /v1/messages/count_tokens. The vendor counts when
// it can; otherwise the answer is an estimate (limits.InputTokens: exact
// for OpenAI models, the vendor's published bytes per token for others),
// said so in X-Switchyard-Token-Count.
func (s *Server) countTokens(w http.ResponseWriter, r *http.Request, c *call) {
	rec := s.newRecord(c, "messages.count_tokens")
	defer s.finish(&rec, c)
	req, e := s.decodeMessages(w, r, true)
	if e != nil {
		s.fail(w, c, &rec, e)
		return
	}
	rec.RequestedModel = req.Model
	rt, e := s.route(c, req.Model)
	if e != nil {
		s.fail(w, c, &rec, e)
		return
	}
	t := rt.Pick(unit(rt, c, r, req.User))
	rec.Provider, rec.Model = t.Provider.Name(), t.Model
	var n int64
	how := "exact"
	if tc, ok := t.Provider.(tokenCounter); ok {
		var err error
		if n, err = tc.CountTokens(r.Context(), req, t.Model); err != nil {
			s.fail(w, c, &rec, llm.AsError(err))
			return
		}
	} else {
		n, how = limits.InputTokens(t.Provider.Type(), t.Model, req), "estimated"
	}
	w.Header().Set("X-Switchyard-Token-Count", how)
	body, _ := json.Marshal(map[string]int64{"input_tokens": n})
	writeJSON(w, http.StatusOK, body)
	rec.Status = http.StatusOK
}
