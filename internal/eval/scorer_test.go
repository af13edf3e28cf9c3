package eval

import (
	"testing"
	"time"
)

func TestScoreLocal(t *testing.T) {
	ref := "Paris"
	cost := 0.002
	schema := map[string]any{"type": "object", "required": []any{"name", "age"}, "additionalProperties": false,
		"properties": map[string]any{
			"name": map[string]any{"type": "string", "minLength": 1},
			"age":  map[string]any{"type": "integer", "minimum": 0},
			"tags": map[string]any{"type": "array", "items": map[string]any{"enum": []any{"a", "b"}}},
		}}
	for _, c := range []struct {
		name string
		spec ScorerSpec
		ans  Answer
		ref  *string
		pass bool
		skip bool
	}{
		{"exact", ScorerSpec{Type: "exact"}, Answer{Text: " Paris\n"}, &ref, true, false},
		{"exact differs", ScorerSpec{Type: "exact"}, Answer{Text: "paris"}, &ref, false, false},
		{"exact ignore case", ScorerSpec{Type: "exact", IgnoreCase: true}, Answer{Text: "paris"}, &ref, true, false},
		{"exact without reference", ScorerSpec{Type: "exact"}, Answer{Text: "x"}, nil, false, true},
		{"exact number value", ScorerSpec{Type: "exact", Value: 42.0}, Answer{Text: "42"}, nil, true, false},
		{"contains", ScorerSpec{Type: "contains", Value: "refund"}, Answer{Text: "a refund is possible"}, nil, true, false},
		{"contains misses", ScorerSpec{Type: "contains", Value: "Refund"}, Answer{Text: "a refund"}, nil, false, false},
		{"not_contains", ScorerSpec{Type: "not_contains", Value: "ERR_"}, Answer{Text: "failed: ERR_1"}, nil, false, false},
		{"regex", ScorerSpec{Type: "regex", Pattern: `^\d{3}$`}, Answer{Text: "123"}, nil, true, false},
		{"json_valid", ScorerSpec{Type: "json_valid"}, Answer{Text: ` {"a": [1, 2]} `}, nil, true, false},
		{"json_valid fails", ScorerSpec{Type: "json_valid"}, Answer{Text: `{"a": }`}, nil, false, false},
		{"json_schema", ScorerSpec{Type: "json_schema", Schema: schema}, Answer{Text: `{"name":"Ada","age":36,"tags":["a"]}`}, nil, true, false},
		{"json_schema missing", ScorerSpec{Type: "json_schema", Schema: schema}, Answer{Text: `{"name":"Ada"}`}, nil, false, false},
		{"json_schema extra", ScorerSpec{Type: "json_schema", Schema: schema}, Answer{Text: `{"name":"Ada","age":1,"x":1}`}, nil, false, false},
		{"json_schema not integer", ScorerSpec{Type: "json_schema", Schema: schema}, Answer{Text: `{"name":"Ada","age":1.5}`}, nil, false, false},
		{"json_schema enum", ScorerSpec{Type: "json_schema", Schema: schema}, Answer{Text: `{"name":"Ada","age":1,"tags":["c"]}`}, nil, false, false},
		{"numeric", ScorerSpec{Type: "numeric", Value: 1234.5, Tolerance: 0.01}, Answer{Text: "It is 1,234.5 units"}, nil, true, false},
		{"numeric outside", ScorerSpec{Type: "numeric", Value: 10.0, Tolerance: 0.5}, Answer{Text: "-10.6"}, nil, false, false},
		{"numeric no number", ScorerSpec{Type: "numeric", Value: 1.0}, Answer{Text: "one"}, nil, false, false},
		{"tool_call", ScorerSpec{Type: "tool_call", Tool: "f", Arguments: map[string]any{"n": 1, "s": "x"}},
			Answer{ToolCalls: []ToolCall{{Name: "g", Arguments: "{}"}, {Name: "f", Arguments: `{"s":"x","n":1.0}`}}}, nil, true, false},
		{"tool_call arguments differ", ScorerSpec{Type: "tool_call", Tool: "f", Arguments: map[string]any{"n": 1}},
			Answer{ToolCalls: []ToolCall{{Name: "f", Arguments: `{"n":2}`}}}, nil, false, false},
		{"tool_call absent", ScorerSpec{Type: "tool_call", Tool: "f"}, Answer{Text: "no"}, nil, false, false},
		{"latency", ScorerSpec{Type: "latency", MaxMs: 100}, Answer{Latency: 99 * time.Millisecond}, nil, true, false},
		{"latency over", ScorerSpec{Type: "latency", MaxMs: 100}, Answer{Latency: 101 * time.Millisecond}, nil, false, false},
		{"cost", ScorerSpec{Type: "cost", MaxUSD: 0.001}, Answer{CostUSD: &cost}, nil, false, false},
		{"cost unknown", ScorerSpec{Type: "cost", MaxUSD: 0.001}, Answer{}, nil, false, true},
	} {
		got := scoreLocal(c.spec, &Case{Reference: c.ref}, &c.ans)
		if got.Pass != c.pass || got.Skipped != c.skip || (got.Pass && got.Value != 1) || (!got.Pass && got.Value != 0) {
			t.Errorf("%s: %+v, want pass=%v skipped=%v", c.name, got, c.pass, c.skip)
		}
	}
}

func TestSide(t *testing.T) {
	for w, want := range map[string]string{"A": "x", " b ": "y", "Tie": "tie"} {
		if got, ok := side(w, "x", "y"); !ok || got != want {
			t.Errorf("side(%q) = %q, %v", w, got, ok)
		}
	}
	if _, ok := side("both", "x", "y"); ok {
		t.Error("an unknown winner was accepted")
	}
}
