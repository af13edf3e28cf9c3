package openaicompat

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// FuzzStream feeds arbitrary upstream bytes through the stream normaliser,
// with and without think tags: it never panics or hangs, and everything it
// emits is an SSE event whose data a client can decode (JSON or [DONE]).
func FuzzStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>a</thi\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"nk>b\"}}]}\n\ndata: [DONE]\n\n"), true)
	f.Add([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n"), false)
	f.Add([]byte(": keep-alive\n\ndata: {\"choices\":[{\"delta\":{\"reasoning\":\"r\"}}]}\r\n\r\ndata: {\"error\":{\"message\":\"x\"}}\n\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, think bool) {
		a := &Adapter{cfg: config.Provider{Name: "f"}, thinkTags: think}
		s := a.newStream(io.NopCloser(bytes.NewReader(body)), false)
		var out []byte
		for range 10000 {
			chunk, err := s.Next()
			if err != nil {
				break
			}
			out = append(out, chunk...)
		}
		rd := sse.NewReader(bytes.NewReader(out))
		for {
			ev, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("emitted a broken event stream: %v\n%q", err, out)
			}
			if ev.Data == nil || string(ev.Data) == "[DONE]" {
				continue
			}
			if !json.Valid(ev.Data) {
				t.Fatalf("emitted data a client cannot decode: %q", ev.Data)
			}
		}
	})
}
