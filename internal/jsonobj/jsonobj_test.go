package jsonobj

import (
	"encoding/json"
	"testing"
)

func TestParseKeepsBytes(t *testing.T) {
	in := `{ "model" : "gpt-4o",  "messages":[{"role":"user","content":"h\u00e9"}],"n":1.50,"x":null }`
	o, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(o.Get("messages")); got != `[{"role":"user","content":"h\u00e9"}]` {
		t.Errorf("messages = %s", got)
	}
	if got := string(o.Get("n")); got != "1.50" {
		t.Errorf("n = %s", got)
	}
	if got := string(o.Get("x")); got != "null" {
		t.Errorf("x = %s", got)
	}
	o.SetString("model", "gpt-4o-2024-08-06")
	o.Rename("n", "count")
	o.Set("stream_options", []byte(`{"include_usage":true}`))
	want := `{"model":"gpt-4o-2024-08-06","messages":[{"role":"user","content":"h\u00e9"}],"count":1.50,"x":null,"stream_options":{"include_usage":true}}`
	if got := string(o.Bytes()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `{"a":}`, `{"a":1`, `{"a":1}{}`, `{"a":1} x`, `{a:1}`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", "q\"uote", "back\\slash", "ctl\x01", "ünï", "bad\xff"} {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"model":"a","messages":[],"stream":true}`))
	f.Add([]byte(`{"a":{"b":[1,2,{"c":"\u0000"}]},"d":-1e9}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		o, err := Parse(in)
		if err != nil {
			return
		}
		out := o.Bytes()
		if !json.Valid(out) {
			t.Fatalf("re-encoded %q is not valid JSON (input %q)", out, in)
		}
		o2, err := Parse(out)
		if err != nil || len(o2.Fields) != len(o.Fields) {
			t.Fatalf("round trip failed: %v", err)
		}
		// The members agree with encoding/json's reading of the input.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(in, &m); err != nil {
			t.Fatalf("Parse accepted %q, encoding/json did not: %v", in, err)
		}
		last := map[string]string{}
		for _, f := range o.Fields {
			last[f.Key] = string(f.Value)
		}
		if len(last) != len(m) {
			t.Fatalf("%d distinct keys, encoding/json saw %d", len(last), len(m))
		}
		for k, v := range last {
			if string(m[k]) != v {
				t.Fatalf("value of %q: %s, encoding/json: %s", k, v, m[k])
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	in := []byte(`{"model":"openai/gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about gateways and the sea, please, in English."}],"stream":true,"temperature":0.7,"max_tokens":256}`)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		o, _ := Parse(in)
		o.SetString("model", "gpt-4o")
		_ = o.Bytes()
	}
}
