package server

import (
	"net/http"

	"github.com/switchyard-ai/switchyard/internal/dialect"
	"github.com/switchyard-ai/switchyard/internal/dialect/chat"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"

	// Every client dialect the gateway serves.
	_ "github.com/switchyard-ai/switchyard/internal/dialect/all"
)

// openAI is the dialect of the gateway's own endpoints (embeddings,
// models, admin): OpenAI's.
var openAI dialect.Dialect = chat.Dialect{}

// writeDialectError answers with e in the dialect called d.
func writeDialectError(w http.ResponseWriter, d llm.Dialect, e *llm.Error) {
	dd, ok := dialect.Get(d)
	if !ok {
		dd = openAI
	}
	writeErrorIn(w, dd, e)
}

// writeErrorIn answers with e in dialect d, with the headers every
// dialect's errors share.
func writeErrorIn(w http.ResponseWriter, d dialect.Dialect, e *llm.Error) {
	if len(e.Message) > maxMessageBytes {
		c := *e
		c.Message = clip(e.Message, maxMessageBytes)
		e = &c
	}
	status, body := d.Error(e)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	switch {
	case e.RetryAfter != "":
		h.Set("Retry-After", e.RetryAfter)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == 529:
		// SDKs back off by retry-after; without one they guess, so the
		// gateway always gives one (docs/protocols.md#trap-retry-after).
		h.Set("Retry-After", "1")
	}
	if status == 499 {
		// The client has gone; nobody reads this.
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	w.Write(body)
}

// errorEvent is how a stream that fails after its first byte ends, in the
// client's dialect: the stream's own failure frames when it numbers its
// events, else the dialect's error event.
func errorEvent(d dialect.Dialect, st provider.Stream, e *llm.Error) []byte {
	for {
		if f, ok := st.(dialect.Failer); ok {
			return f.Fail(e)
		}
		u, ok := st.(interface{ Unwrap() provider.Stream })
		if !ok {
			return d.ErrorEvent(e)
		}
		st = u.Unwrap()
	}
}

// env is what a dialect is offered while serving one request.
type env struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	c   *call
	rec *store.RequestLog
}

func (e *env) Key() store.Key                 { return e.c.key }
func (e *env) ReadBody() ([]byte, *llm.Error) { return e.s.readBody(e.w, e.r) }
func (e *env) Route(model string) (*router.Route, *llm.Error) {
	return e.s.route(e.c, model)
}
func (e *env) Unit(rt *router.Route, user string) string { return unit(rt, e.c, e.r, user) }
func (e *env) Record() *store.RequestLog                 { return e.rec }
func (e *env) Fail(err *llm.Error)                       { e.s.fail(e.w, e.c, e.rec, err) }

// serve serves a dialect's route that is not a generation (count_tokens,
// stored responses).
func (s *Server) serve(route dialect.Route) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		rec := s.newRecord(c, route.Endpoint)
		defer s.finish(&rec, c)
		route.Serve(w, r, &env{s: s, w: w, r: r, c: c, rec: &rec})
	}
}
