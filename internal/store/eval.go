package store

import (
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// EvalRun is one offline evaluation run (switchyard eval run).
type EvalRun struct {
	ID    string `json:"id"`
	Suite string `json:"suite"` // the suite's name
	// Config is the resolved suite as JSON: what is needed to resume the
	// run and to analyse its results again.
	Config     string     `json:"-"`
	Status     string     `json:"status"` // "running", "done", "interrupted", "failed"
	Cases      int        `json:"cases"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// EvalResult is one model's answer to one case of a run, with its scores.
// A run holds at most one result per (model, case); storing another
// replaces it.
type EvalResult struct {
	RunID  string `json:"run_id"`
	Model  string `json:"model"` // as the suite names it: provider/model or an alias
	CaseID string `json:"case_id"`
	Output string `json:"output"`
	// ToolCalls is the answer's tool calls as a JSON array (OpenAI shape),
	// or empty.
	ToolCalls string        `json:"tool_calls,omitempty"`
	Usage     llm.Usage     `json:"usage"`
	Latency   time.Duration `json:"-"`
	// CostUSD is nil when no price is known: cost is never guessed.
	CostUSD *float64 `json:"cost_usd"`
	// JudgeCostUSD is what the judge calls about this answer cost (its
	// grades, and for a challenger the pairwise comparisons); nil when
	// there were none or a price is unknown.
	JudgeCostUSD *float64 `json:"judge_cost_usd"`
	Error        string   `json:"error,omitempty"`
	// Scores is a JSON array of the scorers' verdicts.
	Scores string `json:"scores"`
	// Cached reports that the answer came from the response cache.
	Cached    bool      `json:"cached"`
	CreatedAt time.Time `json:"created_at"`
}

// CachedResponse is a model's answer to an exact request, kept so that a
// rerun, a resumed run or a new scorer does not pay for it again.
type CachedResponse struct {
	// Key is the hex SHA-256 of the canonical request JSON and the target.
	Key    string
	Target string
	// Body is the response as the provider returned it.
	Body []byte
	// Usage and Latency are those of the original call.
	Usage     llm.Usage
	Latency   time.Duration
	CreatedAt time.Time
}
