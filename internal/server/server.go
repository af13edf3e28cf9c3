// Package server wires the gateway's HTTP API: the OpenAI-compatible
// endpoints, authentication with virtual keys, the request log, and the
// admin API.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-ai/switchyard/internal/dialect"
	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/metrics"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/secrets"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// KeyLookup authenticates a virtual key secret.
type KeyLookup interface {
	// Lookup returns the key for secret; keys.ErrInvalidKey or
	// keys.ErrRevoked when it is not valid, another error when it could not
	// be checked.
	Lookup(ctx context.Context, secret string) (store.Key, error)
	// Purge forgets cached keys, so a revocation takes effect at once.
	Purge()
}

// RequestLogger records finished requests; Log must not block.
type RequestLogger interface {
	Log(store.RequestLog)
}

// Server is the gateway's HTTP handler.
type Server struct {
	// Router resolves model names to provider targets. After Handler,
	// change it only with SetRouter.
	Router *router.Router
	// Keys authenticates clients.
	Keys KeyLookup
	// Store backs the admin API.
	Store store.Store
	// RequestLog receives a record of every request.
	RequestLog RequestLogger
	// AdminKey guards /admin; empty disables the admin API.
	AdminKey string
	// Actor, when set, is who the audit log names for every admin
	// request, instead of the admin key's fingerprint: the CLI's
	// in-process API sets the person at the terminal.
	Actor string
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// BodyTimeout and BodyMinRate bound the time a request body takes to
	// arrive: BodyTimeout plus a second per BodyMinRate bytes received.
	// A zero BodyTimeout sets no deadline.
	BodyTimeout time.Duration
	BodyMinRate int64
	// Logger gets one line per request.
	Logger *slog.Logger
	// Allowed reports whether a key may use a model; nil allows all.
	Allowed func(k store.Key, model string) bool
	// Metrics records every request and serves GET /metrics; nil disables
	// both.
	Metrics *metrics.Metrics
	// TracerProvider makes a server span per chat and embeddings request;
	// nil means no tracing.
	TracerProvider trace.TracerProvider
	// Limits counts rate limits and budgets; nil disables them (key
	// expiry is still checked).
	Limits limits.Counter
	// OutputReservation returns the output tokens to reserve for a
	// request that sets no max_tokens, given the names it may be served
	// under (its route, then each target's provider/model); nil reserves
	// limits.DefaultOutputTokens.
	OutputReservation func(names []string) int64
	// Teams looks up a key's team for its limits; nil ignores teams.
	Teams TeamLookup
	// Pricing prices each request from its usage; nil records no cost.
	Pricing *pricing.Table

	// catalog caches the model lists vendors sent (models.go).
	catalog modelCatalog
	// Changed, when set, is called after an admin change to keys or
	// teams, to tell the other replicas (their caches must forget).
	Changed func(ctx context.Context, what string)
	// RedisUp, when set, is reported by /readyz (without failing it).
	RedisUp func() bool
	// Secrets seals provider secrets given through the admin API; nil
	// (no master key) refuses them.
	Secrets *secrets.Box
	// SecretsChanged applies changed provider secrets in this process.
	SecretsChanged func()

	mux    *http.ServeMux
	router atomic.Pointer[router.Router]
	// adminDigest is the SHA-256 of AdminKey, compared in constant time.
	adminDigest [sha256.Size]byte
}

// SetRouter replaces the router, atomically: a request in flight finishes
// with the router (and the providers and policy) it started with.
func (s *Server) SetRouter(r *router.Router) { s.router.Store(r) }

// CurrentRouter returns the router in use.
func (s *Server) CurrentRouter() *router.Router { return s.router.Load() }

// Handler returns the HTTP handler. Call it once, after setting the fields.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.router.Store(s.Router)
	s.adminDigest = sha256.Sum256([]byte(s.AdminKey))
	mux := http.NewServeMux()
	// Clients differ on whether /v1 is part of their base URL, so both
	// forms are served.
	for _, prefix := range []string{"/v1", ""} {
		for _, d := range dialect.All() {
			for _, rt := range d.Routes() {
				h := s.serve(rt)
				if rt.Decode != nil {
					h = s.generate(d, rt)
				}
				mux.Handle(prefix+rt.Pattern, s.api(rt.Method, rt.Endpoint, d, h))
			}
		}
		mux.Handle(prefix+"/embeddings", s.api(http.MethodPost, "embeddings", openAI, s.embeddings))
		mux.Handle(prefix+"/models", s.api(http.MethodGet, "models", openAI, s.listModels))
		mux.Handle(prefix+"/models/{model...}", s.api(http.MethodGet, "models", openAI, s.getModel))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", s.readyz)
	if s.Metrics != nil {
		// Open, like most Prometheus targets: it holds no secrets (key
		// names, not keys). Restrict it at the network if needed.
		mux.Handle("/metrics", s.Metrics.Handler())
	}
	s.adminRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, unknownURL("request URL", r))
	})
	s.mux = mux
	return s.guard(mux)
}

// requestID is the id guard gave the response: read back from the header
// rather than passed in the request's context, which would cost a copy of
// the request on every call.
func requestID(w http.ResponseWriter) string {
	if id := w.Header().Get("X-Request-Id"); id != "" {
		return id
	}
	id := newID("req_") // a handler served without guard (tests)
	w.Header().Set("X-Request-Id", id)
	return id
}

// call is the state of one API request.
type call struct {
	id       string
	key      store.Key
	start    time.Time
	attempts []router.Attempt
	router   *router.Router  // the router this request runs on
	route    string          // the route the model resolved to, for metrics
	dialect  dialect.Dialect // the client's wire format

	// Limits and charging (platform.go, chat.go).
	subjects []limits.Subject // the key's and team's limits, if any
	team     store.Team
	ticket   *ticket                       // what the request reserved, to settle; nil if nothing
	input    func(typ, model string) int64 // estimates the input tokens, for when the vendor reports none
	readOn   atomic.Bool                   // the finish was streamed: a client leaving now leaves the usage to read
}

// readyz reports readiness: the store answers a ping within 2 s. What
// degrades service without failing readiness is listed after the first
// line: Redis away, a vendor refusing the gateway's credentials.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.Store != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		err := s.Store.Ping(ctx)
		cancel()
		if err != nil {
			// The error may name hosts; it goes to the log, not the
			// unauthenticated client.
			s.Logger.Warn("readiness check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready: the store is unavailable\n")
			return
		}
	}
	switch {
	case s.RedisUp == nil:
		io.WriteString(w, "ready\n")
	case s.RedisUp():
		io.WriteString(w, "ready (redis ok)\n")
	default:
		// Degraded, not unready: limits fall back to per-replica counts.
		io.WriteString(w, "ready (degraded: redis is unreachable; rate limits and budgets are per replica)\n")
	}
	if rt := s.CurrentRouter(); rt != nil {
		// Not unready either: other providers, and fallbacks, still serve.
		for _, p := range rt.RejectedCredentials() {
			io.WriteString(w, "degraded: provider "+strconv.Quote(p)+" rejected the gateway's credentials\n")
		}
	}
}

type apiHandler func(w http.ResponseWriter, r *http.Request, c *call)

// api authenticates a client request of dialect d, checks its method and
// gives it an id. Refused requests are recorded too.
func (s *Server) api(method, endpoint string, d dialect.Dialect, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{id: requestID(w), start: time.Now(), dialect: d}
		if r.Method != method {
			w.Header().Set("Allow", method)
		}
		e := s.authenticate(r, c, method)
		if e == nil && method == http.MethodPost {
			e = s.admit(w, r, c)
		}
		if e != nil {
			refuseBody(w, r)
			rec := s.newRecord(c, endpoint)
			s.fail(w, c, &rec, e)
			s.finish(&rec, c)
			return
		}
		h(w, r, c)
	})
}

func (s *Server) authenticate(r *http.Request, c *call, method string) *llm.Error {
	if r.Method != method {
		return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusMethodNotAllowed, Class: "bad_request",
			Message: "Method " + clip(r.Method, 32) + " is not allowed here; use " + method}
	}
	secret := clientSecret(r)
	if secret == "" {
		return &llm.Error{Kind: llm.KindAuthentication, Class: "auth",
			Message: "You didn't provide an API key. Send a Switchyard virtual key in the Authorization header (Bearer), or in x-api-key or api-key."}
	}
	k, err := s.Keys.Lookup(r.Context(), secret)
	switch {
	case errors.Is(err, keys.ErrRevoked):
		return &llm.Error{Kind: llm.KindAuthentication, Class: "auth", Message: "The API key " + redact(secret) + " has been revoked."}
	case errors.Is(err, keys.ErrInvalidKey):
		return &llm.Error{Kind: llm.KindAuthentication, Class: "auth",
			Message: "Incorrect API key provided: " + redact(secret) + ". Create one with `switchyard keys create`."}
	case err != nil:
		s.Logger.Error("key lookup failed", "err", err)
		return &llm.Error{Kind: llm.KindUnavailable, RetryAfter: "1", Class: "store_unavailable",
			Message: "The gateway could not check the API key: its store is unavailable."}
	}
	c.key = k
	return nil
}

// clientSecret reads the virtual key from whichever header the client's SDK
// uses: Authorization: Bearer (OpenAI, Anthropic SDK v2), x-api-key
// (Anthropic v1), api-key (Azure).
func clientSecret(r *http.Request) string {
	if v := r.Header.Get("Authorization"); v != "" {
		return bearer(v)
	}
	if v := r.Header.Get("X-Api-Key"); v != "" {
		return v
	}
	return r.Header.Get("Api-Key")
}

// bearer returns the credentials of an Authorization header value of the
// Bearer scheme, or "".
func bearer(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// redact shows only enough of a secret to recognise it.
func redact(secret string) string {
	if len(secret) <= 10 {
		return "****"
	}
	return secret[:6] + "****" + secret[len(secret)-4:]
}

// readBody reads a bounded request body.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *llm.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &llm.Error{Kind: llm.KindRequestTooLarge, Class: "bad_request",
				Message: "The request body is larger than the gateway's limit of " + humanBytes(s.MaxBodyBytes) + " (max_body_bytes)."}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The rest of the body is still on its way: the connection
			// cannot carry another request.
			w.Header().Set("Connection", "close")
			return nil, &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusRequestTimeout, Code: "request_timeout", Class: "body_timeout",
				Message: "The request body arrived too slowly: the gateway allows " + s.BodyTimeout.String() + " plus a second per " +
					humanBytes(s.BodyMinRate) + " (http.body_timeout, http.body_min_rate)."}
		}
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Class: "client_gone", Message: "The request body could not be read."}
	}
	return body, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// writeError answers with e in OpenAI's dialect, which the gateway's own
// endpoints (admin, models) speak too.
func writeError(w http.ResponseWriter, e *llm.Error) { writeErrorIn(w, openAI, e) }

// newID returns a unique id that sorts by time: 6 bytes of milliseconds,
// then 10 random bytes. The request log's unique index on ids then grows
// at its end instead of taking inserts all over (the load benchmark saw
// random ids cost index work on every batch).
func newID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:])
	return prefix + hex.EncodeToString(b[:])
}
