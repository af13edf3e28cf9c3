package eval

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/eval/stats"
	"github.com/switchyard-ai/switchyard/internal/store"
)

func TestDecide(t *testing.T) {
	s := &Suite{}
	s.SetDefaults()
	rule := s.Verdict // margin 0.05, min 20 cases, width ≤ 0.5
	v := 1.0
	ok := []Guardrail{{Name: "error rate", Value: &v, Limit: 2, OK: true, Checked: true}, {Name: "cost ratio"}}
	bad := []Guardrail{{Name: "p95 latency ratio", Value: &v, Limit: 0.5, OK: false, Checked: true}}
	for _, c := range []struct {
		name   string
		paired int
		diff   stats.Interval
		guards []Guardrail
		want   string
		nonInf bool
	}{
		{"just above the margin", 100, stats.Interval{Estimate: 0.02, Lo: -0.0499, Hi: 0.09}, ok, Replace, true},
		{"just below the margin", 100, stats.Interval{Estimate: 0.02, Lo: -0.0501, Hi: 0.09}, ok, Keep, false},
		{"on the margin is not above it", 100, stats.Interval{Estimate: 0, Lo: -0.05, Hi: 0.05}, ok, Keep, false},
		{"a guardrail fails", 100, stats.Interval{Estimate: 0.1, Lo: 0.05, Hi: 0.15}, bad, Keep, true},
		{"an unchecked guardrail does not block", 100, stats.Interval{Estimate: 0, Lo: 0, Hi: 0}, ok[1:], Replace, true},
		{"too few cases", 19, stats.Interval{Estimate: 0.5, Lo: 0.4, Hi: 0.6}, ok, NotEnoughData, false},
		{"too wide", 20, stats.Interval{Estimate: 0.1, Lo: -0.2, Hi: 0.31}, ok, NotEnoughData, false},
	} {
		got, nonInf, reasons := Decide(rule, rule.MinCases, c.paired, c.diff, c.guards)
		if got != c.want || nonInf != c.nonInf {
			t.Errorf("%s: %s (non-inferior %v), want %s (%v)\n%v", c.name, got, nonInf, c.want, c.nonInf, reasons)
		}
	}
}

// results builds stored results for one model from pass/fail outcomes:
// 'p' passes, 'f' fails, 'e' is a failed call.
func results(model, outcomes string) []store.EvalResult {
	var rs []store.EvalResult
	for i, o := range outcomes {
		r := store.EvalResult{RunID: "r", Model: model, CaseID: fmt.Sprintf("c%03d", i), Latency: 10 * time.Millisecond}
		switch o {
		case 'e':
			r.Error = "upstream_5xx"
		default:
			b, _ := json.Marshal([]Score{{Scorer: "exact", Type: "exact", Pass: o == 'p', Value: b2f(o == 'p')}})
			r.Scores = string(b)
		}
		rs = append(rs, r)
	}
	return rs
}

func snapshot(n int, tags func(i int) []string, margin float64) *Snapshot {
	s := &Suite{Incumbent: Model{Model: "inc"}, Challengers: []Model{{Model: "ch"}}}
	s.Verdict.Margin = margin
	s.SetDefaults()
	snap := &Snapshot{Suite: s}
	for i := range n {
		c := Case{ID: fmt.Sprintf("c%03d", i)}
		if tags != nil {
			c.Tags = tags(i)
		}
		snap.Cases = append(snap.Cases, c)
	}
	return snap
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// The same data decides REPLACE under a margin just wider than the
// observed lower bound and KEEP under one just narrower.
func TestAnalyzeAtTheMargin(t *testing.T) {
	// 200 cases: the challenger fails 6 the incumbent passes and passes 2
	// the incumbent fails, a difference of −0.02.
	inc := repeat("p", 180) + repeat("p", 6) + repeat("f", 2) + repeat("f", 12)
	ch := repeat("p", 180) + repeat("f", 6) + repeat("p", 2) + repeat("f", 12)
	rs := append(results("inc", inc), results("ch", ch)...)
	probe := Analyze(store.EvalRun{}, snapshot(200, nil, 0.05), rs).Comparisons[0]
	lo := probe.Diff.Lo
	if probe.Diff.Estimate != -0.02 || lo >= -0.02 || lo < -0.1 {
		t.Fatalf("difference %+v", probe.Diff)
	}
	if probe.McNemar.B != 6 || probe.McNemar.C != 2 {
		t.Errorf("McNemar b/c %d/%d, want 6/2", probe.McNemar.B, probe.McNemar.C)
	}
	above := Analyze(store.EvalRun{}, snapshot(200, nil, -lo+0.001), rs).Comparisons[0]
	below := Analyze(store.EvalRun{}, snapshot(200, nil, -lo-0.001), rs).Comparisons[0]
	if above.Verdict != Replace || below.Verdict != Keep {
		t.Errorf("lower bound %.4f: margin %.4f gives %s, margin %.4f gives %s; want REPLACE then KEEP",
			lo, -lo+0.001, above.Verdict, -lo-0.001, below.Verdict)
	}
}

func TestAnalyzeSplitAndErrors(t *testing.T) {
	// Cases 0-19 are "easy", 20-39 "hard". The challenger matches the
	// incumbent on easy cases and loses 8 hard ones (one as an error).
	tags := func(i int) []string {
		if i < 20 {
			return []string{"easy"}
		}
		return []string{"hard"}
	}
	inc := repeat("p", 20) + repeat("p", 16) + repeat("f", 4)
	ch := repeat("p", 20) + repeat("f", 7) + "e" + repeat("p", 8) + repeat("f", 4)
	rep := Analyze(store.EvalRun{}, snapshot(40, tags, 0.05), append(results("inc", inc), results("ch", ch)...))
	c := rep.Comparisons[0]
	if c.Verdict != Split || !slices.Equal(c.SplitSegments, []string{"easy"}) {
		t.Errorf("verdict %s on %v, want SPLIT on easy\n%v", c.Verdict, c.SplitSegments, c.Reasons)
	}
	m := rep.Models[1]
	if m.Cases != 40 || m.Errors != 1 || m.Passed != 28 {
		t.Errorf("challenger: %d cases, %d errors, %d passed; want 40, 1, 28", m.Cases, m.Errors, m.Passed)
	}
	if m.CostTotalUSD != nil {
		t.Error("a cost without prices")
	}
	// One exact score per answered case: the mean score is the pass share
	// of the 39 answered cases, with its normal interval.
	if ms := m.MeanScore; ms == nil || ms.Estimate != 28.0/39 || ms.Lo >= ms.Estimate || ms.Hi <= ms.Estimate {
		t.Errorf("mean score %+v, want 28/39 inside its interval", ms)
	}
	if g := c.Guardrails[0]; g.Name != "error rate" || !g.Checked || *g.Value != 1.0/40 {
		t.Errorf("error-rate guardrail %+v", g)
	}
	if len(rep.Segments) != 2 || rep.Segments[0].Comparisons[0].Verdict != Replace || rep.Segments[1].Comparisons[0].Verdict == Replace {
		t.Errorf("segments: %+v", rep.Segments)
	}
}

func TestAnalyzeNotEnoughData(t *testing.T) {
	rep := Analyze(store.EvalRun{}, snapshot(10, nil, 0.05), append(results("inc", repeat("p", 10)), results("ch", repeat("p", 10))...))
	if v := rep.Comparisons[0].Verdict; v != NotEnoughData {
		t.Errorf("10 paired cases: %s, want NOT ENOUGH DATA", v)
	}
}
