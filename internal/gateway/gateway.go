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
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/metrics"
	"github.com/switchyard-ai/switchyard/internal/provider"
	_ "github.com/switchyard-ai/switchyard/internal/provider/all" // register every adapter
	"github.com/switchyard-ai/switchyard/internal/reqlog"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/server"
	"github.com/switchyard-ai/switchyard/internal/store"
	_ "github.com/switchyard-ai/switchyard/internal/store/postgres" // register "postgres"
	_ "github.com/switchyard-ai/switchyard/internal/store/sqlite"   // register "sqlite"
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
	transports map[time.Duration]*http.Transport
}

// New opens the store and builds every part of the gateway from cfg, which
// must have its defaults set.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Gateway, error) {
	st, err := store.Open(ctx, cfg.Storage)
	if err != nil {
		return nil, err
	}
	// One transport per connect timeout: connection pools are per host
	// anyway, and most providers share the default.
	transports := map[time.Duration]*http.Transport{}
	ps, err := provider.NewSet(cfg.Providers, func(p config.Provider) provider.Options {
		t := transports[p.ConnectTimeout]
		if t == nil {
			t = NewTransport(p.ConnectTimeout)
			transports[p.ConnectTimeout] = t
		}
		return provider.Options{Client: &http.Client{Transport: t}, Logger: logger}
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	rt, err := router.New(ps, cfg.Models, cfg.Router)
	if err != nil {
		st.Close()
		return nil, err
	}
	w := reqlog.New(st, reqlog.Options{
		QueueSize:     cfg.RequestLog.QueueSize,
		BatchSize:     cfg.RequestLog.BatchSize,
		FlushInterval: cfg.RequestLog.FlushInterval,
		Logger:        logger,
	})
	m := metrics.New(metrics.Sources{Router: rt, Log: w, Store: st})
	srv := &server.Server{
		Router:       rt,
		Keys:         keys.NewAuthenticator(st, keys.AuthenticatorOptions{}),
		Store:        st,
		RequestLog:   w,
		AdminKey:     cfg.AdminKey,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       logger,
		Allowed:      keys.Allowed,
		Metrics:      m,
	}
	return &Gateway{Config: cfg, Store: st, Log: w, Providers: ps, Handler: srv.Handler(), Metrics: m, logger: logger, transports: transports}, nil
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
	for _, t := range g.transports {
		t.CloseIdleConnections()
	}
	err := g.Log.Close(ctx)
	return errors.Join(err, g.Store.Close())
}

// Serve serves on ln until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight requests and streams finish (up to the
// configured shutdown timeout), flushes the request log and closes the store.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           g.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn),
	}
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
