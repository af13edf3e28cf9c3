package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/eval/stats"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// Verdicts.
const (
	Replace       = "REPLACE"
	Split         = "SPLIT"
	Keep          = "KEEP"
	NotEnoughData = "NOT ENOUGH DATA"
)

// Report is the analysis of a run: per model, per segment (tag), and a
// verdict per challenger with the numbers that decided it.
type Report struct {
	RunID       string       `json:"run_id"`
	Suite       string       `json:"suite"`
	Status      string       `json:"status"`
	CreatedAt   time.Time    `json:"created_at"`
	Cases       int          `json:"cases"`
	Incumbent   string       `json:"incumbent"`
	Rule        VerdictRule  `json:"rule"`
	RuleText    string       `json:"rule_text"`
	Models      []ModelStats `json:"models"`
	Comparisons []Comparison `json:"comparisons"`
	Segments    []Segment    `json:"segments"`
}

// ModelStats summarises one model's results over a set of cases.
type ModelStats struct {
	Model string `json:"model"`
	// Cases is the cases the model was scored on (answered with at least
	// one pointwise score, or failed); Errors the failed calls among them.
	Cases     int     `json:"cases"`
	Errors    int     `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// FirstError is the error of the first failed case, in dataset
	// order: the cause to look at when a run is mostly errors.
	FirstError string `json:"first_error,omitempty"`
	Passed     int    `json:"passed"`
	// PassRate is Passed/Cases with its Wilson interval. A failed call
	// counts as a failed case: that is what a user of the model sees.
	PassRate stats.Interval `json:"pass_rate"`
	// MeanScore is the mean over answered cases of each case's mean
	// pointwise score value (judge grades included), with its normal
	// interval; nil when no case has a score.
	MeanScore *stats.Interval `json:"mean_score"`
	Scorers   []ScorerStats   `json:"scorers"`
	// Latency percentiles of the answered calls, in milliseconds.
	LatencyP50Ms *float64 `json:"latency_p50_ms"`
	LatencyP95Ms *float64 `json:"latency_p95_ms"`
	// Costs are nil unless every answered case has a price.
	CostTotalUSD   *float64 `json:"cost_total_usd"`
	CostPerCaseUSD *float64 `json:"cost_per_case_usd"`
	// JudgeCostUSD is what judging this model's answers cost, nil unless
	// every answered case has a priced judge bill.
	JudgeCostUSD *float64 `json:"judge_cost_usd"`
	// ReasoningShare is reasoning tokens / output tokens.
	ReasoningShare  *float64 `json:"reasoning_share"`
	InputTokens     int64    `json:"input_tokens"`
	OutputTokens    int64    `json:"output_tokens"`
	ReasoningTokens int64    `json:"reasoning_tokens"`
}

// ScorerStats is one scorer's tally for one model.
type ScorerStats struct {
	Scorer string  `json:"scorer"`
	N      int     `json:"n"` // scores not skipped
	Passed int     `json:"passed"`
	Mean   float64 `json:"mean"`
}

// Comparison is a challenger against the incumbent on paired cases.
type Comparison struct {
	Challenger string `json:"challenger"`
	// Paired is the cases both models were scored on.
	Paired int `json:"paired"`
	// Diff is challenger − incumbent pass rate on the paired cases, with
	// its paired-bootstrap interval.
	Diff       stats.Interval `json:"diff"`
	DiffMethod string         `json:"diff_method"`
	McNemar    McNemar        `json:"mcnemar"`
	Pairwise   *Pairwise      `json:"pairwise,omitempty"`
	Guardrails []Guardrail    `json:"guardrails"`
	// NonInferior: Diff.Lo > −margin.
	NonInferior bool   `json:"non_inferior"`
	Verdict     string `json:"verdict"`
	// SplitSegments names the tags a SPLIT verdict would move.
	SplitSegments []string `json:"split_segments,omitempty"`
	// Reasons are the numbers that decided the verdict, in words.
	Reasons []string `json:"reasons"`
}

// McNemar is the test of paired pass/fail outcomes: B cases only the
// incumbent passed, C cases only the challenger passed.
type McNemar struct {
	B      int     `json:"b"`
	C      int     `json:"c"`
	ExactP float64 `json:"exact_p"`
	Chi2   float64 `json:"chi2"`
	Chi2P  float64 `json:"chi2_p"`
}

// Pairwise is the blind both-orders judge tally for the challenger.
type Pairwise struct {
	N        int            `json:"n"`
	Wins     int            `json:"wins"`
	Ties     int            `json:"ties"`
	Losses   int            `json:"losses"`
	WinRate  stats.Interval `json:"win_rate"`  // Wilson
	LossRate stats.Interval `json:"loss_rate"` // Wilson
}

// Guardrail is one check a replacing challenger must pass.
type Guardrail struct {
	Name    string   `json:"name"`
	Value   *float64 `json:"value"` // nil: unchecked, for want of data
	Limit   float64  `json:"limit"`
	OK      bool     `json:"ok"`
	Checked bool     `json:"checked"`
}

// Segment is the analysis restricted to the cases with one tag.
type Segment struct {
	Tag         string       `json:"tag"`
	Cases       int          `json:"cases"`
	Models      []ModelStats `json:"models"`
	Comparisons []Comparison `json:"comparisons"`
}

// scored is one model's outcome on one case.
type scored struct {
	res    *store.EvalResult
	scores []Score
	pass   bool
	ok     bool // counted: failed, or answered with a pointwise score
}

// Passed reports whether a stored result passed, and whether it counts at
// all: a failed call counts (as a failure), an answer counts when at least
// one pointwise scorer was not skipped.
func Passed(r *store.EvalResult) (pass, counted bool) {
	o := outcome(r)
	return o.pass, o.ok
}

func outcome(r *store.EvalResult) scored {
	s := scored{res: r}
	if r.Error != "" {
		s.ok = true
		return s
	}
	json.Unmarshal([]byte(r.Scores), &s.scores)
	s.pass = true
	for _, sc := range s.scores {
		if sc.Skipped || sc.Type == "pairwise" {
			continue
		}
		s.ok = true
		s.pass = s.pass && sc.Pass
	}
	s.pass = s.pass && s.ok
	return s
}

// Analyze computes the report of a run from its snapshot and results.
func Analyze(run store.EvalRun, snap *Snapshot, results []store.EvalResult) *Report {
	s := snap.Suite
	rule := s.Verdict
	rep := &Report{RunID: run.ID, Suite: run.Suite, Status: run.Status, CreatedAt: run.CreatedAt,
		Cases: len(snap.Cases), Incumbent: s.Incumbent.Name(), Rule: rule, RuleText: RuleText(rule)}
	byModel := map[string]map[string]scored{} // model → case → outcome
	for i := range results {
		r := &results[i]
		if byModel[r.Model] == nil {
			byModel[r.Model] = map[string]scored{}
		}
		byModel[r.Model][r.CaseID] = outcome(r)
	}
	all := make([]string, len(snap.Cases))
	tags := map[string][]string{}
	for i, c := range snap.Cases {
		all[i] = c.ID
		for _, t := range c.Tags {
			if !slices.Contains(tags[t], c.ID) {
				tags[t] = append(tags[t], c.ID)
			}
		}
	}
	rep.Models, rep.Comparisons = analyzeSet(s, byModel, all, rule.MinCases)
	for _, t := range sortedKeys(tags) {
		seg := Segment{Tag: t, Cases: len(tags[t])}
		seg.Models, seg.Comparisons = analyzeSet(s, byModel, tags[t], rule.MinSegmentCases)
		rep.Segments = append(rep.Segments, seg)
	}
	// SPLIT: a challenger that cannot replace overall, but would within
	// some segments.
	for i := range rep.Comparisons {
		c := &rep.Comparisons[i]
		if c.Verdict != Keep {
			continue
		}
		for _, seg := range rep.Segments {
			if sc := seg.Comparisons[i]; sc.Verdict == Replace {
				c.SplitSegments = append(c.SplitSegments, seg.Tag)
			}
		}
		if len(c.SplitSegments) > 0 {
			c.Verdict = Split
			c.Reasons = append(c.Reasons, fmt.Sprintf("SPLIT: within %s the challenger meets the rule on its own (at least %d paired cases each)",
				strings.Join(c.SplitSegments, ", "), rule.MinSegmentCases))
		}
	}
	return rep
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// analyzeSet summarises every model over the cases ids, and compares each
// challenger with the incumbent, needing minCases paired cases.
func analyzeSet(s *Suite, byModel map[string]map[string]scored, ids []string, minCases int) ([]ModelStats, []Comparison) {
	models := s.Models()
	ms := make([]ModelStats, len(models))
	for i, m := range models {
		ms[i] = modelStats(s.Verdict.Confidence, m.Name(), byModel[m.Name()], ids)
	}
	var cs []Comparison
	inc := byModel[models[0].Name()]
	for i, m := range models[1:] {
		cs = append(cs, compare(s.Verdict, minCases, inc, byModel[m.Name()], ids, ms[0], ms[i+1]))
	}
	return ms, cs
}

func modelStats(level float64, name string, res map[string]scored, ids []string) ModelStats {
	st := ModelStats{Model: name}
	var lat, values []float64 // values: one mean per scored case
	cost, priced := 0.0, 0
	judgeCost, judged := 0.0, 0
	type tally struct {
		n, passed int
		sum       float64
	}
	tallies := map[string]*tally{}
	var order []string
	for _, id := range ids {
		o, ok := res[id]
		if !ok || !o.ok {
			continue
		}
		st.Cases++
		if o.res.Error != "" {
			if st.Errors == 0 {
				st.FirstError = o.res.Error
			}
			st.Errors++
			continue
		}
		if o.pass {
			st.Passed++
		}
		lat = append(lat, float64(o.res.Latency)/float64(time.Millisecond))
		if o.res.CostUSD != nil {
			cost += *o.res.CostUSD
			priced++
		}
		if o.res.JudgeCostUSD != nil {
			judgeCost += *o.res.JudgeCostUSD
			judged++
		}
		st.InputTokens += o.res.Usage.InputTokens
		st.OutputTokens += o.res.Usage.OutputTokens
		st.ReasoningTokens += o.res.Usage.ReasoningTokens
		sum, n := 0.0, 0
		for _, sc := range o.scores {
			if sc.Skipped || sc.Type == "pairwise" {
				continue
			}
			sum, n = sum+sc.Value, n+1
			t := tallies[sc.Scorer]
			if t == nil {
				t = &tally{}
				tallies[sc.Scorer] = t
				order = append(order, sc.Scorer)
			}
			t.n++
			t.sum += sc.Value
			if sc.Pass {
				t.passed++
			}
		}
		if n > 0 {
			values = append(values, sum/float64(n))
		}
	}
	if st.Cases > 0 {
		st.ErrorRate = float64(st.Errors) / float64(st.Cases)
		lo, hi := stats.Wilson(st.Passed, st.Cases, level)
		st.PassRate = stats.Interval{Estimate: float64(st.Passed) / float64(st.Cases), Lo: lo, Hi: hi}
	}
	if len(values) > 0 {
		iv := stats.MeanNormal(values, level)
		st.MeanScore = &iv
	}
	if len(lat) > 0 {
		st.LatencyP50Ms = ptr(stats.Quantile(lat, 0.5))
		st.LatencyP95Ms = ptr(stats.Quantile(lat, 0.95))
	}
	if answered := st.Cases - st.Errors; answered > 0 && priced == answered {
		st.CostTotalUSD = ptr(cost)
		st.CostPerCaseUSD = ptr(cost / float64(answered))
	}
	if answered := st.Cases - st.Errors; answered > 0 && judged == answered {
		st.JudgeCostUSD = ptr(judgeCost)
	}
	if st.OutputTokens > 0 {
		st.ReasoningShare = ptr(float64(st.ReasoningTokens) / float64(st.OutputTokens))
	}
	for _, name := range order {
		t := tallies[name]
		st.Scorers = append(st.Scorers, ScorerStats{Scorer: name, N: t.n, Passed: t.passed, Mean: t.sum / float64(t.n)})
	}
	return st
}

func ptr(f float64) *float64 { return &f }

func compare(rule VerdictRule, minCases int, inc, ch map[string]scored, ids []string, incStats, chStats ModelStats) Comparison {
	c := Comparison{Challenger: chStats.Model,
		DiffMethod: fmt.Sprintf("paired bootstrap, %d resamples, seed %d", rule.Bootstrap, rule.Seed)}
	var x, y []float64
	pw := &Pairwise{}
	for _, id := range ids {
		a, b := inc[id], ch[id]
		if a.ok && b.ok {
			x, y = append(x, b2f(a.pass)), append(y, b2f(b.pass))
			switch {
			case a.pass && !b.pass:
				c.McNemar.B++
			case b.pass && !a.pass:
				c.McNemar.C++
			}
		}
		if b.res == nil {
			continue
		}
		for _, sc := range b.scores {
			if sc.Type != "pairwise" || sc.Skipped {
				continue
			}
			pw.N++
			switch sc.Outcome {
			case "win":
				pw.Wins++
			case "loss":
				pw.Losses++
			default:
				pw.Ties++
			}
		}
	}
	c.Paired = len(x)
	if c.Paired > 0 {
		c.Diff = stats.PairedBootstrap(x, y, rule.Confidence, rule.Bootstrap, rule.Seed)
	}
	c.McNemar.ExactP = stats.McNemarExact(c.McNemar.B, c.McNemar.C)
	c.McNemar.Chi2, c.McNemar.Chi2P = stats.McNemarChi2(c.McNemar.B, c.McNemar.C)
	if pw.N > 0 {
		lo, hi := stats.Wilson(pw.Wins, pw.N, rule.Confidence)
		pw.WinRate = stats.Interval{Estimate: float64(pw.Wins) / float64(pw.N), Lo: lo, Hi: hi}
		lo, hi = stats.Wilson(pw.Losses, pw.N, rule.Confidence)
		pw.LossRate = stats.Interval{Estimate: float64(pw.Losses) / float64(pw.N), Lo: lo, Hi: hi}
		c.Pairwise = pw
	}
	c.Guardrails = guardrails(rule.Guardrails, incStats, chStats)
	c.Verdict, c.NonInferior, c.Reasons = Decide(rule, minCases, c.Paired, c.Diff, c.Guardrails)
	if why := unmeasured(rule, minCases, incStats, chStats); why != nil {
		c.Verdict, c.NonInferior, c.Reasons = NotEnoughData, false, why
	}
	return c
}

// unmeasured says why a comparison measured failed calls rather than the
// models, or nil when it did not: a model answered fewer than minCases
// cases (every call failing gives two equal pass rates of zero, which
// must not read as a verdict), or the incumbent failed more calls than
// the error guardrail allows (its failures would flatter any challenger).
func unmeasured(rule VerdictRule, minCases int, inc, ch ModelStats) []string {
	var why []string
	for _, m := range []ModelStats{inc, ch} {
		if answered := m.Cases - m.Errors; answered < minCases {
			why = append(why, fmt.Sprintf("%s answered %d of %d cases (minimum %d)%s", m.Model, answered, m.Cases, minCases, firstError(m)))
		}
	}
	if why == nil && inc.Cases > 0 && inc.ErrorRate > rule.Guardrails.MaxErrorRate {
		why = append(why, fmt.Sprintf("the incumbent %s failed %.3f of its calls, more than the error guardrail %.3f: its failures would flatter any challenger%s",
			inc.Model, inc.ErrorRate, rule.Guardrails.MaxErrorRate, firstError(inc)))
	}
	if why != nil {
		why = append(why, "failed calls are retried by resuming the run")
	}
	return why
}

func firstError(m ModelStats) string {
	if m.FirstError == "" {
		return ""
	}
	return "; first error: " + m.FirstError
}

// ErrorRateExceeded lists, in words, the models whose share of failed
// calls is above the error guardrail: a run whose numbers are about its
// failures more than its models, which should not pass as a success.
func (r *Report) ErrorRateExceeded() []string {
	var out []string
	for _, m := range r.Models {
		if m.Cases > 0 && m.ErrorRate > r.Rule.Guardrails.MaxErrorRate {
			out = append(out, fmt.Sprintf("%s failed %d of %d calls (error rate %.3f > %.3f)%s",
				m.Model, m.Errors, m.Cases, m.ErrorRate, r.Rule.Guardrails.MaxErrorRate, firstError(m)))
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func guardrails(g Guardrails, inc, ch ModelStats) []Guardrail {
	check := func(name string, v *float64, limit float64) Guardrail {
		gr := Guardrail{Name: name, Value: v, Limit: limit, OK: true}
		if v != nil {
			gr.Checked = true
			gr.OK = *v <= limit
		}
		return gr
	}
	var errRate *float64
	if ch.Cases > 0 {
		errRate = ptr(ch.ErrorRate)
	}
	var lat, cost *float64
	if inc.LatencyP95Ms != nil && ch.LatencyP95Ms != nil && *inc.LatencyP95Ms > 0 {
		lat = ptr(*ch.LatencyP95Ms / *inc.LatencyP95Ms)
	}
	if inc.CostPerCaseUSD != nil && ch.CostPerCaseUSD != nil && *inc.CostPerCaseUSD > 0 {
		cost = ptr(*ch.CostPerCaseUSD / *inc.CostPerCaseUSD)
	}
	return []Guardrail{
		check("error rate", errRate, g.MaxErrorRate),
		check("p95 latency ratio", lat, g.MaxP95LatencyRatio),
		check("cost ratio", cost, g.MaxCostRatio),
	}
}

// Decide applies the verdict rule (see RuleText) to one comparison's
// numbers: it returns REPLACE, KEEP or NOT ENOUGH DATA (SPLIT is decided
// over the segments by Analyze, and so is NOT ENOUGH DATA for a run of
// mostly failed calls), whether the challenger is non-inferior, and the
// reasons in words.
func Decide(rule VerdictRule, minCases, paired int, diff stats.Interval, guards []Guardrail) (verdict string, nonInferior bool, reasons []string) {
	pct := fmt.Sprintf("%g%%", rule.Confidence*100)
	reasons = append(reasons, fmt.Sprintf("paired cases: %d (minimum %d)", paired, minCases))
	if paired < minCases {
		return NotEnoughData, false, reasons
	}
	reasons = append(reasons, fmt.Sprintf("pass-rate difference (challenger − incumbent): %+.3f, %s interval [%+.3f, %+.3f], width %.3f (maximum %.3f)",
		diff.Estimate, pct, diff.Lo, diff.Hi, diff.Width(), rule.MaxIntervalWidth))
	if diff.Width() > rule.MaxIntervalWidth || math.IsNaN(diff.Lo) {
		return NotEnoughData, false, reasons
	}
	nonInferior = diff.Lo > -rule.Margin
	rel := "≤"
	if nonInferior {
		rel = ">"
	}
	word := map[bool]string{true: "non-inferior", false: "not shown non-inferior"}[nonInferior]
	reasons = append(reasons, fmt.Sprintf("lower bound %+.3f %s %+.3f (−margin): %s", diff.Lo, rel, -rule.Margin, word))
	held := true
	for _, g := range guards {
		switch {
		case !g.Checked:
			reasons = append(reasons, fmt.Sprintf("guardrail %s: unchecked (no data)", g.Name))
		case g.OK:
			reasons = append(reasons, fmt.Sprintf("guardrail %s %.3f ≤ %.3f: holds", g.Name, *g.Value, g.Limit))
		default:
			held = false
			reasons = append(reasons, fmt.Sprintf("guardrail %s %.3f > %.3f: fails", g.Name, *g.Value, g.Limit))
		}
	}
	if nonInferior && held {
		return Replace, true, reasons
	}
	return Keep, nonInferior, reasons
}

// RuleText states the verdict rule with its settings.
func RuleText(r VerdictRule) string {
	g := r.Guardrails
	return fmt.Sprintf("REPLACE when the challenger is non-inferior and every guardrail holds: with at least %d paired cases "+
		"and a %g%% interval of the pass-rate difference (challenger − incumbent; paired bootstrap, %d resamples, seed %d) "+
		"no wider than %.2f, the interval's lower end (a %g%% one-sided bound) is above −%.3f; the challenger's error rate is at most %.3f, "+
		"its p95 latency at most %.2f× and its cost per case at most %.2f× the incumbent's (a guardrail without data, such as cost "+
		"without prices, is unchecked and does not block). SPLIT when that fails over all cases but holds within one or more tags "+
		"with at least %d paired cases each (named). NOT ENOUGH DATA when there are fewer paired cases, the interval is wider, "+
		"either model answered fewer cases than that minimum, or the incumbent's error rate is above the guardrail. "+
		"KEEP otherwise. Failed calls count as failed cases.",
		r.MinCases, r.Confidence*100, r.Bootstrap, r.Seed, r.MaxIntervalWidth, (1-(1-r.Confidence)/2)*100, r.Margin,
		g.MaxErrorRate, g.MaxP95LatencyRatio, g.MaxCostRatio, r.MinSegmentCases)
}
