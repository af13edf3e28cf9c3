// Package report renders an eval.Report: as a terminal table, as JSON, and
// as one self-contained HTML page (inline CSS and SVG, no script, no
// external assets), so that it can be attached to a pull request or an
// email and opened anywhere.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/switchyard-ai/switchyard/internal/eval"
	"github.com/switchyard-ai/switchyard/internal/eval/stats"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// JSON writes the report as indented JSON.
func JSON(w io.Writer, r *eval.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Text writes the report as tables for a terminal.
func Text(w io.Writer, r *eval.Report) error {
	fmt.Fprintf(w, "Run %s · suite %s · %d cases · %s\n\n", r.RunID, r.Suite, r.Cases, r.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	modelTable(tw, r, r.Models)
	tw.Flush()
	for _, m := range r.Models {
		if m.FirstError != "" {
			fmt.Fprintf(w, "First error of %s: %s\n", m.Model, m.FirstError)
		}
	}
	fmt.Fprintf(w, "Judge cost: %s\n\n", usd(judgeCost(r)))
	scorerTable(tw, r.Models)
	tw.Flush()
	fmt.Fprintln(w)
	compareTable(tw, r.Comparisons)
	tw.Flush()
	fmt.Fprintln(w)
	for _, c := range r.Comparisons {
		v := c.Verdict
		if len(c.SplitSegments) > 0 {
			v += " (" + strings.Join(c.SplitSegments, ", ") + ")"
		}
		fmt.Fprintf(w, "%s: %s\n", c.Challenger, v)
		for _, why := range c.Reasons {
			fmt.Fprintf(w, "  - %s\n", why)
		}
	}
	if len(r.Segments) > 0 {
		fmt.Fprintln(w, "\nBy segment (tag):")
		fmt.Fprintln(tw, "TAG\tCASES\tMODEL\tPASS RATE (CI)\tERRORS\tP50 MS\tP95 MS\tCOST/CASE\tΔ PASS (CI)\tW/T/L\tVERDICT")
		for _, seg := range r.Segments {
			for i, m := range seg.Models {
				diff, wtl, verdict := "(incumbent)", "", ""
				if i > 0 {
					c := seg.Comparisons[i-1]
					diff, wtl, verdict = diffCI(c), pairwise(c.Pairwise), c.Verdict
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", seg.Tag, seg.Cases, m.Model, rateCI(m.PassRate, m.Cases), m.Errors,
					ms(m.LatencyP50Ms), ms(m.LatencyP95Ms), usd(m.CostPerCaseUSD), diff, wtl, verdict)
			}
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nRule: %s\n", r.RuleText)
	return nil
}

func modelTable(tw io.Writer, r *eval.Report, models []eval.ModelStats) {
	fmt.Fprintln(tw, "MODEL\tCASES\tPASS RATE (95% CI)\tMEAN SCORE (95% CI)\tERRORS\tP50 MS\tP95 MS\tCOST/CASE\tCOST TOTAL\tREASONING")
	for i, m := range models {
		name := m.Model
		if i == 0 {
			name += " (incumbent)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d (%s)\t%s\t%s\t%s\t%s\t%s\n", name, m.Cases, rateCI(m.PassRate, m.Cases), meanCI(m.MeanScore),
			m.Errors, pct(m.ErrorRate), ms(m.LatencyP50Ms), ms(m.LatencyP95Ms), usd(m.CostPerCaseUSD), usd(m.CostTotalUSD), share(m.ReasoningShare))
	}
}

// scorerTable shows how each scorer judged each model: passes out of the
// cases it scored (skipped ones excluded), and its mean value.
func scorerTable(tw io.Writer, models []eval.ModelStats) {
	fmt.Fprintln(tw, "SCORER\tMODEL\tPASSED\tMEAN")
	for _, name := range scorerNames(models) {
		for _, m := range models {
			for _, sc := range m.Scorers {
				if sc.Scorer == name {
					fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%.3f\n", name, m.Model, sc.Passed, sc.N, sc.Mean)
				}
			}
		}
	}
}

// scorerNames lists the scorers in the order they first appear.
func scorerNames(models []eval.ModelStats) []string {
	var names []string
	for _, m := range models {
		for _, sc := range m.Scorers {
			if !slices.Contains(names, sc.Scorer) {
				names = append(names, sc.Scorer)
			}
		}
	}
	return names
}

func compareTable(tw io.Writer, cs []eval.Comparison) {
	fmt.Fprintln(tw, "CHALLENGER\tPAIRED\tΔ PASS vs INCUMBENT (95% CI)\tMcNEMAR b/c\tEXACT p\tχ² p\tPAIRWISE W/T/L\tWIN RATE (95% CI)\tVERDICT")
	for _, c := range cs {
		pw, wr := pairwise(c.Pairwise), "—"
		if p := c.Pairwise; p != nil {
			wr = fmt.Sprintf("%.3f [%.3f, %.3f]", p.WinRate.Estimate, p.WinRate.Lo, p.WinRate.Hi)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d/%d\t%.4g\t%.4g\t%s\t%s\t%s\n", c.Challenger, c.Paired, diffCI(c),
			c.McNemar.B, c.McNemar.C, c.McNemar.ExactP, c.McNemar.Chi2P, pw, wr, c.Verdict)
	}
}

// judgeCost is the judge's bill over all models, nil unless every
// model's is known.
func judgeCost(r *eval.Report) *float64 {
	total := 0.0
	for _, m := range r.Models {
		if m.JudgeCostUSD == nil {
			return nil
		}
		total += *m.JudgeCostUSD
	}
	return &total
}

func pairwise(p *eval.Pairwise) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%d/%d/%d", p.Wins, p.Ties, p.Losses)
}

func rateCI(iv stats.Interval, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Estimate, iv.Lo, iv.Hi)
}

func diffCI(c eval.Comparison) string {
	if c.Paired == 0 {
		return "—"
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f]", c.Diff.Estimate, c.Diff.Lo, c.Diff.Hi)
}

func meanCI(iv *stats.Interval) string {
	if iv == nil {
		return "—"
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Estimate, iv.Lo, iv.Hi)
}

func ms(f *float64) string {
	if f == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f", *f)
}

// usd shows an unknown cost as "—": a cost is never guessed.
func usd(f *float64) string {
	if f == nil {
		return "—"
	}
	return fmt.Sprintf("$%.6f", *f)
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

func share(f *float64) string {
	if f == nil {
		return "—"
	}
	return pct(*f)
}

// RunDiffs writes the comparison of two runs as a table.
func RunDiffs(w io.Writer, a, b string, ds []eval.RunDiff) error {
	fmt.Fprintf(w, "A = %s, B = %s\n\n", a, b)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tPASS RATE A (95% CI)\tPASS RATE B (95% CI)\tPAIRED\tΔ B − A (95% CI)\tMcNEMAR b/c\tEXACT p\tP95 MS A\tP95 MS B\tCOST/CASE A\tCOST/CASE B")
	for _, d := range ds {
		diff := "—"
		if d.Paired > 0 {
			diff = fmt.Sprintf("%+.3f [%+.3f, %+.3f]", d.Diff.Estimate, d.Diff.Lo, d.Diff.Hi)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d/%d\t%.4g\t%s\t%s\t%s\t%s\n", d.Model, rateCI(d.A.PassRate, d.A.Cases), rateCI(d.B.PassRate, d.B.Cases),
			d.Paired, diff, d.McNemar.B, d.McNemar.C, d.McNemar.ExactP, ms(d.A.LatencyP95Ms), ms(d.B.LatencyP95Ms), usd(d.A.CostPerCaseUSD), usd(d.B.CostPerCaseUSD))
	}
	if len(ds) == 0 {
		fmt.Fprintln(tw, "(no model in common)")
	}
	return tw.Flush()
}

// Cases writes one line per stored result: whether it passed, the scorers
// that failed and why, and the start of the answer.
func Cases(w io.Writer, results []store.EvalResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tMODEL\tRESULT\tMS\tCACHED\tFAILED SCORERS / ERROR\tANSWER")
	for i := range results {
		r := &results[i]
		pass, counted := eval.Passed(r)
		result := map[bool]string{true: "pass", false: "fail"}[pass]
		why := r.Error
		switch {
		case r.Error != "":
			result = "error"
		case !counted:
			result = "unscored"
		}
		if r.Error == "" {
			var scores []eval.Score
			json.Unmarshal([]byte(r.Scores), &scores)
			// Failures first: they are what the reader is looking for.
			var failed, other []string
			for _, sc := range scores {
				switch {
				case sc.Type == "pairwise" && !sc.Skipped:
					other = append(other, "pairwise: "+sc.Outcome)
				case sc.Skipped:
					other = append(other, sc.Scorer+" skipped: "+sc.Reason)
				case !sc.Pass:
					failed = append(failed, strings.TrimSuffix(sc.Scorer+": "+sc.Reason, ": "))
				}
			}
			why = strings.Join(append(failed, other...), "; ")
		}
		answer := r.Output
		if answer == "" && r.ToolCalls != "" {
			answer = r.ToolCalls
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%v\t%s\t%s\n", r.CaseID, r.Model, result, float64(r.Latency.Microseconds())/1000,
			r.Cached, oneLine(why, 80), oneLine(answer, 60))
	}
	return tw.Flush()
}

// oneLine makes s fit a table cell: one line, at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
