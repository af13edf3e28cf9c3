package responseswire

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// OriginOpenAI is the llm.Part.Origin of reasoning made by OpenAI itself:
// the encrypted_content of a reasoning item that does not carry the
// gateway's envelope. The blob is kept byte for byte in llm.Part.Signature.
const OriginOpenAI = "openai"

// EnvelopePrefix starts the encrypted_content of reasoning items that carry
// another vendor's opaque state (docs/responses.md, "Reasoning replay").
// The version digit lets a later gateway change the format and still read
// what older ones handed out.
const EnvelopePrefix = "swy1:"

// envelope is the opaque state of one canonical part, as it travels through
// a client that speaks the Responses API.
type envelope struct {
	Origin    string `json:"origin"`
	Signature string `json:"signature,omitempty"`
	Redacted  string `json:"redacted,omitempty"`
	// CallID names the function_call whose Gemini signature this is.
	CallID string `json:"call_id,omitempty"`
	// Text says the signature belongs to the text part just before the
	// reasoning item (the last output_text of the preceding message).
	Text bool `json:"text,omitempty"`
}

// seal renders an envelope as encrypted_content.
func (e envelope) seal() string {
	b, _ := json.Marshal(e)
	return EnvelopePrefix + base64.RawURLEncoding.EncodeToString(b)
}

// openEnvelope decodes encrypted_content. ok is false when s does not carry
// the prefix (OpenAI's own blob); err is set when it does but is damaged.
func openEnvelope(s string) (e envelope, ok bool, err error) {
	rest, ok := strings.CutPrefix(s, EnvelopePrefix)
	if !ok {
		return e, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return e, true, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, true, err
	}
	return e, true, nil
}
