package eval

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/internal/dialect/chat"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// PriceFunc returns what a call with usage u cost on provider's model, in
// US dollars, and whether a price is known. Without one, costs are
// reported as unknown, never guessed.
type PriceFunc func(provider, model string, u llm.Usage) (usd float64, ok bool)

// Snapshot is what a run stores of its suite (store.EvalRun.Config): the
// resolved suite and its cases, so that the run can be resumed and
// analysed again even after the files changed.
type Snapshot struct {
	Suite *Suite `json:"suite"`
	Cases []Case `json:"cases"`
}

// ParseSnapshot decodes a run's stored configuration.
func ParseSnapshot(run store.EvalRun) (*Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal([]byte(run.Config), &s); err != nil {
		return nil, fmt.Errorf("eval run %s: unreadable suite snapshot: %w", run.ID, err)
	}
	if s.Suite == nil {
		return nil, fmt.Errorf("eval run %s: no suite in its snapshot", run.ID)
	}
	s.Suite.SetDefaults()
	return &s, nil
}

// Runner runs suites. Its fields must not change while Start or Resume
// runs.
type Runner struct {
	Router *router.Router
	Store  store.Store
	// Price prices each call; nil means every cost is unknown.
	Price PriceFunc
	// Progress receives the progress display; nil shows none. On a
	// terminal (Terminal set) it is one line redrawn in place, otherwise
	// a plain line at every tenth of the run.
	Progress io.Writer
	Terminal bool
	// Backoff is the first wait before an eval-level retry, doubled at
	// each (default 1s).
	Backoff time.Duration
}

// ErrInterrupted is returned (wrapped) by Start and Resume when the context
// ended
// before every case was done; the run can be resumed.
var ErrInterrupted = errors.New("eval run interrupted")

// Start creates a run of suite s over cases and runs it. Every model must
// resolve and every case render before the run is created.
func (r *Runner) Start(ctx context.Context, s *Suite, cases []Case) (store.EvalRun, error) {
	snap := Snapshot{Suite: s, Cases: cases}
	routes, err := r.resolve(s)
	if err != nil {
		return store.EvalRun{}, err
	}
	for i := range cases {
		if _, err := s.messages(&cases[i]); err != nil {
			return store.EvalRun{}, fmt.Errorf("case %q: %w", cases[i].ID, err)
		}
	}
	cfg, err := json.Marshal(snap)
	if err != nil {
		return store.EvalRun{}, err
	}
	run := store.EvalRun{ID: NewRunID(time.Now()), Suite: s.Name, Config: string(cfg), Status: "running", Cases: len(cases), CreatedAt: time.Now()}
	if err := r.Store.CreateEvalRun(ctx, run); err != nil {
		return run, err
	}
	return r.run(ctx, run, &snap, routes)
}

// Resume continues a stored run: cases that every model answered are
// kept, the others are run again (their answers mostly from the cache).
func (r *Runner) Resume(ctx context.Context, id string) (store.EvalRun, error) {
	run, err := r.Store.EvalRun(ctx, id)
	if err != nil {
		return run, fmt.Errorf("eval run %s: %w", id, err)
	}
	snap, err := ParseSnapshot(run)
	if err != nil {
		return run, err
	}
	routes, err := r.resolve(snap.Suite)
	if err != nil {
		return run, err
	}
	if err := r.Store.SetEvalRunStatus(ctx, id, "running", time.Now()); err != nil {
		return run, err
	}
	return r.run(ctx, run, snap, routes)
}

// NewRunID returns a sortable, unique run id such as
// "ev-20261129-063512-3fa2c1".
func NewRunID(t time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "ev-" + t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// exec is one run in progress.
type exec struct {
	*Runner
	suite  *Suite
	run    store.EvalRun
	routes map[string]*router.Route // by model spec
	mu     sync.Mutex
	sems   map[string]chan struct{} // by provider name
	prog   *progress
}

// resolve finds the route of every model of s, the judge's included.
func (r *Runner) resolve(s *Suite) (map[string]*router.Route, error) {
	routes := map[string]*router.Route{}
	for _, m := range s.called() {
		rt, err := r.Router.Resolve(m.Model)
		if err != nil {
			return nil, fmt.Errorf("model %q: %w", m.Model, err)
		}
		routes[m.Model] = rt
	}
	return routes, nil
}

// called is every model the suite calls: the models under test and the
// judge.
func (s *Suite) called() []Model {
	models := s.Models()
	if s.Judge != nil {
		models = append(models, *s.Judge)
	}
	return models
}

func (r *Runner) run(ctx context.Context, run store.EvalRun, snap *Snapshot, routes map[string]*router.Route) (store.EvalRun, error) {
	s := snap.Suite
	x := &exec{Runner: r, suite: s, run: run, routes: routes, sems: map[string]chan struct{}{}}
	models := s.called()
	done := map[string]int{}
	prior, err := r.Store.EvalResults(ctx, run.ID)
	if err != nil {
		return run, err
	}
	for _, res := range prior {
		if res.Error == "" {
			done[res.CaseID]++
		}
	}
	var todo []*Case
	for i := range snap.Cases {
		if done[snap.Cases[i].ID] < len(s.Models()) {
			todo = append(todo, &snap.Cases[i])
		}
	}
	if r.Progress != nil {
		// The id first: a run killed outright can still be resumed.
		fmt.Fprintf(r.Progress, "eval run %s: %d cases × %d models\n", run.ID, len(snap.Cases), len(s.Models()))
	}
	x.prog = newProgress(r.Progress, r.Terminal, len(snap.Cases), len(snap.Cases)-len(todo))

	jobs := make(chan *Case)
	var wg sync.WaitGroup
	var storeErr error
	var storeOnce sync.Once
	slots := 0 // enough workers to fill every provider's slots
	for _, m := range models {
		slots += max(s.Concurrency, s.ProviderConcurrency[strings.SplitN(m.Model, "/", 2)[0]])
	}
	workers := min(max(1, len(todo)), slots, 64)
	for range workers {
		wg.Go(func() {
			for c := range jobs {
				rs := x.runCase(ctx, c)
				if ctx.Err() != nil {
					continue // a half-done case is not stored: resume redoes it from the cache
				}
				if err := r.Store.PutEvalResults(context.WithoutCancel(ctx), rs); err != nil {
					storeOnce.Do(func() { storeErr = err })
				}
				failed := 0
				for _, res := range rs {
					if res.Error != "" {
						failed++
					}
				}
				x.prog.caseDone(failed)
			}
		})
	}
feed:
	for _, c := range todo {
		select {
		case jobs <- c:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	x.prog.finish()

	status := "done"
	switch {
	case storeErr != nil:
		status = "failed"
	case ctx.Err() != nil:
		status = "interrupted"
	}
	bg := context.WithoutCancel(ctx)
	if err := r.Store.SetEvalRunStatus(bg, run.ID, status, time.Now()); err != nil && storeErr == nil {
		storeErr = err
	}
	if fresh, err := r.Store.EvalRun(bg, run.ID); err == nil {
		run = fresh
	}
	switch {
	case storeErr != nil:
		return run, fmt.Errorf("eval run %s: storing results: %w", run.ID, storeErr)
	case status == "interrupted":
		return run, fmt.Errorf("%w: %s (resume with --resume %s)", ErrInterrupted, run.ID, run.ID)
	}
	return run, nil
}

// runCase asks every model, scores the answers and returns the results.
func (x *exec) runCase(ctx context.Context, c *Case) []store.EvalResult {
	s := x.suite
	msgs, msgErr := s.messages(c)
	models := s.Models()
	results := make([]store.EvalResult, len(models))
	answers := make([]*Answer, len(models))
	scorers := append(append([]ScorerSpec(nil), s.Scorers...), c.Scorers...)
	for i, m := range models {
		res := store.EvalResult{RunID: x.run.ID, Model: m.Name(), CaseID: c.ID}
		if msgErr != nil {
			res.Error = msgErr.Error()
			results[i] = res
			continue
		}
		rep, err := x.call(ctx, m, s.Params, c.ID, msgs)
		if err != nil {
			res.Error = err.Error()
			results[i] = res
			continue
		}
		a, perr := parseAnswer(rep.body)
		if perr != nil {
			res.Error = perr.Error()
			results[i] = res
			continue
		}
		a.Latency = rep.latency
		res.Output, res.Usage, res.Latency, res.Cached = a.Text, rep.usage, rep.latency, rep.cached
		if len(a.ToolCalls) > 0 {
			b, _ := json.Marshal(a.ToolCalls)
			res.ToolCalls = string(b)
		}
		res.CostUSD = x.price(rep.target, rep.usage)
		a.CostUSD = res.CostUSD
		if res.CostUSD != nil && !rep.cached {
			x.prog.spent(*res.CostUSD)
		}
		answers[i] = a
		results[i] = res
	}
	question := transcript(msgs)
	all := make([][]Score, len(models))
	bills := make([]bill, len(models))
	for i := range models {
		if answers[i] == nil {
			continue
		}
		for _, sp := range scorers {
			switch sp.Type {
			case "pairwise":
				if i == 0 {
					continue
				}
				if answers[0] == nil {
					all[i] = append(all[i], skip(sp, "the incumbent has no answer"))
					continue
				}
				all[i] = append(all[i], x.pairwise(ctx, &bills[i], sp, c, question, answers[0], answers[i]))
			case "judge":
				all[i] = append(all[i], x.judge(ctx, &bills[i], sp, c, question, answers[i]))
			default:
				all[i] = append(all[i], scoreLocal(sp, c, answers[i]))
			}
		}
	}
	for i := range results {
		if all[i] == nil {
			all[i] = []Score{}
		}
		b, _ := json.Marshal(all[i])
		results[i].Scores = string(b)
		results[i].JudgeCostUSD = bills[i].total()
	}
	return results
}

// reply is a model's answer to one request, fresh or from the cache.
type reply struct {
	body    []byte
	usage   llm.Usage
	latency time.Duration
	target  string // provider/model that served it
	cached  bool
}

// call sends messages to model m with the base parameters under the
// model's own, through the response cache.
func (x *exec) call(ctx context.Context, m Model, base map[string]any, unit string, msgs []map[string]any) (reply, error) {
	req := map[string]any{}
	maps.Copy(req, base)
	maps.Copy(req, m.Params)
	req["model"] = m.Model
	req["messages"] = msgs
	delete(req, "stream") // the eval reads whole answers
	delete(req, "stream_options")
	// encoding/json sorts map keys: the bytes are canonical for a request.
	body, err := json.Marshal(req)
	if err != nil {
		return reply{}, err
	}
	// The key names the target the route picks for this unit, not the
	// alias: re-pointing an alias must not serve the old model's answers.
	rt := x.routes[m.Model]
	sum := sha256.Sum256(append(append(body, '\n'), rt.Pick(unit).String()...))
	key := hex.EncodeToString(sum[:])
	if c, err := x.Store.CachedResponse(ctx, key); err == nil {
		return reply{body: c.Body, usage: c.Usage, latency: c.Latency, target: c.Target, cached: true}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return reply{}, err
	}
	rep, err := x.retrying(ctx, rt, unit, body)
	if err != nil {
		return reply{}, err
	}
	// Kept even when the run is being interrupted: it was paid for, and
	// the resume will want it.
	err = x.Store.PutCachedResponse(context.WithoutCancel(ctx), store.CachedResponse{Key: key, Target: rep.target, Body: rep.body, Usage: rep.usage, Latency: rep.latency})
	return rep, err
}

// retrying calls chat, trying again with exponential backoff on a
// retryable failure, up to the suite's retries.
func (x *exec) retrying(ctx context.Context, rt *router.Route, unit string, body []byte) (reply, error) {
	wait := x.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	for try := 0; ; try++ {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(x.suite.Timeout))
		rep, err := x.chat(cctx, rt, unit, body)
		cancel()
		if err == nil {
			return rep, nil
		}
		if ctx.Err() != nil || try >= *x.suite.Retries || !router.Retryable(llm.AsError(err)) {
			return reply{}, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return reply{}, err
		}
		wait *= 2
	}
}

// chat sends one OpenAI-dialect request through the router. It is the
// only code that knows the wire dialect, so that moving the eval to the
// canonical request changes this function alone. The provider's
// concurrency slot is held for the call, and latency is measured from
// when the slot was taken.
func (x *exec) chat(ctx context.Context, rt *router.Route, unit string, body []byte) (reply, error) {
	req, err := openaiwire.ParseChatRequest(body)
	if err != nil {
		return reply{}, err
	}
	var mu sync.Mutex
	var latency time.Duration
	res, err := x.Router.Do(ctx, rt, unit, func(ctx context.Context, t router.Target) (*provider.Reply, error) {
		release, err := x.acquire(ctx, t.Provider.Name())
		if err != nil {
			return nil, err
		}
		defer release()
		t0 := time.Now()
		rep, err := chat.Send(ctx, t.Provider, req, t.Model)
		if err == nil {
			mu.Lock()
			latency = time.Since(t0)
			mu.Unlock()
		}
		return rep, err
	})
	if err != nil {
		return reply{}, err
	}
	if res.Reply.Stream != nil { // not asked for; never expected
		res.Reply.Stream.Close()
		return reply{}, errors.New("the provider streamed an answer to a non-streamed request")
	}
	mu.Lock()
	defer mu.Unlock()
	return reply{body: res.Reply.Body, usage: res.Reply.Usage, latency: latency, target: res.Target.String()}, nil
}

func (x *exec) acquire(ctx context.Context, prov string) (func(), error) {
	x.mu.Lock()
	sem := x.sems[prov]
	if sem == nil {
		n := x.suite.Concurrency
		if pc, ok := x.suite.ProviderConcurrency[prov]; ok {
			n = pc
		}
		sem = make(chan struct{}, n)
		x.sems[prov] = sem
	}
	x.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, &llm.Error{Kind: llm.KindTimeout, Class: "client_gone", Message: "cancelled while waiting for a concurrency slot"}
	}
}

func (x *exec) price(target string, u llm.Usage) *float64 {
	if x.Price == nil {
		return nil
	}
	p, m, _ := strings.Cut(target, "/")
	usd, ok := x.Price(p, m, u)
	if !ok {
		return nil
	}
	return &usd
}

// parseAnswer reads the first choice of an OpenAI chat completion.
func parseAnswer(body []byte) (*Answer, error) {
	var resp struct {
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					Function ToolCall `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("unreadable answer: %w", err)
	}
	if len(resp.Choices) == 0 {
		return nil, errors.New("the answer has no choices")
	}
	msg := resp.Choices[0].Message
	a := &Answer{}
	if msg.Content != nil {
		a.Text = *msg.Content
	}
	for _, tc := range msg.ToolCalls {
		a.ToolCalls = append(a.ToolCalls, tc.Function)
	}
	return a, nil
}

// transcript renders a chat for a judge: one "role: text" block per
// message.
func transcript(msgs []map[string]any) string {
	var b strings.Builder
	for _, m := range msgs {
		role, _ := m["role"].(string)
		var text string
		switch c := m["content"].(type) {
		case string:
			text = c
		default:
			j, _ := json.Marshal(c)
			text = string(j)
		}
		fmt.Fprintf(&b, "%s: %s\n", role, text)
	}
	return strings.TrimSpace(b.String())
}
