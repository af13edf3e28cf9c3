package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/provider"
	_ "github.com/switchyard-ai/switchyard/internal/provider/all"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/store/sqlite"
)

// harness is a runner over one fake provider "p" and an in-memory SQLite.
type harness struct {
	up     *fakeupstream.Server
	runner *Runner
	st     store.Store
}

func newHarness(t *testing.T, respond func(fakeupstream.Recorded) fakeupstream.Response, models ...config.Model) *harness {
	t.Helper()
	up := fakeupstream.New()
	t.Cleanup(up.Close)
	up.Respond("/chat/completions", respond)
	cfg := &config.Config{Providers: []config.Provider{{Name: "p", Type: "openai-compatible", BaseURL: up.URL() + "/v1"}}}
	cfg.SetDefaults()
	cfg.Router.RetryBackoff = time.Millisecond
	ps, err := provider.NewSet(cfg.Providers, func(config.Provider) provider.Options { return provider.Options{} })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(ps, models, cfg.Router)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &harness{up: up, st: st, runner: &Runner{Router: rt, Store: st, Backoff: time.Millisecond}}
}

// echoSuite asks models a and b of provider p to repeat a number; the
// fake answers it, so every case passes.
func echoSuite(n int) (*Suite, []Case) {
	s := &Suite{Name: "echo", Dataset: "x.jsonl", Prompt: "Say {{n}}.",
		Incumbent: Model{Model: "p/a"}, Challengers: []Model{{Model: "p/b"}},
		Scorers: []ScorerSpec{{Type: "exact"}}}
	s.SetDefaults()
	var cases []Case
	for i := range n {
		ref := fmt.Sprint(i)
		cases = append(cases, Case{ID: fmt.Sprintf("c%02d", i), Vars: map[string]any{"n": i}, Reference: &ref})
	}
	return s, cases
}

func echo(r fakeupstream.Recorded) fakeupstream.Response {
	var req struct {
		Messages []struct{ Content string } `json:"messages"`
	}
	json.Unmarshal(r.Body, &req)
	n := strings.TrimSuffix(strings.TrimPrefix(req.Messages[len(req.Messages)-1].Content, "Say "), ".")
	return fakeupstream.TextCompletion(n)
}

func TestRunConcurrencyPerProvider(t *testing.T) {
	var inFlight, peak atomic.Int32
	h := newHarness(t, func(r fakeupstream.Recorded) fakeupstream.Response {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		return echo(r)
	})
	s, cases := echoSuite(12)
	s.Concurrency = 1
	s.ProviderConcurrency = map[string]int{"p": 3}
	run, err := h.runner.Start(t.Context(), s, cases)
	if err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got != 3 {
		t.Errorf("peak requests in flight to the provider: %d, want exactly its concurrency 3", got)
	}
	rs, _ := h.st.EvalResults(t.Context(), run.ID)
	if len(rs) != 24 {
		t.Fatalf("%d results, want 24", len(rs))
	}
	rep := Analyze(run, &Snapshot{Suite: s, Cases: cases}, rs)
	if rep.Models[0].Passed != 12 || rep.Models[1].Passed != 12 {
		t.Errorf("passed %d and %d, want 12 each", rep.Models[0].Passed, rep.Models[1].Passed)
	}
}

func TestRunRetriesRetryableFailures(t *testing.T) {
	h := newHarness(t, echo)
	// The route tries twice (router.DefaultRetries), the eval twice more.
	h.up.Enqueue("/chat/completions", fakeupstream.ServerError(503), fakeupstream.ServerError(503), fakeupstream.ServerError(503))
	s, cases := echoSuite(1)
	s.Challengers = nil // one model, so the queued failures are all its own
	s.Incumbent = Model{Model: "p/a"}
	run, err := h.runner.Start(t.Context(), s, cases)
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := h.st.EvalResults(t.Context(), run.ID)
	if len(rs) != 1 || rs[0].Error != "" || rs[0].Output != "0" {
		t.Errorf("after three 503s: %+v", rs)
	}
	if n := len(h.up.Requests()); n != 4 {
		t.Errorf("%d requests, want 4 (three failures, one answer)", n)
	}
}

// An interrupted run keeps the cases it finished; resuming it runs only
// the rest, and answers that reached the cache are not paid for again.
func TestRunInterruptAndResume(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls atomic.Int32
	h := newHarness(t, func(r fakeupstream.Recorded) fakeupstream.Response {
		if calls.Add(1) == 15 {
			cancel() // as a Ctrl-C would, mid-run
		}
		return echo(r)
	})
	s, cases := echoSuite(20)
	s.Concurrency = 2
	run, err := h.runner.Start(ctx, s, cases)
	if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "--resume "+run.ID) {
		t.Fatalf("interrupted run: %v", err)
	}
	if run.Status != "interrupted" {
		t.Errorf("status %q, want interrupted", run.Status)
	}
	partial, _ := h.st.EvalResults(t.Context(), run.ID)
	if len(partial) == 0 || len(partial) >= 40 || len(partial)%2 != 0 {
		t.Fatalf("%d results stored at the interruption; want whole cases, some but not all", len(partial))
	}
	before := calls.Load()

	run, err = h.runner.Resume(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "done" || run.FinishedAt == nil {
		t.Errorf("resumed run: %+v", run)
	}
	rs, _ := h.st.EvalResults(t.Context(), run.ID)
	if len(rs) != 40 {
		t.Fatalf("%d results after resume, want 40", len(rs))
	}
	cached := 0
	for _, r := range rs {
		if r.Cached {
			cached++
		}
		if r.Error != "" {
			t.Errorf("%s/%s: %s", r.Model, r.CaseID, r.Error)
		}
	}
	// The resume asks only for what was not stored, and less when the
	// cache has it; overall every answer is paid for once, but for those
	// cut off in flight.
	resumed := int(calls.Load() - before)
	if resumed > 40-len(partial) {
		t.Errorf("the resume made %d calls for %d missing answers", resumed, 40-len(partial))
	}
	if total := resumed + int(before); total > 40+2*s.Concurrency {
		t.Errorf("%d calls for 40 answers", total)
	}
	t.Logf("stored at interruption: %d; calls before %d, after %d; cached answers used %d", len(partial), before, resumed, cached)
	rep := Analyze(run, &Snapshot{Suite: s, Cases: cases}, rs)
	if rep.Models[0].Passed != 20 || rep.Models[1].Passed != 20 {
		t.Errorf("passed %d, %d; want 20, 20", rep.Models[0].Passed, rep.Models[1].Passed)
	}
}

// The cache key names the target an alias resolves to: re-pointing the
// alias must reach the new model, while an unchanged one is served from
// the cache.
func TestCacheFollowsTheAlias(t *testing.T) {
	h := newHarness(t, echo, config.Model{Name: "alias", Target: "p/a"})
	s, cases := echoSuite(3)
	s.Incumbent, s.Challengers = Model{Model: "p/b"}, []Model{{Model: "alias"}}
	if _, err := h.runner.Start(t.Context(), s, cases); err != nil {
		t.Fatal(err)
	}
	if n := len(h.up.Requests()); n != 6 {
		t.Fatalf("first run: %d requests, want 6", n)
	}
	h2 := newHarness(t, echo, config.Model{Name: "alias", Target: "p/c"})
	h2.runner.Store = h.st // same store, so the same cache
	if _, err := h2.runner.Start(t.Context(), s, cases); err != nil {
		t.Fatal(err)
	}
	var models []string
	for _, r := range h2.up.Requests() {
		var req struct{ Model string }
		json.Unmarshal(r.Body, &req)
		models = append(models, req.Model)
	}
	if len(models) != 3 || models[0] != "c" || models[1] != "c" || models[2] != "c" {
		t.Errorf("after re-pointing the alias the upstream saw %v, want the 3 cases for c only", models)
	}
}

// A judge that answers out of shape gives skipped scores with the reason,
// which count neither way; the pairwise judge's position bias becomes a
// tie.
func TestJudgeOutOfShape(t *testing.T) {
	h := newHarness(t, func(r fakeupstream.Recorded) fakeupstream.Response {
		var req struct{ Model string }
		json.Unmarshal(r.Body, &req)
		switch {
		case req.Model == "judge" && strings.Contains(string(r.Body), "You grade"):
			return fakeupstream.TextCompletion("Looks good to me!")
		case req.Model == "judge":
			return fakeupstream.TextCompletion(`{"winner": "A"}`) // always the first
		}
		return echo(r)
	})
	s, cases := echoSuite(2)
	s.Judge = &Model{Model: "p/judge"}
	s.Scorers = append(s.Scorers, ScorerSpec{Type: "judge", Rubric: "ok?"}, ScorerSpec{Type: "pairwise"})
	run, err := h.runner.Start(t.Context(), s, cases)
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := h.st.EvalResults(t.Context(), run.ID)
	for _, r := range rs {
		var scores []Score
		json.Unmarshal([]byte(r.Scores), &scores)
		for _, sc := range scores {
			switch sc.Type {
			case "judge":
				if !sc.Skipped || !strings.Contains(sc.Reason, "no JSON object") {
					t.Errorf("%s/%s judge: %+v", r.Model, r.CaseID, sc)
				}
			case "pairwise":
				if r.Model != "p/b" || sc.Outcome != "tie" || sc.Value != 0.5 {
					t.Errorf("%s/%s pairwise: %+v", r.Model, r.CaseID, sc)
				}
			}
		}
	}
	rep := Analyze(run, &Snapshot{Suite: s, Cases: cases}, rs)
	if m := rep.Models[1]; m.Passed != 2 || len(m.Scorers) != 1 {
		t.Errorf("the skipped judge counted: %+v", m)
	}
	if p := rep.Comparisons[0].Pairwise; p == nil || p.Ties != 2 {
		t.Errorf("pairwise %+v", p)
	}
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, false, 20, 0)
	for i := range 20 {
		failed := 0
		if i == 3 {
			p.spent(0.5)
			failed = 1
		}
		p.caseDone(failed)
	}
	p.finish()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "2/20 cases · errors 0 · spend —") ||
		!strings.HasPrefix(lines[9], "20/20 cases · errors 1 · spend $0.5000 · in ") {
		t.Errorf("plain progress:\n%s", b.String())
	}
	b.Reset()
	p = newProgress(&b, true, 4, 2) // resumed on a terminal
	p.caseDone(0)
	p.finish()
	if out := b.String(); !strings.HasPrefix(out, "\r\x1b[K[############............] 2/4") || !strings.Contains(out, "\r\x1b[K[##################......] 3/4 cases") || !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal progress: %q", out)
	}
}

func TestStartChecksModelsFirst(t *testing.T) {
	h := newHarness(t, echo)
	s, cases := echoSuite(1)
	s.Challengers = []Model{{Model: "nosuch/model"}}
	if _, err := h.runner.Start(t.Context(), s, cases); err == nil || !strings.Contains(err.Error(), `model "nosuch/model"`) {
		t.Errorf("unknown model: %v", err)
	}
	if runs, _ := h.st.EvalRuns(t.Context(), 0); len(runs) != 0 {
		t.Errorf("a run was created: %+v", runs)
	}
}
