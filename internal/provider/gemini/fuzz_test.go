package gemini_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider/gemini"
)

var geminiTranscripts = []string{
	"gemini-stream-text.sse",
	"gemini-stream-thoughts-include-thoughts.sse",
	"gemini-stream-function-call-thought-signature.sse",
	"vertex-gemini-stream-partial-args.chunks.jsonl",
	"gemini-generate-content-function-call.json",
	"gemini-error-429-resource-exhausted.json",
}

func addTranscriptSeeds(f *testing.F) {
	for _, name := range geminiTranscripts {
		r, err := fakeupstream.Transcript(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(r.Body)
	}
}

// Whatever the upstream sends, the stream decoder ends (no hang), does not
// panic, and emits only event sequences the canonical grammar accepts; a
// stream that ends without error has its Stop event.
func FuzzDecodeStream(f *testing.F) {
	addTranscriptSeeds(f)
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"willContinue\":true}}]}}]}\n\n" +
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"partialArgs\":[{\"jsonPath\":\"$.a[1].b\",\"numberValue\":2}],\"willContinue\":true}}]}}]}\n\n" +
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\",\"thoughtSignature\":\"s\"}]},\"finishReason\":\"STOP\"}]}\n\n"))
	f.Add([]byte("data: {\"error\":{\"code\":503,\"message\":\"x\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := gemini.NewStream(io.NopCloser(bytes.NewReader(body)))
		defer s.Close()
		var acc llm.Accumulator
		// Every event needs input bytes, and each byte yields at most a
		// few events: more than this is a loop.
		for n := 0; ; n++ {
			if n > 8*len(body)+16 {
				t.Fatalf("stream did not end after %d events", n)
			}
			ev, err := s.Next()
			if err == io.EOF {
				if !acc.Stopped() {
					t.Fatal("io.EOF before the stop event")
				}
				return
			}
			if err != nil {
				var e *llm.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
				}
				return
			}
			if err := acc.Add(ev); err != nil {
				t.Fatalf("event %d (%+v): %v", n, ev, err)
			}
		}
	})
}

// DecodeResponse never panics; what it returns is well-formed.
func FuzzDecodeResponse(f *testing.F) {
	addTranscriptSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := gemini.DecodeResponse(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
			}
			return
		}
		if _, err := llm.Collect(r.Events()); err != nil {
			t.Fatal(err)
		}
	})
}

// EncodeRequest never panics, and either fails with an *llm.Error or
// writes valid JSON.
func FuzzEncodeRequest(f *testing.F) {
	for _, tc := range encodeCases {
		b, err := json.Marshal(tc.req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req llm.Request
		if json.Unmarshal(data, &req) != nil {
			return
		}
		body, _, err := gemini.EncodeRequest(&req)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON body: %s", body)
		}
	})
}

// SanitizeSchema never panics or loops, and its output is JSON.
func FuzzSanitizeSchema(f *testing.F) {
	f.Add([]byte(`{"type":"object","properties":{"a":{"$ref":"#/$defs/x"}},"$defs":{"x":{"type":["string","null"],"const":1}}}`))
	f.Add([]byte(`{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/b"},"b":{"items":{"$ref":"#/$defs/a"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := gemini.SanitizeSchema(data)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
	})
}
