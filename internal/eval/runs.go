package eval

import (
	"slices"

	"github.com/switchyard-ai/switchyard/internal/eval/stats"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// RunDiff compares one model across two runs (switchyard eval compare):
// the same model before and after a prompt change, say. Cases are paired
// by id.
type RunDiff struct {
	Model  string         `json:"model"`
	A      ModelStats     `json:"a"`
	B      ModelStats     `json:"b"`
	Paired int            `json:"paired"`
	Diff   stats.Interval `json:"diff"` // B − A pass rate on the paired cases
	// McNemar counts cases only A passed (B) and only B passed (C).
	McNemar McNemar `json:"mcnemar"`
}

// CompareRuns compares every model that both runs evaluated, under the
// rule of run b.
func CompareRuns(snapA *Snapshot, resA []store.EvalResult, snapB *Snapshot, resB []store.EvalResult) []RunDiff {
	index := func(rs []store.EvalResult) map[string]map[string]scored {
		m := map[string]map[string]scored{}
		for i := range rs {
			r := &rs[i]
			if m[r.Model] == nil {
				m[r.Model] = map[string]scored{}
			}
			m[r.Model][r.CaseID] = outcome(r)
		}
		return m
	}
	ia, ib := index(resA), index(resB)
	ids := func(s *Snapshot) []string {
		out := make([]string, len(s.Cases))
		for i, c := range s.Cases {
			out[i] = c.ID
		}
		return out
	}
	idsA, idsB := ids(snapA), ids(snapB)
	rule := snapB.Suite.Verdict
	var out []RunDiff
	for _, m := range snapB.Suite.Models() {
		name := m.Name()
		if ia[name] == nil || ib[name] == nil {
			continue
		}
		d := RunDiff{Model: name,
			A: modelStats(rule.Confidence, name, ia[name], idsA),
			B: modelStats(rule.Confidence, name, ib[name], idsB)}
		var x, y []float64
		for _, id := range idsB {
			if !slices.Contains(idsA, id) {
				continue
			}
			a, b := ia[name][id], ib[name][id]
			if !a.ok || !b.ok {
				continue
			}
			x, y = append(x, b2f(a.pass)), append(y, b2f(b.pass))
			switch {
			case a.pass && !b.pass:
				d.McNemar.B++
			case b.pass && !a.pass:
				d.McNemar.C++
			}
		}
		d.Paired = len(x)
		if d.Paired > 0 {
			d.Diff = stats.PairedBootstrap(x, y, rule.Confidence, rule.Bootstrap, rule.Seed)
		}
		d.McNemar.ExactP = stats.McNemarExact(d.McNemar.B, d.McNemar.C)
		d.McNemar.Chi2, d.McNemar.Chi2P = stats.McNemarChi2(d.McNemar.B, d.McNemar.C)
		out = append(out, d)
	}
	return out
}
