package pricing

import (
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

func TestParseUSD(t *testing.T) {
	for s, want := range map[string]int64{
		"0": 0, "10": 10_000_000, "2.50": 2_500_000, "0.075": 75_000, ".5": 500_000, "3.": 3_000_000,
		"0.000001": 1, "$1.25": 1_250_000, " 7 ": 7_000_000, "1000000000": 1e15,
	} {
		if got, err := ParseUSD(s); err != nil || got != want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", ".", "-1", "+1", "1e3", "0.0000001", "1,5", "abc", "1000000001", "99999999999", "1.2.3", "NaN"} {
		if got, err := ParseUSD(s); err == nil {
			t.Errorf("ParseUSD(%q) = %d, want an error", s, got)
		}
	}
}

func TestFormatUSD(t *testing.T) {
	for micro, want := range map[int64]string{0: "0.000000", 1: "0.000001", 2_500_000: "2.500000", -1_250_000: "-1.250000", 123_456_789: "123.456789"} {
		if got := FormatUSD(micro); got != want {
			t.Errorf("FormatUSD(%d) = %q, want %q", micro, got, want)
		}
	}
}

func FuzzParseUSD(f *testing.F) {
	for _, s := range []string{"2.50", "0.000001", "1000000000", ".", "$3", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseUSD(s)
		if err != nil {
			return
		}
		if v < 0 || v > maxUSD*Micro {
			t.Fatalf("ParseUSD(%q) = %d: out of range", s, v)
		}
		// What it formats to parses back to the same amount.
		if back, err := ParseUSD(FormatUSD(v)); err != nil || back != v {
			t.Fatalf("round trip of %q: %d -> %q -> %d, %v", s, v, FormatUSD(v), back, err)
		}
	})
}

func TestEmbeddedParses(t *testing.T) {
	es, err := Parse(embedded)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, e := range es {
		types[e.Provider] = true
		if e.Date == "" || !strings.HasPrefix(e.Source, "https://") {
			t.Errorf("%s/%s: every embedded price needs its date and source URL", e.Provider, e.Model)
		}
	}
	for _, typ := range []string{"openai", "azure-openai", "anthropic", "gemini", "xai", "deepseek", "mistral"} {
		if !types[typ] {
			t.Errorf("no prices for provider type %s", typ)
		}
	}
}

func TestCost(t *testing.T) {
	// $2.50 in, $1.25 cached, $3.75 cache write, $10 out, $20 reasoning.
	p, err := resolve(Entry{Provider: "x", Model: "m", Input: "2.50", Output: "10", CachedInput: "1.25", CacheWrite: "3.75", Reasoning: "20"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		u    llm.Usage
		want int64
	}{
		{"nothing", llm.Usage{}, 0},
		// 1M plain input = $2.50.
		{"input", llm.Usage{InputTokens: 1_000_000}, 2_500_000},
		// Cached and cache-write tokens are part of InputTokens: 1000
		// input of which 400 cached and 100 written leaves 500 plain.
		// 500×2.5 + 400×1.25 + 100×3.75 = 1250 + 500 + 375 = 2125 µ$.
		{"cache parts", llm.Usage{InputTokens: 1000, CachedInputTokens: 400, CacheWriteTokens: 100}, 2125},
		// Reasoning is part of OutputTokens: 300 out, 100 of them
		// reasoning: 200×10 + 100×20 = 4000.
		{"reasoning part", llm.Usage{OutputTokens: 300, ReasoningTokens: 100}, 4000},
		// Rounding happens once, half up: 1 token at $2.50/M = 2.5 µ$ → 3.
		{"round half up", llm.Usage{InputTokens: 1}, 3},
		// 1 token at $1.25/M (cached) = 1.25 µ$ → 1.
		{"round down", llm.Usage{InputTokens: 1, CachedInputTokens: 1}, 1},
		// Parts larger than totals are clamped, never negative: cached =
		// min(50, 10) = 10, write = 0, plain = 0; reasoning = min(9, 1) =
		// 1: 10×1.25 + 1×20 = 32.5 → 33.
		{"inconsistent", llm.Usage{InputTokens: 10, CachedInputTokens: 50, CacheWriteTokens: 50, OutputTokens: 1, ReasoningTokens: 9}, 33},
		{"negative", llm.Usage{InputTokens: -5, OutputTokens: -5}, 0},
	}
	for _, tt := range tests {
		if got := p.price.Cost(tt.u); got != tt.want {
			t.Errorf("%s: Cost(%+v) = %d, want %d", tt.name, tt.u, got, tt.want)
		}
	}
	// Defaults: cached, cache write at the input price; reasoning at the
	// output price.
	d, _ := resolve(Entry{Provider: "x", Model: "m", Input: "1", Output: "2"})
	if got := d.price.Cost(llm.Usage{InputTokens: 3, CachedInputTokens: 1, CacheWriteTokens: 1, OutputTokens: 2, ReasoningTokens: 1}); got != 7 {
		t.Errorf("defaults: %d, want 3×1 + 2×2 = 7", got)
	}
	// Huge counts saturate rather than wrap.
	big, _ := resolve(Entry{Provider: "x", Model: "m", Input: "1000000000", Output: "1000000000"})
	if got := big.price.Cost(llm.Usage{InputTokens: 1 << 62, OutputTokens: 1 << 62}); got != 1<<63-1 {
		t.Errorf("saturation: %d", got)
	}
}

func TestLookup(t *testing.T) {
	tab, err := Default([]Entry{
		{Provider: "openai", Model: "gpt-4o", Input: "1", Output: "1"},          // override of an embedded entry
		{Provider: "my-azure", Model: "prod-*", Input: "5", Output: "5"},        // by provider name
		{Provider: "azure-openai", Model: "prod-chat", Input: "7", Output: "7"}, // by type, exact
		{Provider: "vllm", Model: "*", Input: "0", Output: "0"},                 // a self-hosted model is free
		{Provider: "vllm", Model: "llama-*", Input: "0.01", Output: "0.01"},     // a longer pattern wins
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, typ, model string
		input            int64
		ok               bool
	}{
		{"openai", "openai", "gpt-4o", 1_000_000, true},
		{"openai", "openai", "gpt-4o-mini", 150_000, true},
		{"openai", "openai", "gpt-4o-2024-08-06", 2_500_000, true},
		{"my-azure", "azure-openai", "prod-chat", 5_000_000, true}, // name beats type
		{"other-azure", "azure-openai", "prod-chat", 7_000_000, true},
		{"vllm", "openai-compatible", "llama-3", 10_000, true},
		{"vllm", "openai-compatible", "qwen", 0, true},
		{"openai", "openai", "no-such-model", 0, false},
		{"anthropic", "anthropic", "claude-sonnet-4-5-20250929", 3_000_000, true},
	} {
		p, ok := tab.Lookup(tc.name, tc.typ, tc.model)
		if ok != tc.ok || p.Input != tc.input {
			t.Errorf("Lookup(%s, %s, %s) = %d, %v; want %d, %v", tc.name, tc.typ, tc.model, p.Input, ok, tc.input, tc.ok)
		}
	}
	if _, err := Default([]Entry{{Provider: "x", Model: "m", Input: "-1", Output: "1"}}); err == nil {
		t.Error("a bad override is accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(string(embedded[:200]))
	f.Add(`[{"provider":"p","model":"m","input":"1","output":"2"}]`)
	f.Add(`[{"provider":"p","model":"[","input":"1","output":"2"}]`)
	f.Add(`[] []`)
	f.Fuzz(func(t *testing.T, s string) {
		es, err := Parse([]byte(s))
		if err != nil {
			return
		}
		// Whatever parses resolves, and prices are never negative.
		for _, e := range es {
			r, err := resolve(e)
			if err != nil {
				t.Fatalf("Parse accepted %+v that resolve rejects: %v", e, err)
			}
			if r.price.Input < 0 || r.price.Output < 0 || r.price.Cost(llm.Usage{InputTokens: 1e6, OutputTokens: 1e6}) < 0 {
				t.Fatalf("negative price from %+v", e)
			}
		}
	})
}
