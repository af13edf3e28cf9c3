// Command switchyard is an LLM gateway: one OpenAI-compatible API in front
// of every vendor. Run "switchyard --help" for its commands.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/demo"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/store"
)

var version = "dev"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "switchyard:", err)
		var gate *gateError
		if errors.As(err, &gate) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

// configPath is the config file named by -c or $SWITCHYARD_CONFIG, if any.
func configPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv("SWITCHYARD_CONFIG")
}

// loadConfig reads the config file named by -c or $SWITCHYARD_CONFIG, or
// builds one from the environment when there is none.
func loadConfig(path string) (*config.Config, []config.EnvProvider, error) {
	path = configPath(path)
	opts := config.Options{ProviderTypes: provider.Types()}
	if path == "" {
		cfg, found := config.FromEnv(os.Getenv, opts.ProviderTypes)
		cfg.SetDefaults()
		if err := cfg.Validate(opts.ProviderTypes); err != nil {
			return nil, nil, fmt.Errorf("configuration from the environment: %w", err)
		}
		return cfg, found, nil
	}
	cfg, err := config.Load(path, opts)
	return cfg, nil, err
}

// serveOptions are the flags of serve.
type serveOptions struct {
	config, listen   string
	demo, demoPublic bool
}

func serveCmd(stdout, stderr io.Writer) *cobra.Command {
	var o serveOptions
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway",
		Long: `Run the gateway: the OpenAI-compatible API at /v1, the Anthropic-compatible
one at /v1/messages, the admin API at /admin and metrics at /metrics.

With -c FILE (or $SWITCHYARD_CONFIG) the file configures it, and is reloaded
on SIGHUP or when it changes. Without one, providers come from the vendors'
usual environment variables and the store is switchyard.db.

With --demo, built-in demo vendors answer under the usual provider names,
replaying recorded answers: no keys needed, nothing leaves the machine. The
virtual key ` + demo.Key + ` is ready; model names ending in +429, +500, +cut
or +slow ask the demo vendors for that fault.`,
		Example: `  switchyard serve --demo
  switchyard serve -c switchyard.yaml --listen 0.0.0.0:8080`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), o, stdout, stderr) },
	}
	fs := c.Flags()
	configFlag(fs, &o.config, "config `FILE` (default $SWITCHYARD_CONFIG; without one, providers come from the environment)")
	fs.StringVar(&o.listen, "listen", "", "`ADDR`ess to listen on, such as 127.0.0.1:8080 (overrides the config's listen)")
	fs.BoolVar(&o.demo, "demo", false, "answer with built-in demo vendors that replay recorded answers: no vendor keys needed")
	fs.BoolVar(&o.demoPublic, "demo-public", false, "with --demo, allow an address other than loopback (the demo key is public)")
	return c
}

func serve(ctx context.Context, o serveOptions, stdout, stderr io.Writer) error {
	var (
		cfg   *config.Config
		found []config.EnvProvider
		dv    *demo.Vendors
		err   error
	)
	switch {
	case o.demoPublic && !o.demo:
		return usagef("--demo-public only goes with --demo")
	case o.demo && o.config != "":
		return usagef("--demo answers with its own demo vendors and takes no config file: leave out -c, or --demo")
	case o.demo:
		if dv, cfg, err = demoConfig(); err != nil {
			return err
		}
		defer dv.Close()
	default:
		if cfg, found, err = loadConfig(o.config); err != nil {
			return err
		}
	}
	if o.listen != "" {
		cfg.Listen = o.listen
	}
	if o.demo {
		if err := demo.CheckListen(cfg.Listen, o.demoPublic); err != nil {
			return err
		}
	}
	logger := newLogger(cfg.Log, stderr)
	// go-redis prints its connection troubles with the standard logger;
	// they belong in the gateway's own log, in its format.
	redis.SetLogger(redisLog{logger})
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	g, err := gateway.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	demoKey := ""
	if o.demo {
		if demoKey, err = demo.EnsureKey(ctx, g.Store); err != nil {
			g.Close(context.Background())
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		g.Close(context.Background())
		return err
	}
	if o.demo {
		demoBanner(stdout, cfg, g, ln.Addr().String(), demoKey)
	} else {
		banner(ctx, stdout, cfg, found, g, ln.Addr().String())
	}
	if file := configPath(o.config); file != "" && !o.demo {
		// SIGHUP or a change to the file reloads it; a bad file is
		// rejected and the running configuration stays.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go g.WatchConfig(ctx, file, config.Options{ProviderTypes: provider.Types()}, time.Second, hup)
	}
	return g.Serve(ctx, ln)
}

// demoConfig starts the demo vendors and configures a gateway for them:
// their providers and routes, the demo store, and an admin key
// ($SWITCHYARD_ADMIN_KEY, or a new one, printed) for the console and the
// admin commands.
func demoConfig() (*demo.Vendors, *config.Config, error) {
	storage, err := demo.Storage()
	if err != nil {
		return nil, nil, err
	}
	dv, err := demo.Start()
	if err != nil {
		return nil, nil, err
	}
	cfg := &config.Config{
		Listen:    os.Getenv("SWITCHYARD_LISTEN"),
		Storage:   storage,
		AdminKey:  os.Getenv(config.AdminKeyEnv),
		Providers: dv.Providers,
		Models:    demo.Routes(),
	}
	if cfg.AdminKey == "" {
		b := make([]byte, 16)
		rand.Read(b)
		cfg.AdminKey = "sy-admin-" + hex.EncodeToString(b)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(provider.Types()); err != nil {
		dv.Close()
		return nil, nil, fmt.Errorf("demo configuration: %w", err)
	}
	return dv, cfg, nil
}

// demoBanner says, loudly, that nothing real is answering, and how to
// make the first request.
func demoBanner(w io.Writer, cfg *config.Config, g *gateway.Gateway, addr, key string) {
	line := strings.Repeat("=", 78)
	fmt.Fprintf(w, "%s\n DEMO MODE: every provider is a built-in demo vendor replaying recorded answers.\n No vendor is called and no vendor key is used. Not for production.\n%s\n", line, line)
	fmt.Fprintf(w, "switchyard %s listening on http://%s (OpenAI base URL http://%s/v1, Anthropic base URL http://%s)\n", version, addr, addr, addr)
	fmt.Fprintf(w, "storage: %s (the demo's own)\n", redactDSN(cfg.Storage))
	var names []string
	for _, p := range g.Providers.All() {
		names = append(names, p.Name())
	}
	fmt.Fprintf(w, "demo providers: %s\n", strings.Join(names, ", "))
	var routes []string
	for _, m := range cfg.Models {
		routes = append(routes, m.Name)
	}
	fmt.Fprintf(w, "routes: %s\n", strings.Join(routes, ", "))
	fmt.Fprintf(w, "virtual key: %s\n", key)
	fmt.Fprintf(w, "admin key:   %s\n", cfg.AdminKey)
	fmt.Fprintf(w, "try: curl http://%s/v1/chat/completions -H \"Authorization: Bearer %s\" -H \"Content-Type: application/json\" -d '{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'\n", addr, key)
	fmt.Fprintln(w, "faults: end a model name with +429, +500, +cut or +slow (openai/gpt-4o-mini+429); the route demo-fallback falls back, demo-hedge hedges")
}

// banner tells a first-time user what is running and what to do next.
func banner(ctx context.Context, w io.Writer, cfg *config.Config, found []config.EnvProvider, g *gateway.Gateway, addr string) {
	fmt.Fprintf(w, "switchyard %s listening on http://%s (OpenAI base URL http://%s/v1, Anthropic base URL http://%s)\n", version, addr, addr, addr)
	fmt.Fprintf(w, "storage: %s\n", redactDSN(cfg.Storage))
	if found != nil {
		fmt.Fprintln(w, "no config file: providers from the environment:")
		n := 0
		for _, p := range found {
			state := "not found"
			if p.Found {
				state = "found"
				n++
			}
			fmt.Fprintf(w, "  %-10s %-9s (%s)\n", p.Name, state, strings.Join(p.EnvVars, " + "))
		}
		fmt.Fprintln(w, "  add one by exporting its variable(s), or write a config file (see switchyard.example.yaml) and run: switchyard serve -c switchyard.yaml")
		if n == 0 {
			fmt.Fprintln(w, "  no vendor key found: to try the gateway without one, run: switchyard serve --demo")
		}
	} else {
		for _, p := range g.Providers.All() {
			fmt.Fprintf(w, "provider %s (%s)\n", p.Name(), p.Type())
		}
	}
	if ks, err := g.Store.ListKeys(ctx, store.Page{Limit: 1}); err == nil && len(ks) == 0 {
		fmt.Fprintln(w, "no virtual keys yet: create one with: switchyard keys create --name dev")
	}
	if cfg.AdminKey == "" {
		fmt.Fprintln(w, "admin API disabled: set admin_key or SWITCHYARD_ADMIN_KEY to enable /admin")
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redisLog sends go-redis's messages to the gateway's log as warnings.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// redactDSN hides a password in a database URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			cred := dsn[i+3 : at]
			if user, _, ok := strings.Cut(cred, ":"); ok {
				return dsn[:i+3] + user + ":****" + dsn[at:]
			}
		}
	}
	return dsn
}

func configCmd(stdout io.Writer) *cobra.Command {
	var path string
	var allowMissing bool
	check := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a config file, naming the line and field of every error",
		Long: `Validate a config file, naming the line and field of every error.

Every ${VAR} without a default must be set, as when serving. With
--allow-missing-env, unset ones are taken as empty and listed, so that a
file can be checked where its secrets are not (in CI, say).`,
		Example: "  switchyard config check switchyard.yaml\n  switchyard config check --allow-missing-env -c switchyard.example.yaml",
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1, len(args) == 1 && path != "":
				return usagef("config check takes one file: -c FILE, or FILE")
			case len(args) == 0 && path == "":
				return usagef("config check needs a file: -c FILE, or FILE")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				path = args[0]
			}
			return configCheck(path, allowMissing, stdout)
		},
	}
	configFlag(check.Flags(), &path, "config `FILE` to check")
	check.Flags().BoolVar(&allowMissing, "allow-missing-env", false, "take unset ${VAR}s without a default as empty, and list them, instead of failing")
	return group(&cobra.Command{Use: "config", Short: "Work with config files"}, check)
}

func configCheck(path string, allowMissing bool, stdout io.Writer) error {
	opts := config.Options{ProviderTypes: provider.Types()}
	var missing []string
	if allowMissing {
		opts.MissingEnv = func(name string) {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
	}
	cfg, err := config.Load(path, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d providers, %d models)\n", path, len(cfg.Providers), len(cfg.Models))
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "not set, checked as empty: %s\n", strings.Join(missing, ", "))
	}
	return nil
}
