// Package capability is a table of what known models accept: tools,
// images, JSON Schema output, reasoning, their token limits, and the
// request parameters their vendor refuses. Adapters consult it so that a
// parameter goes only to a model that takes it; the rest is dropped or
// rewritten and named to the client (docs/capabilities.md).
//
// The table records only what a vendor documents or a recorded transcript
// shows, and each entry names its source. A fact not found is left
// unknown, and an unknown model has no entry at all: callers then send the
// request as the client wrote it. The table never causes a refusal.
package capability

import "strings"

// Support is a recorded yes or no, or Unknown when no source says.
type Support uint8

const (
	Unknown Support = iota
	Yes
	No
)

func (s Support) String() string {
	switch s {
	case Yes:
		return "yes"
	case No:
		return "no"
	}
	return "unknown"
}

// Model is what the table records about one model or model family. Zero
// values mean unknown: Unknown for a Support, 0 for a token count.
type Model struct {
	// Pattern is the table rule that matched: an exact model name, or a
	// prefix ending in "*" (e.g. "claude-sonnet-4-5*", which also matches
	// the dated snapshot names).
	Pattern string
	// Vendor is the family that makes the model: "openai", "anthropic",
	// "gemini", "deepseek", "xai" or "mistral".
	Vendor string

	Tools      Support // function calling
	Vision     Support // image input
	JSONSchema Support // structured output with a JSON Schema
	Reasoning  Support // the model thinks before it answers
	// ReasoningEffort says whether the model takes an effort level
	// (OpenAI's reasoning_effort). A model with Reasoning No takes none
	// either, whatever this says.
	ReasoningEffort Support

	// ContextWindow is the most input (and, where the vendor counts it
	// so, output) tokens a request may use.
	ContextWindow int
	// MaxOutputTokens is the largest output bound the vendor accepts.
	MaxOutputTokens int

	// RejectsMaxTokens: the vendor answers 400 to max_tokens for this
	// model and wants max_completion_tokens instead.
	RejectsMaxTokens bool
	// RejectsSampling: the vendor answers 400 to temperature and top_p
	// (other than their defaults) for this model.
	RejectsSampling bool

	// Source is where the entry's facts come from: the URL of the
	// vendor's model or documentation page, or "recorded transcript"
	// followed by the file name.
	Source string
}

// TakesReasoningEffort reports whether a reasoning effort may be sent:
// false only when the table says the model has no reasoning or takes no
// effort level.
func (m Model) TakesReasoningEffort() bool {
	return m.Reasoning != No && m.ReasoningEffort != No
}

// TakesReasoning reports whether reasoning settings of any kind (an
// effort, a budget, a thinking configuration) may be sent: false only when
// the table says the model has no reasoning.
func (m Model) TakesReasoning() bool { return m.Reasoning != No }

// ClampOutput returns n bounded by MaxOutputTokens, and whether it had to
// be lowered. An unknown limit, or n <= 0 (no bound asked), leaves n as
// it is.
func (m Model) ClampOutput(n int) (int, bool) {
	if m.MaxOutputTokens > 0 && n > m.MaxOutputTokens {
		return m.MaxOutputTokens, true
	}
	return n, false
}

// Lookup returns the entry for model, the name the vendor is sent (e.g.
// "gpt-4o-mini", not the gateway's "openai/gpt-4o-mini"). Gemini's
// resource form "models/gemini-2.5-pro" is accepted too. An exact name
// beats a prefix, and a longer prefix beats a shorter one. ok is false
// for a model the table does not know.
func Lookup(model string) (m Model, ok bool) {
	model = strings.TrimPrefix(model, "models/")
	best := -1
	for i, e := range table {
		p, prefix := strings.CutSuffix(e.Pattern, "*")
		switch {
		case !prefix && model == p:
			return e, true
		case prefix && strings.HasPrefix(model, p):
			if best < 0 || len(p) > len(strings.TrimSuffix(table[best].Pattern, "*")) {
				best = i
			}
		}
	}
	if best < 0 {
		return Model{}, false
	}
	return table[best], true
}

// All returns a copy of the table, in its order, for documentation and
// tests.
func All() []Model { return append([]Model(nil), table...) }
