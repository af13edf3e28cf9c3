// Command switchyard is an LLM gateway: one OpenAI-compatible API in front
// of every vendor. Run "switchyard help" for its commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/store"
)

const usage = `Switchyard is an LLM gateway: OpenAI- and Anthropic-compatible APIs in front of every vendor.

Usage:
  switchyard serve [-c FILE]                    run the gateway
  switchyard config check -c FILE               validate a config file
  switchyard keys create --name NAME [--models PATTERN,...] [--team T]
        [--rpm N] [--tpm N] [--budget USD] [--period day|month|total]
        [--expires TIME | --expires-in DURATION] [--meta k=v,...]
                                                create a virtual key (printed once)
  switchyard keys list                          list virtual keys
  switchyard keys get ID|NAME                   show a key, with its spend
  switchyard keys update ID|NAME [flags as create, but --name]
                                                change a key's scopes and limits
  switchyard keys revoke ID|NAME                revoke a virtual key
  switchyard teams create --name NAME [--rpm N] [--tpm N] [--budget USD] [--period P] [--meta k=v,...]
  switchyard teams list | get ID|NAME | update ID|NAME [limit flags]
  switchyard usage [--group-by key,team,model,provider,day] [--from DATE] [--to DATE]
        [--key ID] [--team ID] [--format csv|json]
                                                usage and cost totals
  switchyard audit [--limit N]                  the admin audit log
  switchyard eval run SUITE [-c FILE] [--html FILE] [--json FILE] [--fail-under RATE] [--require-replace]
                                                compare models offline on a dataset
  switchyard eval run --resume RUN [-c FILE]    continue an interrupted eval run
  switchyard eval list|show RUN|compare RUN_A RUN_B [-c FILE]
                                                past eval runs
  switchyard version                            print the version

Without -c (or $SWITCHYARD_CONFIG), switchyard runs on an embedded SQLite
database (switchyard.db) with the providers it finds in the environment
(OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, DEEPSEEK_API_KEY,
XAI_API_KEY, MISTRAL_API_KEY, AZURE_OPENAI_API_KEY with AZURE_OPENAI_ENDPOINT).

The keys, teams, usage and audit commands work on the store the config
names (-c FILE; the default SQLite file without one), or on a running
gateway with --server URL and --admin-key KEY (or $SWITCHYARD_SERVER and
$SWITCHYARD_ADMIN_KEY).
`

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

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "config":
		if len(rest) == 0 || rest[0] != "check" {
			return errors.New(`usage: switchyard config check -c FILE`)
		}
		return configCheck(rest[1:], stdout)
	case "keys":
		return keysCmd(ctx, rest, stdout)
	case "eval":
		return evalCmd(ctx, rest, stdout, stderr)
	case "teams":
		return teamsCmd(ctx, rest, stdout)
	case "usage":
		return usageCmd(ctx, rest, stdout)
	case "audit":
		return auditCmd(ctx, rest, stdout)
	case "version":
		fmt.Fprintln(stdout, "switchyard", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
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

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("c", "", "config file (default: $SWITCHYARD_CONFIG, else from the environment)")
	listen := fs.String("listen", "", "address to listen on (overrides the config's listen)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, found, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
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
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		g.Close(context.Background())
		return err
	}
	banner(ctx, stdout, cfg, found, g, ln.Addr().String())
	if file := configPath(*path); file != "" {
		// SIGHUP or a change to the file reloads it; a bad file is
		// rejected and the running configuration stays.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go g.WatchConfig(ctx, file, config.Options{ProviderTypes: provider.Types()}, time.Second, hup)
	}
	return g.Serve(ctx, ln)
}

// banner tells a first-time user what is running and what to do next.
func banner(ctx context.Context, w io.Writer, cfg *config.Config, found []config.EnvProvider, g *gateway.Gateway, addr string) {
	fmt.Fprintf(w, "switchyard %s listening on http://%s (OpenAI base URL http://%s/v1, Anthropic base URL http://%s)\n", version, addr, addr, addr)
	fmt.Fprintf(w, "storage: %s\n", redactDSN(cfg.Storage))
	if found != nil {
		fmt.Fprintln(w, "no config file: providers from the environment:")
		for _, p := range found {
			state := "not found"
			if p.Found {
				state = "found"
			}
			fmt.Fprintf(w, "  %-10s %-9s (%s)\n", p.Name, state, strings.Join(p.EnvVars, " + "))
		}
		fmt.Fprintln(w, "  add one by exporting its variable(s), or write a config file (see switchyard.example.yaml) and run: switchyard serve -c switchyard.yaml")
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

func configCheck(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	path := fs.String("c", "", "config file to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" && fs.NArg() == 1 {
		*path = fs.Arg(0)
	}
	if *path == "" {
		return errors.New("usage: switchyard config check -c FILE")
	}
	cfg, err := config.Load(*path, config.Options{ProviderTypes: provider.Types()})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d providers, %d models)\n", *path, len(cfg.Providers), len(cfg.Models))
	return nil
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("keys revoke ci -c file"), which flag.Parse alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
