// Package gateway assembles a running Switchyard from its configuration:
// store, providers, router, keys, request log and HTTP server. The CLI and
// the end-to-end tests both start gateways through it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/connlimit"
	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/metrics"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/provider"
	_ "github.com/switchyard-ai/switchyard/internal/provider/all" // register every adapter
	"github.com/switchyard-ai/switchyard/internal/reqlog"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/secrets"
	"github.com/switchyard-ai/switchyard/internal/server"
	"github.com/switchyard-ai/switchyard/internal/store"
	_ "github.com/switchyard-ai/switchyard/internal/store/postgres" // register "postgres"
	_ "github.com/switchyard-ai/switchyard/internal/store/sqlite"   // register "sqlite"
	"github.com/switchyard-ai/switchyard/internal/tracing"
)

// Gateway is an assembled, not yet listening, Switchyard.
type Gateway struct {
	Config     *config.Config
	Store      store.Store
	Log        *reqlog.Writer
	Providers  *provider.Set
	Handler    http.Handler
	Metrics    *metrics.Metrics
	logger     *slog.Logger
	server     *server.Server
	mu         sync.Mutex // guards transports
	transports map[time.Duration]*http.Transport
	// tracer makes the request and attempt spans; stopTracing flushes it.
	tracer      trace.TracerProvider
	stopTracing func(context.Context) error
	// Limits counts rate limits and budgets: in process, or in Redis with
	// a per-replica fallback (then failover is set).
	Limits   limits.Counter
	failover *limits.Failover
	redis    *redis.Client
	// stopBroadcast ends the subscription to other replicas' key changes.
	stopBroadcast func()
	// box opens stored provider secrets; nil without a master key.
	box *secrets.Box
	// applied is the configuration in use (the last reloaded), which a
	// change of stored secrets rebuilds the router from.
	applied atomic.Pointer[config.Config]
	// reloadMu serialises router rebuilds (reloads, secret changes).
	reloadMu sync.Mutex
	// conns bounds the client connections Serve holds open.
	conns *connlimit.Limiter
}

// New opens the store and builds every part of the gateway from cfg, which
// must have its defaults set.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Gateway, error) {
	st, err := store.Open(ctx, cfg.Storage)
	if err != nil {
		return nil, err
	}
	g := &Gateway{Config: cfg, Store: st, logger: logger, transports: map[time.Duration]*http.Transport{}}
	g.applied.Store(cfg)
	switch g.box, err = secrets.FromEnv(os.Getenv); {
	case errors.Is(err, secrets.ErrNoMasterKey):
		g.box = nil
	case err != nil:
		st.Close()
		return nil, err
	}
	if g.tracer, g.stopTracing, err = tracing.Setup(ctx, cfg.Tracing); err != nil {
		st.Close()
		return nil, fmt.Errorf("tracing: %w", err)
	}
	rt, err := g.newRouter(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	g.Providers = rt.ProviderSet()
	prices, err := pricing.Default(cfg.Pricing)
	if err != nil {
		st.Close()
		return nil, err
	}
	g.Log = reqlog.New(st, reqlog.Options{
		QueueSize:     cfg.RequestLog.QueueSize,
		BatchSize:     cfg.RequestLog.BatchSize,
		FlushInterval: cfg.RequestLog.FlushInterval,
		Logger:        logger,
	})
	auth := keys.NewAuthenticator(st, keys.AuthenticatorOptions{TTL: KeyCacheTTL})
	teams := keys.NewTeams(st, KeyCacheTTL)
	g.server = &server.Server{
		Router:       rt,
		Keys:         auth,
		Teams:        teams,
		Pricing:      prices,
		Store:        st,
		RequestLog:   g.Log,
		AdminKey:     cfg.AdminKey,
		MaxBodyBytes: cfg.MaxBodyBytes,
		BodyTimeout:  cfg.HTTP.BodyTimeout,
		BodyMinRate:  cfg.HTTP.BodyMinRate,
		Logger:       logger,
		Allowed:      keys.Allowed,
	}
	g.server.TracerProvider = g.tracer
	// Read from the configuration in force, so that a reload applies.
	g.server.OutputReservation = func(names []string) int64 { return g.applied.Load().Limits.OutputReservation(names) }
	g.server.Secrets = g.box
	g.server.SecretsChanged = g.reloadSecrets
	changed := func(what string) {
		auth.Purge()
		teams.Purge()
		if what == "" || strings.HasPrefix(what, "secret ") {
			g.reloadSecrets()
		}
	}
	if err := g.setupLimits(cfg, st, changed); err != nil {
		g.Log.Close(ctx)
		st.Close()
		return nil, err
	}
	g.conns = connlimit.New(cfg.HTTP.MaxConnections, logger)
	src := metrics.Sources{Router: g.server.CurrentRouter, Log: g.Log, Store: st, Pricing: prices, Connections: g.conns}
	if g.failover != nil {
		src.RedisUp = g.failover.Up
	}
	g.Metrics = metrics.New(src)
	g.server.Metrics = g.Metrics
	g.Handler = g.server.Handler()
	return g, nil
}

// KeyCacheTTL is how long a replica reuses a key or team it looked up. With
// Redis, changes reach every replica at once through pub/sub and this is
// the backstop for a lost message; without Redis (one node, or replicas
// sharing only PostgreSQL) it bounds how long a revoked key keeps working
// on another process.
const KeyCacheTTL = time.Second

// setupLimits builds the rate-limit and budget counters: in process
// without Redis; in Redis, falling back to in process, with it. changed is
// called when another replica announces a change (what), or with "" when
// announcements may have been missed (a reconnection).
func (g *Gateway) setupLimits(cfg *config.Config, st store.Store, changed func(what string)) error {
	spend := func(ctx context.Context, subject string, since time.Time) (int64, error) {
		kind, id, _ := strings.Cut(subject, ":")
		return st.Spend(ctx, id, kind == "team", since)
	}
	local := limits.NewLocal(spend)
	local.TTL = cfg.Limits.ReservationTTL
	g.Limits = local
	g.server.Limits = local
	if cfg.Redis == "" {
		return nil
	}
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		// The URL may hold a password: do not show it.
		return errors.New("redis: the URL is not valid (want redis://[:password@]host:port[/db])")
	}
	// Fail fast: a request must not wait long on a Redis that is gone;
	// the failover then counts in process.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, 500*time.Millisecond, 500*time.Millisecond
	opt.MaxRetries = 1
	g.redis = redis.NewClient(opt)
	shared := limits.NewRedis(g.redis, cfg.RedisPrefix, spend)
	shared.TTL = cfg.Limits.ReservationTTL
	g.failover = limits.NewFailover(g.redis, shared, local, time.Second, g.logger)
	g.Limits = g.failover
	g.server.Limits = g.failover
	g.server.RedisUp = g.failover.Up
	b := keys.NewBroadcast(g.redis, cfg.RedisPrefix, g.logger)
	g.server.Changed = func(ctx context.Context, what string) {
		if err := b.Publish(ctx, what); err != nil {
			g.logger.Warn("could not announce a key change to the other replicas; they see it within the key cache TTL", "change", what, "err", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx, changed)
	}()
	g.stopBroadcast = func() { cancel(); <-done }
	return nil
}

// withSecrets gives providers that have no api_key in the config the one
// stored for them (PUT /admin/providers/{name}/secret), decrypted.
func (g *Gateway) withSecrets(ps []config.Provider) []config.Provider {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stored, err := g.Store.Secrets(ctx)
	if err != nil {
		g.logger.Error("could not read stored provider secrets", "err", err)
		return ps
	}
	if len(stored) == 0 {
		return ps
	}
	if g.box == nil {
		g.logger.Warn("provider secrets are stored but " + secrets.MasterKeyEnv + " is not set: they are not used")
		return ps
	}
	byName := map[string][]byte{}
	for _, s := range stored {
		byName[s.Name] = s.Sealed
	}
	out := slices.Clone(ps)
	for i := range out {
		sealed, ok := byName[out[i].Name]
		if !ok || out[i].APIKey != "" {
			continue // the config's own key wins
		}
		key, err := g.box.Open(out[i].Name, sealed)
		if err != nil {
			g.logger.Error("stored provider secret does not decrypt", "provider", out[i].Name, "err", err)
			continue
		}
		out[i].APIKey = key
	}
	return out
}

// reloadSecrets rebuilds the router from the configuration in use with the
// stored secrets as they are now.
func (g *Gateway) reloadSecrets() {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	rt, err := g.newRouter(g.applied.Load())
	if err != nil {
		g.logger.Error("applying changed provider secrets failed", "err", err)
		return
	}
	rt.InheritHealth(g.server.CurrentRouter())
	g.server.SetRouter(rt)
}

// newRouter builds the providers and the router of cfg.
func (g *Gateway) newRouter(cfg *config.Config) (*router.Router, error) {
	c := *cfg
	c.Providers = g.withSecrets(cfg.Providers)
	cfg = &c
	g.mu.Lock()
	defer g.mu.Unlock()
	// One transport per connect timeout: connection pools are per host
	// anyway, and most providers share the default. Reloads reuse them,
	// and so their idle connections.
	ps, err := provider.NewSet(cfg.Providers, func(p config.Provider) provider.Options {
		t := g.transports[p.ConnectTimeout]
		if t == nil {
			t = NewTransport(p.ConnectTimeout)
			g.transports[p.ConnectTimeout] = t
		}
		return provider.Options{Client: &http.Client{Transport: t}, Logger: g.logger}
	})
	if err != nil {
		return nil, err
	}
	rt, err := router.New(ps, cfg.Models, cfg.Router)
	if err != nil {
		return nil, err
	}
	rt.TracerProvider = g.tracer
	rt.Logger = g.logger
	return rt, nil
}

// SetTracerProvider replaces the tracer provider of the request and
// attempt spans, such as with a test's in-memory one. Call it before the
// gateway serves; Close still shuts down only the configured provider.
func (g *Gateway) SetTracerProvider(tp trace.TracerProvider) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tracer = tp
	g.server.TracerProvider = tp
	g.server.CurrentRouter().TracerProvider = tp
}

// Reload applies a new configuration's providers, models and router policy,
// atomically: requests in flight finish on the configuration they started
// with, and targets keep their circuit breakers and latency history. The
// settings a running process cannot change (listen, storage, admin key,
// request log, body limit, shutdown timeout, logging) are kept, with a
// warning when the new file changes them.
func (g *Gateway) Reload(cfg *config.Config) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	rt, err := g.newRouter(cfg)
	if err != nil {
		return err
	}
	g.applied.Store(cfg)
	old := g.Config
	for name, changed := range map[string]bool{
		"listen":           cfg.Listen != old.Listen,
		"storage":          cfg.Storage != old.Storage,
		"admin_key":        cfg.AdminKey != old.AdminKey,
		"request_log":      cfg.RequestLog != old.RequestLog,
		"max_body_bytes":   cfg.MaxBodyBytes != old.MaxBodyBytes,
		"shutdown_timeout": cfg.ShutdownTimeout != old.ShutdownTimeout,
		"http":             cfg.HTTP != old.HTTP,
		"log":              cfg.Log != old.Log,
		"tracing":          cfg.Tracing != old.Tracing,
		"redis":            cfg.Redis != old.Redis || cfg.RedisPrefix != old.RedisPrefix,
		"pricing":          !slices.Equal(cfg.Pricing, old.Pricing),
	} {
		if changed {
			g.logger.Warn("config reload: "+name+" cannot change while running; restart to apply it", "field", name)
		}
	}
	// The counters were built with it; the output reservations apply at once.
	if cfg.Limits.ReservationTTL != old.Limits.ReservationTTL {
		g.logger.Warn("config reload: limits.reservation_ttl cannot change while running; restart to apply it", "field", "limits.reservation_ttl")
	}
	rt.InheritHealth(g.server.CurrentRouter())
	g.server.SetRouter(rt)
	return nil
}

// NewTransport returns the HTTP transport for upstream calls: many idle
// connections per host (a gateway talks to few hosts, a lot), no response
// compression (it would hold back stream chunks), and no response-header
// timeout (a model may think for minutes before its first byte; provider
// and route timeouts bound the call instead).
func NewTransport(connectTimeout time.Duration) *http.Transport {
	if connectTimeout <= 0 {
		connectTimeout = 10 * time.Second
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// Close flushes the request log, closes the store and drops idle upstream
// connections.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	for _, t := range g.transports {
		t.CloseIdleConnections()
	}
	g.mu.Unlock()
	err := g.Log.Close(ctx)
	if g.stopBroadcast != nil {
		g.stopBroadcast()
	}
	if g.failover != nil {
		g.failover.Close()
	}
	if g.redis != nil {
		g.redis.Close()
	}
	return errors.Join(err, g.Store.Close(), g.stopTracing(ctx))
}

// Serve serves on ln until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight requests and streams finish (up to the
// configured shutdown timeout), flushes the request log and closes the store.
//
// The server holds at most http.max_connections connections and bounds
// the time a client takes to send its headers; the handler bounds the
// body's (server.Server.BodyTimeout), so that the deadline can follow the
// bytes and be lifted once the body is read. There is no ReadTimeout or
// WriteTimeout, which would cut long streams. docs/security.md describes
// these bounds.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	h := g.Config.HTTP
	hs := &http.Server{
		Handler:           g.Handler,
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    h.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn),
	}
	ln = g.conns.Listen(ln)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		g.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	g.logger.Info("shutting down: draining in-flight requests", "timeout", g.Config.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), g.Config.ShutdownTimeout)
	defer cancel()
	shutErr := hs.Shutdown(sctx)
	if shutErr != nil {
		shutErr = fmt.Errorf("drain: %w", shutErr)
		hs.Close()
	}
	closeErr := g.Close(sctx)
	stats := g.Log.Stats()
	g.logger.Info("stopped", "request_logs_written", stats.Written, "request_logs_dropped", stats.Dropped, "request_logs_failed", stats.Failed)
	return errors.Join(shutErr, closeErr)
}
