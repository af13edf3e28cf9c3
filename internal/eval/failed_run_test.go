package eval

import (
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/store"
)

// A run against a vendor that is down cannot decide anything: every call
// failed, so both pass rates are zero and equal, which once read as KEEP.
// It says NOT ENOUGH DATA, shows the real cause of the failures (not the
// circuit breaker's), and is flagged for a non-zero exit.
func TestRunAgainstDeadUpstream(t *testing.T) {
	h := newHarness(t, echo)
	h.up.Close() // connection refused from now on
	s, cases := echoSuite(25)
	run, err := h.runner.Start(t.Context(), s, cases)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := h.st.EvalResults(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Error == "" || strings.Contains(r.Error, "circuit breaker") {
			t.Fatalf("case %s of %s: error %q, want the vendor's failure", r.CaseID, r.Model, r.Error)
		}
	}
	rep := Analyze(run, &Snapshot{Suite: s, Cases: cases}, rs)
	c := rep.Comparisons[0]
	if c.Verdict != NotEnoughData {
		t.Errorf("verdict %s, want %s\n%v", c.Verdict, NotEnoughData, c.Reasons)
	}
	if !strings.Contains(c.Reasons[0], "answered 0 of 25 cases") || !strings.Contains(c.Reasons[0], "connection refused") {
		t.Errorf("reasons %q", c.Reasons)
	}
	for _, m := range rep.Models {
		if m.Errors != 25 || !strings.Contains(m.FirstError, `could not reach provider "p": connection refused`) {
			t.Errorf("%s: %d errors, first %q", m.Model, m.Errors, m.FirstError)
		}
	}
	if got := rep.ErrorRateExceeded(); len(got) != 2 || !strings.Contains(got[0], "p/a failed 25 of 25 calls") {
		t.Errorf("ErrorRateExceeded() = %q, want both models", got)
	}
}

// An incumbent whose calls failed beyond the error guardrail would make
// any challenger look better: no verdict is drawn from that.
func TestAnalyzeIncumbentErrors(t *testing.T) {
	inc := repeat("e", 20) + repeat("p", 80)
	ch := repeat("p", 100)
	rep := Analyze(store.EvalRun{}, snapshot(100, nil, 0.05), append(results("inc", inc), results("ch", ch)...))
	c := rep.Comparisons[0]
	if c.Verdict != NotEnoughData || !strings.Contains(c.Reasons[0], "the incumbent inc failed 0.200 of its calls") {
		t.Errorf("verdict %s, reasons %q; want NOT ENOUGH DATA for the incumbent's errors", c.Verdict, c.Reasons)
	}
	if got := rep.ErrorRateExceeded(); len(got) != 1 || !strings.HasPrefix(got[0], "inc failed 20 of 100 calls") || !strings.Contains(got[0], "first error: upstream_5xx") {
		t.Errorf("ErrorRateExceeded() = %q", got)
	}
	// Within the guardrail, the verdict stands.
	inc = "e" + repeat("p", 99)
	if rep := Analyze(store.EvalRun{}, snapshot(100, nil, 0.05), append(results("inc", inc), results("ch", ch)...)); rep.Comparisons[0].Verdict != Replace || rep.ErrorRateExceeded() != nil {
		t.Errorf("1%% incumbent errors: %s, %q", rep.Comparisons[0].Verdict, rep.ErrorRateExceeded())
	}
}
