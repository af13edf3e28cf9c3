package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for the test schema

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/eval"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/testenv"
)

// exampleAnswers scripts the fake models of examples/eval: for each case,
// a right and a wrong answer. "tool:NAME ARGS" answers with a tool call.
// Every wrong answer says "unsure", which is how the fake judge tells.
var exampleAnswers = map[string][2]string{
	"b01": {"yes", "no (unsure)"},
	"b02": {"It costs 20 USD per month.", "About 25 USD, unsure."},
	"b03": {"EUR", "USD (unsure)"},
	"b04": {"yes", "no (unsure)"},
	"b05": {"INV-2041", "invoice 2041, unsure"},
	"b06": {`{"refund": true, "amount": 42.5}`, `{"refund": "unsure"}`},
	"b07": {"Open Billing settings and choose Update card.", "Contact us, unsure."},
	"b08": {"Your payment did not go through; please try another card.", "Payment failed with ERR_402, unsure."},
	"b09": {"no", "yes (unsure)"},
	"b10": {`{"street": "1 Main St", "city": "Springfield"}`, "1 Main St, Springfield (unsure)"},
	"s01": {"5", "10, unsure"},
	"s02": {`tool:get_order_status {"order_id":"A123"}`, `tool:get_order_status {"order_id":"unsure"}`},
	"s03": {"yes", "no (unsure)"},
	"s04": {"DHL", "UPS (unsure)"},
	"s05": {`tool:get_order_status {"order_id":"B777"}`, `tool:get_order_status {"order_id":"unsure"}`},
	"s06": {"yes", "no (unsure)"},
	"s07": {"1Z123456", "unsure"},
	"s08": {"no", "yes (unsure)"},
	"s09": {"Take a photo of the damage and open a claim.", "Throw it away, unsure."},
	"s10": {"30", "14, unsure"},
	"a01": {"Use the reset link on the sign-in page.", "Call support, unsure."},
	"a02": {"no", "yes (unsure)"},
	"a03": {"yes", "no (unsure)"},
	"a04": {`{"name": "Ada", "email": "ada@example.com"}`, `{"name": "Ada", "email": "unsure"}`},
	"a05": {"12", "8, unsure"},
	"a06": {"yes", "no (unsure)"},
	"a07": {`tool:close_account {"user_id":"u-42"}`, `tool:close_account {"user_id":"unsure"}`},
	"a08": {"T-10293", "unsure"},
	"a09": {"Security settings", "Profile page (unsure)"},
	"a10": {"yes", "no (unsure)"},
}

// Which cases each upstream model gets wrong, and where it fails with a
// 400. The incumbent is wrong on 6 cases; rival-large on one other;
// rival-mini matches the incumbent on billing and is worse elsewhere.
var (
	exampleWrong = map[string][]string{
		"gpt-incumbent": {"b02", "b07", "s04", "s09", "a05", "a09"},
		"rival-large":   {"b04"},
		"rival-mini":    {"b02", "b07", "s01", "s03", "s04", "s06", "s09", "s10", "a02", "a05", "a06", "a09", "a10"},
	}
	exampleFails = map[string][]string{"rival-mini": {"a03"}}
)

// examplePrice is $1/$2 per million input/output tokens on acme and the
// referee (the judge), and half that on rival.
func examplePrice(provider, model string, u llm.Usage) (float64, bool) {
	per := map[string]float64{"acme": 1, "rival": 0.5, "referee": 1}[provider]
	if per == 0 {
		return 0, false
	}
	return per * float64(u.InputTokens+2*u.OutputTokens) / 1e6, true
}

// exampleUpstream answers as the scripted models and the judge.
type exampleUpstream struct {
	t       *testing.T
	prompts map[string]string // rendered user message → case id
}

func (u *exampleUpstream) respond(r fakeupstream.Recorded) fakeupstream.Response {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(r.Body, &req); err != nil || len(req.Messages) == 0 {
		u.t.Errorf("fake upstream: bad request %s", r.Body)
		return fakeupstream.ServerError(500)
	}
	last := req.Messages[len(req.Messages)-1].Content
	if req.Model == "judge-1" {
		return judgeReply(req.Messages[0].Content, last)
	}
	id, ok := u.prompts[last]
	if !ok {
		u.t.Errorf("fake upstream: no case has the prompt %q", last)
		return fakeupstream.ServerError(500)
	}
	if slices.Contains(exampleFails[req.Model], id) {
		return fakeupstream.OpenAIError(400, "invalid_request_error", "", "scripted failure")
	}
	answer := exampleAnswers[id][0]
	if slices.Contains(exampleWrong[req.Model], id) {
		answer = exampleAnswers[id][1]
	}
	if call, ok := strings.CutPrefix(answer, "tool:"); ok {
		name, args, _ := strings.Cut(call, " ")
		return toolCallReply(name, args)
	}
	return fakeupstream.TextCompletion(answer)
}

// The fake judge's replies, the second in a fenced block as chat models
// like to write them.
const (
	gradeReply    = `{"score": %d, "reason": "scripted"}`
	pairwiseReply = "```json\n{\"winner\": %q, \"reason\": \"scripted\"}\n```"
)

// judgeCallCost is what examplePrice makes of one judge reply.
func judgeCallCost(reply string) float64 {
	c, _ := examplePrice("referee", "judge-1", llm.Usage{InputTokens: 10, OutputTokens: int64(len(strings.Fields(reply)))})
	return c
}

// judgeReply grades an answer 9 unless it says "unsure" (then 2), and in a
// comparison prefers the one answer that does not say "unsure"; when both
// or neither do, it always picks A, a position bias that the both-orders
// rule must turn into a tie.
func judgeReply(system, prompt string) fakeupstream.Response {
	if strings.HasPrefix(system, "You grade") {
		_, answer, _ := strings.Cut(prompt, "Answer to grade:\n")
		score := 9
		if strings.Contains(answer, "unsure") {
			score = 2
		}
		return fakeupstream.TextCompletion(fmt.Sprintf(gradeReply, score))
	}
	_, ab, _ := strings.Cut(prompt, "Answer A:\n")
	a, b, _ := strings.Cut(ab, "\n\nAnswer B:\n")
	winner := "A"
	if strings.Contains(a, "unsure") && !strings.Contains(b, "unsure") {
		winner = "B"
	}
	return fakeupstream.TextCompletion(fmt.Sprintf(pairwiseReply, winner))
}

func toolCallReply(name, args string) fakeupstream.Response {
	body, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-tool", "object": "chat.completion", "created": 1, "model": "fake",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls", "message": map[string]any{
			"role": "assistant", "content": nil,
			"tool_calls": []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": name, "arguments": args}}},
		}}},
		"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
	})
	return fakeupstream.Response{ContentType: "application/json", Body: body}
}

// expectedCost is what examplePrice makes of the scripted answers of one
// upstream model: 10 input tokens each, one output token per word (five
// for a tool call), as fakeupstream counts them.
func expectedCost(provider, model string) float64 {
	total := 0.0
	for id, ans := range exampleAnswers {
		if slices.Contains(exampleFails[model], id) {
			continue
		}
		a := ans[0]
		if slices.Contains(exampleWrong[model], id) {
			a = ans[1]
		}
		out := int64(len(strings.Fields(a)))
		if strings.HasPrefix(a, "tool:") {
			out = 5
		}
		c, _ := examplePrice(provider, model, llm.Usage{InputTokens: 10, OutputTokens: out})
		total += c
	}
	return total
}

// expectedCalls counts the distinct requests the script leads to: the
// cache sends an identical request once, and the judge sees identical
// requests whenever two models answer a case alike.
func expectedCalls() int {
	answer := func(model, id string) (string, bool) {
		if slices.Contains(exampleFails[model], id) {
			return "", false
		}
		if slices.Contains(exampleWrong[model], id) {
			return exampleAnswers[id][1], true
		}
		return exampleAnswers[id][0], true
	}
	n := 0
	for id := range exampleAnswers {
		grades, pairs := map[string]bool{}, map[[2]string]bool{}
		inc, _ := answer("gpt-incumbent", id)
		for _, m := range []string{"gpt-incumbent", "rival-large", "rival-mini"} {
			n++ // the model's own call, answered or failed (a 400 is not retried)
			a, ok := answer(m, id)
			if !ok {
				continue
			}
			grades[a] = true
			if m != "gpt-incumbent" {
				pairs[[2]string{inc, a}], pairs[[2]string{a, inc}] = true, true
			}
		}
		n += len(grades) + len(pairs)
	}
	return n
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f", what, got, want)
	}
}

// TestEvalExample runs examples/eval end to end, on SQLite and on
// PostgreSQL (in a schema of its own; SWITCHYARD_TEST_POSTGRES as for the
// store tests: a URL, or "off" to skip).
func TestEvalExample(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testEvalExample(t, "sqlite:"+filepath.Join(t.TempDir(), "eval.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		testEvalExample(t, testenv.PostgresSchema(t))
	})
}

func testEvalExample(t *testing.T, storage string) {
	suitePath := "../../examples/eval/suite.yaml"
	s, err := eval.LoadSuite(suitePath)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := eval.LoadDataset(s.DatasetPath())
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != len(exampleAnswers) {
		t.Fatalf("the example has %d cases, the script %d", len(cases), len(exampleAnswers))
	}
	up := &exampleUpstream{t: t, prompts: map[string]string{}}
	for _, c := range cases {
		tmpl := c.Prompt
		if len(c.Messages) > 0 {
			tmpl = c.Messages[len(c.Messages)-1]["content"].(string)
		}
		text, err := eval.Render(tmpl, c.Vars)
		if err != nil {
			t.Fatal(err)
		}
		up.prompts[text] = c.ID
	}
	acme, rival, referee := fakeupstream.New(), fakeupstream.New(), fakeupstream.New()
	defer acme.Close()
	defer rival.Close()
	defer referee.Close()
	// Fixed latencies, far apart, so that the p95 guardrail is decided by
	// design rather than by the noise of a busy machine: a challenger
	// call would need 225 ms of it to fail the guardrail.
	acme.SetLatency(150 * time.Millisecond)
	rival.SetLatency(2 * time.Millisecond)
	for _, s := range []*fakeupstream.Server{acme, rival, referee} {
		s.Respond("/chat/completions", up.respond)
	}
	dir := t.TempDir()
	t.Setenv("ACME_BASE_URL", acme.URL()+"/v1")
	t.Setenv("RIVAL_BASE_URL", rival.URL()+"/v1")
	t.Setenv("REFEREE_BASE_URL", referee.URL()+"/v1")
	t.Setenv("EVAL_STORAGE", storage)
	cfg := "../../examples/eval/switchyard.yaml"
	evalPrice = examplePrice
	defer func() { evalPrice = nil }()

	jsonPath, htmlPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.html")
	out, err := runCLI(t, "eval", "run", suitePath, "-c", cfg, "--json", jsonPath, "--html", htmlPath)
	if err != nil {
		t.Fatalf("eval run: %v\n%s", err, out)
	}
	t.Logf("eval run output:\n%s", out)
	rep := readReport(t, jsonPath)
	checkExampleReport(t, rep, true)
	for _, want := range []string{"cases × 3 models", "30/30 cases · errors 1 · spend $", "REPLACE", "SPLIT (billing)", "paired cases: 30 (minimum 20)", "Rule: REPLACE when"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal report lacks %q", want)
		}
	}
	if page, err := os.ReadFile(htmlPath); err != nil || !strings.Contains(string(page), `<svg id="diff-chart"`) {
		t.Errorf("HTML report: %v", err)
	}
	calls := len(acme.Requests()) + len(rival.Requests()) + len(referee.Requests())
	if want := expectedCalls(); calls != want {
		t.Errorf("%d upstream calls, want %d", calls, want)
	}

	// A new run of the same suite costs nothing: every answer is cached.
	// Only the scripted failure is tried again (failures are not cached).
	// Without prices, costs are unknown, shown as "—".
	evalPrice = nil
	json2 := filepath.Join(dir, "report2.json")
	out, err = runCLI(t, "eval", "run", suitePath, "-c", cfg, "--json", json2, "--no-progress")
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if again := len(acme.Requests()) + len(rival.Requests()) + len(referee.Requests()); again != calls+1 {
		t.Errorf("the rerun made %d upstream calls, want 1", again-calls)
	}
	rep2 := readReport(t, json2)
	checkExampleReport(t, rep2, false)
	if rep2.RunID == rep.RunID {
		t.Error("the rerun reused the run id")
	}

	// list, show and compare read the stored runs.
	if out, err = runCLI(t, "eval", "list", "-c", cfg); err != nil || !strings.Contains(out, rep.RunID) || !strings.Contains(out, rep2.RunID) {
		t.Errorf("eval list: %v\n%s", err, out)
	}
	if out, err = runCLI(t, "eval", "show", rep.RunID, "-c", cfg, "--cases"); err != nil || !strings.Contains(out, "SPLIT (billing)") {
		t.Errorf("eval show: %v\n%s", err, out)
	}
	for _, want := range []string{"a03   support-cheap", "error", "scripted failure", "b02   acme/gpt-incumbent  fail", "got 25, want 20 ± 0.5", "helpful: scripted"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval show --cases lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "eval", "compare", rep.RunID, rep2.RunID, "-c", cfg)
	if err != nil || strings.Count(out, "+0.000 [+0.000, +0.000]") != 3 {
		t.Errorf("eval compare: identical runs should differ by +0.000 for each of the 3 models: %v\n%s", err, out)
	}

	// Gates: resuming the first run redoes only its failed case (one
	// call each time), and applies them.
	_, err = runCLI(t, "eval", "run", "--resume", rep.RunID, "-c", cfg, "--require-replace", "--no-progress")
	var gate *gateError
	if !errors.As(err, &gate) || !strings.Contains(err.Error(), "support-cheap verdict SPLIT") || strings.Contains(err.Error(), "rival-large") {
		t.Errorf("--require-replace: %v", err)
	}
	if _, err = runCLI(t, "eval", "run", "--resume", rep.RunID, "-c", cfg, "--fail-under", "0.6", "--no-progress"); !errors.As(err, &gate) ||
		!strings.Contains(err.Error(), "support-cheap pass rate 0.533 < 0.600") {
		t.Errorf("--fail-under 0.6: %v", err)
	}
	if out, err = runCLI(t, "eval", "run", "--resume", rep.RunID, "-c", cfg, "--fail-under", "0.5", "--no-progress"); err != nil {
		t.Errorf("--fail-under 0.5: %v\n%s", err, out)
	}
	if again := len(acme.Requests()) + len(rival.Requests()) + len(referee.Requests()); again != calls+1+3 {
		t.Errorf("a rerun and three resumes made %d upstream calls, want 4", again-calls)
	}
}

func readReport(t *testing.T, path string) *eval.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r eval.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// checkExampleReport checks the numbers the script makes: pass counts
// follow from exampleWrong, intervals and p-values were computed
// independently (Python: statistics.NormalDist, math.comb, math.erfc).
func checkExampleReport(t *testing.T, r *eval.Report, priced bool) {
	t.Helper()
	if r.Status != "done" || r.Cases != 30 || len(r.Models) != 3 || len(r.Comparisons) != 2 {
		t.Fatalf("report shape: status %s, %d cases, %d models, %d comparisons", r.Status, r.Cases, len(r.Models), len(r.Comparisons))
	}
	models := []struct {
		name           string
		passed, errors int
		lo, hi         float64
		provider, up   string
	}{
		{"acme/gpt-incumbent", 24, 0, 0.626943, 0.904949, "acme", "gpt-incumbent"},
		{"rival/rival-large", 29, 0, 0.833296, 0.994091, "rival", "rival-large"},
		{"support-cheap", 16, 1, 0.361423, 0.697676, "rival", "rival-mini"},
	}
	for i, w := range models {
		m := r.Models[i]
		if m.Model != w.name || m.Cases != 30 || m.Passed != w.passed || m.Errors != w.errors {
			t.Errorf("model %d: %s %d/%d passed, %d errors; want %s %d/30, %d", i, m.Model, m.Passed, m.Cases, m.Errors, w.name, w.passed, w.errors)
		}
		near(t, m.Model+" pass rate", m.PassRate.Estimate, float64(w.passed)/30, 1e-12)
		near(t, m.Model+" lo", m.PassRate.Lo, w.lo, 5e-6)
		near(t, m.Model+" hi", m.PassRate.Hi, w.hi, 5e-6)
		near(t, m.Model+" error rate", m.ErrorRate, float64(w.errors)/30, 1e-12)
		if m.ReasoningShare == nil || *m.ReasoningShare != 0 {
			t.Errorf("%s reasoning share %v, want 0", m.Model, m.ReasoningShare)
		}
		switch {
		case !priced && (m.CostTotalUSD != nil || m.CostPerCaseUSD != nil):
			t.Errorf("%s: a cost without prices", m.Model)
		case priced && m.CostTotalUSD == nil:
			t.Errorf("%s: no cost", m.Model)
		case priced:
			want := expectedCost(w.provider, w.up)
			near(t, m.Model+" cost", *m.CostTotalUSD, want, 1e-15)
			near(t, m.Model+" cost per case", *m.CostPerCaseUSD, want/float64(30-w.errors), 1e-15)
		}
		// Every answer is graded; a challenger's is also compared with
		// the incumbent's, twice. Cached judge calls are billed too: the
		// cost describes the evaluation, not this process's spend.
		answered := float64(30 - w.errors)
		judge := answered * judgeCallCost(fmt.Sprintf(gradeReply, 9))
		if i > 0 {
			judge += answered * 2 * judgeCallCost(fmt.Sprintf(pairwiseReply, "A"))
		}
		switch {
		case !priced && m.JudgeCostUSD != nil:
			t.Errorf("%s: a judge cost without prices", m.Model)
		case priced && m.JudgeCostUSD == nil:
			t.Errorf("%s: no judge cost", m.Model)
		case priced:
			near(t, m.Model+" judge cost", *m.JudgeCostUSD, judge, 1e-15)
		}
		if m.LatencyP50Ms == nil || m.LatencyP95Ms == nil {
			t.Errorf("%s: no latency", m.Model)
		}
	}
	if p := r.Models[0].LatencyP50Ms; p != nil && *p < 150 {
		t.Errorf("incumbent p50 %.1f ms is below the fake's fixed 150 ms", *p)
	}

	large, cheap := r.Comparisons[0], r.Comparisons[1]
	if large.Challenger != "rival/rival-large" || large.Paired != 30 || large.McNemar.B != 1 || large.McNemar.C != 6 {
		t.Errorf("large: %+v", large)
	}
	near(t, "large diff", large.Diff.Estimate, 5.0/30, 1e-12)
	near(t, "large exact p", large.McNemar.ExactP, 0.125, 1e-12)
	near(t, "large chi2", large.McNemar.Chi2, 16.0/7, 1e-12)
	near(t, "large chi2 p", large.McNemar.Chi2P, 0.130570, 1e-6)
	if p := large.Pairwise; p == nil || p.N != 30 || p.Wins != 6 || p.Ties != 23 || p.Losses != 1 {
		t.Errorf("large pairwise: %+v", p)
	} else {
		near(t, "large win rate lo", p.WinRate.Lo, 0.095051, 5e-6)
		near(t, "large win rate hi", p.WinRate.Hi, 0.373057, 5e-6)
	}
	if large.Verdict != eval.Replace || !large.NonInferior || large.Diff.Lo <= -0.05 || large.Diff.Lo > large.Diff.Estimate {
		t.Errorf("large: verdict %s, diff %+v", large.Verdict, large.Diff)
	}
	for _, c := range []eval.Comparison{large, cheap} {
		for _, g := range c.Guardrails {
			if g.Name == "cost ratio" && g.Checked != priced {
				t.Errorf("cost guardrail checked=%v with prices=%v", g.Checked, priced)
			}
			if g.Checked && !g.OK {
				t.Errorf("%s: guardrail %s fails: %v", c.Challenger, g.Name, *g.Value)
			}
		}
	}
	if g := cheap.Guardrails[0]; *g.Value != 1.0/30 {
		t.Errorf("cheap error rate guardrail %+v", g)
	}

	if cheap.Challenger != "support-cheap" || cheap.Paired != 30 || cheap.McNemar.B != 8 || cheap.McNemar.C != 0 {
		t.Errorf("cheap: %+v", cheap)
	}
	near(t, "cheap diff", cheap.Diff.Estimate, -8.0/30, 1e-12)
	near(t, "cheap exact p", cheap.McNemar.ExactP, 0.0078125, 1e-12)
	near(t, "cheap chi2", cheap.McNemar.Chi2, 6.125, 1e-12)
	near(t, "cheap chi2 p", cheap.McNemar.Chi2P, 0.013328, 1e-6)
	if p := cheap.Pairwise; p == nil || p.N != 29 || p.Wins != 0 || p.Ties != 22 || p.Losses != 7 {
		t.Errorf("cheap pairwise: %+v", p)
	}
	if cheap.Verdict != eval.Split || !slices.Equal(cheap.SplitSegments, []string{"billing"}) || cheap.NonInferior {
		t.Errorf("cheap: verdict %s on %v", cheap.Verdict, cheap.SplitSegments)
	}

	var tags []string
	for _, seg := range r.Segments {
		tags = append(tags, seg.Tag)
		if seg.Cases != 10 {
			t.Errorf("segment %s: %d cases", seg.Tag, seg.Cases)
		}
	}
	if !slices.Equal(tags, []string{"account", "billing", "shipping"}) {
		t.Fatalf("segments %v", tags)
	}
	billing := r.Segments[1]
	// On billing the cheap model answers as the incumbent does: every
	// paired difference is 0, so is the whole interval.
	if c := billing.Comparisons[1]; c.Paired != 10 || c.Diff.Estimate != 0 || c.Diff.Lo != 0 || c.Diff.Hi != 0 || c.Verdict != eval.Replace {
		t.Errorf("billing, cheap: %+v", c)
	}
	if m := billing.Models[0]; m.Passed != 8 {
		t.Errorf("billing, incumbent: %d passed, want 8", m.Passed)
	}
	if c := r.Segments[2].Comparisons[1]; c.Verdict == eval.Replace {
		t.Errorf("shipping, cheap: %s", c.Verdict)
	}
}

// Eval costs come from the gateway's price table, overrides included.
func TestEvalPricer(t *testing.T) {
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "oa", Type: "openai"}, {Name: "local", Type: "openai-compatible"}},
		Pricing:   []pricing.Entry{{Provider: "local", Model: "my-model", Input: "1", Output: "2"}},
	}
	price, err := pricer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := llm.Usage{InputTokens: 1_000_000, OutputTokens: 500_000}
	if usd, ok := price("local", "my-model", u); !ok || usd != 2 {
		t.Errorf("override: %v %v, want $2", usd, ok)
	}
	if usd, ok := price("oa", "gpt-4o-mini", u); !ok || usd <= 0 {
		t.Errorf("embedded price for openai gpt-4o-mini: %v %v", usd, ok)
	}
	if _, ok := price("local", "unknown-model", u); ok {
		t.Error("an unlisted model got a price")
	}
}
