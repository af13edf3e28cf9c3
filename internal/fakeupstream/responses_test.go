package fakeupstream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

var responsesTranscripts = []string{
	"openai-responses-stream-function-call.sse",
	"openai-responses-stream-reasoning-function-call.sse",
	"openai-responses-stream-reasoning-summary.sse",
}

func postBody(t *testing.T, s *Server, path, body string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := s.Client().Post(s.URL()+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return resp, got, err
}

func TestResponsesTranscript(t *testing.T) {
	for _, name := range responsesTranscripts {
		t.Run(name, func(t *testing.T) {
			raw := wantTranscriptBody(t, name)
			if got := MustResponsesTranscript(name, true); !bytes.Equal(got.Body, raw) || got.ContentType != ctSSEUTF8 {
				t.Errorf("streamed reply is not the transcript (%d bytes, %q)", len(got.Body), got.ContentType)
			}
			whole := MustResponsesTranscript(name, false)
			if whole.ContentType != ctJSON || whole.Status != 0 {
				t.Errorf("non-streamed reply: status %d, content type %q", whole.Status, whole.ContentType)
			}
			// The recorded bytes of the final response object, not a
			// re-encoding: the last data line holds them verbatim.
			if !bytes.Contains(raw, append([]byte(`"response":`), whole.Body...)) {
				t.Errorf("non-streamed body is not the recorded response object: %.200s", whole.Body)
			}
			var obj struct {
				Object, Status string
				Usage          *struct {
					InputTokens int `json:"input_tokens"`
				}
			}
			if err := json.Unmarshal(whole.Body, &obj); err != nil {
				t.Fatal(err)
			}
			if obj.Object != "response" || obj.Status != "completed" || obj.Usage == nil || obj.Usage.InputTokens == 0 {
				t.Errorf("non-streamed body = %+v, want a completed response with usage", obj)
			}
		})
	}
	for _, name := range []string{"openai-chat-tool-call.json", "openai-chat-stream-text-include-usage.sse", "no-such.sse"} {
		if _, err := ResponsesTranscript(name, false); err == nil {
			t.Errorf("ResponsesTranscript(%s, false): no error", name)
		}
	}
	if _, err := ResponsesTranscript("no-such.sse", true); err == nil {
		t.Error("ResponsesTranscript of an unknown name, streamed: no error")
	}
}

func TestResponsesAnswersByStreamField(t *testing.T) {
	const name = "openai-responses-stream-function-call.sse"
	s := newTestServer(t)
	s.Respond("/responses", Responses(name))
	s.Enqueue("/responses", RateLimited("2"), ServerError(503))

	// Faults queued on the path come first.
	for _, want := range []int{429, 503} {
		resp, _, err := postBody(t, s, "/v1/responses", `{"model":"gpt-4o","stream":true}`)
		if err != nil || resp.StatusCode != want {
			t.Errorf("queued fault: status %d (%v), want %d", resp.StatusCode, err, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") != "2" {
			t.Errorf("429 retry-after = %q", resp.Header.Get("Retry-After"))
		}
	}

	const streamReq = `{"model":"gpt-4o","stream":true,"input":"What is the capital of France?"}`
	resp, got, err := postBody(t, s, "/v1/responses", streamReq)
	if err != nil {
		t.Fatal(err)
	}
	if !isEventStream(resp.Header.Get("Content-Type")) || !bytes.Equal(got, wantTranscriptBody(t, name)) {
		t.Errorf("stream:true got %q, %d bytes; want the transcript", resp.Header.Get("Content-Type"), len(got))
	}
	resp, got, err = postBody(t, s, "/v1/responses", `{"model":"gpt-4o","input":"hi"}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != ctJSON || !bytes.Equal(got, MustResponsesTranscript(name, false).Body) {
		t.Errorf("no stream field: got %q %.100s; want the response object", resp.Header.Get("Content-Type"), got)
	}
	if resp, _, _ := postBody(t, s, "/v1/responses", `not json`); resp.StatusCode != 400 {
		t.Errorf("unparsable body: status %d, want 400", resp.StatusCode)
	}

	// What the vendor was sent is there to inspect.
	reqs := s.Requests()
	if len(reqs) != 5 {
		t.Fatalf("recorded %d requests, want 5", len(reqs))
	}
	if r := reqs[2]; r.Method != "POST" || r.Path != "/v1/responses" || string(r.Body) != streamReq {
		t.Errorf("recorded %s %s %s", r.Method, r.Path, r.Body)
	}
}

func TestResponsesCut(t *testing.T) {
	const name = "openai-responses-stream-reasoning-summary.sse"
	r := MustResponsesTranscript(name, true)
	r.CutAfterEvents = 4
	s := newTestServer(t)
	s.Handle("/responses", r)
	resp, got, err := postBody(t, s, "/v1/responses", `{"stream":true}`)
	if !errors.Is(err, io.ErrUnexpectedEOF) || resp.StatusCode != 200 {
		t.Errorf("cut stream: status %d, read error %v; want 200 and unexpected EOF", resp.StatusCode, err)
	}
	if want := bytes.Join(splitEvents(r.Body)[:4], nil); !bytes.Equal(got, want) {
		t.Errorf("cut stream got %d bytes, want the first 4 events (%d bytes)", len(got), len(want))
	}
}

// lastEvent returns the events of body and the type and data of its last.
func lastEvent(t *testing.T, body []byte) ([][]byte, string, []byte) {
	t.Helper()
	evs := splitEvents(body)
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	typ, data := eventData(evs[len(evs)-1])
	return evs, typ, data
}

func TestResponsesStreamError(t *testing.T) {
	const name = "openai-responses-stream-function-call.sse"
	r, err := ResponsesStreamError(name, 3, "server_error", "The model had a problem.")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t)
	s.Handle("/responses", r)
	resp, got, err := postBody(t, s, "/v1/responses", `{"stream":true}`)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	evs, typ, data := lastEvent(t, got)
	if len(evs) != 4 || !bytes.Equal(bytes.Join(evs[:3], nil), bytes.Join(splitEvents(wantTranscriptBody(t, name))[:3], nil)) {
		t.Errorf("want the transcript's first 3 events then the error; got %d events", len(evs))
	}
	if !bytes.HasPrefix(evs[3], []byte("event: error\ndata: ")) {
		t.Errorf("error frame %q", evs[3])
	}
	var e struct {
		Type, Code, Message string
		Seq                 int `json:"sequence_number"`
	}
	if err := json.Unmarshal(data, &e); err != nil || typ != "error" || e.Type != "error" || e.Code != "server_error" || e.Message != "The model had a problem." || e.Seq != 3 {
		t.Errorf("error event %s %s (%v)", typ, data, err)
	}
	if _, err := ResponsesStreamError("nope.sse", 1, "", ""); err == nil {
		t.Error("unknown transcript: no error")
	}
}

func TestResponsesFailed(t *testing.T) {
	const name = "openai-responses-stream-reasoning-function-call.sse"
	r, err := ResponsesFailed(name, 2, "server_error", "boom")
	if err != nil {
		t.Fatal(err)
	}
	evs, typ, data := lastEvent(t, r.Body)
	if len(evs) != 3 || typ != "response.failed" {
		t.Fatalf("%d events, last %q", len(evs), typ)
	}
	var p struct {
		Type     string
		Response struct {
			ID, Object, Status string
			Error              struct{ Code, Message string }
		}
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "response.failed" || p.Response.Status != "failed" || p.Response.Object != "response" ||
		p.Response.ID != "resp_0050471a34b36ae60068c97b94a480819587a9d70cf2979b33" ||
		p.Response.Error.Code != "server_error" || p.Response.Error.Message != "boom" {
		t.Errorf("response.failed = %+v", p)
	}
	if _, err := ResponsesFailed("openai-chat-tool-call.json", 0, "", ""); err == nil {
		t.Error("a transcript without response.created: no error")
	}
}

// TestResponsesFramesReadable: a line-oriented reader sees each event of
// a Responses reply with its event: and data: lines, the way SDKs read it.
func TestResponsesFramesReadable(t *testing.T) {
	body := MustResponsesTranscript("openai-responses-stream-function-call.sse", true).Body
	br := bufio.NewReader(bytes.NewReader(body))
	n := 0
	for {
		ev, err := readEvent(br)
		if len(ev) > 0 {
			n++
			if typ, _ := eventData(ev); typ == "" || !bytes.HasPrefix(ev, []byte("event: "+typ+"\n")) {
				t.Errorf("event %d: type %q, frame %.60q", n, typ, ev)
			}
		}
		if err != nil {
			break
		}
	}
	if n != len(splitEvents(body)) || n < 5 {
		t.Errorf("read %d events, split %d", n, len(splitEvents(body)))
	}
}

func FuzzCompletedResponse(f *testing.F) {
	for _, name := range responsesTranscripts {
		raw, err := transcriptFS.ReadFile("transcripts/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("event: response.completed\ndata: {\"response\":null}\n\n"))
	f.Add([]byte("data: {\"type\":\"response.completed\",\"response\":{}}\r\n\r\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		obj, err := completedResponse(stream)
		if err == nil && !json.Valid(obj) {
			t.Errorf("completedResponse returned invalid JSON %q", obj)
		}
	})
}
