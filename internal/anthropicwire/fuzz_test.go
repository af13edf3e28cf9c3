package anthropicwire

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

func addStreamSeeds(f *testing.F) {
	for _, name := range streamTranscripts {
		f.Add(transcript(f, name))
	}
	f.Add(sseOf(evStart, evTextOpen, evText, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	f.Add(sseOf(evStart, evTextOpen, `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}`, evEnd))
}

// FuzzDecodeStream: any byte stream decodes without panic or hang, into
// events that satisfy the canonical grammar (collect checks each with
// llm.Accumulator), ending in io.EOF after Stop or an *llm.Error.
func FuzzDecodeStream(f *testing.F) {
	addStreamSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _, err := decodeBytes(t, body)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error %T %v is not *llm.Error", err, err)
			}
		}
	})
}

// FuzzStreamEncoder: whatever the decoder accepts, the encoder turns into
// a stream that decodes to the same response (docs/protocols.md#trap-signatures:
// thinking, signatures and redacted data survive byte for byte).
func FuzzStreamEncoder(f *testing.F) {
	addStreamSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, resp, err := decodeBytes(t, body)
		if err != nil {
			return
		}
		out, _, err := encodeAll(t, resp.Events())
		if err != nil {
			t.Fatal(err)
		}
		_, again, err := decodeBytes(t, out)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, out)
		}
		norm := func(r *llm.Response) {
			// The encoder names anonymous things, and valid JSON arguments
			// are what the client sees either way.
			if r.ID == "" {
				r.ID = "msg_switchyard"
			}
			for i := range r.Parts {
				if tc := r.Parts[i].ToolCall; tc != nil {
					tc.Arguments = string(toolInput(tc.Arguments))
					if tc.Arguments == "{}" {
						tc.Arguments = ""
					}
					tc.ID = toolID(tc.ID, i)
				}
			}
			if r.StopReason == llm.StopEndTurn && hasToolCall(r) {
				r.StopReason = llm.StopToolUse
			}
		}
		norm(resp)
		norm(again)
		if !reflect.DeepEqual(resp, again) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v\n%s", again, resp, out)
		}
		if !bytes.HasSuffix(out, []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")) {
			t.Fatalf("no message_stop at the end")
		}
	})
}

func hasToolCall(r *llm.Response) bool {
	for _, p := range r.Parts {
		if p.Type == llm.PartToolCall {
			return true
		}
	}
	return false
}
