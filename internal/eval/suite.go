// Package eval runs offline evaluations: a dataset of cases is sent to an
// incumbent model and to one or more challengers through Switchyard's own
// router and providers, each answer is scored, and the results are
// analysed into a replacement verdict per challenger (see Analyze).
//
// A run is stored as it goes (store.EvalRun and store.EvalResult), and
// every model answer is kept in a response cache keyed on the exact
// request, so that a rerun, a resumed run or a new scorer costs nothing.
package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Suite is an evaluation suite, as read from its YAML file.
type Suite struct {
	// Name labels the suite's runs; it defaults to the file's base name.
	Name string `yaml:"name" json:"name"`
	// Dataset is the path of the cases (.jsonl or .csv), relative to the
	// suite file.
	Dataset string `yaml:"dataset" json:"dataset"`
	// System, if set, is sent as the system message of every case that
	// does not bring its own messages.
	System string `yaml:"system" json:"system,omitempty"`
	// Prompt is the user message template for cases that have neither
	// messages nor a prompt of their own: "{{name}}" is replaced by the
	// case's variable name.
	Prompt string `yaml:"prompt" json:"prompt,omitempty"`
	// Params are request parameters for every model (temperature,
	// max_tokens, tools, response_format, ...), under each model's own.
	Params map[string]any `yaml:"params" json:"params,omitempty"`

	Incumbent   Model   `yaml:"incumbent" json:"incumbent"`
	Challengers []Model `yaml:"challengers" json:"challengers"`
	// Scorers apply to every case, before the case's own.
	Scorers []ScorerSpec `yaml:"scorers" json:"scorers"`
	// Judge is the model behind the judge and pairwise scorers.
	Judge *Model `yaml:"judge" json:"judge,omitempty"`

	// Concurrency bounds the requests in flight per provider (default 4);
	// ProviderConcurrency overrides it for the providers it names.
	Concurrency         int            `yaml:"concurrency" json:"concurrency"`
	ProviderConcurrency map[string]int `yaml:"provider_concurrency" json:"provider_concurrency,omitempty"`
	// Retries is how often a failed call is tried again on a retryable
	// error, on top of the route's own retries (default 2; 0 for none).
	Retries *int `yaml:"retries" json:"retries"`
	// Timeout bounds one call, retries included (default 2m).
	Timeout Duration `yaml:"timeout" json:"timeout"`

	Verdict VerdictRule `yaml:"verdict" json:"verdict"`

	// dir is the suite file's directory, against which Dataset resolves.
	dir string
}

// Model is a model under evaluation: a provider/model name or a route
// alias of the config, with its own request parameters. In YAML it is
// either that name alone or a mapping.
type Model struct {
	Model  string         `yaml:"model" json:"model"`
	Params map[string]any `yaml:"params" json:"params,omitempty"`
	// Label names the model in reports when the same model is evaluated
	// twice with different parameters; it defaults to Model.
	Label string `yaml:"label" json:"label,omitempty"`
}

// Name is how reports and results name the model.
func (m Model) Name() string {
	if m.Label != "" {
		return m.Label
	}
	return m.Model
}

// UnmarshalYAML accepts "provider/model" as well as a mapping.
func (m *Model) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		m.Model = n.Value
		return nil
	}
	type plain Model
	return n.Decode((*plain)(m))
}

// VerdictRule is the non-inferiority rule that decides each challenger's
// verdict; see Analyze.
type VerdictRule struct {
	// Margin is the largest drop in pass rate still called non-inferior
	// (default 0.05).
	Margin float64 `yaml:"margin" json:"margin"`
	// Confidence is the two-sided level of every interval (default 0.95):
	// the lower end of a 95% two-sided interval is a 97.5% one-sided bound.
	Confidence float64 `yaml:"confidence" json:"confidence"`
	// MinCases is the fewest paired cases a verdict needs (default 20).
	MinCases int `yaml:"min_cases" json:"min_cases"`
	// MaxIntervalWidth: a difference interval wider than this is NOT
	// ENOUGH DATA however many cases there are (default 0.5).
	MaxIntervalWidth float64 `yaml:"max_interval_width" json:"max_interval_width"`
	// MinSegmentCases is the fewest paired cases a segment (tag) needs to
	// be named in a SPLIT verdict (default 10).
	MinSegmentCases int `yaml:"min_segment_cases" json:"min_segment_cases"`
	// Bootstrap is the number of resamples for difference intervals
	// (default 10000), drawn from a generator seeded with Seed (default 1).
	Bootstrap int    `yaml:"bootstrap" json:"bootstrap"`
	Seed      uint64 `yaml:"seed" json:"seed"`

	Guardrails Guardrails `yaml:"guardrails" json:"guardrails"`
}

// Guardrails must all hold for a challenger to replace the incumbent. A
// guardrail whose inputs are unknown (no prices) is reported as unchecked
// and does not block.
type Guardrails struct {
	// MaxErrorRate is the challenger's highest acceptable share of failed
	// calls (default 0.05).
	MaxErrorRate float64 `yaml:"max_error_rate" json:"max_error_rate"`
	// MaxP95LatencyRatio bounds challenger p95 / incumbent p95 (default 1.5).
	MaxP95LatencyRatio float64 `yaml:"max_p95_latency_ratio" json:"max_p95_latency_ratio"`
	// MaxCostRatio bounds challenger cost / incumbent cost (default 1.2).
	MaxCostRatio float64 `yaml:"max_cost_ratio" json:"max_cost_ratio"`
}

// Duration is a time.Duration written as "30s" in YAML and JSON.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// LoadSuite reads a suite file, sets its defaults and validates it.
func LoadSuite(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	var s Suite
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.dir = filepath.Dir(path)
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	s.SetDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// SetDefaults fills in every unset setting.
func (s *Suite) SetDefaults() {
	if s.Concurrency <= 0 {
		s.Concurrency = 4
	}
	if s.Retries == nil {
		s.Retries = new(int)
		*s.Retries = 2
	}
	if s.Timeout <= 0 {
		s.Timeout = Duration(2 * time.Minute)
	}
	v := &s.Verdict
	setF := func(p *float64, d float64) {
		if *p <= 0 {
			*p = d
		}
	}
	setF(&v.Margin, 0.05)
	setF(&v.Confidence, 0.95)
	setF(&v.MaxIntervalWidth, 0.5)
	setF(&v.Guardrails.MaxErrorRate, 0.05)
	setF(&v.Guardrails.MaxP95LatencyRatio, 1.5)
	setF(&v.Guardrails.MaxCostRatio, 1.2)
	if v.MinCases <= 0 {
		v.MinCases = 20
	}
	if v.MinSegmentCases <= 0 {
		v.MinSegmentCases = 10
	}
	if v.Bootstrap <= 0 {
		v.Bootstrap = 10000
	}
	if v.Seed == 0 {
		v.Seed = 1
	}
}

// Validate reports every problem of the suite at once.
func (s *Suite) Validate() error {
	var errs []error
	if s.Dataset == "" {
		errs = append(errs, errors.New("dataset: required"))
	}
	if s.Incumbent.Model == "" {
		errs = append(errs, errors.New("incumbent: required"))
	}
	if len(s.Challengers) == 0 {
		errs = append(errs, errors.New("challengers: at least one is required"))
	}
	seen := map[string]bool{}
	for i, m := range s.Models() {
		if m.Model == "" {
			errs = append(errs, fmt.Errorf("challengers[%d]: model is required", i-1))
			continue
		}
		if seen[m.Name()] {
			errs = append(errs, fmt.Errorf("model %q appears twice: give one a label", m.Name()))
		}
		seen[m.Name()] = true
	}
	needJudge := false
	for i, sc := range s.Scorers {
		if err := sc.validate(); err != nil {
			errs = append(errs, fmt.Errorf("scorers[%d]: %w", i, err))
		}
		needJudge = needJudge || sc.Type == "judge" || sc.Type == "pairwise"
	}
	if needJudge && (s.Judge == nil || s.Judge.Model == "") {
		errs = append(errs, errors.New("judge: a judge or pairwise scorer needs a judge model"))
	}
	for p, n := range s.ProviderConcurrency {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("provider_concurrency.%s: must be positive", p))
		}
	}
	if *s.Retries < 0 {
		errs = append(errs, errors.New("retries: must not be negative"))
	}
	if s.Verdict.Confidence >= 1 {
		errs = append(errs, errors.New("verdict.confidence: must be below 1"))
	}
	return errors.Join(errs...)
}

// Models returns the incumbent, then the challengers.
func (s *Suite) Models() []Model { return append([]Model{s.Incumbent}, s.Challengers...) }

// DatasetPath is the dataset's path, resolved against the suite file.
func (s *Suite) DatasetPath() string {
	if filepath.IsAbs(s.Dataset) || s.dir == "" {
		return s.Dataset
	}
	return filepath.Join(s.dir, s.Dataset)
}
