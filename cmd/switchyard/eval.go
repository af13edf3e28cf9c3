package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/demo"
	"github.com/switchyard-ai/switchyard/internal/eval"
	"github.com/switchyard-ai/switchyard/internal/eval/report"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// evalPrice, when set (by tests), prices eval calls instead of the
// config's price table.
var evalPrice eval.PriceFunc

// pricer prices eval calls from the same table the gateway uses: the
// embedded price list with the config's pricing overrides. A model it does
// not list has an unknown cost, shown as such, never guessed.
func pricer(cfg *config.Config) (eval.PriceFunc, error) {
	tbl, err := pricing.Default(cfg.Pricing)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for _, p := range cfg.Providers {
		types[p.Name] = p.Type
	}
	return func(provider, model string, u llm.Usage) (float64, bool) {
		p, ok := tbl.Lookup(provider, types[provider], model)
		if !ok {
			return 0, false
		}
		return float64(p.Cost(u)) / 1e6, true
	}, nil
}

// gateError is a run that completed but failed a --fail-under or
// --require-replace gate, or whose calls failed more often than the
// suite's error guardrail allows; the command exits with status 3 so that
// CI can tell a failed gate from a failed command (status 1).
type gateError struct{ reasons []string }

func (e *gateError) Error() string {
	return "eval gate failed: " + strings.Join(e.reasons, "; ")
}

// evalOptions are the flags every eval command takes.
type evalOptions struct {
	config string
	demo   bool
}

// open loads the config and opens its store. With --demo, demo vendors
// of the same types stand in for the config's providers, and the runs go
// to the demo's own store, so that their answers, cached, can never be
// served to a real run.
func (o *evalOptions) open(ctx context.Context) (*config.Config, store.Store, func(), error) {
	cfg, _, err := loadConfig(o.config)
	if err != nil {
		return nil, nil, nil, err
	}
	stop := func() {}
	if o.demo {
		dv, err := demo.StandIn(cfg.Providers)
		if err != nil {
			return nil, nil, nil, err
		}
		c := *cfg
		c.Providers = dv.Providers
		if c.Storage, err = demo.Storage(); err != nil {
			dv.Close()
			return nil, nil, nil, err
		}
		cfg, stop = &c, dv.Close
	}
	st, err := store.Open(ctx, cfg.Storage)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return cfg, st, func() { st.Close(); stop() }, nil
}

// reportFlags are the report outputs of eval run and eval show.
type reportFlags struct{ json, html string }

func (r *reportFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.json, "json", "", "also write the report as JSON to `FILE` (- for stdout, instead of the table)")
	fs.StringVar(&r.html, "html", "", "also write the report as one self-contained HTML page to `FILE`")
}

func evalCmd(stdout, stderr io.Writer) *cobra.Command {
	var o evalOptions
	eval := group(&cobra.Command{
		Use:   "eval",
		Short: "Compare models offline on a dataset",
		Long: `Compare an incumbent model with challengers offline, on a dataset, through
the config's providers and routes, and end with a verdict per challenger.
Runs are stored in the config's storage as they go (a relative sqlite: path
is relative to the working directory), so that they can be listed, shown,
compared and resumed.

With --demo, demo vendors of the same types answer for the config's
providers, and runs go to the demo's own store.`,
	}, evalRunCmd(&o, stdout, stderr), evalListCmd(&o, stdout), evalShowCmd(&o, stdout), evalCompareCmd(&o, stdout))
	configFlag(eval.PersistentFlags(), &o.config, "config `FILE`: providers, models and storage (default $SWITCHYARD_CONFIG, else from the environment)")
	eval.PersistentFlags().BoolVar(&o.demo, "demo", false, "answer with demo vendors standing in for the config's providers, and use the demo's store")
	return eval
}

func evalRunCmd(o *evalOptions, stdout, stderr io.Writer) *cobra.Command {
	var (
		out            reportFlags
		resume         string
		failUnder      float64
		requireReplace bool
		noProgress     bool
	)
	c := &cobra.Command{
		Use:   "run SUITE | --resume RUN",
		Short: "Run a suite, or continue an interrupted run",
		Long: `Run a suite (or, with --resume, continue an interrupted run, redoing only
cases not complete), print the report and apply the CI gates: the command
exits with status 3 when a gate fails, 1 on errors.`,
		Example: `  switchyard eval run examples/eval/suite.yaml -c examples/eval/switchyard.yaml --html report.html
  switchyard eval run examples/eval/suite.yaml -c examples/eval/switchyard.yaml --demo
  switchyard eval run --resume RUN -c examples/eval/switchyard.yaml --require-replace`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (resume == "") == (len(args) != 1) {
				return usagef("eval run needs a suite, or --resume RUN: switchyard eval run SUITE, or switchyard eval run --resume RUN")
			}
			if failUnder < 0 || failUnder > 1 {
				return usagef("--fail-under: a pass rate between 0 and 1")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, st, closeFn, err := o.open(ctx)
			if err != nil {
				return err
			}
			defer closeFn()
			rt, err := evalRouter(cfg, stderr)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			price := evalPrice
			if price == nil {
				if price, err = pricer(cfg); err != nil {
					return err
				}
			}
			r := &eval.Runner{Router: rt, Store: st, Price: price}
			if !noProgress {
				r.Progress, r.Terminal = stderr, isTerminal(stderr)
				fmt.Fprintf(stderr, "storing the run in %s\n", redactDSN(cfg.Storage))
			}
			var run store.EvalRun
			if resume != "" {
				run, err = r.Resume(ctx, resume)
			} else {
				s, lerr := eval.LoadSuite(args[0])
				if lerr != nil {
					return lerr
				}
				cases, lerr := eval.LoadDataset(s.DatasetPath())
				if lerr != nil {
					return lerr
				}
				run, err = r.Start(ctx, s, cases)
			}
			if err != nil {
				return err
			}
			snap, results, err := runResults(ctx, st, run)
			if err != nil {
				return err
			}
			rep := eval.Analyze(run, snap, results)
			if err := writeReport(stdout, rep, out.json, out.html); err != nil {
				return err
			}
			return gate(rep, failUnder, requireReplace)
		},
	}
	fs := c.Flags()
	out.register(fs)
	fs.StringVar(&resume, "resume", "", "continue the interrupted `RUN`")
	fs.Float64Var(&failUnder, "fail-under", 0, "exit with status 3 when a challenger's pass rate is below `RATE` (0 to 1)")
	fs.BoolVar(&requireReplace, "require-replace", false, "exit with status 3 unless every challenger's verdict is REPLACE")
	fs.BoolVar(&noProgress, "no-progress", false, "show no progress line")
	return c
}

func evalListCmd(o *evalOptions, stdout io.Writer) *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "list",
		Short: "List past eval runs, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, closeFn, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			runs, err := st.EvalRuns(cmd.Context(), limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSUITE\tCASES\tSTATUS\tCREATED\tFINISHED")
			for _, r := range runs {
				fin := "—"
				if r.FinishedAt != nil {
					fin = r.FinishedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Suite, r.Cases, r.Status, r.CreatedAt.Format(time.RFC3339), fin)
			}
			return tw.Flush()
		},
	}
	c.Flags().IntVar(&limit, "limit", 50, "`N` runs to list")
	return c
}

func evalShowCmd(o *evalOptions, stdout io.Writer) *cobra.Command {
	var out reportFlags
	var cases bool
	c := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a stored run's report",
		Args:  exactArgs(1, "one run id (see switchyard eval list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, st, closeFn, err := o.open(ctx)
			if err != nil {
				return err
			}
			defer closeFn()
			run, snap, results, err := storedRun(ctx, st, args[0])
			if err != nil {
				return err
			}
			if err := writeReport(stdout, eval.Analyze(run, snap, results), out.json, out.html); err != nil {
				return err
			}
			if cases && out.json != "-" {
				fmt.Fprintln(stdout)
				return report.Cases(stdout, results)
			}
			return nil
		},
	}
	out.register(c.Flags())
	c.Flags().BoolVar(&cases, "cases", false, "also list every case's result")
	return c
}

func evalCompareCmd(o *evalOptions, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare the same models in two runs, cases paired by id",
		Args:  exactArgs(2, "two run ids (see switchyard eval list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, st, closeFn, err := o.open(ctx)
			if err != nil {
				return err
			}
			defer closeFn()
			var snaps [2]*eval.Snapshot
			var results [2][]store.EvalResult
			for i, id := range args {
				if _, snaps[i], results[i], err = storedRun(ctx, st, id); err != nil {
					return err
				}
			}
			return report.RunDiffs(stdout, args[0], args[1], eval.CompareRuns(snaps[0], results[0], snaps[1], results[1]))
		},
	}
}

// evalRouter builds the providers and router of cfg, as serve does,
// without the rest of the gateway.
func evalRouter(cfg *config.Config, stderr io.Writer) (*router.Router, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	transports := map[time.Duration]*http.Transport{}
	ps, err := provider.NewSet(cfg.Providers, func(p config.Provider) provider.Options {
		t := transports[p.ConnectTimeout]
		if t == nil {
			t = gateway.NewTransport(p.ConnectTimeout)
			transports[p.ConnectTimeout] = t
		}
		return provider.Options{Client: &http.Client{Transport: t}, Logger: logger}
	})
	if err != nil {
		return nil, err
	}
	return router.New(ps, cfg.Models, cfg.Router)
}

// storedRun reads the run called id with its snapshot and results.
func storedRun(ctx context.Context, st store.Store, id string) (store.EvalRun, *eval.Snapshot, []store.EvalResult, error) {
	run, err := st.EvalRun(ctx, id)
	if err != nil {
		return run, nil, nil, fmt.Errorf("eval run %s: %w (see switchyard eval list)", id, err)
	}
	snap, results, err := runResults(ctx, st, run)
	return run, snap, results, err
}

// runResults reads a run's snapshot and results.
func runResults(ctx context.Context, st store.Store, run store.EvalRun) (*eval.Snapshot, []store.EvalResult, error) {
	snap, err := eval.ParseSnapshot(run)
	if err != nil {
		return nil, nil, err
	}
	results, err := st.EvalResults(ctx, run.ID)
	return snap, results, err
}

func writeReport(stdout io.Writer, rep *eval.Report, jsonPath, htmlPath string) error {
	if jsonPath == "-" {
		return report.JSON(stdout, rep)
	}
	if err := report.Text(stdout, rep); err != nil {
		return err
	}
	write := func(path string, render func(io.Writer, *eval.Report) error) error {
		if path == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := render(f, rep); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", path)
		return nil
	}
	return errors.Join(write(jsonPath, report.JSON), write(htmlPath, report.HTML))
}

// gate applies the error guardrail, --fail-under and --require-replace
// to a finished run.
func gate(rep *eval.Report, failUnder float64, requireReplace bool) error {
	reasons := rep.ErrorRateExceeded()
	for i, c := range rep.Comparisons {
		m := rep.Models[i+1]
		if failUnder > 0 && m.PassRate.Estimate < failUnder {
			reasons = append(reasons, fmt.Sprintf("%s pass rate %.3f < %.3f", m.Model, m.PassRate.Estimate, failUnder))
		}
		if requireReplace && c.Verdict != eval.Replace {
			reasons = append(reasons, fmt.Sprintf("%s verdict %s, not REPLACE", c.Challenger, c.Verdict))
		}
	}
	if reasons != nil {
		return &gateError{reasons}
	}
	return nil
}

// isTerminal reports whether w is a character device, such as a
// terminal, where the progress line can be redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
