package openaicompat

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzStringValues checks the fast path's key scan against encoding/json:
// on any bytes it must not panic, and on a chunk that is valid JSON it
// finds exactly the strings the chunk holds under "content".
func FuzzStringValues(f *testing.F) {
	f.Add([]byte(`{"choices":[{"delta":{"content":"hi \"there\"\\n"}}]}`), "x")
	f.Add([]byte(`data: {"content": "a"}`+"\n\n"+`data: {"content":"b"}`), `"content":`)
	f.Add([]byte(`{"\"content\":":"no","content":"yes"}`), "é\u2028")
	f.Fuzz(func(t *testing.T, b []byte, s string) {
		stringValues(b, outputKeys[0], func([]byte) {}) // must not panic
		if !utf8.ValidString(s) {
			return
		}
		chunk, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"delta": map[string]string{"content": s}}}})
		var got []string
		stringValues(chunk, outputKeys[0], func(v []byte) { got = append(got, string(v)) })
		if len(got) != 1 || got[0] != s {
			t.Fatalf("stringValues(%s) = %q, want [%q]", chunk, got, s)
		}
	})
}
