package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// hostileBodies are request bodies that no SDK would send, built from a
// valid request by breaking one thing at a time: the JSON itself, each
// field's type and range, and the encodings a decoder can choke on. valid
// is the request they start from; field names the ones to mistype.
func hostileBodies(valid string, fields []string) []string {
	var out []string
	// The JSON itself.
	for _, n := range []int{0, 1, 2, len(valid) / 3, len(valid) / 2, len(valid) - 1} {
		out = append(out, valid[:n]) // truncated
	}
	out = append(out,
		valid+"garbage", valid+valid, "null", "true", "0", `"string"`, "[]", "{}", "["+valid+"]",
		strings.Repeat("[", 100000)+strings.Repeat("]", 100000),
		`{"a":`+strings.Repeat(`{"a":`, 50000)+"1"+strings.Repeat("}", 50001),
		"\xef\xbb\xbf"+valid,                 // a byte-order mark
		strings.Replace(valid, `"`, `'`, -1), // single quotes
		"\x00"+valid,
		`{"model":"`+strings.Repeat("9", 5000)+`"}`,
	)
	// Each field mistyped, out of range or oddly encoded.
	odd := []string{`null`, `1`, `-1`, `1e309`, `-0`, `1.5`, `"x"`, `""`, `[]`, `{}`, `[null]`, `[1,"x"]`, `{"":""}`,
		`true`, `"\ud800"`, `"\u0000"`, "\"\xff\xfe\"", `99999999999999999999999999999`, `"` + strings.Repeat("é", 3000) + `"`}
	for _, f := range fields {
		for _, v := range odd {
			out = append(out, setField(valid, f, v))
		}
	}
	return out
}

// setField returns the JSON object body with field set to the raw value v
// (added if absent).
func setField(body, field, v string) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &obj); err != nil {
		panic(err)
	}
	obj[field] = json.RawMessage(v)
	// Marshal would reject or re-encode invalid raw values; splice instead.
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k, raw := range obj {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "%q:", k)
		b.Write(raw)
	}
	b.WriteString("}")
	return b.String()
}

// badInputs sends every hostile body to one endpoint and sorts the answers:
// a clean refusal is a 4xx whose body is an error in the client's own
// dialect; a 2xx means the gateway found a valid request in it (a mistyped
// optional field the vendor accepts, say); anything else (a 5xx, an error
// body in another shape, a dropped connection) is a defect.
func badInputs(t *testing.T, url string, header map[string]string, bodies []string, cleanError func([]byte) bool) (tried, clean, served int) {
	t.Helper()
	for _, body := range bodies {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		tried++
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%.80q: %v", body, err)
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 400 && resp.StatusCode < 500 && cleanError(raw):
			clean++
		case resp.StatusCode == 200:
			served++
		default:
			t.Errorf("%.120q: status %d, body %.300s", body, resp.StatusCode, raw)
		}
	}
	return tried, clean, served
}

func openAIError(raw []byte) bool {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	return json.Unmarshal(raw, &e) == nil && e.Error.Message != "" && e.Error.Type != ""
}

func anthropicError(raw []byte) bool {
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	return json.Unmarshal(raw, &e) == nil && e.Type == "error" && e.Error.Type != "" && e.Error.Message != ""
}

// hostileBadInputs is TestHostile's first figure: every hostile body, to
// both dialects, gets a clean refusal or a valid answer, never a 5xx.
func hostileBadInputs(t *testing.T, fig *figures) {
	e := matrixEnv(t)
	// The vendor answers anything, so every refusal counted is the
	// gateway's own.
	e.fake.Respond("/chat/completions", func(r fakeupstream.Recorded) fakeupstream.Response {
		if bytes.Contains(r.Body, []byte(`"stream":true`)) {
			return fakeupstream.TextStream(3, "w ", true)
		}
		return fakeupstream.TextCompletion("ok")
	})
	e.fake.Respond("/messages", func(r fakeupstream.Recorded) fakeupstream.Response {
		if bytes.Contains(r.Body, []byte(`"stream":true`)) {
			return fakeupstream.MustTranscript("anthropic-messages-stream-thinking.sse")
		}
		return fakeupstream.MustTranscript("anthropic-message-tool-use.json")
	})
	chat := `{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"max_tokens":16,"stream":false}`
	msgs := `{"model":"m-anthropic","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	// The harness is live: the bodies it breaks are served.
	if _, _, ok := badInputs(t, e.srv.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + e.key}, []string{chat}, openAIError); ok != 1 {
		t.Fatal("the valid chat request was not served")
	}
	if _, _, ok := badInputs(t, e.srv.URL+"/v1/messages", map[string]string{"x-api-key": e.key, "anthropic-version": "2023-06-01"}, []string{msgs}, anthropicError); ok != 1 {
		t.Fatal("the valid messages request was not served")
	}
	var tried, clean, served int
	add := func(a, b, c int) { tried, clean, served = tried+a, clean+b, served+c }
	openAIHeader := map[string]string{"Authorization": "Bearer " + e.key}
	anthropicHeader := map[string]string{"x-api-key": e.key, "anthropic-version": "2023-06-01"}
	chatFields := []string{"model", "messages", "max_tokens", "stream", "temperature", "tools", "tool_choice", "response_format", "stop", "n", "stream_options", "user"}
	msgFields := []string{"model", "messages", "max_tokens", "stream", "system", "tools", "tool_choice", "thinking", "stop_sequences", "metadata", "temperature"}
	// Each dialect to a vendor of its own wire format (the fast path,
	// which leaves most fields for the vendor to judge) and to one of the
	// other (every field through the decoders).
	add(badInputs(t, e.srv.URL+"/v1/chat/completions", openAIHeader, hostileBodies(chat, chatFields), openAIError))
	add(badInputs(t, e.srv.URL+"/v1/chat/completions", openAIHeader, hostileBodies(strings.Replace(chat, "m-openai", "m-anthropic", 1), chatFields), openAIError))
	add(badInputs(t, e.srv.URL+"/v1/messages", anthropicHeader, hostileBodies(msgs, msgFields), anthropicError))
	add(badInputs(t, e.srv.URL+"/v1/messages", anthropicHeader, hostileBodies(strings.Replace(msgs, "m-anthropic", "m-openai", 1), msgFields), anthropicError))
	// Messages whose parts are broken, one at a time.
	for _, m := range []string{`{"role":"user"}`, `{"role":"nobody","content":"hi"}`, `{"role":"user","content":[{"type":"image_url"}]}`,
		`{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,!!!"}}]}`,
		`{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{"}}]}`,
		`{"role":"tool","content":"r"}`, `{"role":"user","content":[{"type":"text"}]}`, `{"role":"user","content":[{}]}`} {
		for _, model := range []string{"m-openai", "m-anthropic"} {
			body := setField(strings.Replace(chat, "m-openai", model, 1), "messages", "["+m+"]")
			add(badInputs(t, e.srv.URL+"/v1/chat/completions", openAIHeader, []string{body}, openAIError))
		}
	}
	fig.add("bad inputs tried", tried)
	fig.add("bad inputs refused with a clean 4xx in the client's dialect", clean)
	fig.add("bad inputs passed on (to be judged by the vendor, or valid)", served)
	if served == 0 || clean == 0 {
		t.Errorf("%d served and %d refused of %d: the corpus tests nothing", served, clean, tried)
	}
}

// figures collects TestHostile's report, printed as one table at the end.
type figures struct {
	names  []string
	values map[string]any
}

func (f *figures) add(name string, v any) {
	if f.values == nil {
		f.values = map[string]any{}
	}
	if _, ok := f.values[name]; !ok {
		f.names = append(f.names, name)
	}
	f.values[name] = v
}

// TestHostile is the hostile-client and faulty-network suite. Each part
// checks its own property and adds its figures to one table, printed at
// the end (run with -v; the README quotes it).
func TestHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile suite")
	}
	var fig figures
	t.Run("bad_inputs", func(t *testing.T) { hostileBadInputs(t, &fig) })
	t.Log("| figure | value |")
	t.Log("|---|---|")
	for _, n := range fig.names {
		t.Logf("| %s | %v |", n, fig.values[n])
	}
}
