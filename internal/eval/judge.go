package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// The judge prompts. The judge sees the conversation, the reference when
// there is one, and the answers; never which model wrote them.
const (
	judgeSystem = `You grade an AI assistant's answer to a conversation against a rubric.
Reply with one JSON object and nothing else: {"score": <integer from 0 to 10>, "reason": "<one sentence>"}.`

	pairwiseSystem = `You compare two AI assistants' answers, A and B, to the same conversation.
Judge only the quality of the answers; their order and length are not merits.
Reply with one JSON object and nothing else: {"winner": "A" | "B" | "tie", "reason": "<one sentence>"}.`
)

func judgePrompt(rubric, question string, ref *string, answer string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Rubric:\n%s\n\nConversation:\n%s\n\n", rubric, question)
	if ref != nil {
		fmt.Fprintf(&b, "Reference answer:\n%s\n\n", *ref)
	}
	fmt.Fprintf(&b, "Answer to grade:\n%s", answer)
	return b.String()
}

func pairwisePrompt(rubric, question string, ref *string, a, b string) string {
	var s strings.Builder
	if rubric != "" {
		fmt.Fprintf(&s, "Criteria:\n%s\n\n", rubric)
	}
	fmt.Fprintf(&s, "Conversation:\n%s\n\n", question)
	if ref != nil {
		fmt.Fprintf(&s, "Reference answer:\n%s\n\n", *ref)
	}
	fmt.Fprintf(&s, "Answer A:\n%s\n\nAnswer B:\n%s", a, b)
	return s.String()
}

// askJudge sends a prompt to the judge model and decodes the JSON object
// of its reply into v.
// bill adds up what the judge calls about one answer cost. One call
// without a price makes the whole bill unknown: a partial sum would
// understate it.
type bill struct {
	usd     float64
	calls   int
	unknown bool
}

func (b *bill) add(usd *float64) {
	b.calls++
	if usd == nil {
		b.unknown = true
	} else {
		b.usd += *usd
	}
}

// total is the bill, or nil when there were no calls or a price is unknown.
func (b *bill) total() *float64 {
	if b.calls == 0 || b.unknown {
		return nil
	}
	return &b.usd
}

func (x *exec) askJudge(ctx context.Context, b *bill, unit, system, prompt string, v any) error {
	msgs := []map[string]any{{"role": "system", "content": system}, {"role": "user", "content": prompt}}
	// The judge gets its own parameters only: the suite's (tools, say)
	// are for the models under test.
	rep, err := x.call(ctx, *x.suite.Judge, nil, unit, msgs)
	if err != nil {
		return fmt.Errorf("judge: %w", err)
	}
	c := x.price(rep.target, rep.usage)
	b.add(c)
	if c != nil && !rep.cached {
		x.prog.spent(*c)
	}
	a, err := parseAnswer(rep.body)
	if err != nil {
		return fmt.Errorf("judge: %w", err)
	}
	obj := a.Text
	i, j := strings.Index(obj, "{"), strings.LastIndex(obj, "}")
	if i < 0 || j < i {
		return fmt.Errorf("judge: no JSON object in %q", clip(a.Text, 80))
	}
	if err := json.Unmarshal([]byte(obj[i:j+1]), v); err != nil {
		return fmt.Errorf("judge: %w in %q", err, clip(a.Text, 80))
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// judge asks the judge model to grade one answer from 0 to 10; the score is
// that grade divided by 10, and passes at the scorer's threshold (default
// 0.7). A judge that fails or answers out of shape gives a skipped score.
func (x *exec) judge(ctx context.Context, b *bill, sp ScorerSpec, c *Case, question string, a *Answer) Score {
	var v struct {
		Score  *float64 `json:"score"`
		Reason string   `json:"reason"`
	}
	if err := x.askJudge(ctx, b, c.ID+"/judge", judgeSystem, judgePrompt(sp.Rubric, question, c.Reference, answerText(a)), &v); err != nil {
		return skip(sp, err.Error())
	}
	if v.Score == nil || math.IsNaN(*v.Score) || *v.Score < 0 || *v.Score > 10 {
		return skip(sp, "judge: score missing or outside 0-10")
	}
	th := sp.Threshold
	if th == 0 {
		th = 0.7
	}
	val := *v.Score / 10
	return Score{Scorer: sp.Label(), Type: sp.Type, Value: val, Pass: val >= th, Reason: v.Reason}
}

// pairwise asks the judge to compare the challenger's answer with the
// incumbent's twice, in both orders, so that a judge's preference for the
// first (or second) position cannot decide: the challenger wins only when
// both orders prefer it, loses only when both prefer the incumbent, and
// ties otherwise. Value is 1 for a win, 0.5 for a tie, 0 for a loss.
func (x *exec) pairwise(ctx context.Context, b *bill, sp ScorerSpec, c *Case, question string, inc, chal *Answer) Score {
	type verdict struct {
		Winner string `json:"winner"`
		Reason string `json:"reason"`
	}
	var ab, ba verdict // ab: A = incumbent; ba: A = challenger
	it, ct := answerText(inc), answerText(chal)
	if err := x.askJudge(ctx, b, c.ID+"/pairwise", pairwiseSystem, pairwisePrompt(sp.Rubric, question, c.Reference, it, ct), &ab); err != nil {
		return skip(sp, err.Error())
	}
	if err := x.askJudge(ctx, b, c.ID+"/pairwise", pairwiseSystem, pairwisePrompt(sp.Rubric, question, c.Reference, ct, it), &ba); err != nil {
		return skip(sp, err.Error())
	}
	first, ok1 := side(ab.Winner, "inc", "chal")
	second, ok2 := side(ba.Winner, "chal", "inc")
	if !ok1 || !ok2 {
		return skip(sp, fmt.Sprintf("judge: winner must be A, B or tie (got %q, %q)", ab.Winner, ba.Winner))
	}
	s := Score{Scorer: sp.Label(), Type: sp.Type, Reason: ab.Reason + " / " + ba.Reason}
	switch {
	case first == "chal" && second == "chal":
		s.Outcome, s.Value, s.Pass = "win", 1, true
	case first == "inc" && second == "inc":
		s.Outcome, s.Value = "loss", 0
	default:
		s.Outcome, s.Value = "tie", 0.5
	}
	return s
}

// side maps the judge's "A", "B" or "tie" to who that is.
func side(w, a, b string) (string, bool) {
	switch strings.ToUpper(strings.TrimSpace(w)) {
	case "A":
		return a, true
	case "B":
		return b, true
	case "TIE":
		return "tie", true
	}
	return "", false
}

// answerText is an answer as a judge reads it: its text, and its tool
// calls if any.
func answerText(a *Answer) string {
	if len(a.ToolCalls) == 0 {
		return a.Text
	}
	b, _ := json.Marshal(a.ToolCalls)
	return strings.TrimSpace(a.Text + "\n[tool calls] " + string(b))
}
