package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/dialect"
	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// generate serves a dialect's generation endpoint: the one handler behind
// every client dialect. It reads and decodes the request in its dialect,
// checks limits, routes it, and delivers the answer whole or streamed.
// A target whose provider speaks the client's dialect is sent the request
// as it came (the pass-through); any other gets it in canonical form and
// its answer is encoded back into the client's dialect.
func (s *Server) generate(d dialect.Dialect, route dialect.Route) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		rec := s.newRecord(c, route.Endpoint)
		ctx, span := s.startSpan(r, "chat", c)
		defer endSpan(span, &rec) // after finish: after the last byte
		defer s.finish(&rec, c)

		body, e := s.readBody(w, r)
		if e != nil {
			s.fail(w, c, &rec, e)
			return
		}
		req, e := route.Decode(ctx, r, body, &env{s: s, w: w, r: r, c: c, rec: &rec})
		if e != nil {
			s.fail(w, c, &rec, e)
			return
		}
		rec.RequestedModel, rec.Stream, rec.Metadata = req.Model, req.Stream, string(req.Metadata)
		nameSpan(span, "chat", req.Model)
		rt, e := s.route(c, req.Model)
		if e != nil {
			s.fail(w, c, &rec, e)
			return
		}
		canonical := func() *llm.Request {
			creq, err := req.Canonical()
			if err != nil {
				return nil
			}
			return creq
		}
		c.input = inputEstimate(canonical, req.Size)
		if e := s.reserve(ctx, w, c, rt, func() (int64, int64) { return requestBounds(canonical(), req.Size) }); e != nil {
			s.fail(w, c, &rec, e)
			return
		}
		// Reasoning is removed from canonical events, so a stripped route
		// takes the canonical path even to a vendor of the client's
		// dialect.
		pass := req.Native != nil && !rt.StripReasoning
		native := func(t router.Target) (provider.Native, bool) {
			n, ok := t.Provider.(provider.Native)
			return n, ok && pass && n.Speaks(d.Name())
		}
		if !pass {
			// Every target takes the canonical request: a request that
			// does not translate fails before any is tried.
			if _, err := req.Canonical(); err != nil {
				s.fail(w, c, &rec, llm.AsError(err))
				return
			}
		}
		send := func(ctx context.Context, t router.Target) (*provider.Reply, error) {
			if n, ok := native(t); ok {
				return n.Forward(ctx, req.Native, t.Model)
			}
			creq, err := req.Canonical()
			if err != nil {
				return nil, err
			}
			g, err := t.Provider.Generate(ctx, creq, t.Model)
			if err != nil {
				return nil, err
			}
			return encode(req.Encoding, g, req.Stream, routePolicy(rt))
		}
		ctx, release := upstreamContext(ctx, c)
		defer release()
		res, err := c.router.Do(ctx, rt, unit(rt, c, r, req.User), send)
		// Shadows copy the request whatever became of it; when there are
		// any, the primary's answer is kept beside theirs.
		keep := len(rt.Shadows) > 0 && c.router.Shadow(rt, send, s.shadowDone(rec, c.dialect)) > 0
		if !served(w, &rec, c, res, err) {
			s.fail(w, c, &rec, llm.AsError(err))
			return
		}
		servedSpan(span, res)
		s.deliver(w, &rec, c, res.Reply, keep)
	}
}

// deliver sends a served reply to the client, whole or streamed, and notes
// its usage, reasoning and (when keep) text in the record.
func (s *Server) deliver(w http.ResponseWriter, rec *store.RequestLog, c *call, reply *provider.Reply, keep bool) {
	if reply.Stream == nil {
		rec.Usage, rec.Reasoning = reply.Usage, reply.Reasoning
		var m *llm.Meter
		if rec.Usage.Total() == 0 {
			// An answer without usage (some self-hosted servers): its text
			// is what there is to count.
			m = &llm.Meter{}
			m.Output(replyText(c.dialect, reply))
			m.Output(reply.Reasoning)
		}
		s.charge(rec, c, m)
		if keep {
			rec.Response = replyText(c.dialect, reply)
		}
		writeJSON(w, http.StatusOK, reply.Body)
		rec.Status = http.StatusOK
		return
	}
	s.stream(w, rec, c, reply.Stream, keep)
}

// shadowDone records a shadow request's outcome beside its primary.
func (s *Server) shadowDone(parent store.RequestLog, d dialect.Dialect) router.ShadowDone {
	return func(ctx context.Context, t router.Target, reply *provider.Reply, err error, latency time.Duration) {
		start := time.Now().Add(-latency)
		rec := store.RequestLog{ID: newID("req_"), ParentID: parent.ID, Time: start.UTC(), KeyID: parent.KeyID,
			Endpoint: parent.Endpoint, RequestedModel: parent.RequestedModel, Provider: t.Provider.Name(), Model: t.Model, Stream: parent.Stream}
		switch {
		case err != nil:
			e := llm.AsError(err)
			rec.Status, rec.ErrorClass, rec.ErrorMessage = e.HTTPStatus(), e.Class, e.Message
		case reply.Stream == nil:
			rec.Status, rec.Usage, rec.Reasoning = http.StatusOK, reply.Usage, reply.Reasoning
			rec.Response = replyText(d, reply)
		default:
			st := reply.Stream
			text := newTextRecorder(d, st)
			rec.Status = http.StatusOK
			for {
				chunk, err := st.Next()
				if err != nil {
					if err != io.EOF {
						e := llm.AsError(err)
						rec.ErrorClass, rec.ErrorMessage = e.Class, e.Message
					}
					break
				}
				if rec.TTFT == 0 {
					rec.TTFT = time.Since(start)
				}
				text.add(chunk)
			}
			st.Close()
			rec.Usage, rec.Reasoning, rec.Response = st.Usage(), st.Reasoning(), text.String()
		}
		rec.Latency = time.Since(start)
		// A shadow's cost is the gateway's, never the key's budget's.
		rec.TeamID, rec.Cost = parent.TeamID, s.cost(t.Provider.Name(), t.Provider.Type(), t.Model, rec.Usage)
		s.RequestLog.Log(rec)
	}
}

// usageGrace is how long the upstream is read on for its usage after the
// client left with its whole answer (the finish event was streamed):
// OpenAI-dialect vendors send the usage chunk right after the finish
// chunk, so a moment is plenty, and the bound keeps a client that leaves
// early from holding an upstream connection for long.
const usageGrace = 3 * time.Second

// upstreamContext returns the context for a request's upstream calls:
// cancelled when the client goes away, as ctx is, except once the answer's
// finish has been streamed (c.readOn). Then it is cancelled usageGrace
// later, so that the stream can still be read to the vendor's usage and
// the request charged exactly. release must be called when the handler
// returns.
func upstreamContext(ctx context.Context, c *call) (up context.Context, release func()) {
	up, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if c.readOn.Load() {
			time.AfterFunc(usageGrace, cancel)
			return
		}
		cancel()
	})
	return up, func() { stop(); cancel() }
}

// stream copies an upstream stream to the client event by event. The
// router hands it over with its first event already read (a stream that
// failed before it was a failed attempt, answered with an error status),
// so the status can be sent at once.
//
// A stream that ends without the vendor's final usage is charged an
// estimate (charge). A client that leaves after the finish event is one
// the vendor's usage may still follow: the stream is read on for it, for
// at most usageGrace.
func (s *Server) stream(w http.ResponseWriter, rec *store.RequestLog, c *call, st provider.Stream, keep bool) {
	text := newTextRecorder(c.dialect, st)
	m := meterOf(st)
	defer func() {
		rec.Usage, rec.Reasoning = st.Usage(), st.Reasoning()
		rec.Response = text.String()
		st.Close()
		s.charge(rec, c, m)
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rec.Status = http.StatusOK
	rc := http.NewResponseController(w)
	gone := false // the client left after the finish; reading on for the usage
	for {
		chunk, err := st.Next()
		if err == io.EOF || (err != nil && gone) {
			return
		}
		if err != nil {
			e := llm.AsError(err)
			rec.ErrorClass, rec.ErrorMessage = e.Class, e.Message
			if n := len(c.attempts); n > 0 {
				c.attempts[n-1].Outcome, c.attempts[n-1].Error = e.Class, e.Message
			}
			if e.Class != "client_gone" {
				// Bytes have gone out, so the status cannot change: say it
				// in the stream and end it without [DONE].
				w.Write(errorEvent(c.dialect, st, e))
				rc.Flush()
			}
			return
		}
		finished := m != nil && m.Finished()
		if finished {
			c.readOn.Store(true)
		}
		if gone {
			if m.Final() {
				return
			}
			continue
		}
		if rec.TTFT == 0 {
			rec.TTFT = time.Since(c.start)
		}
		if _, err := w.Write(chunk); err != nil {
			rec.ErrorClass, rec.ErrorMessage = "client_gone", "the client went away mid-stream"
			if !finished || m.Final() {
				return
			}
			gone = true
			continue
		}
		rc.Flush()
		if keep {
			text.add(chunk)
		}
	}
}

// meterOf finds the meter of a stream beneath the router's wrappers, if
// it has one.
func meterOf(st provider.Stream) *llm.Meter {
	for {
		if m, ok := st.(interface{ Meter() *llm.Meter }); ok {
			return m.Meter()
		}
		u, ok := st.(interface{ Unwrap() provider.Stream })
		if !ok {
			return nil
		}
		st = u.Unwrap()
	}
}

// charge sets where a served request's usage came from and, when the
// vendor did not report its final usage (a stream that was cut, stalled or
// abandoned; an answer without usage), fills it in (docs/limits.md): the
// input count the vendor gave at the start (Anthropic's message_start,
// Gemini's first chunk) or else an estimate from the request, and the
// larger of the vendor's running output count and an estimate from the
// text generated so far (m; nil when there is none to count). A stream
// that delivered anything is never charged zero.
func (s *Server) charge(rec *store.RequestLog, c *call, m *llm.Meter) {
	if (m == nil && rec.Usage.Total() > 0) || (m != nil && m.Final()) {
		rec.UsageSource = store.UsageVendor
		return
	}
	typ := s.providerType(c, rec.Provider)
	u := rec.Usage
	if u.InputTokens == 0 && c.input != nil {
		u.InputTokens = c.input(typ, rec.Model)
	}
	if m != nil {
		text, n := m.Text()
		out := limits.TextTokens(typ, rec.Model, text)
		if kept := int64(len(text)); kept > 0 && n > kept {
			out = out * n / kept // past the meter's bound, at the same ratio
		}
		u.OutputTokens = max(u.OutputTokens, out)
	}
	if rec.Reasoning != "" {
		u.ReasoningTokens = min(u.OutputTokens, max(u.ReasoningTokens, limits.TextTokens(typ, rec.Model, rec.Reasoning)))
	}
	rec.Usage, rec.UsageSource = u, store.UsageEstimated
}

// chargeAbandoned charges a request whose client left while an upstream
// call was out, before any answer came back (a whole answer it waited
// for, or a stream's first event): the vendor has read the prompt and
// bills it, so the estimated input is charged. The output, if the vendor
// finished it, cannot be known; the estimate stays a floor, never zero.
func (s *Server) chargeAbandoned(rec *store.RequestLog, c *call) {
	if rec.ErrorClass != "client_gone" || rec.Usage.Total() > 0 || c.input == nil || rec.Provider == "" {
		return
	}
	if !slices.ContainsFunc(c.attempts, func(a router.Attempt) bool { return !a.PassedOver() }) {
		return // no upstream call was made
	}
	rec.Usage.InputTokens = c.input(s.providerType(c, rec.Provider), rec.Model)
	rec.UsageSource = store.UsageEstimated
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request, c *call) {
	rec := s.newRecord(c, "embeddings")
	ctx, span := s.startSpan(r, "embeddings", c)
	defer endSpan(span, &rec)
	defer s.finish(&rec, c)
	body, e := s.readBody(w, r)
	if e != nil {
		s.fail(w, c, &rec, e)
		return
	}
	obj, model, err := openaiwire.ParseEmbeddingsRequest(body)
	if err != nil {
		s.fail(w, c, &rec, llm.AsError(err))
		return
	}
	rec.RequestedModel = model
	nameSpan(span, "embeddings", model)
	rt, e := s.route(c, model)
	if e != nil {
		s.fail(w, c, &rec, e)
		return
	}
	input := len(obj.Get("input"))
	c.input = func(string, string) int64 { return limits.MaxTextTokens(input) }
	if e := s.reserve(ctx, w, c, rt, func() (int64, int64) { return limits.MaxTextTokens(input), 0 }); e != nil {
		s.fail(w, c, &rec, e)
		return
	}
	res, err := c.router.Do(ctx, rt, unit(rt, c, r, ""), func(ctx context.Context, t router.Target) (*provider.Reply, error) {
		return t.Provider.Embeddings(ctx, obj, t.Model)
	})
	if !served(w, &rec, c, res, err) {
		s.fail(w, c, &rec, llm.AsError(err))
		return
	}
	servedSpan(span, res)
	reply := res.Reply
	rec.Usage = reply.Usage
	s.charge(&rec, c, nil)
	writeJSON(w, http.StatusOK, reply.Body)
	rec.Status = http.StatusOK
}

// route resolves a model and checks the key may use it, under the name
// the client used or, for a single target, the provider/model it resolves
// to.
func (s *Server) route(c *call, model string) (*router.Route, *llm.Error) {
	if e := checkModel(model); e != nil {
		return nil, e
	}
	// One router for the whole request, even if a reload swaps it.
	c.router = s.CurrentRouter()
	rt, err := c.router.Resolve(model)
	if err != nil {
		return nil, llm.AsError(err)
	}
	c.route = rt.Name
	if s.Allowed != nil && !s.Allowed(c.key, model) && (len(rt.Targets) != 1 || !s.Allowed(c.key, rt.Targets[0].String())) {
		return nil, &llm.Error{Kind: llm.KindPermission, Param: "model", Code: "model_not_allowed", Class: "forbidden",
			Message: "This API key is not allowed to use the model `" + model + "`."}
	}
	return rt, nil
}

// unit is what a route's split is sticky to.
func unit(rt *router.Route, c *call, r *http.Request, user string) string {
	switch {
	case rt.Sticky == "user" && user != "":
		return "user:" + user
	case strings.HasPrefix(rt.Sticky, "header:"):
		if v := r.Header.Get(strings.TrimPrefix(rt.Sticky, "header:")); v != "" {
			return "header:" + v
		}
	}
	return "key:" + c.key.ID
}

// served records the attempts and, on success, names the target that
// served the request in the response headers.
func served(w http.ResponseWriter, rec *store.RequestLog, c *call, res *router.Result, err error) bool {
	h := w.Header()
	h.Set("X-Switchyard-Attempts", strconv.Itoa(len(res.Attempts)))
	c.attempts = res.Attempts
	if err != nil {
		if n := len(res.Attempts); n > 0 {
			rec.Provider, rec.Model, _ = strings.Cut(res.Attempts[n-1].Target, "/")
		}
		return false
	}
	for k, v := range res.Reply.Header {
		h[k] = v
	}
	h.Set("X-Switchyard-Provider", res.Target.Provider.Name())
	h.Set("X-Switchyard-Model", res.Target.Model)
	rec.Provider, rec.Model = res.Target.Provider.Name(), res.Target.Model
	return true
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) newRecord(c *call, endpoint string) store.RequestLog {
	return store.RequestLog{ID: c.id, Time: c.start.UTC(), KeyID: c.key.ID, TeamID: c.key.TeamID, Endpoint: endpoint}
}

// fail answers with an error in the client's dialect and notes it in the
// record.
func (s *Server) fail(w http.ResponseWriter, c *call, rec *store.RequestLog, e *llm.Error) {
	writeErrorIn(w, c.dialect, e)
	rec.Status = e.HTTPStatus()
	rec.ErrorClass, rec.ErrorMessage = e.Class, e.Message
	if rec.ErrorClass == "" {
		rec.ErrorClass = string(e.Kind)
	}
}

// finish records the request. It runs after the last byte was written.
func (s *Server) finish(rec *store.RequestLog, c *call) {
	rec.Latency = time.Since(c.start)
	capRecord(rec)
	s.chargeAbandoned(rec, c)
	s.settle(rec, c)
	if n := len(c.attempts); n > 0 {
		if last := &c.attempts[n-1]; last.Outcome == "ok" {
			last.InputTokens, last.OutputTokens = rec.Usage.InputTokens, rec.Usage.OutputTokens
		}
		rec.Attempts = router.JSON(c.attempts)
	}
	if s.RequestLog != nil {
		s.RequestLog.Log(*rec)
	}
	if s.Metrics != nil {
		// Keys are named by id everywhere (request log, log line, admin
		// API, metrics): names are not unique, and ids are.
		s.Metrics.Observe(rec, c.attempts, c.key.ID, c.route)
	}
	level := slog.LevelInfo
	if rec.Status >= 500 {
		level = slog.LevelWarn
	}
	s.Logger.LogAttrs(context.Background(), level, "request",
		slog.String("id", rec.ID), slog.String("key", rec.KeyID), slog.String("endpoint", rec.Endpoint),
		slog.String("model", rec.RequestedModel), slog.String("provider", rec.Provider), slog.String("upstream_model", rec.Model),
		slog.Int("status", rec.Status), slog.Duration("latency", rec.Latency), slog.Duration("ttft", rec.TTFT),
		slog.Int64("input_tokens", rec.Usage.InputTokens), slog.Int64("output_tokens", rec.Usage.OutputTokens),
		slog.String("error", rec.ErrorClass))
}
