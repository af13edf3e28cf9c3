package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/eval"
)

// HTML writes the report as one self-contained page: inline CSS and SVG
// charts, no script and nothing fetched.
func HTML(w io.Writer, r *eval.Report) error {
	return page.Execute(w, r)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"rateCI": rateCI, "diffCI": diffCI, "meanCI": meanCI, "ms": ms, "usd": usd, "pct": pct, "share": share,
	"passChart": passChart, "diffChart": diffChart, "pairwiseChart": pairwiseChart,
	"join": strings.Join, "pairwise": pairwise, "judgeCost": judgeCost, "scorerNames": scorerNames,
	"scorerStats": func(m eval.ModelStats, name string) *eval.ScorerStats {
		for i := range m.Scorers {
			if m.Scorers[i].Scorer == name {
				return &m.Scorers[i]
			}
		}
		return nil
	},
	"dec":  func(i int) int { return i - 1 },
	"fmtp": func(p float64) string { return fmt.Sprintf("%.4g", p) },
	"verdictClass": func(v string) string {
		return strings.ToLower(strings.ReplaceAll(v, " ", "-"))
	},
}).Parse(pageTemplate))

const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Eval {{.Suite}} · {{.RunID}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;margin:2rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.meta{color:#57606a}table{border-collapse:collapse;width:100%;margin:.6rem 0}
th,td{border-bottom:1px solid #e5e7eb;padding:.35rem .45rem;text-align:right;white-space:nowrap}th{white-space:normal;vertical-align:bottom}
th:first-child,td:first-child{text-align:left}th{background:#f6f8fa;font-weight:600}
.verdict{font-weight:700;padding:.1rem .45rem;border-radius:4px}
.replace{background:#dafbe1;color:#116329}.keep{background:#ffebe9;color:#a40e26}
.split{background:#fff8c5;color:#7d4e00}.not-enough-data{background:#eaeef2;color:#424a53}
.caption{color:#57606a;font-size:.9rem;margin-top:.2rem}td.l,th.l{text-align:left}.wide{overflow-x:auto}
ul.reasons{margin:.3rem 0 1rem 1rem;color:#32383f}.rule{background:#f6f8fa;padding:.8rem;border-radius:6px}
svg text{font:12px system-ui,sans-serif;fill:#1b1f24}
</style>
</head>
<body>
<h1>Evaluation: {{.Suite}}</h1>
<p class="meta">Run {{.RunID}} · {{.CreatedAt.Format "2006-01-02 15:04 UTC"}} · {{.Cases}} cases · {{.Status}} · incumbent {{.Incumbent}}</p>

<h2>Verdicts</h2>
{{range .Comparisons}}
<p><strong>{{.Challenger}}</strong> <span class="verdict {{verdictClass .Verdict}}">{{.Verdict}}</span>{{if .SplitSegments}} on {{join .SplitSegments ", "}}{{end}}</p>
<ul class="reasons">{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>
{{end}}

<h2>Models</h2>
<div class="wide"><table id="models">
<thead><tr><th>Model</th><th>Cases</th><th>Pass rate (95% CI, Wilson)</th><th>Mean score (95% CI, normal)</th><th>Errors</th><th>p50 ms</th><th>p95 ms</th><th>Cost/case</th><th>Cost total</th><th>Reasoning share</th></tr></thead>
<tbody>{{range $i, $m := .Models}}
<tr><td>{{$m.Model}}{{if eq $i 0}} (incumbent){{end}}</td><td>{{$m.Cases}}</td><td>{{rateCI $m.PassRate $m.Cases}}</td><td>{{meanCI $m.MeanScore}}</td><td>{{$m.Errors}} ({{pct $m.ErrorRate}})</td><td>{{ms $m.LatencyP50Ms}}</td><td>{{ms $m.LatencyP95Ms}}</td><td>{{usd $m.CostPerCaseUSD}}</td><td>{{usd $m.CostTotalUSD}}</td><td>{{share $m.ReasoningShare}}</td></tr>{{end}}
</tbody></table></div>
{{range .Models}}{{if .FirstError}}<p class="meta">First error of {{.Model}}: {{.FirstError}}</p>
{{end}}{{end}}<p>Judge cost: {{usd (judgeCost .)}}</p>
{{passChart .}}
<p class="caption">Pass rate of each model with its 95% Wilson interval.</p>

<h2>Scorers</h2>
<div class="wide"><table id="scorers">
<thead><tr><th>Scorer</th>{{range .Models}}<th>{{.Model}}</th>{{end}}</tr></thead>
<tbody>{{$models := .Models}}{{range scorerNames .Models}}{{$name := .}}
<tr><td>{{$name}}</td>{{range $models}}<td>{{with scorerStats . $name}}{{.Passed}}/{{.N}} · {{printf "%.3f" .Mean}}{{else}}—{{end}}</td>{{end}}</tr>{{end}}
</tbody></table></div>
<p class="caption">Passes out of the cases each scorer scored (skipped scores excluded) · mean value.</p>

<h2>Challengers against the incumbent</h2>
<div class="wide"><table id="comparisons">
<thead><tr><th>Challenger</th><th>Paired</th><th>Δ pass rate (95% CI)</th><th>McNemar b/c</th><th>exact p</th><th>χ² p</th><th>Pairwise W/T/L</th><th>Win rate (95% CI)</th><th>Verdict</th></tr></thead>
<tbody>{{range .Comparisons}}
<tr><td>{{.Challenger}}</td><td>{{.Paired}}</td><td>{{diffCI .}}</td><td>{{.McNemar.B}}/{{.McNemar.C}}</td><td>{{fmtp .McNemar.ExactP}}</td><td>{{fmtp .McNemar.Chi2P}}</td>
<td>{{with .Pairwise}}{{.Wins}}/{{.Ties}}/{{.Losses}}{{else}}—{{end}}</td><td>{{with .Pairwise}}{{rateCI .WinRate .N}}{{else}}—{{end}}</td><td><span class="verdict {{verdictClass .Verdict}}">{{.Verdict}}</span></td></tr>{{end}}
</tbody></table></div>
{{diffChart .}}
<p class="caption">Pass-rate difference, challenger − incumbent, on paired cases, over all cases and per tag, with its 95% paired-bootstrap interval. Solid line: no difference; dashed red line: −margin ({{printf "%.3f" .Rule.Margin}}). Green points are non-inferior (lower end above −margin).</p>
{{with pairwiseChart .}}{{.}}
<p class="caption">Blind pairwise judgements against the incumbent, asked in both orders: wins (green) and losses (red) where both orders agree, ties (grey) otherwise.</p>{{end}}

{{if .Segments}}
<h2>By segment (tag)</h2>
<div class="wide"><table id="segments">
<thead><tr><th>Tag</th><th>Cases</th><th class="l">Model</th><th>Pass rate (95% CI)</th><th>Errors</th><th>p50 ms</th><th>p95 ms</th><th>Cost/case</th><th>Δ pass rate (95% CI)</th><th>Pairwise W/T/L</th><th>Verdict</th></tr></thead>
<tbody>{{range $s := .Segments}}{{range $i, $m := $s.Models}}
<tr><td>{{$s.Tag}}</td><td>{{$s.Cases}}</td><td class="l">{{$m.Model}}</td><td>{{rateCI $m.PassRate $m.Cases}}</td><td>{{$m.Errors}}</td><td>{{ms $m.LatencyP50Ms}}</td><td>{{ms $m.LatencyP95Ms}}</td><td>{{usd $m.CostPerCaseUSD}}</td>
{{if eq $i 0}}<td>(incumbent)</td><td></td><td></td>{{else}}{{with index $s.Comparisons (dec $i)}}<td>{{diffCI .}}</td><td>{{pairwise .Pairwise}}</td><td>{{.Verdict}}</td>{{end}}{{end}}</tr>{{end}}{{end}}
</tbody></table></div>
{{end}}

<h2>Rule</h2>
<p class="rule">{{.RuleText}}</p>
</body>
</html>
`

const (
	chartW   = 760
	labelW   = 230
	rowH     = 26
	plotW    = chartW - labelW - 30
	barColor = "#0969da"
)

// passChart draws each model's pass rate as a bar with its interval.
func passChart(r *eval.Report) template.HTML {
	h := len(r.Models)*rowH + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="pass-chart" role="img" aria-label="Pass rate by model" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, chartW, h, chartW, h)
	axis(&b, 0, 1, len(r.Models)*rowH, func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) })
	for i, m := range r.Models {
		y := 10 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, y+rowH/2+4, html.EscapeString(m.Model))
		if m.Cases == 0 {
			continue
		}
		x := func(v float64) float64 { return labelW + v*plotW }
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s" opacity="0.75"><title>%s: %.3f</title></rect>`,
			labelW, y+5, m.PassRate.Estimate*plotW, rowH-10, barColor, html.EscapeString(m.Model), m.PassRate.Estimate)
		whisker(&b, x(m.PassRate.Lo), x(m.PassRate.Hi), float64(y+rowH/2))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// diffChart is a forest plot of challenger − incumbent pass rate, overall
// and per segment, with zero and the non-inferiority margin marked.
func diffChart(r *eval.Report) template.HTML {
	type row struct {
		label string
		c     eval.Comparison
	}
	var rows []row
	for i, c := range r.Comparisons {
		rows = append(rows, row{c.Challenger + " (all)", c})
		for _, s := range r.Segments {
			rows = append(rows, row{c.Challenger + " · " + s.Tag, s.Comparisons[i]})
		}
	}
	// A symmetric axis, so that zero is in the middle and a gain looks as
	// large as a loss of the same size.
	span := 0.2
	for _, rw := range rows {
		if rw.c.Paired > 0 {
			span = math.Max(span, math.Max(-rw.c.Diff.Lo, rw.c.Diff.Hi))
		}
	}
	span = math.Min(1, math.Ceil(span*10)/10)
	lo, hi := -span, span
	h := len(rows)*rowH + 40
	x := func(v float64) float64 { return labelW + (v-lo)/(hi-lo)*plotW }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="diff-chart" role="img" aria-label="Pass-rate difference against the incumbent" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, chartW, h, chartW, h)
	axis(&b, lo, hi, len(rows)*rowH, func(v float64) string {
		if math.Abs(v) < 1e-9 {
			return "0"
		}
		return fmt.Sprintf("%+.2f", v)
	})
	bottom := 10 + len(rows)*rowH
	fmt.Fprintf(&b, `<line x1="%.1f" y1="10" x2="%.1f" y2="%d" stroke="#57606a"/>`, x(0), x(0), bottom)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="10" x2="%.1f" y2="%d" stroke="#cf222e" stroke-dasharray="4 3"><title>−margin %.3f</title></line>`, x(-r.Rule.Margin), x(-r.Rule.Margin), bottom, r.Rule.Margin)
	for i, rw := range rows {
		y := 10 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, y+rowH/2+4, html.EscapeString(rw.label))
		if rw.c.Paired == 0 {
			continue
		}
		color := "#cf222e"
		if rw.c.NonInferior {
			color = "#1a7f37"
		}
		whisker(&b, x(rw.c.Diff.Lo), x(rw.c.Diff.Hi), float64(y+rowH/2))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%d" r="5" fill="%s"><title>%s: %+.3f [%+.3f, %+.3f], %d paired</title></circle>`,
			x(rw.c.Diff.Estimate), y+rowH/2, color, html.EscapeString(rw.label), rw.c.Diff.Estimate, rw.c.Diff.Lo, rw.c.Diff.Hi, rw.c.Paired)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// pairwiseChart stacks each challenger's pairwise wins, ties and losses.
func pairwiseChart(r *eval.Report) template.HTML {
	n := 0
	for _, c := range r.Comparisons {
		if c.Pairwise != nil {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	h := n*rowH + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="pairwise-chart" role="img" aria-label="Pairwise wins, ties and losses against the incumbent" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, chartW, h, chartW, h)
	axis(&b, 0, 1, n*rowH, func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) })
	i := 0
	for _, c := range r.Comparisons {
		p := c.Pairwise
		if p == nil {
			continue
		}
		y := 10 + i*rowH
		i++
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, y+rowH/2+4, html.EscapeString(c.Challenger))
		x := float64(labelW)
		for _, part := range []struct {
			name  string
			k     int
			color string
		}{{"wins", p.Wins, "#1a7f37"}, {"ties", p.Ties, "#8c959f"}, {"losses", p.Losses, "#cf222e"}} {
			w := float64(part.k) / float64(p.N) * plotW
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %d of %d</title></rect>`, x, y+5, w, rowH-10, part.color, part.name, part.k, p.N)
			x += w
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axis draws the x axis under a chart of height h, with five ticks.
func axis(b *strings.Builder, lo, hi float64, h int, label func(float64) string) {
	y := 10 + h
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#8c959f"/>`, labelW, y, labelW+plotW, y)
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		x := labelW + float64(i)/4*plotW
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#8c959f"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			x, y, x, y+4, x, y+18, label(v))
	}
}

func whisker(b *strings.Builder, x1, x2, y float64) {
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1b1f24" stroke-width="1.5"/>`, x1, y, x2, y)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1b1f24"/>`, x1, y-5, x1, y+5)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1b1f24"/>`, x2, y-5, x2, y+5)
}
