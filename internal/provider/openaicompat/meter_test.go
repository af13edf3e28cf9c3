package openaicompat

import (
	"bytes"
	"io"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
)

// The fast path's meter finds the generated text of forwarded chunks
// (escapes decoded, keys that only look alike skipped), the finish, and
// the final usage, for charging a stream that ends early.
func TestStreamMeter(t *testing.T) {
	body := `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}

data: {"choices":[{"index":0,"delta":{"content":"say \"hi\"\n"},"logprobs":{"content":[]}}],"usage":null}

data: {"choices":[{"index":0,"delta":{"reasoning_content": "think"}}],"usage":null}

data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\"content\":1}"}}]}}],"x\"content":"no"}

data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}

`
	a := &Adapter{cfg: config.Provider{Name: "f"}}
	s := a.newStream(io.NopCloser(bytes.NewReader([]byte(body+`data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5}}

data: [DONE]

`))), false)
	m := s.Meter()
	for i := 0; ; i++ {
		if _, err := s.Next(); err != nil {
			break
		}
		if i == 3 && m.Finished() {
			t.Error("finished before the finish chunk")
		}
	}
	if text, n := m.Text(); text != "say \"hi\"\nthink{\"content\":1}" || n != int64(len(text)) {
		t.Errorf("metered text %q (%d bytes)", text, n)
	}
	if !m.Finished() || !m.Final() || m.Usage().InputTokens != 7 || m.Usage().OutputTokens != 5 {
		t.Errorf("finished %v, final %v, usage %+v", m.Finished(), m.Final(), m.Usage())
	}

	// Cut after the finish: finished, but no final usage.
	s = a.newStream(io.NopCloser(bytes.NewReader([]byte(body))), false)
	for {
		if _, err := s.Next(); err != nil {
			break
		}
	}
	if m := s.Meter(); !m.Finished() || m.Final() {
		t.Errorf("cut stream: finished %v, final %v", m.Finished(), m.Final())
	}
}
