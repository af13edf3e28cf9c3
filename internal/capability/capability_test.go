package capability

import (
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		model   string
		pattern string // "" for no entry
	}{
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"},
		{"gpt-4o-2024-05-13", ""}, // a smaller output limit: not listed
		{"o3-mini", "o3-mini"},
		{"gpt-5.2", "gpt-5.*"},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5*"},
		{"claude-3-5-haiku-20241022", "claude-3-5-haiku*"},
		{"claude-future-9", "claude-*"},
		{"models/gemini-2.5-pro", "gemini-2.5-pro"},
		{"gemini-3-flash-preview", "gemini-3*"},
		{"gemini-3-pro-preview", "gemini-3-pro-preview"},
		{"grok-4", "grok-4"},
		{"grok-4.3", ""}, // a later release that takes reasoning_effort
		{"grok-4-1-fast-reasoning", "grok-4-1-fast-reasoning*"},
		{"llama3", ""},
		{"", ""},
	} {
		m, ok := Lookup(tt.model)
		if ok != (tt.pattern != "") || m.Pattern != tt.pattern {
			t.Errorf("Lookup(%q) = %q %v, want %q", tt.model, m.Pattern, ok, tt.pattern)
		}
	}
}

func TestClampAndTakes(t *testing.T) {
	m, _ := Lookup("gpt-4o-mini")
	if got, clamped := m.ClampOutput(32000); got != 16384 || !clamped {
		t.Errorf("ClampOutput(32000) = %d %v", got, clamped)
	}
	if got, clamped := m.ClampOutput(100); got != 100 || clamped {
		t.Errorf("ClampOutput(100) = %d %v", got, clamped)
	}
	if m.TakesReasoningEffort() || m.TakesReasoning() {
		t.Error("gpt-4o-mini takes reasoning")
	}
	var unknown Model
	if got, clamped := unknown.ClampOutput(1 << 20); got != 1<<20 || clamped || !unknown.TakesReasoningEffort() {
		t.Error("an unknown model must be sent everything")
	}
	if g, _ := Lookup("grok-4"); g.TakesReasoningEffort() || !g.TakesReasoning() {
		t.Error("grok-4 reasons but takes no reasoning_effort")
	}
}

// Every entry names its vendor and source, and no pattern is listed twice.
func TestTableEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range All() {
		if m.Pattern == "" || m.Vendor == "" || m.Source == "" {
			t.Errorf("entry %+v lacks a pattern, vendor or source", m)
		}
		if !strings.HasPrefix(m.Source, "https://") && !strings.HasPrefix(m.Source, "recorded transcript") {
			t.Errorf("%s: source %q is neither a URL nor a transcript", m.Pattern, m.Source)
		}
		if seen[m.Pattern] {
			t.Errorf("pattern %q listed twice", m.Pattern)
		}
		seen[m.Pattern] = true
		if strings.Contains(strings.TrimSuffix(m.Pattern, "*"), "*") {
			t.Errorf("pattern %q: only a trailing * is a wildcard", m.Pattern)
		}
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"gpt-4o", "claude-", "models/", "gemini-3*", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, model string) {
		m, ok := Lookup(model)
		if ok {
			p, prefix := strings.CutSuffix(m.Pattern, "*")
			name := strings.TrimPrefix(model, "models/")
			if prefix && !strings.HasPrefix(name, p) || !prefix && name != p {
				t.Fatalf("Lookup(%q) matched %q", model, m.Pattern)
			}
		}
	})
}

func TestFit(t *testing.T) {
	temp := 0.5
	req := &llm.Request{MaxTokens: 32000, Temperature: &temp, Reasoning: &llm.Reasoning{Adaptive: true, Effort: "high"}}
	got, c := Fit(req, "claude-3-5-haiku-20241022")
	if got.MaxTokens != 8192 || got.Reasoning != nil || got.Temperature == nil {
		t.Errorf("Fit = %+v", got)
	}
	if strings.Join(c.Dropped, ",") != "reasoning" || strings.Join(c.Rewritten, ",") != "max_tokens" {
		t.Errorf("changes %+v", c)
	}
	if req.MaxTokens != 32000 || req.Reasoning == nil {
		t.Error("Fit changed its argument")
	}
	if got, c := Fit(req, "o3"); got.Temperature != nil || strings.Join(c.Dropped, ",") != "temperature" || got.MaxTokens != 32000 {
		t.Errorf("o3: %+v %+v", got, c)
	}
	if got, c := Fit(req, "unknown-model"); got != req || len(c.Dropped)+len(c.Rewritten) != 0 {
		t.Errorf("an unknown model changed the request: %+v", c)
	}
	off := &llm.Request{Reasoning: &llm.Reasoning{Disabled: true}}
	if got, c := Fit(off, "gemini-2.0-flash-lite"); got.Reasoning != nil || len(c.Dropped) != 0 {
		t.Errorf("disabled reasoning: %+v %+v", got, c)
	}
}
