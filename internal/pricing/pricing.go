// Package pricing knows what models cost and computes the cost of a
// request from its normalised usage.
//
// Prices ship in an embedded file, prices.json, one entry per provider type
// and model pattern with the date it was checked and the page it came
// from; a config's pricing section overrides or adds entries. Amounts are
// dollars per million tokens as decimal strings, held as integer
// micro-dollars per million tokens, so that costs are exact integers of
// micro-dollars with one rounding per request.
package pricing

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"path"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

//go:embed prices.json
var embedded []byte

// Entry is one line of a price list: a model (or a path.Match pattern of
// models) of one provider type or provider name, with its prices in
// dollars per million tokens.
type Entry struct {
	Provider string `json:"provider" yaml:"provider"` // provider type (openai, anthropic, ...) or a configured provider's name
	Model    string `json:"model" yaml:"model"`       // model name or pattern ("gpt-4o-2024-*")
	Input    string `json:"input" yaml:"input"`       // uncached input
	Output   string `json:"output" yaml:"output"`     // output, reasoning included unless Reasoning is set
	// CachedInput is the price of input read from a prompt cache; default Input.
	CachedInput string `json:"cached_input,omitempty" yaml:"cached_input"`
	// CacheWrite is the price of input written to a prompt cache; default Input.
	CacheWrite string `json:"cache_write,omitempty" yaml:"cache_write"`
	// Reasoning is the price of reasoning tokens where a vendor prices them
	// apart from other output; default Output.
	Reasoning string `json:"reasoning,omitempty" yaml:"reasoning"`
	Date      string `json:"date,omitempty" yaml:"date"`     // when the price was checked (YYYY-MM-DD)
	Source    string `json:"source,omitempty" yaml:"source"` // the vendor's pricing page
}

// Price is a resolved entry: micro-dollars per million tokens.
type Price struct {
	Input, Output, CachedInput, CacheWrite, Reasoning int64
	Entry                                             Entry
}

// Table looks up prices. The zero Table knows no model.
type Table struct {
	entries []resolved // overrides first, then the embedded list
}

type resolved struct {
	provider, model string
	pattern         bool
	price           Price
}

// Default returns the embedded price list with overrides (from the
// config) taking precedence.
func Default(overrides []Entry) (*Table, error) {
	base, err := Parse(embedded)
	if err != nil {
		return nil, fmt.Errorf("pricing: embedded prices.json: %w", err)
	}
	var t Table
	for i, e := range overrides {
		r, err := resolve(e)
		if err != nil {
			return nil, fmt.Errorf("pricing: override %d (%s/%s): %w", i, e.Provider, e.Model, err)
		}
		t.entries = append(t.entries, r)
	}
	for _, e := range base {
		r, _ := resolve(e) // Parse checked it
		t.entries = append(t.entries, r)
	}
	return &t, nil
}

// Parse decodes and checks a price file: a JSON array of entries.
func Parse(data []byte) ([]Entry, error) {
	var es []Entry
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&es); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the price list")
	}
	for i, e := range es {
		if _, err := resolve(e); err != nil {
			return nil, fmt.Errorf("entry %d (%s/%s): %w", i, e.Provider, e.Model, err)
		}
	}
	return es, nil
}

// Check reports what is wrong with an entry, for config validation.
func Check(e Entry) error {
	_, err := resolve(e)
	return err
}

func resolve(e Entry) (resolved, error) {
	if e.Provider == "" || e.Model == "" {
		return resolved{}, errors.New("provider and model are required")
	}
	if _, err := path.Match(e.Model, ""); err != nil {
		return resolved{}, fmt.Errorf("bad model pattern %q", e.Model)
	}
	p := Price{Entry: e}
	var err error
	amount := func(name, s string, dflt int64) int64 {
		if err != nil {
			return 0
		}
		if s == "" {
			if dflt < 0 {
				err = fmt.Errorf("%s is required", name)
			}
			return dflt
		}
		var v int64
		if v, err = ParseUSD(s); err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return v
	}
	p.Input = amount("input", e.Input, -1)
	p.Output = amount("output", e.Output, -1)
	p.CachedInput = amount("cached_input", e.CachedInput, p.Input)
	p.CacheWrite = amount("cache_write", e.CacheWrite, p.Input)
	p.Reasoning = amount("reasoning", e.Reasoning, p.Output)
	if err != nil {
		return resolved{}, err
	}
	return resolved{provider: e.Provider, model: e.Model, pattern: strings.ContainsAny(e.Model, `*?[\`), price: p}, nil
}

// Lookup returns the price of model at a provider named name of type typ.
// An entry for the provider's name beats one for its type (an Azure
// deployment named after its use, a self-hosted model); overrides beat the
// embedded list; an exact model beats a pattern, and a longer pattern a
// shorter one.
func (t *Table) Lookup(name, typ, model string) (Price, bool) {
	if t == nil {
		return Price{}, false
	}
	best, bestRank := -1, -1
	for i, r := range t.entries {
		var rank int
		switch r.provider {
		case name:
			rank = 4
		case typ:
			rank = 0
		default:
			continue
		}
		if r.pattern {
			if ok, _ := path.Match(r.model, model); !ok {
				continue
			}
		} else if r.model != model {
			continue
		} else {
			rank += 2
		}
		// Earlier entries (overrides) win ties; a longer pattern is more
		// specific.
		if rank > bestRank || rank == bestRank && r.pattern && len(r.model) > len(t.entries[best].model) {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return Price{}, false
	}
	return t.entries[best].price, true
}

// Entries returns the table's entries in the order Lookup prefers them on
// a tie: overrides first, then the embedded list.
func (t *Table) Entries() []Entry {
	out := make([]Entry, 0, len(t.entries))
	for _, r := range t.entries {
		out = append(out, r.price.Entry)
	}
	return out
}

// Cost is what usage costs at price p, in micro-dollars, rounded half up
// once. Usage is normalised (llm.Usage): InputTokens includes cached and
// cache-write tokens, OutputTokens includes reasoning tokens, so the parts
// priced apart are subtracted from the totals, never added to them.
// Inconsistent counts (a part larger than its total) are clamped rather
// than producing a negative cost.
func (p Price) Cost(u llm.Usage) int64 {
	in := max(u.InputTokens, 0)
	cached := min(max(u.CachedInputTokens, 0), in)
	write := min(max(u.CacheWriteTokens, 0), in-cached)
	out := max(u.OutputTokens, 0)
	reasoning := min(max(u.ReasoningTokens, 0), out)
	// Tokens × micro-dollars per million tokens is in units of 1e-12
	// dollars and can pass 2^63 for absurd inputs: sum in 128 bits.
	var hi, lo uint64
	add := func(tokens, price int64) {
		h, l := bits.Mul64(uint64(tokens), uint64(price))
		var c uint64
		lo, c = bits.Add64(lo, l, 0)
		hi += h + c
	}
	add(in-cached-write, p.Input)
	add(cached, p.CachedInput)
	add(write, p.CacheWrite)
	add(out-reasoning, p.Output)
	add(reasoning, p.Reasoning)
	var c uint64
	lo, c = bits.Add64(lo, 500_000, 0)
	hi += c
	if hi >= 1_000_000 {
		return 1<<63 - 1 // cannot happen with real counts; saturate rather than wrap
	}
	q, _ := bits.Div64(hi, lo, 1_000_000)
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}
