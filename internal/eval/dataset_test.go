package eval

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeJSONL(t *testing.T) {
	in := `{"id":"a","prompt":"Hi {{name}}","vars":{"name":"Ada"},"reference":"hello","tags":["x","y"]}

{"messages":[{"role":"user","content":"Q"}],"scorers":[{"type":"regex","pattern":"^A"}]}
`
	cases, err := DecodeJSONL(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || cases[0].ID != "a" || cases[1].ID != "case-2" || *cases[0].Reference != "hello" ||
		!reflect.DeepEqual(cases[0].Tags, []string{"x", "y"}) || cases[1].Scorers[0].Pattern != "^A" {
		t.Errorf("decoded %+v", cases)
	}
	for _, c := range []struct{ in, want string }{
		{`{"id":"a","refrence":"x"}`, `line 1: json: unknown field "refrence"`},
		{"{\"id\":\"a\"}\n{\"id\":\"a\"}", `id "a" is already case 1's`},
		{`{"id":"a"} {"id":"b"}`, "line 1: more than one JSON value"},
		{`{"scorers":[{"type":"regexp"}]}`, `line 1: scorers[0]: unknown scorer type "regexp"`},
		{"\n\n", "no cases"},
	} {
		if _, err := DecodeJSONL(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

func TestDecodeCSV(t *testing.T) {
	in := "\ufeffid,question,reference,tags\nq1,\"What is 2+2, exactly?\",4,math; easy\nq2,Capital of France?,,geo\n"
	cases, err := DecodeCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Case{
		{ID: "q1", Vars: map[string]any{"question": "What is 2+2, exactly?"}, Reference: ptrS("4"), Tags: []string{"math", "easy"}},
		{ID: "q2", Vars: map[string]any{"question": "Capital of France?"}, Tags: []string{"geo"}},
	}
	if !reflect.DeepEqual(cases, want) {
		t.Errorf("got %+v\nwant %+v", cases, want)
	}
	if _, err := DecodeCSV(strings.NewReader("id,id\n1,2\n")); err == nil {
		t.Error("a repeated column was accepted")
	}
	if _, err := DecodeCSV(strings.NewReader("id,prompt\n1\n")); err == nil {
		t.Error("a short row was accepted")
	}
}

func ptrS(s string) *string { return &s }

func TestRender(t *testing.T) {
	got, err := Render("{{a}} + {{ b }} = {{sum}}; {{obj}}", map[string]any{"a": 2.0, "b": "3", "sum": 5, "obj": map[string]any{"k": true}})
	if err != nil || got != `2 + 3 = 5; {"k":true}` {
		t.Errorf("Render: %q, %v", got, err)
	}
	if _, err := Render("Hi {{name}} and {{other}}", map[string]any{"name": "x"}); err == nil || !strings.Contains(err.Error(), "{{other}}") {
		t.Errorf("a missing variable: %v", err)
	}
}

func TestSuiteMessages(t *testing.T) {
	s := &Suite{System: "Be brief about {{topic}}.", Prompt: "Tell me about {{topic}}."}
	msgs, err := s.messages(&Case{Vars: map[string]any{"topic": "Go"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"role": "system", "content": "Be brief about Go."}, {"role": "user", "content": "Tell me about Go."}}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("messages %v", msgs)
	}
	c := &Case{Messages: []map[string]any{{"role": "user", "content": []any{map[string]any{"type": "text", "text": "{{q}}"}}}}, Vars: map[string]any{"q": "why?"}}
	msgs, err = s.messages(c)
	if err != nil || msgs[0]["content"].([]any)[0].(map[string]any)["text"] != "why?" {
		t.Errorf("content parts: %v, %v", msgs, err)
	}
	if c.Messages[0]["content"].([]any)[0].(map[string]any)["text"] != "{{q}}" {
		t.Error("rendering changed the case")
	}
	if _, err := (&Suite{}).messages(&Case{}); err == nil {
		t.Error("a case with nothing to send was accepted")
	}
}

func TestLoadSuiteAndDataset(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cases.csv"), []byte("id,q\n1,hi\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "suite.yaml"), []byte("dataset: cases.csv\nprompt: '{{q}}'\nincumbent: p/a\nchallengers: [p/b, {model: p/b, label: b-hot, params: {temperature: 1}}]\nretries: 0\n"), 0o600)
	s, err := LoadSuite(filepath.Join(dir, "suite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "suite" || *s.Retries != 0 || s.Challengers[1].Name() != "b-hot" || s.Challengers[1].Params["temperature"] != 1 {
		t.Errorf("suite %+v", s)
	}
	if cases, err := LoadDataset(s.DatasetPath()); err != nil || len(cases) != 1 {
		t.Errorf("dataset: %v, %v", cases, err)
	}
	for body, want := range map[string]string{
		"dataset: x.jsonl\nincumbent: p/a\nchallengers: [p/b]\nmargn: 0.1\n":                             "field margn not found",
		"dataset: x.jsonl\nincumbent: p/a\nchallengers: [p/a]\n":                                         `"p/a" appears twice`,
		"dataset: x.jsonl\nincumbent: p/a\nchallengers: [p/b]\nscorers: [{type: pairwise}]\n":            "needs a judge model",
		"dataset: x.jsonl\nincumbent: p/a\nchallengers: [p/b]\nscorers: [{type: regex, pattern: '('}]\n": "regex",
	} {
		os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(body), 0o600)
		if _, err := LoadSuite(filepath.Join(dir, "bad.yaml")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

// encodeJSONL writes cases as JSON Lines.
func encodeJSONL(cases []Case) []byte {
	var b bytes.Buffer
	for _, c := range cases {
		j, _ := json.Marshal(c)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// FuzzDecodeJSONL: the decoder never panics, and what it accepts has
// unique, non-empty ids and survives an encode/decode round trip.
func FuzzDecodeJSONL(f *testing.F) {
	f.Add([]byte(`{"id":"a","prompt":"Hi {{n}}","vars":{"n":1},"reference":"x","tags":["t"]}`))
	f.Add([]byte("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n\n{\"scorers\":[{\"type\":\"numeric\",\"value\":3,\"tolerance\":0.5}]}"))
	f.Add([]byte(`{"id":"case-2"}` + "\n" + `{}`))
	f.Add(must(os.ReadFile("../../examples/eval/cases.jsonl")))
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := DecodeJSONL(bytes.NewReader(data))
		if err != nil {
			return
		}
		checkCases(t, cases)
		enc := encodeJSONL(cases)
		again, err := DecodeJSONL(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("re-decoding %q: %v", enc, err)
		}
		if enc2 := encodeJSONL(again); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the cases:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzDecodeCSV: the decoder never panics, and what it accepts has
// unique, non-empty ids and no empty tags.
func FuzzDecodeCSV(f *testing.F) {
	f.Add([]byte("id,prompt,reference,tags\n1,hi,hello,a;b\n"))
	f.Add([]byte("\ufeffq,reference\n\"multi\nline\",\"\"\n"))
	f.Add([]byte("tags\n;;\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := DecodeCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		checkCases(t, cases)
	})
}

func checkCases(t *testing.T, cases []Case) {
	t.Helper()
	if len(cases) == 0 {
		t.Fatal("no error and no cases")
	}
	ids := map[string]bool{}
	for _, c := range cases {
		if c.ID == "" || ids[c.ID] {
			t.Fatalf("empty or repeated id %q", c.ID)
		}
		ids[c.ID] = true
		for _, tag := range c.Tags {
			if strings.TrimSpace(tag) == "" {
				t.Fatalf("case %q: empty tag", c.ID)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
