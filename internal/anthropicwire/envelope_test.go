package anthropicwire

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// An envelope replayed by the client restores the signature on its call;
// neither it nor a damaged one is ever sent to Anthropic.
func TestEnvelopeReplay(t *testing.T) {
	good := sealEnvelope("gemini", "call_1", "c2ln")
	for _, tt := range []struct {
		sig            string
		wantSig, wantO string
		parts          int
	}{
		{good, "c2ln", "gemini", 2},                       // the block becomes no part
		{EnvelopePrefix + "%%%", "", "", 3},               // damaged: an unsigned thinking block
		{sealEnvelope("gemini", "other", "x"), "", "", 2}, // names no call here: dropped
	} {
		body := fmt.Sprintf(`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"},
			{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"thinking","thinking":"","signature":%q},{"type":"tool_use","id":"call_1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"r"}]}]}`, tt.sig)
		r, err := DecodeRequest([]byte(body), nil)
		if err != nil {
			t.Fatal(err)
		}
		parts := r.Messages[1].Parts
		tc := parts[len(parts)-1].ToolCall
		if len(parts) != tt.parts || tc.Signature != tt.wantSig || tc.Origin != tt.wantO {
			t.Errorf("%.20s: parts %+v call %+v", tt.sig, parts, tc)
		}
		out, _, err := EncodeRequest(r, "claude-sonnet-4-5")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(out, []byte(EnvelopePrefix)) || bytes.Contains(out, []byte(`"thinking"`)) {
			t.Errorf("sent to Anthropic: %s", out)
		}
	}
}

func TestEnvelopeResponse(t *testing.T) {
	resp := &llm.Response{Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: "f", Arguments: "{}", Signature: "s", Origin: "gemini"}}}}
	want := `"content":[{"type":"thinking","thinking":"","signature":"` + sealEnvelope("gemini", "c", "s") + `"},{"type":"tool_use","id":"c","name":"f","input":{}}]`
	if got := EncodeResponse(resp); !bytes.Contains(got, []byte(want)) {
		t.Errorf("got %s", got)
	}
	// Anthropic's own calls carry no signature, and unsigned calls need none.
	resp.Parts[0].ToolCall.Signature = ""
	if got := EncodeResponse(resp); bytes.Contains(got, []byte(`"thinking"`)) {
		t.Errorf("unsigned call got an envelope: %s", got)
	}
}

func FuzzOpenEnvelope(f *testing.F) {
	f.Add(sealEnvelope("gemini", "call_1", "c2ln"))
	f.Add(EnvelopePrefix + "e30")
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := openEnvelope(s)
		if !ok {
			return
		}
		if e2, ok := openEnvelope(sealEnvelope(e.Origin, e.CallID, e.Signature)); !ok || e2 != e {
			t.Fatalf("%q: round trip %+v != %+v", s, e2, e)
		}
	})
}
