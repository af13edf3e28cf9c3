package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

func (s *DB) text(v string) string {
	if s.d.CleanText != nil {
		return s.d.CleanText(v)
	}
	return v
}

// CreateEvalRun implements store.Store.
func (s *DB) CreateEvalRun(ctx context.Context, r store.EvalRun) error {
	if r.ID == "" {
		return fmt.Errorf("%s: create eval run: empty id", s.d.Name)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	var finished any
	if r.FinishedAt != nil {
		finished = s.time(*r.FinishedAt)
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO eval_runs (id, suite, config, status, cases, created_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, s.text(r.Suite), s.text(r.Config), r.Status, r.Cases, s.time(r.CreatedAt), finished)
	if _, ok := s.d.UniqueViolation(err); ok {
		return fmt.Errorf("%w: an eval run with id %q already exists", store.ErrDuplicate, r.ID)
	}
	return s.wrap("create eval run", err)
}

// SetEvalRunStatus implements store.Store.
func (s *DB) SetEvalRunStatus(ctx context.Context, id, status string, at time.Time) error {
	var finished any
	if status != "running" {
		finished = s.time(at)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE eval_runs SET status = $1, finished_at = $2 WHERE id = $3`, status, finished, id)
	if err != nil {
		return s.wrap("set eval run status", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap("set eval run status", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

const evalRunColumns = `id, suite, config, status, cases, created_at, finished_at`

func scanEvalRun(r rowScanner) (store.EvalRun, error) {
	var (
		run      store.EvalRun
		cases    int64
		created  timeCol
		finished nullTimeCol
	)
	if err := r.Scan(&run.ID, &run.Suite, &run.Config, &run.Status, &cases, &created, &finished); err != nil {
		return store.EvalRun{}, err
	}
	run.Cases = int(cases)
	run.CreatedAt = created.t
	run.FinishedAt = finished.t
	return run, nil
}

// EvalRun implements store.Store.
func (s *DB) EvalRun(ctx context.Context, id string) (store.EvalRun, error) {
	r, err := scanEvalRun(s.db.QueryRowContext(ctx, `SELECT `+evalRunColumns+` FROM eval_runs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.EvalRun{}, store.ErrNotFound
	}
	return r, s.wrap("eval run", err)
}

// EvalRuns implements store.Store.
func (s *DB) EvalRuns(ctx context.Context, limit int) ([]store.EvalRun, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+evalRunColumns+` FROM eval_runs ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, s.wrap("eval runs", err)
	}
	defer rows.Close()
	var out []store.EvalRun
	for rows.Next() {
		r, err := scanEvalRun(rows)
		if err != nil {
			return nil, s.wrap("eval runs", err)
		}
		out = append(out, r)
	}
	return out, s.wrap("eval runs", rows.Err())
}

const evalResultColumns = `run_id, model, case_id, output, tool_calls, input_tokens, cached_input_tokens,
	cache_write_tokens, output_tokens, reasoning_tokens, latency_us, cost_usd, judge_cost_usd, error, scores, cached, created_at`

// PutEvalResults implements store.Store.
func (s *DB) PutEvalResults(ctx context.Context, rs []store.EvalResult) error {
	if len(rs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("put eval results", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO eval_results (`+evalResultColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (run_id, model, case_id) DO UPDATE SET
			output = excluded.output, tool_calls = excluded.tool_calls,
			input_tokens = excluded.input_tokens, cached_input_tokens = excluded.cached_input_tokens,
			cache_write_tokens = excluded.cache_write_tokens, output_tokens = excluded.output_tokens,
			reasoning_tokens = excluded.reasoning_tokens, latency_us = excluded.latency_us,
			cost_usd = excluded.cost_usd, judge_cost_usd = excluded.judge_cost_usd, error = excluded.error, scores = excluded.scores,
			cached = excluded.cached, created_at = excluded.created_at`)
	if err != nil {
		return s.wrap("put eval results", err)
	}
	defer stmt.Close()
	now := time.Now()
	for _, r := range rs {
		if r.RunID == "" || r.Model == "" || r.CaseID == "" {
			return fmt.Errorf("%s: put eval results: run id, model and case id are required", s.d.Name)
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		scores := r.Scores
		if scores == "" {
			scores = "[]"
		}
		var cost, judgeCost any
		if r.CostUSD != nil {
			cost = *r.CostUSD
		}
		if r.JudgeCostUSD != nil {
			judgeCost = *r.JudgeCostUSD
		}
		if _, err := stmt.ExecContext(ctx, r.RunID, s.text(r.Model), s.text(r.CaseID), s.text(r.Output), s.text(r.ToolCalls),
			r.Usage.InputTokens, r.Usage.CachedInputTokens, r.Usage.CacheWriteTokens, r.Usage.OutputTokens, r.Usage.ReasoningTokens,
			r.Latency.Microseconds(), cost, judgeCost, s.text(r.Error), s.text(scores), r.Cached, s.time(r.CreatedAt)); err != nil {
			return s.wrap("put eval results", err)
		}
	}
	return s.wrap("put eval results", tx.Commit())
}

// EvalResults implements store.Store.
func (s *DB) EvalResults(ctx context.Context, runID string) ([]store.EvalResult, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+evalResultColumns+` FROM eval_results WHERE run_id = $1 ORDER BY case_id, model`, runID)
	if err != nil {
		return nil, s.wrap("eval results", err)
	}
	defer rows.Close()
	var out []store.EvalResult
	for rows.Next() {
		var (
			r       store.EvalResult
			latency int64
			cost    sql.NullFloat64
			judge   sql.NullFloat64
			created timeCol
		)
		if err := rows.Scan(&r.RunID, &r.Model, &r.CaseID, &r.Output, &r.ToolCalls,
			&r.Usage.InputTokens, &r.Usage.CachedInputTokens, &r.Usage.CacheWriteTokens, &r.Usage.OutputTokens, &r.Usage.ReasoningTokens,
			&latency, &cost, &judge, &r.Error, &r.Scores, &r.Cached, &created); err != nil {
			return nil, s.wrap("eval results", err)
		}
		r.Latency = time.Duration(latency) * time.Microsecond
		if cost.Valid {
			r.CostUSD = &cost.Float64
		}
		if judge.Valid {
			r.JudgeCostUSD = &judge.Float64
		}
		r.CreatedAt = created.t
		out = append(out, r)
	}
	return out, s.wrap("eval results", rows.Err())
}

// CachedResponse implements store.Store.
func (s *DB) CachedResponse(ctx context.Context, key string) (store.CachedResponse, error) {
	var (
		c       store.CachedResponse
		body    string
		usage   string
		latency int64
		created timeCol
	)
	err := s.db.QueryRowContext(ctx, `SELECT key, target, body, usage, latency_us, created_at FROM eval_cache WHERE key = $1`, key).
		Scan(&c.Key, &c.Target, &body, &usage, &latency, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.CachedResponse{}, store.ErrNotFound
	}
	if err != nil {
		return store.CachedResponse{}, s.wrap("cached response", err)
	}
	if err := json.Unmarshal([]byte(usage), &c.Usage); err != nil {
		return store.CachedResponse{}, s.wrap("cached response", fmt.Errorf("usage: %w", err))
	}
	c.Body = []byte(body)
	c.Latency = time.Duration(latency) * time.Microsecond
	c.CreatedAt = created.t
	return c, nil
}

// PutCachedResponse implements store.Store.
func (s *DB) PutCachedResponse(ctx context.Context, c store.CachedResponse) error {
	if c.Key == "" {
		return fmt.Errorf("%s: put cached response: empty key", s.d.Name)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	usage, err := json.Marshal(c.Usage)
	if err != nil {
		return s.wrap("put cached response", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO eval_cache (key, target, body, usage, latency_us, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO UPDATE SET target = excluded.target, body = excluded.body, usage = excluded.usage,
			latency_us = excluded.latency_us, created_at = excluded.created_at`,
		c.Key, s.text(c.Target), s.text(string(c.Body)), string(usage), c.Latency.Microseconds(), s.time(c.CreatedAt))
	return s.wrap("put cached response", err)
}
