// Package agents tests that real coding agents, Claude Code and Codex CLI,
// complete a prompt and a shell tool loop through the gateway on every
// provider type, against the scripted model of fakeupstream.Agent. See
// docs/agents.md.
//
// The agents are npm packages, installed by scripts/agents.sh into
// SWITCHYARD_AGENTS_DIR (default ${XDG_CACHE_HOME:-~/.cache}/switchyard/agents).
// Without them the agent runs are skipped, unless SWITCHYARD_TEST_AGENTS
// is "require", which makes a missing agent a failure (CI sets it);
// "off" skips them even when installed.
package agents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/keys"
)

var capture = flag.Bool("capture", false, "run each agent against a recording listener and rewrite testdata/*-request.json")

// A provider is one configured provider type and the model the agents ask
// it for. Models differ, so the vendor's turns tell the providers apart.
type provider struct {
	name, typ, model string
	format           string // the wire format the vendor sees
}

var providers = []provider{
	{"openai", "openai", "gpt-4o-mini", fakeupstream.FormatChat},
	{"azure", "azure-openai", "az-gpt-4o", fakeupstream.FormatChat},
	{"xai", "xai", "grok-3-mini", fakeupstream.FormatChat},
	{"deepseek", "deepseek", "deepseek-chat", fakeupstream.FormatChat},
	{"mistral", "mistral", "mistral-small-latest", fakeupstream.FormatChat},
	{"compat", "openai-compatible", "qwen3-coder", fakeupstream.FormatChat},
	{"anthropic", "anthropic", "claude-sonnet-4-5", fakeupstream.FormatAnthropic},
	{"gemini", "gemini", "gemini-2.5-pro", fakeupstream.FormatGemini},
}

// env is a gateway with every provider type pointed at one scripted agent
// vendor.
type env struct {
	fake  *fakeupstream.Server
	agent *fakeupstream.Agent
	url   string // the gateway's base URL
	key   string // a virtual key
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	agent := fakeupstream.NewAgent()
	agent.Install(fake)
	u := fake.URL()
	base := map[string]string{"openai": u + "/v1", "azure": u, "xai": u + "/v1", "deepseek": u, "mistral": u + "/v1", "compat": u + "/v1", "anthropic": u, "gemini": u}
	cfg := &config.Config{Storage: "sqlite:" + filepath.Join(t.TempDir(), "switchyard.db")}
	for _, p := range providers {
		c := config.Provider{Name: p.name, Type: p.typ, BaseURL: base[p.name], APIKey: "vendor-secret-" + p.name, Models: []string{p.model}}
		if p.typ == "azure-openai" {
			c.APIVersion = "2024-10-21"
		}
		cfg.Providers = append(cfg.Providers, c)
	}
	cfg.SetDefaults()
	ctx := context.Background()
	gw, err := gateway.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler)
	t.Cleanup(func() {
		srv.Close()
		gw.Close(context.Background())
	})
	secret, k, err := keys.Generate("agents", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	return &env{fake: fake, agent: agent, url: srv.URL, key: secret}
}

// turns returns the vendor's turns for p's model.
func (e *env) turns(p provider) []fakeupstream.AgentTurn {
	var ts []fakeupstream.AgentTurn
	for _, t := range e.agent.Turns() {
		if t.Model == p.model || strings.Contains(t.Path, "/"+p.model+"/") {
			ts = append(ts, t)
		}
	}
	return ts
}

// checkLoop checks that the vendor played the whole tool loop for p: a
// tool call of the shell tool, then a request carrying its output, with
// the call's id when the format has ids.
func (e *env) checkLoop(t *testing.T, p provider, shell string) {
	t.Helper()
	var called, final bool
	var summary []string
	for _, turn := range e.turns(p) {
		summary = append(summary, fmt.Sprintf("%s stream=%v shell=%q reply=%s result=%q call=%q %s", turn.Format, turn.Stream, turn.Shell, turn.Reply, turn.ToolResult, turn.ResultCallID, turn.Err))
		if turn.Format != p.format {
			t.Errorf("the vendor was asked in %s, want %s", turn.Format, p.format)
		}
		switch turn.Reply {
		case fakeupstream.AgentReplyToolCall:
			called = true
			if turn.Shell != shell {
				t.Errorf("the vendor called %q, want %q", turn.Shell, shell)
			}
		case fakeupstream.AgentReplyFinal:
			final = true
			if !strings.Contains(turn.ToolResult, fakeupstream.AgentMarker) {
				t.Errorf("the tool result that came back is %q, without %q", turn.ToolResult, fakeupstream.AgentMarker)
			}
			if id := fakeupstream.AgentCallID(p.format); id != "" && turn.ResultCallID != id {
				t.Errorf("the tool result answers call %q, want the vendor's %q", turn.ResultCallID, id)
			}
		}
	}
	t.Logf("vendor turns for %s:\n%s", p.model, strings.Join(summary, "\n"))
	if !called || !final {
		t.Errorf("the vendor saw no complete tool loop (call %v, result %v); its turns:\n%s", called, final, strings.Join(summary, "\n"))
	}
}

// agentsDir is where scripts/agents.sh installs the agents.
func agentsDir() string {
	if d := os.Getenv("SWITCHYARD_AGENTS_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "switchyard", "agents")
}

// agentBin returns the path of an installed agent, or skips (fails under
// SWITCHYARD_TEST_AGENTS=require) without it.
func agentBin(t *testing.T, name string) string {
	t.Helper()
	mode := os.Getenv("SWITCHYARD_TEST_AGENTS")
	if mode == "off" {
		t.Skip("SWITCHYARD_TEST_AGENTS=off")
	}
	bin := filepath.Join(agentsDir(), "node_modules", ".bin", name)
	if _, err := os.Stat(bin); err != nil {
		if mode == "require" {
			t.Fatalf("%s is not installed (%v): run scripts/agents.sh", name, err)
		}
		t.Skipf("%s is not installed in %s: run scripts/agents.sh (set SWITCHYARD_TEST_AGENTS=require to fail instead)", name, agentsDir())
	}
	return bin
}

// baseEnv is the environment every agent runs with: a throwaway home and
// nothing of the caller's but PATH, so no real key or config leaks in.
func baseEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "LANG=C.UTF-8", "TERM=dumb", "NO_COLOR=1"}
}

// The prompt both agents get. The scripted model ignores it; a real one
// would run the command.
const prompt = "Run the shell command `printf '%s-%s\\n' switchyard-tool ok` and tell me exactly what it printed."

// claudeEnv is what points Claude Code at the gateway, with every call
// elsewhere switched off.
func claudeEnv(home, url, key, model string) []string {
	return append(baseEnv(home),
		"ANTHROPIC_BASE_URL="+url, "ANTHROPIC_API_KEY="+key, "ANTHROPIC_MODEL="+model,
		// Side tasks (titles, summaries) use the small model: the same one.
		"ANTHROPIC_SMALL_FAST_MODEL="+model, "ANTHROPIC_DEFAULT_HAIKU_MODEL="+model,
		"ANTHROPIC_DEFAULT_SONNET_MODEL="+model, "ANTHROPIC_DEFAULT_OPUS_MODEL="+model,
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1",
		"DISABLE_ERROR_REPORTING=1", "DISABLE_BUG_COMMAND=1", "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY=1")
}

// claudeArgs runs one prompt headless, allows the Bash tool without a
// prompt, and prints the result as JSON.
var claudeArgs = []string{"-p", prompt, "--output-format", "json", "--allowedTools", "Bash", "--max-turns", "4"}

// run runs an agent in a fresh working directory under a deadline and
// returns its stdout; stderr goes into failures.
func run(t *testing.T, bin string, env []string, dir string, args ...string) (stdout string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir = env, dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: %w\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), err, out.String(), errb.String())
	}
	return out.String(), err
}

// TestClaudeCode runs `claude -p` through the gateway on every provider
// type: it must run the shell tool, get its output back to the model, and
// print the model's answer quoting it.
func TestClaudeCode(t *testing.T) {
	bin := agentBin(t, "claude")
	e := newEnv(t)
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			home, work := t.TempDir(), t.TempDir()
			out, err := run(t, bin, claudeEnv(home, e.url, e.key, p.name+"/"+p.model), work, claudeArgs...)
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				Result  string `json:"result"`
				IsError bool   `json:"is_error"`
				NumTurn int    `json:"num_turns"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("claude's output is not JSON: %v\n%s", err, out)
			}
			if res.IsError || !strings.Contains(res.Result, fakeupstream.AgentMarker) {
				t.Errorf("claude's result (error %v) does not quote the tool: %q", res.IsError, res.Result)
			}
			e.checkLoop(t, p, "Bash")
		})
	}
}

// codexConfig is the config.toml that points Codex CLI at the gateway,
// with analytics, feedback, OpenTelemetry export, web search and the
// update check off. Retries are off so that a failure shows at once.
func codexConfig(url, model string) string {
	return fmt.Sprintf(`model = %q
model_provider = "switchyard"
check_for_update_on_startup = false
web_search = "disabled"

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"

[model_providers.switchyard]
name = "Switchyard"
base_url = "%s/v1"
env_key = "SWITCHYARD_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`, model, url)
}

// codexArgs runs one prompt headless: no approvals and no sandbox (the
// Linux sandbox needs namespaces a container may refuse; the test's
// working directory is throwaway), outside a Git repository, keeping no
// session files, events as JSON lines.
func codexArgs(lastMessage string) []string {
	return []string{"exec", "--strict-config", "--skip-git-repo-check", "--ephemeral",
		"--dangerously-bypass-approvals-and-sandbox", "--json", "--color", "never", "-o", lastMessage, prompt}
}

func codexSetup(t *testing.T, url, model string) (env []string, work, last string) {
	t.Helper()
	home, work := t.TempDir(), t.TempDir()
	codexHome := filepath.Join(home, ".codex")
	if err := os.MkdirAll(codexHome, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(codexHome, "config.toml"), []byte(codexConfig(url, model)), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(baseEnv(home), "CODEX_HOME="+codexHome), work, filepath.Join(home, "last-message.txt")
}

// TestCodex runs `codex exec` through the gateway's Responses endpoint on
// every provider type. It is skipped while the gateway answers
// POST /v1/responses with a 404 (the endpoint is not there yet).
func TestCodex(t *testing.T) {
	bin := agentBin(t, "codex")
	e := newEnv(t)
	req, _ := http.NewRequest("POST", e.url+"/v1/responses", strings.NewReader(`{"model":"openai/gpt-4o-mini","input":"hi"}`))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Skipf("the gateway has no Responses endpoint yet (POST /v1/responses: 404 %s); Codex CLI speaks only that", bytes.TrimSpace(body))
	}
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			env, work, last := codexSetup(t, e.url, p.name+"/"+p.model)
			env = append(env, "SWITCHYARD_API_KEY="+e.key)
			if _, err := run(t, bin, env, work, codexArgs(last)...); err != nil {
				t.Fatal(err)
			}
			msg, err := os.ReadFile(last)
			if err != nil {
				t.Fatalf("codex wrote no last message: %v", err)
			}
			if !strings.Contains(string(msg), fakeupstream.AgentMarker) {
				t.Errorf("codex's last message does not quote the tool: %q", msg)
			}
			format := p.format
			if p.typ == "openai" {
				// The openai type takes Responses requests as they are.
				format = fakeupstream.FormatResponses
			}
			p.format = format
			e.checkLoop(t, p, "exec_command")
		})
	}
}

// TestCodexVendor runs `codex exec` straight against the scripted vendor's
// Responses endpoint, without the gateway: it shows that the vendor plays
// Codex's tool loop, so that a failure of TestCodex is the gateway's.
func TestCodexVendor(t *testing.T) {
	bin := agentBin(t, "codex")
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	agent := fakeupstream.NewAgent()
	agent.Install(fake)
	vars, work, last := codexSetup(t, fake.URL(), "gpt-5")
	if _, err := run(t, bin, append(vars, "SWITCHYARD_API_KEY=vendor-key"), work, codexArgs(last)...); err != nil {
		t.Fatal(err)
	}
	if msg, err := os.ReadFile(last); err != nil || !strings.Contains(string(msg), fakeupstream.AgentMarker) {
		t.Errorf("codex's last message does not quote the tool: %q (%v)", msg, err)
	}
	e := &env{agent: agent}
	e.checkLoop(t, provider{"openai", "openai", "gpt-5", fakeupstream.FormatResponses}, "exec_command")
}

// recorder is a listener that records the first request each agent sends
// and answers every request with an error, so the agent stops.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs, r.body = append(r.reqs, req), append(r.body, b)
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, `{"type":"error","error":{"type":"invalid_request_error","message":"recorded"}}`)
}

// first returns the first POST body recorded and its headers.
func (r *recorder) first(t *testing.T) (http.Header, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, req := range r.reqs {
		if req.Method == "POST" {
			return req.Header, r.body[i]
		}
	}
	t.Fatal("the agent sent no POST")
	return nil, nil
}

// scrub replaces what identifies the machine, the user or the run in a
// captured request: paths, ids, dates.
func scrub(b []byte, dirs ...string) []byte {
	s := string(b)
	for _, d := range dirs {
		s = strings.ReplaceAll(s, d, "/home/user/project")
	}
	s = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`).ReplaceAllString(s, "00000000-0000-0000-0000-000000000000")
	s = regexp.MustCompile(`[0-9a-f]{64}`).ReplaceAllString(s, strings.Repeat("0", 64))
	s = regexp.MustCompile(`\b20\d\d-\d\d-\d\d\b`).ReplaceAllString(s, "2026-01-01")
	s = regexp.MustCompile(`(OS Version: |<os>|Linux )[0-9][^\\"<]*`).ReplaceAllString(s, "${1}6.0.0")
	s = regexp.MustCompile(`(turn_started_at_unix_ms\\?":)\d+`).ReplaceAllString(s, "${1}0")
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		if pretty, err := json.MarshalIndent(v, "", " "); err == nil {
			return append(pretty, '\n')
		}
	}
	return []byte(s)
}

// TestCaptureRequests, with -capture, runs each agent against a listener
// that records what it sends, and rewrites testdata/claude-code-request.json
// and testdata/codex-request.json (scrubbed of paths, ids and dates), which
// TestAgentRequests replays.
func TestCaptureRequests(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to rewrite testdata/*-request.json")
	}
	for _, c := range []struct {
		agent, file string
		start       func(t *testing.T, bin, url string) []string // returns dirs to scrub
	}{
		{"claude", "claude-code-request.json", func(t *testing.T, bin, url string) []string {
			home, work := t.TempDir(), t.TempDir()
			// A model Claude Code does not know, as every non-Anthropic one
			// is: it then sends part of its system prompt as a system turn.
			run(t, bin, claudeEnv(home, url, "sk-sy-example", "deepseek/deepseek-chat"), work, claudeArgs...)
			return []string{work, home}
		}},
		{"codex", "codex-request.json", func(t *testing.T, bin, url string) []string {
			env, work, last := codexSetup(t, url, "openai/gpt-4o-mini")
			run(t, bin, append(env, "SWITCHYARD_API_KEY=sk-sy-example"), work, codexArgs(last)...)
			return []string{work, filepath.Dir(last)}
		}},
	} {
		bin := agentBin(t, c.agent)
		rec := &recorder{}
		srv := httptest.NewServer(rec)
		dirs := c.start(t, bin, srv.URL)
		srv.Close()
		h, body := rec.first(t)
		if err := os.WriteFile(filepath.Join("testdata", c.file), scrub(body, dirs...), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s %s, user-agent %q, anthropic-beta %q", c.agent, rec.reqs[0].Method, rec.reqs[0].URL, h.Get("User-Agent"), h.Get("Anthropic-Beta"))
	}
}

// TestAgentRequests replays the captured first requests of Claude Code
// (to /v1/messages, with its headers) and Codex CLI (to /v1/responses)
// through the gateway on every provider type, without the agents: each
// must reach the vendor and come back as a tool call.
func TestAgentRequests(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		file, path string
		header     map[string]string
	}{
		{"claude-code-request.json", "/v1/messages?beta=true", map[string]string{
			"Anthropic-Version": "2023-06-01", "X-Api-Key": e.key, "Anthropic-Beta": "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,effort-2025-11-24"}},
		{"codex-request.json", "/v1/responses", map[string]string{"Authorization": "Bearer " + e.key, "Accept": "text/event-stream"}},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		for _, p := range providers {
			t.Run(strings.TrimSuffix(c.file, "-request.json")+"/"+p.name, func(t *testing.T) {
				body["model"] = p.name + "/" + p.model
				b, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", e.url+c.path, bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				for k, v := range c.header {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(c.path, "/v1/responses") {
					t.Skipf("the gateway has no Responses endpoint yet: 404 %s", bytes.TrimSpace(out))
				}
				if resp.StatusCode != 200 {
					t.Fatalf("%d %s", resp.StatusCode, out)
				}
				t.Logf("dropped: %s; rewritten: %s", resp.Header.Get("X-Switchyard-Dropped-Params"), resp.Header.Get("X-Switchyard-Rewritten-Params"))
				turns := e.turns(p)
				if len(turns) == 0 || turns[len(turns)-1].Reply != fakeupstream.AgentReplyToolCall {
					t.Fatalf("the vendor did not answer with a tool call: %+v", turns)
				}
				if shell := turns[len(turns)-1].Shell; !strings.Contains(string(out), `"`+shell+`"`) {
					t.Errorf("the answer carries no call of %s:\n%.2000s", shell, out)
				}
			})
		}
	}
}
