package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/store"
)

func evalTests() []struct {
	name string
	fn   func(t *testing.T, s store.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"EvalRunRoundTrip", testEvalRunRoundTrip},
		{"EvalRunsNewestFirst", testEvalRunsNewestFirst},
		{"EvalRunStatus", testEvalRunStatus},
		{"EvalResultsRoundTrip", testEvalResultsRoundTrip},
		{"EvalResultsReplace", testEvalResultsReplace},
		{"EvalResultsNeedRun", testEvalResultsNeedRun},
		{"ResponseCache", testResponseCache},
	}
}

func newRun(n int) store.EvalRun {
	return store.EvalRun{
		ID:        "run_" + string(rune('a'+n)),
		Suite:     "support-bot",
		Config:    `{"incumbent":"openai/gpt-4o"}`,
		Status:    "running",
		Cases:     30 + n,
		CreatedAt: base.Add(time.Duration(n) * time.Minute),
	}
}

func testEvalRunRoundTrip(t *testing.T, s store.Store) {
	want := newRun(0)
	if err := s.CreateEvalRun(ctx(t), want); err != nil {
		t.Fatal(err)
	}
	got, err := s.EvalRun(ctx(t), want.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertUTC(t, "CreatedAt", got.CreatedAt)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if err := s.CreateEvalRun(ctx(t), want); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second create: %v, want ErrDuplicate", err)
	}
	if _, err := s.EvalRun(ctx(t), "run_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing run: %v, want ErrNotFound", err)
	}
	if err := s.CreateEvalRun(ctx(t), store.EvalRun{}); err == nil {
		t.Error("a run without id was stored")
	}
}

func testEvalRunsNewestFirst(t *testing.T, s store.Store) {
	for _, n := range []int{1, 0, 2} {
		if err := s.CreateEvalRun(ctx(t), newRun(n)); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.EvalRuns(ctx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if want := []string{"run_c", "run_b", "run_a"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("runs %v, want %v", ids, want)
	}
	if runs, _ := s.EvalRuns(ctx(t), 2); len(runs) != 2 {
		t.Errorf("limit 2 gave %d runs", len(runs))
	}
}

func testEvalRunStatus(t *testing.T, s store.Store) {
	r := newRun(0)
	if err := s.CreateEvalRun(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	at := base.Add(time.Hour)
	if err := s.SetEvalRunStatus(ctx(t), r.ID, "done", at); err != nil {
		t.Fatal(err)
	}
	got, _ := s.EvalRun(ctx(t), r.ID)
	if got.Status != "done" || got.FinishedAt == nil || !got.FinishedAt.Equal(at) {
		t.Errorf("after done: %+v (finished %v), want done at %v", got, got.FinishedAt, at)
	}
	if err := s.SetEvalRunStatus(ctx(t), r.ID, "running", at); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.EvalRun(ctx(t), r.ID); got.Status != "running" || got.FinishedAt != nil {
		t.Errorf("resumed run: %+v, want running with no finish time", got)
	}
	if err := s.SetEvalRunStatus(ctx(t), "run_missing", "done", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing run: %v, want ErrNotFound", err)
	}
}

func newResult(model, caseID string) store.EvalResult {
	cost, judge := 0.00125, 0.0004
	return store.EvalResult{
		RunID: "run_a", Model: model, CaseID: caseID,
		Output:       "Paris — \"quoted\" ✓",
		ToolCalls:    `[{"type":"function","function":{"name":"f","arguments":"{}"}}]`,
		Usage:        llm.Usage{InputTokens: 100, CachedInputTokens: 20, CacheWriteTokens: 5, OutputTokens: 50, ReasoningTokens: 30},
		Latency:      1234567 * time.Microsecond,
		CostUSD:      &cost,
		JudgeCostUSD: &judge,
		Scores:       `[{"name":"exact","value":1,"pass":true}]`,
		Cached:       true,
		CreatedAt:    base,
	}
}

func testEvalResultsRoundTrip(t *testing.T, s store.Store) {
	if err := s.CreateEvalRun(ctx(t), newRun(0)); err != nil {
		t.Fatal(err)
	}
	a := newResult("openai/gpt-4o", "c2")
	b := newResult("deepseek/deepseek-chat", "c1")
	b.CostUSD, b.JudgeCostUSD, b.Error, b.Output, b.ToolCalls, b.Cached = nil, nil, "upstream_5xx: boom", "", "", false
	b.Output = "nul \x00 and bad \xff utf-8" // vendor output is not trusted
	if err := s.PutEvalResults(ctx(t), []store.EvalResult{a, b}); err != nil {
		t.Fatal(err)
	}
	got, err := s.EvalResults(ctx(t), "run_a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d results, want 2", len(got))
	}
	if got[0].CaseID != "c1" || got[1].CaseID != "c2" {
		t.Errorf("order %s, %s; want c1, c2", got[0].CaseID, got[1].CaseID)
	}
	if got[0].CostUSD != nil || got[0].JudgeCostUSD != nil {
		t.Errorf("unknown costs came back as %v, %v", got[0].CostUSD, got[0].JudgeCostUSD)
	}
	if got[0].Output == "" {
		t.Error("hostile output was lost")
	}
	assertUTC(t, "CreatedAt", got[1].CreatedAt)
	if !reflect.DeepEqual(got[1], a) {
		t.Errorf("got %+v\nwant %+v", got[1], a)
	}
	if other, err := s.EvalResults(ctx(t), "run_b"); err != nil || len(other) != 0 {
		t.Errorf("another run's results: %v, %v", other, err)
	}
}

func testEvalResultsReplace(t *testing.T, s store.Store) {
	if err := s.CreateEvalRun(ctx(t), newRun(0)); err != nil {
		t.Fatal(err)
	}
	r := newResult("m", "c1")
	r.Error, r.Output = "timeout", ""
	if err := s.PutEvalResults(ctx(t), []store.EvalResult{r}); err != nil {
		t.Fatal(err)
	}
	r.Error, r.Output = "", "answered on resume"
	if err := s.PutEvalResults(ctx(t), []store.EvalResult{r}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.EvalResults(ctx(t), "run_a")
	if len(got) != 1 || got[0].Output != "answered on resume" || got[0].Error != "" {
		t.Errorf("after replace: %+v", got)
	}
	if err := s.PutEvalResults(ctx(t), nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func testEvalResultsNeedRun(t *testing.T, s store.Store) {
	r := newResult("m", "c1")
	r.CaseID = ""
	if err := s.PutEvalResults(ctx(t), []store.EvalResult{r}); err == nil {
		t.Error("a result without case id was stored")
	}
}

func testResponseCache(t *testing.T, s store.Store) {
	key := "3f2a"
	if _, err := s.CachedResponse(ctx(t), key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("empty cache: %v, want ErrNotFound", err)
	}
	want := store.CachedResponse{
		Key: key, Target: "openai/gpt-4o",
		Body:      []byte(`{"choices":[{"message":{"content":"hi ✓"}}]}`),
		Usage:     llm.Usage{InputTokens: 10, OutputTokens: 2, ReasoningTokens: 1},
		Latency:   250 * time.Millisecond,
		CreatedAt: base,
	}
	if err := s.PutCachedResponse(ctx(t), want); err != nil {
		t.Fatal(err)
	}
	got, err := s.CachedResponse(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	want.Body = []byte(`{"choices":[]}`)
	if err := s.PutCachedResponse(ctx(t), want); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CachedResponse(ctx(t), key); string(got.Body) != `{"choices":[]}` {
		t.Errorf("replaced entry: %s", got.Body)
	}
	if err := s.PutCachedResponse(ctx(t), store.CachedResponse{}); err == nil {
		t.Error("an entry without key was stored")
	}
}
