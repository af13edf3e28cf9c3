package main

import (
	"context"
	"errors"
	"flag"
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

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/eval"
	"github.com/switchyard-ai/switchyard/internal/eval/report"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

const evalUsage = `usage:
  switchyard eval run SUITE [-c FILE] [--json FILE] [--html FILE] [--fail-under RATE] [--require-replace] [--no-progress]
  switchyard eval run --resume RUN [-c FILE] [same output and gate flags]
  switchyard eval list [-c FILE] [--limit N]
  switchyard eval show RUN [-c FILE] [--cases] [--json FILE] [--html FILE]
  switchyard eval compare RUN_A RUN_B [-c FILE]`

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

func evalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(evalUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("eval "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file: providers, models and storage (default: $SWITCHYARD_CONFIG, else from the environment)")
	jsonOut := fs.String("json", "", "write the report as JSON to FILE (- for stdout)")
	htmlOut := fs.String("html", "", "write the report as one self-contained HTML page to FILE")
	resume := fs.String("resume", "", "continue the interrupted run RUN (run)")
	failUnder := fs.Float64("fail-under", 0, "exit with status 3 when a challenger's pass rate is below RATE (run, 0 to 1)")
	requireReplace := fs.Bool("require-replace", false, "exit with status 3 unless every challenger's verdict is REPLACE (run)")
	noProgress := fs.Bool("no-progress", false, "show no progress (run)")
	limit := fs.Int("limit", 50, "runs to list (list)")
	cases := fs.Bool("cases", false, "also list every case's result (show)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	cfg, _, err := loadConfig(*path)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "run":
		if (*resume == "") == (len(pos) != 1) {
			return errors.New("usage: switchyard eval run SUITE, or switchyard eval run --resume RUN")
		}
		if *failUnder < 0 || *failUnder > 1 {
			return errors.New("--fail-under: a pass rate between 0 and 1")
		}
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
		if !*noProgress {
			r.Progress, r.Terminal = stderr, isTerminal(stderr)
		}
		var run store.EvalRun
		if *resume != "" {
			run, err = r.Resume(ctx, *resume)
		} else {
			s, lerr := eval.LoadSuite(pos[0])
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
		rep, err := analyze(ctx, st, run)
		if err != nil {
			return err
		}
		if err := writeReport(stdout, rep, *jsonOut, *htmlOut); err != nil {
			return err
		}
		return gate(rep, *failUnder, *requireReplace)
	case "list":
		runs, err := st.EvalRuns(ctx, *limit)
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
	case "show":
		if len(pos) != 1 {
			return errors.New("usage: switchyard eval show RUN")
		}
		run, err := st.EvalRun(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("eval run %s: %w", pos[0], err)
		}
		rep, err := analyze(ctx, st, run)
		if err != nil {
			return err
		}
		if err := writeReport(stdout, rep, *jsonOut, *htmlOut); err != nil {
			return err
		}
		if *cases && *jsonOut != "-" {
			results, err := st.EvalResults(ctx, run.ID)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout)
			return report.Cases(stdout, results)
		}
		return nil
	case "compare":
		if len(pos) != 2 {
			return errors.New("usage: switchyard eval compare RUN_A RUN_B")
		}
		var snaps [2]*eval.Snapshot
		var results [2][]store.EvalResult
		for i, id := range pos {
			run, err := st.EvalRun(ctx, id)
			if err != nil {
				return fmt.Errorf("eval run %s: %w", id, err)
			}
			if snaps[i], err = eval.ParseSnapshot(run); err != nil {
				return err
			}
			if results[i], err = st.EvalResults(ctx, id); err != nil {
				return err
			}
		}
		return report.RunDiffs(stdout, pos[0], pos[1], eval.CompareRuns(snaps[0], results[0], snaps[1], results[1]))
	}
	return fmt.Errorf("unknown eval command %q\n%s", sub, evalUsage)
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

func analyze(ctx context.Context, st store.Store, run store.EvalRun) (*eval.Report, error) {
	snap, err := eval.ParseSnapshot(run)
	if err != nil {
		return nil, err
	}
	results, err := st.EvalResults(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	return eval.Analyze(run, snap, results), nil
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
