package openaicompat

import (
	"bytes"
	"encoding/json"
)

// The fast path forwards chunks without decoding them (a decode costs
// about four times the validation every chunk already gets), yet a stream
// that ends before its usage chunk must be charged for the text it
// carried. So the text is found with a scan for the few keys that carry
// generated text. The scan relies on the chunk being valid JSON (checked
// before it is forwarded): there, `"content":` can only be a key, since a
// quote inside a string is escaped.
var (
	outputKeys = [][]byte{[]byte(`"content":`), []byte(`"reasoning_content":`), []byte(`"refusal":`), []byte(`"arguments":`)}
	finishKey  = []byte(`"finish_reason":`)
)

// meterChunk notes the generated text and the finish reason of the
// chunks in b (one or more SSE events) in the stream's meter.
func (s *stream) meterChunk(b []byte) {
	for _, k := range outputKeys {
		stringValues(b, k, s.meter.OutputBytes)
	}
	if hasFinish(b) {
		s.meter.Finish()
	}
}

// hasFinish reports whether b sets a finish_reason.
func hasFinish(b []byte) bool {
	fin := false
	stringValues(b, finishKey, func(v []byte) { fin = fin || len(v) > 0 })
	return fin
}

// stringValues calls fn with every string value of key (`"name":`) in b,
// unescaped. fn must not keep the slice.
func stringValues(b, key []byte, fn func([]byte)) {
	for {
		i := bytes.Index(b, key)
		if i < 0 {
			return
		}
		escaped := i > 0 && b[i-1] == '\\' // part of a key that holds a quote
		b = b[i+len(key):]
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
			b = b[1:]
		}
		if escaped || len(b) == 0 || b[0] != '"' {
			continue
		}
		end, plain := 1, true
		for end < len(b) && b[end] != '"' {
			if b[end] == '\\' {
				plain = false
				end++
			}
			end++
		}
		if end >= len(b) {
			return
		}
		if plain {
			fn(b[1:end])
		} else {
			var v string
			if json.Unmarshal(b[:end+1], &v) == nil {
				fn([]byte(v))
			}
		}
		b = b[end+1:]
	}
}
