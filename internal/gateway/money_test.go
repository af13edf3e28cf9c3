package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// Money is charged on every path (docs/limits.md): a stream that ends any
// way but cleanly still gets usage, and budgets and TPM limits are hard
// caps under concurrency.

// moneyEnv is a gateway with an OpenAI and an Anthropic provider on one
// fake, a route with an idle timeout, and a key with a budget (so that
// each test can see the budget charged).
func moneyEnv(t *testing.T) (*env, createdKey) {
	e := newEnv(t, withPrices, func(c *config.Config) {
		base := strings.TrimSuffix(c.Providers[0].BaseURL, "/v1")
		c.Providers = append(c.Providers, config.Provider{Name: "anthropic", Type: "anthropic", BaseURL: base, APIKey: "sk-ant"})
		c.Models = append(c.Models, config.Model{Name: "idle", Target: "openai/gpt-4o-mini",
			Timeouts: config.Timeouts{Idle: 100 * time.Millisecond}})
	})
	k := createKey(t, e.srv.URL, map[string]any{"name": "paying", "budget_usd": "100"})
	return e, k
}

// record waits for the request log's one record.
func (e *env) record(t *testing.T) store.RequestLog {
	t.Helper()
	ls := e.logs()
	if len(ls) != 1 {
		t.Fatalf("%d records, want 1", len(ls))
	}
	return ls[0]
}

// streamUntil posts a streamed chat request and reads its SSE lines until
// leave says to go, then closes the connection, as a client that has what
// it wants does. It returns the lines read.
func streamUntil(t *testing.T, base, key, body string, leave func(line string) bool) []string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	// A transport of its own, so that closing the body closes the
	// connection rather than returning it to a pool.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if leave(sc.Text()) {
			return lines
		}
	}
	return lines
}

const streamBody = `{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say many words."}]}`

// checkCharged checks that a record's usage, cost and the key's budget
// agree, and that none of them is zero.
func checkCharged(t *testing.T, e *env, k createdKey, rec store.RequestLog, source string) {
	t.Helper()
	if rec.UsageSource != source || rec.Usage.InputTokens <= 0 || rec.Usage.OutputTokens <= 0 || rec.Cost <= 0 {
		t.Errorf("record: usage %+v from %q, cost %d µ$; want non-zero usage from %q and a cost", rec.Usage, rec.UsageSource, rec.Cost, source)
	}
	key, _ := e.gw.Store.Key(context.Background(), k.ID)
	spent, err := e.gw.Limits.Spent(context.Background(), time.Now(), limits.Subject{ID: "key:" + k.ID, Limits: key.Limits})
	if err != nil || spent != rec.Cost {
		t.Errorf("the budget was charged %d µ$ (%v), the record says %d µ$", spent, err, rec.Cost)
	}
	var view struct {
		Data []struct {
			ID          string `json:"id"`
			UsageSource string `json:"usage_source"`
		} `json:"data"`
	}
	adminDo(t, e.srv.URL, "GET", "/admin/requests?key_id="+k.ID, nil, &view)
	if len(view.Data) != 1 || view.Data[0].UsageSource != source {
		t.Errorf("the admin API shows %+v, want usage_source %q", view.Data, source)
	}
	t.Logf("%s: %d input + %d output tokens (%s), $%s", rec.ErrorClass, rec.Usage.InputTokens, rec.Usage.OutputTokens, rec.UsageSource, pricing.FormatUSD(rec.Cost))
}

// Every stream that ends before the vendor's usage event is still charged:
// estimated from the request and the text streamed, or read on to the
// usage event when the client left after the finish. Before, the streams
// from OpenAI-wire vendors were recorded with zero tokens and cost nothing,
// and those from Anthropic with message_start's input and one output
// token.
func TestStreamsThatEndEarlyAreCharged(t *testing.T) {
	t.Run("client leaves mid-stream (fast path)", func(t *testing.T) {
		e, k := moneyEnv(t)
		slow := fakeupstream.TextStream(200, "word ", true)
		slow.EventDelay = 20 * time.Millisecond
		e.fake.Handle("/chat/completions", slow)
		n := 0
		streamUntil(t, e.srv.URL, k.Key, streamBody, func(line string) bool {
			if strings.Contains(line, `"content":"word `) {
				n++
			}
			return n == 5
		})
		rec := e.record(t)
		checkCharged(t, e, k, rec, store.UsageEstimated)
		if rec.ErrorClass != "client_gone" || rec.Usage.OutputTokens < 5 || rec.Usage.OutputTokens > 50 {
			t.Errorf("%s, %d output tokens; want client_gone and about the 5+ words streamed", rec.ErrorClass, rec.Usage.OutputTokens)
		}
	})

	t.Run("client leaves after the finish, before the usage (fast path)", func(t *testing.T) {
		e, k := moneyEnv(t)
		// The usage chunk comes 300 ms after the finish chunk: the client
		// has left by then, and the gateway reads on for it.
		slow := fakeupstream.TextStream(3, "word ", true)
		slow.EventDelay = 300 * time.Millisecond
		e.fake.Handle("/chat/completions", slow)
		streamUntil(t, e.srv.URL, k.Key, streamBody, func(line string) bool {
			return strings.Contains(line, `"finish_reason":"stop"`)
		})
		rec := e.record(t)
		checkCharged(t, e, k, rec, store.UsageVendor)
		if rec.Usage.InputTokens != 10 || rec.Usage.OutputTokens != 3 {
			t.Errorf("usage %+v, want the vendor's 10 + 3", rec.Usage)
		}
	})

	t.Run("vendor cuts the stream (fast path)", func(t *testing.T) {
		e, k := moneyEnv(t)
		cut := fakeupstream.TextStream(20, "word ", true)
		cut.CutAfterEvents = 10
		e.fake.Handle("/chat/completions", cut)
		client := openai.NewClient(option.WithBaseURL(e.srv.URL+"/v1/"), option.WithAPIKey(k.Key), option.WithMaxRetries(0))
		s := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
			Model: "openai/gpt-4o-mini", Messages: userMsg("Say many words.")})
		words := 0
		for s.Next() {
			if c := s.Current(); len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				words++
			}
		}
		if s.Err() == nil || words == 0 {
			t.Fatalf("the SDK read %d words and no error (%v) from a cut stream", words, s.Err())
		}
		rec := e.record(t)
		checkCharged(t, e, k, rec, store.UsageEstimated)
		if rec.ErrorClass != "stream_cut" || rec.Usage.OutputTokens < int64(words) {
			t.Errorf("%s, %d output tokens for %d words streamed", rec.ErrorClass, rec.Usage.OutputTokens, words)
		}
	})

	t.Run("idle timeout (fast path)", func(t *testing.T) {
		e, k := moneyEnv(t)
		stalls := fakeupstream.TextStream(20, "word ", true)
		stalls.EventDelay = 2 * time.Second // past the route's 100 ms idle bound
		e.fake.Handle("/chat/completions", stalls)
		streamUntil(t, e.srv.URL, k.Key, strings.Replace(streamBody, "openai/gpt-4o-mini", "idle", 1), func(string) bool { return false })
		rec := e.record(t)
		checkCharged(t, e, k, rec, store.UsageEstimated)
		if rec.ErrorClass != "idle_timeout" {
			t.Errorf("error class %q", rec.ErrorClass)
		}
	})

	// Anthropic's message_start gives the exact input count: it is kept,
	// and only the output is estimated.
	anthropicCut := fakeupstream.MustTranscript("anthropic-messages-stream-thinking.sse")
	anthropicCut.CutAfterEvents = 9

	t.Run("vendor cuts the stream (canonical path, OpenAI client, Anthropic vendor)", func(t *testing.T) {
		e, k := moneyEnv(t)
		e.fake.Handle("/v1/messages", anthropicCut)
		streamUntil(t, e.srv.URL, k.Key, strings.Replace(streamBody, "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", 1), func(string) bool { return false })
		rec := e.record(t)
		checkCharged(t, e, k, rec, store.UsageEstimated)
		if rec.ErrorClass != "stream_cut" || rec.Usage.InputTokens != 43 {
			t.Errorf("%s, input %d; want stream_cut and message_start's 43", rec.ErrorClass, rec.Usage.InputTokens)
		}
	})

	t.Run("client leaves mid-stream (Anthropic client, Anthropic vendor)", func(t *testing.T) {
		e, k := moneyEnv(t)
		slow := fakeupstream.MustTranscript("anthropic-messages-stream-thinking.sse")
		slow.EventDelay = 20 * time.Millisecond
		e.fake.Handle("/v1/messages", slow)
		ctx, cancel := context.WithCancel(context.Background())
		c := anthropicClient(e, aoption.WithAPIKey(k.Key))
		s := c.Messages.NewStreaming(ctx, hiParams("anthropic/claude-sonnet-4-5"))
		deltas := 0
		for s.Next() {
			if s.Current().Type == "content_block_delta" {
				if deltas++; deltas == 5 {
					cancel()
				}
			}
		}
		cancel()
		rec := e.record(t)
		checkCharged(t, e, k, rec, store.UsageEstimated)
		if rec.ErrorClass != "client_gone" || rec.Usage.InputTokens != 43 {
			t.Errorf("%s, input %d; want client_gone and message_start's 43", rec.ErrorClass, rec.Usage.InputTokens)
		}
	})

	t.Run("vendor cuts the stream (Anthropic client, OpenAI vendor)", func(t *testing.T) {
		e, k := moneyEnv(t)
		cut := fakeupstream.TextStream(20, "word ", true)
		cut.CutAfterEvents = 10
		e.fake.Handle("/chat/completions", cut)
		c := anthropicClient(e, aoption.WithAPIKey(k.Key))
		s := c.Messages.NewStreaming(context.Background(), hiParams("openai/gpt-4o-mini"))
		for s.Next() {
		}
		rec := e.record(t)
		checkCharged(t, e, k, rec, store.UsageEstimated)
		if rec.ErrorClass != "stream_cut" {
			t.Errorf("error class %q", rec.ErrorClass)
		}
	})
}

// budgetRace sends one request per client, clients at a time, spread over
// urls, with key. A client refused because the budget is held by requests
// in flight retries (as an SDK does on a 429); one refused because it is
// spent stops. It returns how many were served.
func budgetRace(t *testing.T, urls []string, key, body string, clients int) int {
	var served atomic.Int64
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for try := 0; try < 2000; try++ {
				req, _ := http.NewRequest("POST", urls[i%len(urls)]+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == 200:
					served.Add(1)
					return
				case resp.StatusCode == 429 && strings.Contains(string(b), "held by its requests in flight"):
					time.Sleep(5 * time.Millisecond)
				case resp.StatusCode == 429:
					return // spent
				default:
					t.Errorf("status %d: %s", resp.StatusCode, b)
					return
				}
			}
			t.Error("still refused as held after 2000 tries")
		})
	}
	wg.Wait()
	return int(served.Load())
}

// spend waits until the request log's spend of key is want (the records
// of the requests served are written) and returns it.
func spend(t *testing.T, st store.Store, keyID string, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := st.Spend(context.Background(), keyID, false, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if v == want || time.Now().After(deadline) {
			return v
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// budgetCase is one run of 50 concurrent clients against a budget worth
// 12 requests.
type budgetCase struct {
	name string
	body string
	// short is how much each reservation falls short of the real cost
	// (0: it covers it); the spend may pass the budget by that much per
	// request in flight, and by one request's cost (the last one, admitted
	// alone).
	short int64
	// reserved is one request's reservation, in µ$.
	reserved int64
}

var budgetCases = []budgetCase{
	{
		// max_tokens 5: (1 + 7 input + 5 output) reserved at 100 and
		// 1000 µ$ a token, against a real 10 + 2.
		name:     "reservation covers the cost",
		body:     `{"model":"openai/gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		reserved: 8*100 + 5*1000,
	},
	{
		// No max_tokens and model_output_tokens 1 (withShortReservation):
		// each reservation is 1,200 µ$ short of the real cost.
		name:     "reservation short of the cost",
		body:     `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		short:    costPerCall - (8*100 + 1*1000),
		reserved: 8*100 + 1*1000,
	},
}

func withShortReservation(c *config.Config) {
	c.Limits.ModelOutputTokens = map[string]int64{"openai/gpt-4o-mini": 1}
}

// checkBudget runs one budget case against urls (one gateway or several
// replicas) and checks the spend against its bound.
func checkBudget(t *testing.T, what string, urls []string, st store.Store, tc budgetCase) {
	const budget = 12 * costPerCall
	k := createKey(t, urls[0], map[string]any{"name": "race", "budget_usd": pricing.FormatUSD(budget)})
	served := budgetRace(t, urls, k.Key, tc.body, 50)
	// The clients' retries leave thousands of refusals in the log: the
	// spend is summed by the store.
	spent := spend(t, st, k.ID, int64(served)*costPerCall)
	// At most budget/reserved requests are in flight at once.
	bound := budget + (budget/tc.reserved)*tc.short + costPerCall
	t.Logf("budget overshoot %s, %s: 50 concurrent clients, admitted %d, spend $%s of $%s (overshoot $%s; bound $%s)",
		what, tc.name, served, pricing.FormatUSD(spent), pricing.FormatUSD(budget),
		pricing.FormatUSD(max(0, spent-budget)), pricing.FormatUSD(bound-budget))
	if spent > bound || served == 0 || spent != int64(served)*costPerCall {
		t.Errorf("admitted %d, spend %d µ$ of a %d µ$ budget; want at most %d µ$, every admitted request recorded", served, spent, budget, bound)
	}
	if tc.short == 0 && served != 12 {
		t.Errorf("admitted %d, want exactly the 12 the budget pays for", served)
	}
}

// budgetVendor is how the fake vendor answers in a budget run: each
// answer costs costPerCall.
type budgetVendor struct {
	name   string
	stream bool
	setup  func(f *fakeupstream.Server)
}

var budgetVendors = []budgetVendor{
	{"fast vendor", false, func(f *fakeupstream.Server) {
		f.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	}},
	{"slow streams", true, func(f *fakeupstream.Server) {
		// Two words and a usage of 10 + 2, over 150 ms.
		slow := fakeupstream.TextStream(2, "hello ", true)
		slow.EventDelay = 30 * time.Millisecond
		f.Handle("/chat/completions", slow)
	}},
}

// runBudget runs every budget case on every vendor; gateway returns the
// gateways' URLs and store for a fresh deployment.
func runBudget(t *testing.T, what string, gateway func(t *testing.T) (*fakeupstream.Server, []string, store.Store)) {
	for _, v := range budgetVendors {
		for _, tc := range budgetCases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				fake, urls, st := gateway(t)
				v.setup(fake)
				if v.stream {
					tc.body = strings.Replace(tc.body, `{`, `{"stream":true,`, 1)
				}
				checkBudget(t, what+", "+v.name, urls, st, tc)
			})
		}
	}
}

// A budget worth 12 requests and 50 concurrent clients. Before
// reservations, 21 to 46 of them passed on a fast vendor and 50 of 50 on
// slow streams (spend up to 4× the budget).
func TestBudgetHardCapOneNode(t *testing.T) {
	runBudget(t, "1 node", func(t *testing.T) (*fakeupstream.Server, []string, store.Store) {
		e := newEnv(t, withPrices, withShortReservation)
		return e.fake, []string{e.srv.URL}, e.gw.Store
	})
}

// The same across three replicas sharing PostgreSQL and Redis.
func TestBudgetHardCapReplicas(t *testing.T) {
	runBudget(t, "3 replicas", func(t *testing.T) (*fakeupstream.Server, []string, store.Store) {
		c := newCluster(t, 3, withShortReservation)
		return c.fake, c.urls, c.gws[0].Store
	})
}

// tpmRace sends 3 requests from each of 50 concurrent clients, spread
// over urls, and returns the real tokens of those served: all within one
// minute, so all within one TPM window.
func tpmRace(t *testing.T, urls []string, key string) (served int, tokens int64) {
	var n, sum atomic.Int64
	var wg sync.WaitGroup
	body := `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	for i := range 50 {
		wg.Go(func() {
			for range 3 {
				req, _ := http.NewRequest("POST", urls[i%len(urls)]+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var out struct {
					Usage struct {
						Total int64 `json:"total_tokens"`
					} `json:"usage"`
				}
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					n.Add(1)
					sum.Add(out.Usage.Total)
				} else if resp.StatusCode != 429 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	return int(n.Load()), sum.Load()
}

// answer90 is an answer of 10 + 90 tokens; its requests set no max_tokens
// and reserve 100 output tokens (withOutput100) plus 8 of input.
var answer90 = fakeupstream.TextCompletion(strings.TrimSpace(strings.Repeat("word ", 90)))

func withOutput100(c *config.Config) {
	c.Limits.ModelOutputTokens = map[string]int64{"openai/gpt-4o-mini": 100}
}

// A TPM of 500 and 50 concurrent clients: the tokens admitted in the
// minute stay within 1.1× the limit. The token bucket this replaces
// charged requests without max_tokens a quarter of their body's bytes
// and admitted several times the limit.
func TestTPMHardCap(t *testing.T) {
	check := func(t *testing.T, what string, urls []string) {
		k := createKey(t, urls[0], map[string]any{"name": "tpm", "tpm": 500})
		served, tokens := tpmRace(t, urls, k.Key)
		t.Logf("TPM 500 %s: 150 requests from 50 concurrent clients, admitted %d, %d tokens in the minute (%.2f× the limit)",
			what, served, tokens, float64(tokens)/500)
		if tokens > 550 || served == 0 {
			t.Errorf("admitted %d requests, %d tokens; want at most 550 (1.1 × 500)", served, tokens)
		}
	}
	t.Run("1 node", func(t *testing.T) {
		e := newEnv(t, withPrices, withOutput100)
		e.fake.Handle("/chat/completions", answer90)
		e.fake.SetLatency(20 * time.Millisecond)
		check(t, "1 node", []string{e.srv.URL})
	})
	t.Run("3 replicas", func(t *testing.T) {
		c := newCluster(t, 3, withOutput100)
		c.fake.Handle("/chat/completions", answer90)
		c.fake.SetLatency(20 * time.Millisecond)
		check(t, "3 replicas", c.urls)
	})
}

// A request whose handler dies (here: its upstream fails) releases its
// reservation: the budget it held is free again at once.
func TestReservationReleasedOnFailure(t *testing.T) {
	e := newEnv(t, withPrices)
	e.fake.Handle("/chat/completions", fakeupstream.ServerError(500))
	// 50 output tokens reserve 50,800 µ$: the budget admits one such
	// request at a time.
	k := createKey(t, e.srv.URL, map[string]any{"name": "one", "budget_usd": "0.06"})
	for i := range 5 {
		if resp, b := chat(t, e.srv.URL, k.Key); resp.StatusCode != 500 && resp.StatusCode != 502 {
			t.Fatalf("request %d: %d %s; want the upstream's failure, not a held budget", i, resp.StatusCode, b)
		}
	}
}

// A client that gives up on a whole (unstreamed) answer while the vendor
// is working on it leaves the vendor billing its prompt: the estimated
// input is charged, to the record, the cost and the budget. Before, such a
// request cost nothing.
func TestAbandonedWholeAnswerCharged(t *testing.T) {
	e, k := moneyEnv(t)
	slow := fakeupstream.TextCompletion("late")
	slow.FirstByteDelay = 5 * time.Second
	e.fake.Handle("/chat/completions", slow)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"Say many words."}]}`))
	req.Header.Set("Authorization", "Bearer "+k.Key)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d before the client left", resp.StatusCode)
	}
	rec := e.record(t)
	if rec.ErrorClass != "client_gone" || rec.UsageSource != store.UsageEstimated || rec.Usage.InputTokens <= 0 || rec.Cost <= 0 {
		t.Fatalf("record: %s, usage %+v from %q, cost %d µ$; want client_gone charged its estimated input", rec.ErrorClass, rec.Usage, rec.UsageSource, rec.Cost)
	}
	key, _ := e.gw.Store.Key(context.Background(), k.ID)
	if spent, err := e.gw.Limits.Spent(context.Background(), time.Now(), limits.Subject{ID: "key:" + k.ID, Limits: key.Limits}); err != nil || spent != rec.Cost {
		t.Errorf("the budget was charged %d µ$ (%v), the record says %d µ$", spent, err, rec.Cost)
	}
}
