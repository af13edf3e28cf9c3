package anthropicwire

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// A tool call another vendor signed (Gemini's thoughtSignature, which
// Gemini 3 requires back on the call) has no field in an Anthropic
// tool_use block. So that an Anthropic client carries it into its next
// request, the response encoders put a thinking block before the tool_use,
// with empty thinking text and the signature sealed in an envelope:
//
//	EnvelopePrefix + base64url(JSON {"origin", "call_id", "signature"})
//
// The client replays the block untouched, as it must replay any thinking
// block; DecodeRequest opens the envelope and restores the signature on
// the call whose id it names, and the block itself becomes no part. The
// prefix cannot begin an Anthropic signature (which is base64), so an
// envelope is never mistaken for one, nor sent to Anthropic
// (docs/dialects.md).

// EnvelopePrefix begins the signature of a thinking block that carries
// another vendor's tool-call signature.
const EnvelopePrefix = "swy1:"

type envelope struct {
	Origin    string `json:"origin"`
	CallID    string `json:"call_id"`
	Signature string `json:"signature"`
}

// needsEnvelope reports whether a tool call carries a signature that only
// an envelope can take through this dialect.
func needsEnvelope(tc *llm.ToolCall) bool {
	return tc != nil && tc.Signature != "" && tc.Origin != "" && tc.Origin != Origin
}

// sealEnvelope returns the thinking-block signature carrying sig.
func sealEnvelope(origin, callID, sig string) string {
	b, _ := json.Marshal(envelope{Origin: origin, CallID: callID, Signature: sig}) // strings only
	return EnvelopePrefix + base64.RawURLEncoding.EncodeToString(b)
}

// openEnvelope reads a thinking-block signature made by sealEnvelope. ok
// is false when s is not one, or is damaged.
func openEnvelope(s string) (envelope, bool) {
	rest, found := strings.CutPrefix(s, EnvelopePrefix)
	if !found {
		return envelope{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	var e envelope
	if err != nil || json.Unmarshal(raw, &e) != nil || e.Origin == "" || e.CallID == "" || e.Signature == "" {
		return envelope{}, false
	}
	return e, true
}

// envelopeBlock is the thinking block that goes before a tool_use block
// whose call needsEnvelope; id is the tool_use id the client sees.
func envelopeBlock(tc *llm.ToolCall, id string) outContent {
	return outContent{Type: "thinking", Thinking: ptr(""), Signature: ptr(sealEnvelope(tc.Origin, id, tc.Signature))}
}

// openEnvelopes moves the signatures sealed in an assistant message's
// envelope blocks onto the calls they name, and removes those blocks. A
// damaged envelope stays an unsigned thinking block, which no vendor is
// sent; one whose call is not in the message is dropped.
func openEnvelopes(parts []llm.Part) []llm.Part {
	out := parts[:0]
	for _, p := range parts {
		if p.Type != llm.PartReasoning || !strings.HasPrefix(p.Signature, EnvelopePrefix) {
			out = append(out, p)
			continue
		}
		e, ok := openEnvelope(p.Signature)
		if !ok {
			p.Signature, p.Origin = "", ""
			out = append(out, p)
			continue
		}
		for _, q := range parts {
			if q.Type == llm.PartToolCall && q.ToolCall != nil && q.ToolCall.ID == e.CallID {
				q.ToolCall.Signature, q.ToolCall.Origin = e.Signature, e.Origin
			}
		}
	}
	return out
}
