package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/switchyard-ai/switchyard/internal/eval"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// sample analyses 30 synthetic cases in two tags: an incumbent, a better
// challenger with prices and pairwise judgements, and a worse one that
// sometimes fails. The model names carry markup, which must come out
// escaped.
func sample(t *testing.T) *eval.Report {
	t.Helper()
	s := &eval.Suite{Name: "sample", Incumbent: eval.Model{Model: "acme/inc"},
		Challengers: []eval.Model{{Model: "rival/<b>big</b>"}, {Model: "rival/small"}}}
	s.SetDefaults()
	snap := &eval.Snapshot{Suite: s}
	var rs []store.EvalResult
	for i := range 30 {
		id := fmt.Sprintf("c%02d", i)
		tag := "billing"
		if i%2 == 1 {
			tag = "shipping"
		}
		snap.Cases = append(snap.Cases, eval.Case{ID: id, Tags: []string{tag}})
		for m, model := range []string{"acme/inc", "rival/<b>big</b>", "rival/small"} {
			pass := [3]bool{i%5 != 0, i%7 != 0, i%3 != 0}[m]
			scores := []eval.Score{{Scorer: "exact", Type: "exact", Pass: pass, Value: map[bool]float64{true: 1}[pass]}}
			if m == 1 {
				outcome := map[bool]string{true: "win", false: "tie"}[i%5 == 0]
				scores = append(scores, eval.Score{Scorer: "pairwise", Type: "pairwise", Outcome: outcome, Value: map[string]float64{"win": 1, "tie": 0.5}[outcome]})
			}
			b, _ := json.Marshal(scores)
			r := store.EvalResult{RunID: "ev-1", Model: model, CaseID: id, Scores: string(b),
				Latency: time.Duration(10+i+m*5) * time.Millisecond}
			if m == 1 {
				c := 0.001
				r.CostUSD = &c
			}
			if m == 2 && i%10 == 9 {
				r.Error, r.Scores = "upstream_5xx", ""
			}
			rs = append(rs, r)
		}
	}
	run := store.EvalRun{ID: "ev-1", Suite: "sample", Status: "done", CreatedAt: time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)}
	return eval.Analyze(run, snap, rs)
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, sample(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"acme/inc (incumbent)", "PASS RATE (95% CI)", "exact   rival/small", "Judge cost: —", "0.800 [", "By segment (tag):", "shipping", "Rule: REPLACE when", "$0.001000", "—"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, sample(t)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<b>big</b>") || !strings.Contains(page, "&lt;b&gt;big&lt;/b&gt;") {
		t.Error("a model name was not escaped")
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("the page has a script")
	}
	// The only URL allowed is the SVG namespace, which is never fetched.
	for _, u := range regexp.MustCompile(`(?:https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}[^"'\s<)]*`).FindAllString(page, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("external reference %q", u)
		}
	}
	if regexp.MustCompile(`(?i)\b(src|href)=|@import|url\(`).MatchString(page) {
		t.Error("the page loads something")
	}
}

// chromium finds a Chromium or Chrome binary.
func chromium() (string, bool) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// TestHTMLInChromium opens the page in headless Chromium and checks that
// the tables and charts render and the console stays clean.
func TestHTMLInChromium(t *testing.T) {
	bin, ok := chromium()
	if !ok {
		msg := "no chromium, chromium-browser or google-chrome in PATH (Debian: apt-get install chromium); the HTML report was not rendered"
		if os.Getenv("CI") != "" {
			// .ci/run installs Chromium: in CI a missing browser is a
			// broken setup, not a reason to pass.
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := HTML(f, sample(t)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	var mu sync.Mutex
	var problems []string
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, fmt.Sprintf("console %s", ev.Type))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				problems = append(problems, "log: "+ev.Entry.Text)
			}
		}
	}))
	defer cancel()
	// The first Do starts the browser, for as long as ctx lives: a timeout
	// goes on the later steps only.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v", bin, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// A control page first: the listener must see a console error and an
	// exception, or a clean console below would prove nothing.
	control := filepath.Join(filepath.Dir(path), "control.html")
	os.WriteFile(control, []byte(`<!DOCTYPE html><body><script>console.error("probe"); throw new Error("probe")</script></body>`), 0o600)
	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+control), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("load the control page: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(problems)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	if len(problems) < 2 {
		t.Fatalf("the console listener missed the control page's error and exception: %v", problems)
	}
	problems = nil
	mu.Unlock()

	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+path), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("load the report: %v", err)
	}
	title, err := chromedp.Run(tctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	firstModel, err := chromedp.Run(tctx, chromedp.Text("#models tbody tr:first-child td:first-child"))
	if err != nil {
		t.Fatal(err)
	}
	count := func(sel string) int {
		n, err := chromedp.Run(tctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	modelRows, compareRows, segmentRows := count("#models tbody tr"), count("#comparisons tbody tr"), count("#segments tbody tr")
	if n := count("#scorers tbody tr"); n != 1 {
		t.Errorf("scorer rows: %d, want 1", n)
	}
	svgs, passBars, diffPoints := count("svg"), count("#pass-chart rect"), count("#diff-chart circle")
	chartWidth, err := chromedp.Run(tctx, chromedp.Evaluate[float64](`document.querySelector("#pass-chart").getBoundingClientRect().width`))
	if err != nil {
		t.Fatal(err)
	}
	if title != "Eval sample · ev-1" || !strings.Contains(firstModel, "acme/inc") {
		t.Errorf("title %q, first model %q", title, firstModel)
	}
	if modelRows != 3 || compareRows != 2 || segmentRows != 6 {
		t.Errorf("rows: models %d, comparisons %d, segments %d; want 3, 2, 6", modelRows, compareRows, segmentRows)
	}
	// Pass-rate bars (one per model), the difference forest plot (one
	// point per challenger overall and per tag), the pairwise stack.
	if svgs != 3 || passBars != 3 || diffPoints != 6 || chartWidth < 500 {
		t.Errorf("charts: %d svgs, %d bars, %d points, width %.0f", svgs, passBars, diffPoints, chartWidth)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("console problems: %v", problems)
	}
}
