// Package xai is the adapter for xAI's Grok API.
package xai

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/openaicompat"
)

func init() { provider.Register("xai", New) }

// New returns an xAI adapter.
func New(cfg config.Provider, opts provider.Options) (provider.Provider, error) {
	return openaicompat.New(cfg, opts, openaicompat.Quirks{
		BaseURL: "https://api.x.ai/v1",
		PrepareChat: func(model string, body *jsonobj.Object) (openaicompat.Notes, error) {
			var n openaicompat.Notes
			n.Drop(body, "metadata") // OpenAI's stored-completions field; the gateway logs it
			return n, nil
		},
		Usage:        Usage,
		ParseError:   ParseError,
		NoEmbeddings: true,
		Chunk: &openaicompat.ChunkQuirk{
			Match: func(data []byte) bool {
				return bytes.Contains(data, []byte(`"reasoning_tokens"`))
			},
			New: func() func(map[string]any) bool {
				return func(c map[string]any) bool { fixUsage(c); return true }
			},
			Message: fixUsage,
		},
	})
}

// Usage converts xAI's usage: its completion_tokens exclude reasoning tokens
// (recorded: prompt 307 + completion 26 + reasoning 227 = total 560), unlike
// OpenAI's.
func Usage(u *openaiwire.Usage) llm.Usage {
	c := u.Canonical()
	c.OutputTokens += c.ReasoningTokens
	return c
}

// fixUsage rewrites the usage the client sees to OpenAI's semantics, so that
// clients computing cost from completion_tokens count reasoning too.
func fixUsage(c map[string]any) {
	u, _ := c["usage"].(map[string]any)
	if u == nil {
		return
	}
	d, _ := u["completion_tokens_details"].(map[string]any)
	if d == nil {
		return
	}
	ct, ok1 := u["completion_tokens"].(json.Number)
	rt, ok2 := d["reasoning_tokens"].(json.Number)
	if !ok1 || !ok2 {
		return
	}
	c1, err1 := ct.Int64()
	r1, err2 := rt.Int64()
	if err1 == nil && err2 == nil {
		u["completion_tokens"] = json.Number(strconv.FormatInt(c1+r1, 10))
	}
}

// ParseError reads xAI's error body, {"code": "...", "error": "..."}.
func ParseError(body []byte) *llm.Error {
	var e struct {
		Code  string `json:"code"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return nil
	}
	return &llm.Error{Message: e.Error, Code: e.Code}
}
