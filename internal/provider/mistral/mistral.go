// Package mistral is the adapter for Mistral's API (La Plateforme).
//
// Mistral departs from OpenAI's wire format in ways seen in its recorded
// streams: tool calls carry no index and arrive whole, delta.content is an
// array of typed parts for Magistral's reasoning, usage always comes on the
// last chunk (and stream_options is not accepted), and tool-call ids must be
// exactly nine letters or digits.
package mistral

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/openaicompat"
)

func init() { provider.Register("mistral", New) }

// New returns a Mistral adapter.
func New(cfg config.Provider, opts provider.Options) (provider.Provider, error) {
	return openaicompat.New(cfg, opts, openaicompat.Quirks{
		BaseURL:         "https://api.mistral.ai/v1",
		NoStreamOptions: true,
		PrepareChat:     PrepareChat,
		ParseError:      ParseError,
		Chunk: &openaicompat.ChunkQuirk{
			Match: func(data []byte) bool {
				return bytes.Contains(data, []byte(`"content":[`)) || bytes.Contains(data, []byte(`"tool_calls":[`))
			},
			New:     newChunkFixer,
			Message: fixMessage,
		},
	})
}

// PrepareChat renames and drops what Mistral's strict request schema
// rejects (it answers 422 to unknown fields), and rewrites tool-call ids
// from other vendors into the form Mistral accepts.
func PrepareChat(model string, body *jsonobj.Object) (openaicompat.Notes, error) {
	var n openaicompat.Notes
	if !body.Has("max_tokens") {
		n.Rename(body, "max_completion_tokens", "max_tokens")
	}
	n.Rename(body, "seed", "random_seed")
	n.Drop(body, "metadata", "user", "store")
	msgs := body.Get("messages")
	if bytes.Contains(msgs, []byte(`"tool_call`)) {
		fixed, changed, err := fixToolCallIDs(msgs)
		if err != nil {
			return n, &llm.Error{Kind: llm.KindInvalidRequest, Param: "messages", Message: "messages must be an array of message objects", Class: "bad_request"}
		}
		if changed {
			body.Set("messages", fixed)
			n.Rewritten = append(n.Rewritten, "tool_call_id")
		}
	}
	return n, nil
}

var validID = regexp.MustCompile(`^[a-zA-Z0-9]{9}$`)

// ToolCallID maps any tool-call id to one Mistral accepts: nine letters or
// digits. The mapping is a hash, so the same id maps the same way on every
// turn of a conversation with no state kept (langchain PR #24668 shows the
// 400 Mistral gives otherwise).
func ToolCallID(id string) string {
	if validID.MatchString(id) {
		return id
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte(id))
	var b strings.Builder
	for _, c := range sum[:9] {
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
}

func fixToolCallIDs(raw []byte) ([]byte, bool, error) {
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, false, err
	}
	changed := false
	for _, m := range msgs {
		var id string
		if json.Unmarshal(m["tool_call_id"], &id) == nil && id != "" && ToolCallID(id) != id {
			m["tool_call_id"], _ = json.Marshal(ToolCallID(id))
			changed = true
		}
		var calls []map[string]json.RawMessage
		if json.Unmarshal(m["tool_calls"], &calls) != nil {
			continue
		}
		callsChanged := false
		for _, c := range calls {
			if json.Unmarshal(c["id"], &id) == nil && ToolCallID(id) != id {
				c["id"], _ = json.Marshal(ToolCallID(id))
				callsChanged = true
			}
		}
		if callsChanged {
			m["tool_calls"], _ = json.Marshal(calls)
			changed = true
		}
	}
	if !changed {
		return raw, false, nil
	}
	out, err := json.Marshal(msgs)
	return out, true, err
}

// newChunkFixer returns per-stream state: Mistral's tool calls carry no
// index, and OpenAI clients assemble calls by index, so calls are numbered
// in the order they arrive, per choice.
func newChunkFixer() func(map[string]any) bool {
	next := map[any]int{}
	return func(c map[string]any) bool {
		list, _ := c["choices"].([]any)
		for _, v := range list {
			ch, _ := v.(map[string]any)
			delta, _ := ch["delta"].(map[string]any)
			if delta == nil {
				continue
			}
			fixContent(delta)
			calls, _ := delta["tool_calls"].([]any)
			for _, cv := range calls {
				call, _ := cv.(map[string]any)
				if call == nil {
					continue
				}
				if _, ok := call["index"]; !ok {
					key := ch["index"]
					if s, ok := key.(json.Number); ok {
						key = s.String()
					}
					call["index"] = next[key]
					next[key]++
				}
				if _, ok := call["type"]; !ok {
					call["type"] = "function"
				}
			}
		}
		return true
	}
}

func fixMessage(resp map[string]any) {
	list, _ := resp["choices"].([]any)
	for _, v := range list {
		ch, _ := v.(map[string]any)
		if msg, _ := ch["message"].(map[string]any); msg != nil {
			fixContent(msg)
		}
	}
}

// fixContent flattens Magistral's typed content parts: text parts become
// the content string, thinking parts become reasoning_content.
func fixContent(m map[string]any) {
	parts, ok := m["content"].([]any)
	if !ok {
		return
	}
	var text, reasoning strings.Builder
	for _, p := range parts {
		part, _ := p.(map[string]any)
		switch part["type"] {
		case "text":
			s, _ := part["text"].(string)
			text.WriteString(s)
		case "thinking":
			inner, _ := part["thinking"].([]any)
			for _, ip := range inner {
				if t, _ := ip.(map[string]any); t != nil {
					s, _ := t["text"].(string)
					reasoning.WriteString(s)
				}
			}
		}
	}
	m["content"] = text.String()
	if reasoning.Len() > 0 {
		prev, _ := m["reasoning_content"].(string)
		m["reasoning_content"] = prev + reasoning.String()
	}
}

// ParseError reads Mistral's error body, {"object":"error","message":...}.
// The message may itself be an object (422 validation details).
func ParseError(body []byte) *llm.Error {
	var e struct {
		Object  string          `json:"object"`
		Message json.RawMessage `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &e) != nil || e.Object != "error" {
		return nil
	}
	msg := string(e.Message)
	var s string
	if json.Unmarshal(e.Message, &s) == nil {
		msg = s
	}
	return &llm.Error{Message: msg, Type: e.Type}
}
