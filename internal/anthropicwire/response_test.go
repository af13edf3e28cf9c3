package anthropicwire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

// TestDecodeResponseTranscripts decodes the recorded messages, encodes them
// back, whole and as a stream, and checks the decoder recovers the same
// message.
func TestDecodeResponseTranscripts(t *testing.T) {
	for _, name := range []string{"anthropic-message-thinking.json", "anthropic-message-tool-use.json"} {
		t.Run(name, func(t *testing.T) {
			resp, err := DecodeResponse(transcript(t, name))
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(name, ".json")
			providertest.Golden(t, base+".response.golden", indent(t, resp))

			out := EncodeResponse(resp)
			providertest.Golden(t, base+".reencoded.golden", append(out, '\n'))
			again, err := DecodeResponse(out)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, resp) {
				t.Errorf("round trip changed the response:\n got %+v\nwant %+v", again, resp)
			}
			// Replayed as events, it streams as the same message.
			sse, _, err := encodeAll(t, resp.Events())
			if err != nil {
				t.Fatal(err)
			}
			if _, streamed, err := decodeBytes(t, sse); err != nil || !reflect.DeepEqual(streamed, resp) {
				t.Errorf("streamed: %v\n got %+v\nwant %+v", err, streamed, resp)
			}
		})
	}
}

func TestDecodeResponseThinkingByteExact(t *testing.T) {
	raw := transcript(t, "anthropic-message-thinking.json")
	var w struct {
		Content []struct{ Thinking, Signature string }
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	resp, err := DecodeResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Parts[0]
	if p.Text != w.Content[0].Thinking || p.Signature != w.Content[0].Signature || p.Origin != Origin || p.Signature == "" {
		t.Errorf("thinking part %+v", p)
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	for _, body := range []string{`{`, `[]`, `{"type":"completion"}`} {
		if _, err := DecodeResponse([]byte(body)); llm.AsError(err).Class != "upstream_malformed" {
			t.Errorf("%s: err = %v", body, err)
		}
	}
	_, err := DecodeResponse([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	if e := llm.AsError(err); e.Kind != llm.KindOverloaded || e.Status != 529 {
		t.Errorf("error body: %+v", e)
	}
}

// TestErrorRendering checks the Anthropic-dialect error body, event and
// status for each kind (docs/protocols.md#anthropic-errors, #map-errors).
func TestErrorRendering(t *testing.T) {
	for _, tc := range []struct {
		e      llm.Error
		typ    string
		status int
	}{
		{llm.Error{Kind: llm.KindInvalidRequest}, "invalid_request_error", 400},
		{llm.Error{Kind: llm.KindAuthentication}, "authentication_error", 401},
		{llm.Error{Kind: llm.KindPermission}, "permission_error", 403},
		{llm.Error{Kind: llm.KindPermission, Status: 402, Type: "billing_error"}, "billing_error", 402},
		{llm.Error{Kind: llm.KindNotFound}, "not_found_error", 404},
		{llm.Error{Kind: llm.KindRequestTooLarge}, "request_too_large", 413},
		{llm.Error{Kind: llm.KindRateLimit}, "rate_limit_error", 429},
		{llm.Error{Kind: llm.KindOverloaded, Status: 503}, "overloaded_error", 529}, // a Gemini 503
		{llm.Error{Kind: llm.KindUnavailable}, "overloaded_error", 503},
		{llm.Error{Kind: llm.KindTimeout}, "timeout_error", 504},
		{llm.Error{Kind: llm.KindUpstream}, "api_error", 502},
		{llm.Error{Kind: llm.KindServer}, "api_error", 500},
		{llm.Error{Kind: llm.KindUpstream, Type: "insufficient_quota"}, "api_error", 502}, // an OpenAI type is not kept
	} {
		e := tc.e
		e.Message = "m <&>"
		if got := ErrorStatus(&e); got != tc.status {
			t.Errorf("%+v: status %d, want %d", e, got, tc.status)
		}
		want := `{"type":"error","error":{"type":"` + tc.typ + `","message":"m <&>"}}`
		if got := string(ErrorBody(&e)); got != want {
			t.Errorf("body %s, want %s", got, want)
		}
		if got := string(ErrorEvent(&e)); got != "event: error\ndata: "+want+"\n\n" {
			t.Errorf("event %q", got)
		}
		// The SDK reads our error event as a stream error.
		var apiErr struct {
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(ErrorBody(&e), &apiErr); err != nil || apiErr.Error.Type != tc.typ {
			t.Errorf("body does not parse: %v", err)
		}
	}
}
