package gateway_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// testPrices makes a fake completion ("hello world": 10 input tokens, 2
// output) cost exactly 10×100 + 2×1000 = 3000 micro-dollars.
var testPrices = []pricing.Entry{{Provider: "openai", Model: "gpt-4o-mini", Input: "100", Output: "1000"}}

const costPerCall = 3000

func withPrices(c *config.Config) { c.Pricing = testPrices }

// adminDo sends an admin request and decodes the JSON answer into out.
func adminDo(t *testing.T, base, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer admin-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

type createdKey struct {
	ID, Key, TeamID string
	SpentUSD        string `json:"spent_usd"`
	BudgetUSD       string `json:"budget_usd"`
}

func createKey(t *testing.T, base string, body map[string]any) createdKey {
	t.Helper()
	var k struct {
		ID     string `json:"id"`
		Key    string `json:"key"`
		TeamID string `json:"team_id"`
	}
	if code := adminDo(t, base, "POST", "/admin/keys", body, &k); code != http.StatusCreated {
		t.Fatalf("create key %v: %d", body, code)
	}
	return createdKey{ID: k.ID, Key: k.Key, TeamID: k.TeamID}
}

const chatBody = `{"model":"openai/gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`

// chat sends one small chat request with key and returns the response,
// its body read.
func chat(t *testing.T, base, key string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(chatBody))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

func TestRPMLimitOneNode(t *testing.T) {
	e := newEnv(t, withPrices)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	k := createKey(t, e.srv.URL, map[string]any{"name": "limited", "rpm": 3})
	for i := range 3 {
		resp, b := chat(t, e.srv.URL, k.Key)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
		if got, want := resp.Header.Get("X-Ratelimit-Remaining-Requests"), []string{"2", "1", "0"}[i]; got != want ||
			resp.Header.Get("X-Ratelimit-Limit-Requests") != "3" {
			t.Errorf("request %d: remaining %q limit %q, want %s of 3", i, got, resp.Header.Get("X-Ratelimit-Limit-Requests"), want)
		}
	}
	resp, b := chat(t, e.srv.URL, k.Key)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-Ratelimit-Reset-Requests") == "" ||
		!strings.Contains(string(b), `"code":"rate_limit_exceeded"`) || !strings.Contains(string(b), "3 requests per minute") {
		t.Errorf("4th: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	// What the official SDK makes of it.
	client := openai.NewClient(option.WithBaseURL(e.srv.URL+"/v1/"), option.WithAPIKey(k.Key), option.WithMaxRetries(0))
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "openai/gpt-4o-mini", Messages: userMsg("hi")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" {
		t.Errorf("SDK error %v", err)
	}
	// Another key is not limited by this one.
	if resp, _ := chat(t, e.srv.URL, e.key); resp.StatusCode != 200 || resp.Header.Get("X-Ratelimit-Limit-Requests") != "" {
		t.Errorf("unlimited key: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestTPMLimitOneNode(t *testing.T) {
	e := newEnv(t, withPrices)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	// Each request reserves its input bound (a token for the 2 bytes of
	// "hi", 7 of framing) plus max_tokens (50), and settles to its real 12
	// tokens: of a TPM of 150, each request leaves 12 in the minute's log,
	// and one is refused once the log holds more than 150 - 58.
	const reserved = 1 + 7 + 50
	admits := (150-reserved)/12 + 1
	k := createKey(t, e.srv.URL, map[string]any{"name": "tpm", "tpm": 150})
	for i := range admits {
		resp, b := chat(t, e.srv.URL, k.Key)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d of %d: %d %s", i, admits, resp.StatusCode, b)
		}
		if i == 0 && (resp.Header.Get("X-Ratelimit-Limit-Tokens") != "150" ||
			resp.Header.Get("X-Ratelimit-Remaining-Tokens") != strconv.Itoa(150-reserved)) {
			t.Errorf("first: %v", resp.Header)
		}
	}
	resp, b := chat(t, e.srv.URL, k.Key)
	if resp.StatusCode != 429 || !strings.Contains(string(b), "150 tokens per minute") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("request %d: %d %s", admits, resp.StatusCode, b)
	}
}

func TestBudgetOneNode(t *testing.T) {
	e := newEnv(t, withPrices)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	// $0.01 = 10000 µ$: spends 0, 3000, 6000, 9000 are under it, 12000 is not.
	k := createKey(t, e.srv.URL, map[string]any{"name": "budget", "budget_usd": "0.01", "budget_period": "day"})
	for i := range 4 {
		if resp, b := chat(t, e.srv.URL, k.Key); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := chat(t, e.srv.URL, k.Key)
	if resp.StatusCode != 429 || !strings.Contains(string(b), `"code":"budget_exceeded"`) || !strings.Contains(string(b), "$0.010000 for this day") {
		t.Fatalf("over budget: %d %s", resp.StatusCode, b)
	}
	var got createdKey
	adminDo(t, e.srv.URL, "GET", "/admin/keys/"+k.ID, nil, &got)
	if got.SpentUSD != "0.012000" || got.BudgetUSD != "0.010000" {
		t.Errorf("key shows spent %q of %q", got.SpentUSD, got.BudgetUSD)
	}
	// Raising the budget lets the key through at once.
	if code := adminDo(t, e.srv.URL, "PATCH", "/admin/keys/"+k.ID, map[string]any{"budget_usd": 1}, nil); code != 200 {
		t.Fatalf("PATCH: %d", code)
	}
	if resp, b := chat(t, e.srv.URL, k.Key); resp.StatusCode != 200 {
		t.Fatalf("after raising: %d %s", resp.StatusCode, b)
	}
	// Every request's cost is on its record.
	var sum int64
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs, _ := e.gw.Store.Requests(context.Background(), store.RequestFilter{KeyID: k.ID})
		sum = 0
		for _, l := range logs {
			sum += l.Cost
		}
		if len(logs) == 6 || time.Now().After(deadline) {
			if len(logs) != 6 {
				t.Fatalf("%d records", len(logs))
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sum != 5*costPerCall {
		t.Errorf("recorded costs sum to %d, want %d", sum, 5*costPerCall)
	}
	// The price list in force starts with the config's overrides.
	var prices struct{ Data []pricing.Entry }
	adminDo(t, e.srv.URL, "GET", "/admin/pricing", nil, &prices)
	if len(prices.Data) < 50 || prices.Data[0] != testPrices[0] {
		t.Errorf("GET /admin/pricing: %d entries, first %+v", len(prices.Data), prices.Data[0])
	}
	// And exported: 5 × $0.003.
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v float64
	for _, line := range strings.Split(string(mb), "\n") {
		if strings.HasPrefix(line, `switchyard_cost_usd_total{key="`+k.ID+`",model="gpt-4o-mini",provider="openai"} `) {
			v, _ = strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		}
	}
	if v < 0.0149999 || v > 0.0150001 {
		t.Errorf("switchyard_cost_usd_total for the key = %v, want 0.015", v)
	}
}

func TestTeamLimitsAndExpiry(t *testing.T) {
	e := newEnv(t, withPrices)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	var team struct{ ID string }
	if code := adminDo(t, e.srv.URL, "POST", "/admin/teams", map[string]any{"name": "search", "rpm": 2}, &team); code != 201 {
		t.Fatalf("create team: %d", code)
	}
	a := createKey(t, e.srv.URL, map[string]any{"name": "a", "team": "search"})
	b := createKey(t, e.srv.URL, map[string]any{"name": "b", "team": team.ID, "metadata": map[string]string{"app": "x"}})
	if a.TeamID != team.ID {
		t.Fatalf("team by name resolved to %q, want %q", a.TeamID, team.ID)
	}
	chat(t, e.srv.URL, a.Key)
	chat(t, e.srv.URL, b.Key)
	resp, body := chat(t, e.srv.URL, a.Key)
	if resp.StatusCode != 429 || !strings.Contains(string(body), `team \"search\"`) {
		t.Errorf("third request of the team: %d %s", resp.StatusCode, body)
	}
	// Raising the team's limit applies at once (the cache is purged).
	if code := adminDo(t, e.srv.URL, "PATCH", "/admin/teams/search", map[string]any{"rpm": 10}, nil); code != 200 {
		t.Fatalf("PATCH team: %d", code)
	}
	if resp, _ := chat(t, e.srv.URL, a.Key); resp.StatusCode != 200 {
		t.Errorf("after raising the team's limit: %d", resp.StatusCode)
	}
	// An expired key is refused.
	if code := adminDo(t, e.srv.URL, "PATCH", "/admin/keys/"+b.ID, map[string]any{"expires_at": "2020-01-01T00:00:00Z"}, nil); code != 200 {
		t.Fatalf("PATCH key: %d", code)
	}
	if resp, body := chat(t, e.srv.URL, b.Key); resp.StatusCode != 401 || !strings.Contains(string(body), "key_expired") {
		t.Errorf("expired key: %d %s", resp.StatusCode, body)
	}
	// Every change is audited, newest first, without secrets.
	var audit struct {
		Data []store.AuditEntry
	}
	adminDo(t, e.srv.URL, "GET", "/admin/audit", nil, &audit)
	var actions []string
	for _, en := range audit.Data {
		actions = append(actions, en.Action)
		if !strings.HasPrefix(en.Actor, "admin:") || strings.Contains(en.Detail, a.Key[len(a.Key)-20:]) ||
			strings.Contains(en.Detail, b.Key[len(b.Key)-20:]) || strings.Contains(en.Actor, "admin-secret") {
			t.Errorf("audit entry %+v", en)
		}
	}
	if got := strings.Join(actions, ","); got != "key.update,team.update,key.create,key.create,team.create" {
		t.Errorf("audit actions %s", got)
	}
}

func TestUsageReport(t *testing.T) {
	e := newEnv(t, withPrices)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	var team struct{ ID string }
	adminDo(t, e.srv.URL, "POST", "/admin/teams", map[string]any{"name": "ads"}, &team)
	a := createKey(t, e.srv.URL, map[string]any{"name": "a", "team": "ads"})
	for range 3 {
		chat(t, e.srv.URL, a.Key)
	}
	chat(t, e.srv.URL, e.key)
	e.logs()
	time.Sleep(50 * time.Millisecond) // both flushes
	type row struct {
		Key, Team, Day string
		Requests       int64
		InputTokens    int64  `json:"input_tokens"`
		CostUSD        string `json:"cost_usd"`
	}
	var rep struct {
		Data  []row
		Total row
	}
	if code := adminDo(t, e.srv.URL, "GET", "/admin/usage?group_by=team,key,day&from=2020-01-01", nil, &rep); code != 200 {
		t.Fatalf("usage: %d", code)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if len(rep.Data) != 2 || rep.Data[0].Team != "" || rep.Data[1].Team != team.ID || rep.Data[1].Key != a.ID ||
		rep.Data[1].Requests != 3 || rep.Data[1].InputTokens != 30 || rep.Data[1].CostUSD != "0.009000" || rep.Data[1].Day != today ||
		rep.Total.Requests != 4 || rep.Total.CostUSD != "0.012000" {
		t.Errorf("usage = %+v", rep)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin/usage?group_by=model&format=csv", nil)
	req.Header.Set("Authorization", "Bearer admin-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatal(err, resp.Header)
	}
	want := [][]string{
		{"model", "requests", "input_tokens", "output_tokens", "cached_input_tokens", "cost_usd"},
		{"gpt-4o-mini", "4", "40", "8", "0", "0.012000"},
		{"total", "4", "40", "8", "0", "0.012000"},
	}
	if got, _ := json.Marshal(recs); string(got) != string(must(json.Marshal(want))) {
		t.Errorf("csv = %v", recs)
	}
	if code := adminDo(t, e.srv.URL, "GET", "/admin/usage?group_by=colour", nil, nil); code != 400 {
		t.Errorf("unknown dimension: %d", code)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Limits speak the client's dialect: an Anthropic client over its key's RPM
// gets Anthropic's rate_limit_error with retry-after, which its SDK reads.
func TestRPMLimitAnthropicDialect(t *testing.T) {
	e := newEnv(t, withPrices)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	k := createKey(t, e.srv.URL, map[string]any{"name": "limited", "rpm": 1})
	e.key = k.Key
	c := anthropicClient(e)
	if _, err := c.Messages.New(context.Background(), hiParams("openai/gpt-4o-mini")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Messages.New(context.Background(), hiParams("openai/gpt-4o-mini"))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Response.Header.Get("Retry-After") == "" ||
		apiErr.Response.Header.Get("X-Ratelimit-Limit-Requests") != "1" || !strings.Contains(apiErr.RawJSON(), `"type":"rate_limit_error"`) {
		t.Fatalf("second request: %v", err)
	}
}
