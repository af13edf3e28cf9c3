package openaicompat

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/switchyard-ai/switchyard/internal/capability"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
)

// ApplyCapabilities edits a chat request body for model so that it carries
// only parameters the model takes, by the capability table
// (docs/capabilities.md): reasoning_effort is dropped for a model that
// takes none; temperature and top_p for a model that refuses them;
// max_tokens becomes max_completion_tokens for a model that refuses the
// old name; and an output bound above the model's limit is lowered to it.
// Every change is recorded in n. A model the table does not know is left
// alone.
//
// Adapter.Chat applies it before the vendor's PrepareChat, so it covers
// both a client's own OpenAI request and a canonical request encoded by
// Generate.
func ApplyCapabilities(model string, body *jsonobj.Object, n *Notes) {
	m, ok := capability.Lookup(model)
	if !ok {
		return
	}
	if !m.TakesReasoningEffort() {
		n.dropSet(body, "reasoning_effort")
	}
	if m.RejectsSampling {
		n.dropSet(body, "temperature", "top_p")
	}
	if m.RejectsMaxTokens && !body.Has("max_completion_tokens") {
		n.Rename(body, "max_tokens", "max_completion_tokens")
	}
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		v, err := strconv.Atoi(string(bytes.TrimSpace(body.Get(k))))
		if err != nil {
			continue // absent, null, or not an integer: the vendor judges it
		}
		if c, lowered := m.ClampOutput(v); lowered {
			body.Set(k, json.RawMessage(strconv.Itoa(c)))
			n.Rewritten = append(n.Rewritten, k)
		}
	}
}

// dropSet is Drop for parameters the client set: an explicit null asks for
// the vendor's default, which is what dropping gives, so it is taken out
// without a note.
func (n *Notes) dropSet(body *jsonobj.Object, keys ...string) {
	for _, k := range keys {
		if string(bytes.TrimSpace(body.Get(k))) == "null" {
			body.Delete(k)
			continue
		}
		n.Drop(body, k)
	}
}
