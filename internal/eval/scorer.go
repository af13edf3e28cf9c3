package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ScorerSpec configures one scorer, in a suite (YAML) or a case (JSON).
//
// Types and their fields:
//
//	exact         output equals value (default: the case's reference); ignore_case
//	contains      output contains value; ignore_case
//	not_contains  output does not contain value; ignore_case
//	regex         output matches pattern (RE2 syntax)
//	json_valid    output is one JSON value
//	json_schema   output is JSON valid against schema (see validateSchema)
//	numeric       the first number in output is within tolerance of value (default: reference)
//	tool_call     the answer calls tool with arguments (all of them, by JSON equality)
//	latency       the call took at most max_ms milliseconds
//	cost          the call cost at most max_usd (skipped when no price is known)
//	judge         the judge model grades the answer 0-10 against rubric; passes at threshold (default 0.7)
//	pairwise      the judge compares each challenger's answer with the incumbent's, blind, in both orders
type ScorerSpec struct {
	Type string `yaml:"type" json:"type"`
	// Name labels the scorer in reports; it defaults to Type.
	Name       string         `yaml:"name" json:"name,omitempty"`
	Value      any            `yaml:"value" json:"value,omitempty"`
	IgnoreCase bool           `yaml:"ignore_case" json:"ignore_case,omitempty"`
	Pattern    string         `yaml:"pattern" json:"pattern,omitempty"`
	Schema     map[string]any `yaml:"schema" json:"schema,omitempty"`
	Tolerance  float64        `yaml:"tolerance" json:"tolerance,omitempty"`
	Tool       string         `yaml:"tool" json:"tool,omitempty"`
	Arguments  map[string]any `yaml:"arguments" json:"arguments,omitempty"`
	MaxMs      float64        `yaml:"max_ms" json:"max_ms,omitempty"`
	MaxUSD     float64        `yaml:"max_usd" json:"max_usd,omitempty"`
	Rubric     string         `yaml:"rubric" json:"rubric,omitempty"`
	Threshold  float64        `yaml:"threshold" json:"threshold,omitempty"`
}

// Label is the scorer's name in reports.
func (s ScorerSpec) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Type
}

func (s ScorerSpec) validate() error {
	switch s.Type {
	case "exact", "contains", "not_contains", "numeric", "json_valid", "pairwise":
	case "regex":
		if _, err := regexp.Compile(s.Pattern); err != nil {
			return fmt.Errorf("regex: %w", err)
		}
	case "json_schema":
		if s.Schema == nil {
			return errors.New("json_schema: schema is required")
		}
	case "tool_call":
		if s.Tool == "" {
			return errors.New("tool_call: tool is required")
		}
	case "latency":
		if s.MaxMs <= 0 {
			return errors.New("latency: max_ms must be positive")
		}
	case "cost":
		if s.MaxUSD <= 0 {
			return errors.New("cost: max_usd must be positive")
		}
	case "judge":
		if s.Rubric == "" {
			return errors.New("judge: rubric is required")
		}
		if s.Threshold < 0 || s.Threshold > 1 {
			return errors.New("judge: threshold must be within [0, 1]")
		}
	case "":
		return errors.New("type is required")
	default:
		return fmt.Errorf("unknown scorer type %q", s.Type)
	}
	return nil
}

// Score is one scorer's verdict on one answer.
type Score struct {
	Scorer string  `json:"scorer"`
	Type   string  `json:"type"`
	Value  float64 `json:"value"` // in [0, 1]
	Pass   bool    `json:"pass"`
	// Skipped scores could not be computed (no reference, no price, the
	// judge failed); they count neither way.
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Outcome is the pairwise result for the challenger: win, tie or loss.
	Outcome string `json:"outcome,omitempty"`
}

// Answer is what a model answered to a case.
type Answer struct {
	Text      string
	ToolCalls []ToolCall
	Latency   time.Duration
	CostUSD   *float64
}

// ToolCall is a function call in an answer.
type ToolCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"` // JSON text, as the model wrote it
}

func pass(s ScorerSpec, ok bool, reason string) Score {
	sc := Score{Scorer: s.Label(), Type: s.Type, Pass: ok, Reason: reason}
	if ok {
		sc.Value = 1
	}
	return sc
}

func skip(s ScorerSpec, reason string) Score {
	return Score{Scorer: s.Label(), Type: s.Type, Skipped: true, Reason: reason}
}

// scoreLocal applies a scorer that needs no model: every type but judge
// and pairwise.
func scoreLocal(s ScorerSpec, c *Case, a *Answer) Score {
	expected := func() (string, bool) {
		if s.Value != nil {
			return stringify(s.Value), true
		}
		if c.Reference != nil {
			return *c.Reference, true
		}
		return "", false
	}
	fold := func(x string) string {
		if s.IgnoreCase {
			return strings.ToLower(x)
		}
		return x
	}
	out := a.Text
	switch s.Type {
	case "exact":
		want, ok := expected()
		if !ok {
			return skip(s, "no value and no reference")
		}
		return pass(s, fold(strings.TrimSpace(out)) == fold(strings.TrimSpace(want)), "")
	case "contains", "not_contains":
		want, ok := expected()
		if !ok {
			return skip(s, "no value and no reference")
		}
		has := strings.Contains(fold(out), fold(want))
		if s.Type == "contains" {
			return pass(s, has, "")
		}
		return pass(s, !has, "")
	case "regex":
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return skip(s, err.Error())
		}
		return pass(s, re.MatchString(out), "")
	case "json_valid":
		return pass(s, json.Valid([]byte(strings.TrimSpace(out))), "")
	case "json_schema":
		var v any
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &v); err != nil {
			return pass(s, false, "not JSON: "+err.Error())
		}
		// Through JSON, so that a schema written in YAML has JSON's types.
		var schema map[string]any
		b, _ := json.Marshal(s.Schema)
		json.Unmarshal(b, &schema)
		if err := validateSchema(schema, v, "$"); err != nil {
			return pass(s, false, err.Error())
		}
		return pass(s, true, "")
	case "numeric":
		want, ok := expected()
		if !ok {
			return skip(s, "no value and no reference")
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(want), 64)
		if err != nil {
			return skip(s, fmt.Sprintf("expected value %q is not a number", want))
		}
		got, ok := firstNumber(out)
		if !ok {
			return pass(s, false, "no number in the answer")
		}
		return pass(s, math.Abs(got-w) <= s.Tolerance, fmt.Sprintf("got %g, want %g ± %g", got, w, s.Tolerance))
	case "tool_call":
		for _, tc := range a.ToolCalls {
			if tc.Name != s.Tool {
				continue
			}
			if s.Arguments == nil {
				return pass(s, true, "")
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(tc.Arguments), &args); err != nil {
				return pass(s, false, "arguments are not a JSON object")
			}
			if jsonEqual(args, s.Arguments) {
				return pass(s, true, "")
			}
			return pass(s, false, "arguments differ: "+tc.Arguments)
		}
		return pass(s, false, "no call to "+s.Tool)
	case "latency":
		ms := float64(a.Latency) / float64(time.Millisecond)
		return pass(s, ms <= s.MaxMs, fmt.Sprintf("%.0f ms", ms))
	case "cost":
		if a.CostUSD == nil {
			return skip(s, "price unknown")
		}
		return pass(s, *a.CostUSD <= s.MaxUSD, fmt.Sprintf("$%.6f", *a.CostUSD))
	}
	return skip(s, "not a local scorer")
}

func stringify(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

var number = regexp.MustCompile(`[-+]?(?:\d+(?:[.,]\d+)*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?`)

// firstNumber finds the first number in s, reading "1,234.5" as 1234.5.
func firstNumber(s string) (float64, bool) {
	m := number.FindString(s)
	if m == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", ""), 64)
	return f, err == nil
}

// jsonEqual compares two decoded JSON values, with numbers compared as
// numbers whatever their Go type (YAML gives ints, JSON float64s).
func jsonEqual(a, b any) bool {
	na, _ := json.Marshal(a)
	nb, _ := json.Marshal(b)
	var x, y any
	json.Unmarshal(na, &x)
	json.Unmarshal(nb, &y)
	return reflect.DeepEqual(x, y)
}

// validateSchema checks v against the subset of JSON Schema that
// structured-output schemas use: type (one or a list), properties,
// required, additionalProperties (false), items, enum, const, minimum,
// maximum, minLength, maxLength, minItems, maxItems, pattern, and anyOf.
// Other keywords are ignored, which errs on the side of passing.
func validateSchema(schema map[string]any, v any, path string) error {
	if t, ok := schema["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				if s, ok := x.(string); ok {
					types = append(types, s)
				}
			}
		}
		match := false
		for _, t := range types {
			match = match || hasType(v, t)
		}
		if !match {
			return fmt.Errorf("%s: want type %v, got %s", path, t, jsonType(v))
		}
	}
	if e, ok := schema["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || jsonEqual(x, v)
		}
		if !found {
			return fmt.Errorf("%s: not one of %v", path, e)
		}
	}
	if c, ok := schema["const"]; ok && !jsonEqual(c, v) {
		return fmt.Errorf("%s: want %v", path, c)
	}
	if branches, ok := schema["anyOf"].([]any); ok {
		var errs []error
		for _, s := range branches {
			sm, _ := s.(map[string]any)
			err := validateSchema(sm, v, path)
			if err == nil {
				errs = nil
				break
			}
			errs = append(errs, err)
		}
		if errs != nil {
			return fmt.Errorf("%s: matches no anyOf branch: %w", path, errors.Join(errs...))
		}
	}
	num := func(k string) (float64, bool) {
		f, ok := toFloat(schema[k])
		return f, ok
	}
	switch v := v.(type) {
	case float64:
		if m, ok := num("minimum"); ok && v < m {
			return fmt.Errorf("%s: %g < minimum %g", path, v, m)
		}
		if m, ok := num("maximum"); ok && v > m {
			return fmt.Errorf("%s: %g > maximum %g", path, v, m)
		}
	case string:
		n := float64(len([]rune(v)))
		if m, ok := num("minLength"); ok && n < m {
			return fmt.Errorf("%s: shorter than %g", path, m)
		}
		if m, ok := num("maxLength"); ok && n > m {
			return fmt.Errorf("%s: longer than %g", path, m)
		}
		if p, ok := schema["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("%s: bad pattern: %w", path, err)
			}
			if !re.MatchString(v) {
				return fmt.Errorf("%s: does not match %s", path, p)
			}
		}
	case []any:
		n := float64(len(v))
		if m, ok := num("minItems"); ok && n < m {
			return fmt.Errorf("%s: fewer than %g items", path, m)
		}
		if m, ok := num("maxItems"); ok && n > m {
			return fmt.Errorf("%s: more than %g items", path, m)
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range v {
				if err := validateSchema(items, x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if k, ok := r.(string); ok {
					if _, has := v[k]; !has {
						return fmt.Errorf("%s: missing required %q", path, k)
					}
				}
			}
		}
		for k, x := range v {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, isBool := schema["additionalProperties"].(bool); isBool && !ap {
					return fmt.Errorf("%s: unexpected property %q", path, k)
				}
				continue
			}
			if err := validateSchema(ps, x, path+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	return 0, false
}

func hasType(v any, t string) bool {
	switch t {
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "number":
		_, ok := v.(float64)
		return ok
	}
	return jsonType(v) == t
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
