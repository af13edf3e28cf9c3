package openaiwire

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/sse"
)

// MessageText returns the answer text of a chat completion body (the
// first choice's content), or "".
func MessageText(body []byte) string {
	var c struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if json.Unmarshal(body, &c) != nil || len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Message.Content
}

// StreamText returns the answer text carried by the stream events in b (the
// first choice's content deltas).
func StreamText(b []byte) string {
	var out strings.Builder
	rd := sse.NewReader(bytes.NewReader(b))
	for {
		ev, err := rd.Next()
		if err != nil {
			return out.String()
		}
		if len(ev.Data) == 0 || ev.Data[0] != '{' {
			continue
		}
		var c struct {
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal(ev.Data, &c) == nil {
			for _, ch := range c.Choices {
				if ch.Index == 0 {
					out.WriteString(ch.Delta.Content)
				}
			}
		}
	}
}
