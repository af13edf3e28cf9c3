package gemini_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/gemini"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

var cfg = config.Provider{Type: "gemini", APIKey: "AIza-test-key"}

func userText(model, text string, stream bool) *llm.Request {
	return &llm.Request{
		Model:    model,
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: text}}}},
		Stream:   stream,
	}
}

// eventsJSON renders events one JSON object a line, for golden files.
func eventsJSON(t *testing.T, evs []llm.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, ev := range evs {
		line, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		// Name the event type rather than number it.
		_, rest, _ := bytes.Cut(line, []byte(","))
		fmt.Fprintf(&b, `{"type":%q,%s`, ev.Type, rest)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// transcriptTotal is the totalTokenCount of a transcript's last
// usageMetadata, which canonical usage must add up to.
func transcriptTotal(t *testing.T, body []byte) int64 {
	t.Helper()
	i := bytes.LastIndex(body, []byte(`"totalTokenCount"`))
	if i < 0 {
		t.Fatal("no totalTokenCount in transcript")
	}
	var n int64
	rest := strings.TrimLeft(string(body[i+len(`"totalTokenCount"`):]), ": ")
	for _, c := range rest {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// Every recorded Gemini answer decodes into a well-formed event stream
// (providertest.Generate checks every event against the grammar,
// docs/protocols.md#trap-sdk-shape; each tool call's PartStart has its id and
// name) whose usage adds up to the vendor's own total
// (docs/protocols.md#trap-cached-tokens).
func TestPitfall7_19_TranscriptsGolden(t *testing.T) {
	for _, tc := range []struct {
		name, model string
		stream      bool
		vertex      bool
	}{
		{"gemini-stream-text.sse", "gemini-2.0-flash-exp", true, false},
		{"gemini-stream-thoughts-include-thoughts.sse", "gemini-2.5-pro", true, false},
		{"gemini-stream-function-call-thought-signature.sse", "gemini-3-pro-preview", true, false},
		{"gemini-generate-content-function-call.json", "gemini-2.5-flash", false, false},
		{"vertex-gemini-stream-partial-args.chunks.jsonl", "gemini-3-flash-preview", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			suffix := ":generateContent"
			if tc.stream {
				suffix = ":streamGenerateContent"
			}
			if tc.vertex {
				c.BaseURL = "/aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google"
			}
			res := pt.Generate(t, c, suffix, pt.Transcript(t, tc.name), userText(tc.model, "hi", tc.stream))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got, want := res.Response.Usage.Total(), transcriptTotal(t, pt.Body(t, tc.name)); got != want {
				t.Errorf("usage %+v totals %d, the vendor said %d", res.Response.Usage, got, want)
			}
			for _, ev := range res.Events {
				if ev.Type == llm.EventPartStart && ev.Part.Type == llm.PartToolCall && (ev.Part.ToolCall.ID == "" || ev.Part.ToolCall.Name == "") {
					t.Errorf("tool call part_start without id or name: %+v", ev.Part.ToolCall)
				}
			}
			pt.Golden(t, goldenName(tc.name), eventsJSON(t, res.Events))
		})
	}
}

func TestSentStreamRequest(t *testing.T) {
	c := cfg
	c.Headers = map[string]string{"X-Extra": "1"}
	req := userText("gemini/gemini-2.0-flash-exp", "What is the capital of France?", true)
	req.System = []llm.Part{{Type: llm.PartText, Text: "Be brief."}}
	res := pt.Generate(t, c, ":streamGenerateContent", pt.Transcript(t, "gemini-stream-text.sse"), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	s := res.Sent
	if s.Method != http.MethodPost || s.Path != "/v1beta/models/gemini-2.0-flash-exp:streamGenerateContent" || s.RawQuery != "alt=sse" {
		t.Errorf("sent %s %s?%s", s.Method, s.Path, s.RawQuery)
	}
	if got := s.Header.Get("X-Goog-Api-Key"); got != "AIza-test-key" {
		t.Errorf("x-goog-api-key = %q", got)
	}
	if got := s.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q; the Developer API takes the key in x-goog-api-key only", got)
	}
	if s.Header.Get("X-Extra") != "1" || s.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", s.Header)
	}
	want := `{"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]}}`
	if string(s.Body) != want {
		t.Errorf("body:\n got %s\nwant %s", s.Body, want)
	}
	if got := res.Response.Text(); got != "The capital of France is Paris.\n" {
		t.Errorf("text = %q", got)
	}
	if res.Response.ID != "w1peaMz6INOvnvgPgYfPiQY" || res.Response.Model != "gemini-2.0-flash-exp" {
		t.Errorf("id, model = %q, %q", res.Response.ID, res.Response.Model)
	}
	if res.Response.StopReason != llm.StopEndTurn {
		t.Errorf("stop = %q", res.Response.StopReason)
	}
	// Text across three chunks is one part.
	if len(res.Response.Parts) != 1 {
		t.Errorf("parts = %+v", res.Response.Parts)
	}
	// The last usageMetadata wins: the prompt count changed from 15 to 13.
	if u := res.Response.Usage; u.InputTokens != 13 || u.OutputTokens != 8 {
		t.Errorf("usage = %+v", u)
	}
}

func TestSentNonStreamRequest(t *testing.T) {
	res := pt.Generate(t, cfg, ":generateContent", pt.Transcript(t, "gemini-generate-content-function-call.json"),
		userText("gemini-2.5-flash", "hi", false))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Sent.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || res.Sent.RawQuery != "" {
		t.Errorf("sent %s?%s", res.Sent.Path, res.Sent.RawQuery)
	}
	r := res.Response
	if len(r.Parts) != 2 || r.StopReason != llm.StopToolUse {
		t.Fatalf("response = %+v", r)
	}
	a, b := r.Parts[0].ToolCall, r.Parts[1].ToolCall
	if a.Arguments != `{"password":"mellon"}` || b.Arguments != `{"password":"radiance"}` {
		t.Errorf("arguments = %s, %s", a.Arguments, b.Arguments)
	}
	if a.ID == "" || a.ID == b.ID {
		t.Errorf("call ids %q, %q are not unique", a.ID, b.ID)
	}
	if !strings.HasPrefix(a.Signature, "CtICAdHtim9B") || b.Signature != "" {
		t.Errorf("signatures %q, %q", a.Signature, b.Signature)
	}
	if u := r.Usage; u.InputTokens != 70 || u.OutputTokens != 116 || u.ReasoningTokens != 76 {
		t.Errorf("usage = %+v", u)
	}
}

func TestVertexRequest(t *testing.T) {
	c := cfg
	c.BaseURL = "/aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google"
	c.APIKey = "ya29.token"
	res := pt.Generate(t, c, ":streamGenerateContent", pt.Transcript(t, "vertex-gemini-stream-partial-args.chunks.jsonl"),
		userText("gemini-3-flash-preview", "hi", true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	s := res.Sent
	if s.Path != "/aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/gemini-3-flash-preview:streamGenerateContent" || s.RawQuery != "alt=sse" {
		t.Errorf("sent %s?%s", s.Path, s.RawQuery)
	}
	if s.Header.Get("Authorization") != "Bearer ya29.token" || s.Header.Get("X-Goog-Api-Key") != "" {
		t.Errorf("auth headers = %v", s.Header)
	}
}

// Vertex streams call arguments as partialArgs fragments by JSON path; each
// call must come out whole, with its arguments assembled
// (docs/protocols.md#trap-tool-arguments).
func TestPitfall1_VertexPartialArgsAssembled(t *testing.T) {
	c := cfg
	c.BaseURL = "/aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google"
	res := pt.Generate(t, c, ":streamGenerateContent", pt.Transcript(t, "vertex-gemini-stream-partial-args.chunks.jsonl"),
		userText("gemini-3-flash-preview", "hi", true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	r := res.Response
	var got []string
	for _, p := range r.Parts {
		switch p.Type {
		case llm.PartToolCall:
			got = append(got, p.ToolCall.Name+p.ToolCall.Arguments)
		default:
			got = append(got, string(p.Type))
		}
	}
	want := []string{"reasoning", `read_theme{}`, `read_screen{"id":"A"}`, `read_screen{"id":"B"}`, `read_screen{"id":"C"}`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("parts = %q\nwant    %q", got, want)
	}
	if r.StopReason != llm.StopToolUse {
		t.Errorf("stop = %q", r.StopReason)
	}
	if !strings.HasPrefix(r.Parts[1].ToolCall.Signature, "AY89a18a8") {
		t.Errorf("read_theme signature = %.20q", r.Parts[1].ToolCall.Signature)
	}
	// Each call is one PartStart, one Delta, one PartStop.
	deltas := map[int]int{}
	for _, ev := range res.Events {
		if ev.Type == llm.EventDelta {
			deltas[ev.Index]++
		}
	}
	for i := 1; i < len(r.Parts); i++ {
		if deltas[i] != 1 {
			t.Errorf("part %d had %d deltas; a tool call is emitted whole", i, deltas[i])
		}
	}
}

// Thought summaries become reasoning: consecutive thought chunks are one
// reasoning part, and the answer's signature rides on the text part.
func TestPitfall4_ThoughtsAreReasoningWithSignature(t *testing.T) {
	res := pt.Generate(t, cfg, ":streamGenerateContent", pt.Transcript(t, "gemini-stream-thoughts-include-thoughts.sse"),
		userText("gemini-2.5-pro", "hi", true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	r := res.Response
	if len(r.Parts) != 2 || r.Parts[0].Type != llm.PartReasoning || r.Parts[1].Type != llm.PartText {
		t.Fatalf("parts = %+v", r.Parts)
	}
	if !strings.HasPrefix(r.Reasoning(), "**Clarifying User Goals**") || !strings.Contains(r.Reasoning(), "**Crafting Safe Instructions**") {
		t.Errorf("reasoning = %.80q", r.Reasoning())
	}
	if !strings.HasPrefix(r.Text(), "This is a great question!") {
		t.Errorf("text = %.40q", r.Text())
	}
	if p := r.Parts[1]; !strings.HasPrefix(p.Signature, "CiIB0e2Kb6Syj1a961") || p.Origin != "gemini" {
		t.Errorf("text part signature %.20q origin %q", p.Signature, p.Origin)
	}
	if u := r.Usage; u.InputTokens != 34 || u.OutputTokens != 469+787 || u.ReasoningTokens != 787 {
		t.Errorf("usage = %+v", u)
	}
}

// The usage of a recorded answer (docs/protocols.md#gemini-usage): prompt
// 9, candidates 29, thoughts 256, total 294. candidatesTokenCount excludes
// the thoughts; canonical output includes them.
func TestPitfall7_UsageThoughtsCounted294(t *testing.T) {
	body := "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}\r\n\r\n" +
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"!\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 29,\"totalTokenCount\": 294,\"thoughtsTokenCount\": 256},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}\r\n\r\n"
	res := pt.Generate(t, cfg, ":streamGenerateContent", fakeupstream.Response{ContentType: "text/event-stream", Body: []byte(body)},
		userText("gemini-2.5-flash", "hi", true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := llm.Usage{InputTokens: 9, OutputTokens: 285, ReasoningTokens: 256}
	if u := res.Response.Usage; u != want || u.Total() != 294 {
		t.Errorf("usage = %+v (total %d), want %+v (total 294)", u, u.Total(), want)
	}
}

// Cached and tool-use prompt tokens: cachedContentTokenCount is part of
// promptTokenCount, toolUsePromptTokenCount is not.
func TestPitfall7_CachedAndToolUsePromptTokens(t *testing.T) {
	r, err := gemini.DecodeResponse([]byte(`{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}],` +
		`"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":60,"toolUsePromptTokenCount":7,"candidatesTokenCount":5,"totalTokenCount":112}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{InputTokens: 107, CachedInputTokens: 60, OutputTokens: 5}
	if r.Usage != want {
		t.Errorf("usage = %+v, want %+v", r.Usage, want)
	}
}

// Gemini 3 sends the functionCall in one chunk and STOP, with no call, in
// the next: the turn still ended in a tool call.
func TestPitfall6_StopAfterFunctionCallIsToolUse(t *testing.T) {
	name := "gemini-stream-function-call-thought-signature.sse"
	body := pt.Body(t, name)
	// The transcript really has the call and STOP in different chunks.
	chunks := bytes.Split(bytes.TrimSpace(body), []byte("\r\n\r\n"))
	if len(chunks) != 2 || !bytes.Contains(chunks[0], []byte("functionCall")) || bytes.Contains(chunks[0], []byte("finishReason")) ||
		bytes.Contains(chunks[1], []byte("functionCall")) || !bytes.Contains(chunks[1], []byte(`"finishReason": "STOP"`)) {
		t.Fatal("transcript no longer splits the call and STOP")
	}
	res := pt.Generate(t, cfg, ":streamGenerateContent", pt.Transcript(t, name), userText("gemini-3-pro-preview", "hi", true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	r := res.Response
	if r.StopReason != llm.StopToolUse {
		t.Errorf("stop = %q, want tool_use", r.StopReason)
	}
	if len(r.Parts) != 1 || r.Parts[0].ToolCall == nil || r.Parts[0].ToolCall.Name != "get_country" || r.Parts[0].ToolCall.Arguments != "{}" {
		t.Errorf("parts = %+v", r.Parts)
	}
}

// The thoughtSignature decoded from a Gemini 3 stream must go back,
// byte for byte, on the functionCall part of the next request; otherwise
// Gemini 3 answers 400 "Function call is missing a thought_signature".
func TestPitfall5_ThoughtSignatureRoundTrip(t *testing.T) {
	name := "gemini-stream-function-call-thought-signature.sse"
	res := pt.Generate(t, cfg, ":streamGenerateContent", pt.Transcript(t, name), userText("gemini-3-pro-preview", "Which country?", true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	call := res.Response.Parts[0].ToolCall
	var recorded struct {
		Candidates []struct {
			Content struct {
				Parts []struct {
					ThoughtSignature string `json:"thoughtSignature"`
				} `json:"parts"`
			} `json:"content"`
		} `json:"candidates"`
	}
	first, _, _ := bytes.Cut(bytes.TrimPrefix(pt.Body(t, name), []byte("data: ")), []byte("\r\n"))
	if err := json.Unmarshal(first, &recorded); err != nil {
		t.Fatal(err)
	}
	sig := recorded.Candidates[0].Content.Parts[0].ThoughtSignature
	if sig == "" || call.Signature != sig || call.Origin != "gemini" {
		t.Fatalf("decoded signature %.20q (origin %q), recorded %.20q", call.Signature, call.Origin, sig)
	}

	follow := userText("gemini-3-pro-preview", "Which country?", true)
	follow.Messages = append(follow.Messages,
		llm.Message{Role: llm.RoleAssistant, Parts: res.Response.Parts},
		llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{
			CallID: call.ID, Content: []llm.Part{{Type: llm.PartText, Text: "Mexico"}}}}}})
	res2 := pt.Generate(t, cfg, ":streamGenerateContent", pt.Transcript(t, "gemini-stream-text.sse"), follow)
	if res2.Err != nil {
		t.Fatal(res2.Err)
	}
	var sent struct {
		Contents []struct {
			Role  string `json:"role"`
			Parts []struct {
				FunctionCall *struct {
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
				FunctionResponse *struct {
					Name     string          `json:"name"`
					Response json.RawMessage `json:"response"`
				} `json:"functionResponse"`
				ThoughtSignature string `json:"thoughtSignature"`
			} `json:"parts"`
		} `json:"contents"`
	}
	if err := json.Unmarshal(res2.Sent.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.Contents) != 3 {
		t.Fatalf("sent %s", res2.Sent.Body)
	}
	model := sent.Contents[1]
	if model.Role != "model" || len(model.Parts) != 1 || model.Parts[0].FunctionCall == nil ||
		model.Parts[0].FunctionCall.Name != "get_country" || string(model.Parts[0].FunctionCall.Args) != "{}" {
		t.Fatalf("model turn sent as %+v", model)
	}
	if model.Parts[0].ThoughtSignature != sig {
		t.Errorf("thoughtSignature sent %.20q…, want the recorded %.20q… byte for byte", model.Parts[0].ThoughtSignature, sig)
	}
	if !bytes.Contains(res2.Sent.Body, []byte(`"thoughtSignature":"`+sig+`"`)) {
		t.Error("the recorded signature bytes are not in the sent body")
	}
	fr := sent.Contents[2].Parts[0].FunctionResponse
	if fr == nil || fr.Name != "get_country" || string(fr.Response) != `{"result":"Mexico"}` {
		t.Errorf("function response sent as %+v", sent.Contents[2])
	}
}

// Gemini puts the rate limit's delay in google.rpc.RetryInfo, not in a
// header; it must reach the client as retry-after, rounded up.
func TestPitfall9_RetryInfoToRetryAfter(t *testing.T) {
	res := pt.Generate(t, cfg, ":streamGenerateContent", pt.Transcript(t, "gemini-error-429-resource-exhausted.json"),
		userText("gemini-2.5-flash", "hi", true))
	e := res.Err
	if e == nil || e.Kind != llm.KindRateLimit || e.HTTPStatus() != 429 {
		t.Fatalf("err = %+v", e)
	}
	if e.RetryAfter != "35" {
		t.Errorf("retry-after = %q, want 35 (34.4s rounded up)", e.RetryAfter)
	}
	if e.Message != "You exceeded your current quota, please check your plan." || e.Type != "RESOURCE_EXHAUSTED" {
		t.Errorf("message %q type %q", e.Message, e.Type)
	}
}

func TestErrorInvalidAPIKeyIsGatewayCredentials(t *testing.T) {
	res := pt.Generate(t, cfg, ":generateContent", pt.Transcript(t, "gemini-error-400-invalid-api-key.json"),
		userText("gemini-2.5-flash", "hi", false))
	e := res.Err
	if e == nil || e.Kind != llm.KindUpstream || e.HTTPStatus() != http.StatusBadGateway || e.Code != "API_KEY_INVALID" {
		t.Fatalf("err = %+v", e)
	}
	if !strings.Contains(e.Message, "rejected the gateway's credentials") || !strings.Contains(e.Message, "API key not valid") {
		t.Errorf("message = %q", e.Message)
	}
}

func TestErrorModelNotFound(t *testing.T) {
	res := pt.Generate(t, cfg, ":generateContent", pt.Transcript(t, "gemini-error-404-model-not-found.json"),
		userText("this-model-does-not-exist-12345", "hi", false))
	e := res.Err
	if e == nil || e.Kind != llm.KindNotFound || e.HTTPStatus() != 404 || e.Type != "NOT_FOUND" ||
		!strings.HasPrefix(e.Message, "models/this-model-does-not-exist-12345 is not found") {
		t.Fatalf("err = %+v", e)
	}
}

func TestErrorStatuses(t *testing.T) {
	for _, tc := range []struct {
		status     int
		gstatus    string
		kind       llm.ErrorKind
		httpStatus int
	}{
		{400, "INVALID_ARGUMENT", llm.KindInvalidRequest, 400},
		{403, "PERMISSION_DENIED", llm.KindUpstream, 502}, // the gateway's key lacks a permission
		{500, "INTERNAL", llm.KindUpstream, 500},
		{503, "UNAVAILABLE", llm.KindOverloaded, 503},
		{504, "DEADLINE_EXCEEDED", llm.KindTimeout, 504},
	} {
		t.Run(tc.gstatus, func(t *testing.T) {
			body := fmt.Sprintf(`{"error":{"code":%d,"message":"m","status":%q}}`, tc.status, tc.gstatus)
			r := fakeupstream.Response{Status: tc.status, ContentType: "application/json", Body: []byte(body)}
			res := pt.Generate(t, cfg, ":generateContent", r, userText("gemini-2.5-flash", "hi", false))
			e := res.Err
			msg, typ := "m", tc.gstatus
			if tc.status == 403 {
				msg, typ = `provider "test" rejected the gateway's credentials: m`, ""
			}
			if e == nil || e.Kind != tc.kind || e.HTTPStatus() != tc.httpStatus || e.Message != msg || e.Type != typ {
				t.Errorf("err = %+v", e)
			}
		})
	}
	// A 503 with a retry-after header passes it on
	// (docs/protocols.md#trap-retry-after).
	r := fakeupstream.Response{Status: 503, ContentType: "application/json", Header: http.Header{"Retry-After": {"7"}},
		Body: []byte(`{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`)}
	res := pt.Generate(t, cfg, ":generateContent", r, userText("gemini-2.5-flash", "hi", false))
	if res.Err == nil || res.Err.RetryAfter != "7" {
		t.Errorf("err = %+v", res.Err)
	}
}

// goldenName is a transcript's name without its extension, plus .golden.
func goldenName(transcript string) string {
	name, _, _ := strings.Cut(transcript, ".")
	return name + ".golden"
}

func newAdapter(c config.Provider) (provider.Provider, error) {
	return provider.New(c, provider.Options{})
}

func TestTransportError(t *testing.T) {
	c := cfg
	c.Name = "g"
	fake := fakeupstream.New()
	url := fake.URL()
	fake.Close()
	c.BaseURL = url
	p, err := newAdapter(c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(t.Context(), userText("gemini-2.5-flash", "hi", false), "gemini-2.5-flash")
	e := llm.AsError(err)
	if e.Kind != llm.KindUpstream || e.Class != "upstream_connection" {
		t.Errorf("err = %+v", e)
	}
}

// A stream cut before its finish reason is a failure, not a short answer.
func TestCutStreamIsAnError(t *testing.T) {
	r := pt.Transcript(t, "gemini-stream-text.sse")
	r.CutAfterEvents = 1
	res := pt.Generate(t, cfg, ":streamGenerateContent", r, userText("gemini-2.0-flash-exp", "hi", true))
	if res.Err == nil || res.Err.Class != "stream_cut" || res.Err.Kind != llm.KindUpstream {
		t.Fatalf("err = %+v", res.Err)
	}
	if len(res.Events) == 0 || res.Events[0].Type != llm.EventStart {
		t.Errorf("events before the cut = %v", res.Events)
	}
}

// A body that ends cleanly without a finish reason was cut too: Gemini
// has no terminator, the finish reason is the only sign of completion.
func TestNoFinishReasonIsStreamCut(t *testing.T) {
	body := "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"}}],\"responseId\": \"r\"}\r\n\r\n"
	res := pt.Generate(t, cfg, ":streamGenerateContent", fakeupstream.Response{ContentType: "text/event-stream", Body: []byte(body)},
		userText("gemini-2.0-flash-exp", "hi", true))
	if res.Err == nil || res.Err.Class != "stream_cut" {
		t.Fatalf("err = %+v", res.Err)
	}
}

func TestMidStreamErrorChunk(t *testing.T) {
	body := "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"}}],\"responseId\": \"r\"}\r\n\r\n" +
		"data: {\"error\": {\"code\": 503,\"message\": \"The model is overloaded. Please try again later.\",\"status\": \"UNAVAILABLE\"}}\r\n\r\n"
	res := pt.Generate(t, cfg, ":streamGenerateContent", fakeupstream.Response{ContentType: "text/event-stream", Body: []byte(body)},
		userText("gemini-2.5-flash", "hi", true))
	e := res.Err
	if e == nil || e.Kind != llm.KindOverloaded || e.Class != "upstream_stream_error" || !strings.HasPrefix(e.Message, "The model is overloaded") {
		t.Fatalf("err = %+v", e)
	}
	if len(res.Events) < 3 || res.Events[2].Text != "The" {
		t.Errorf("events before the error = %v", res.Events)
	}
}

func TestMalformedChunk(t *testing.T) {
	r := fakeupstream.Response{ContentType: "text/event-stream", Body: []byte("data: {\"candidates\": [\r\n\r\n")}
	res := pt.Generate(t, cfg, ":streamGenerateContent", r, userText("gemini-2.5-flash", "hi", true))
	if res.Err == nil || res.Err.Class != "upstream_malformed" {
		t.Fatalf("err = %+v", res.Err)
	}
}

func TestFinishReasons(t *testing.T) {
	for finish, want := range map[string]llm.StopReason{
		"STOP":                    llm.StopEndTurn,
		"MAX_TOKENS":              llm.StopMaxTokens,
		"SAFETY":                  llm.StopContentFilter,
		"RECITATION":              llm.StopContentFilter,
		"BLOCKLIST":               llm.StopContentFilter,
		"PROHIBITED_CONTENT":      llm.StopContentFilter,
		"SPII":                    llm.StopContentFilter,
		"IMAGE_SAFETY":            llm.StopContentFilter,
		"MALFORMED_FUNCTION_CALL": llm.StopError,
		"UNEXPECTED_TOOL_CALL":    llm.StopError,
		"TOO_MANY_TOOL_CALLS":     llm.StopError,
		"OTHER":                   llm.StopError,
		"SOMETHING_NEW":           llm.StopError,
	} {
		r, err := gemini.DecodeResponse([]byte(`{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"` + finish + `"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.StopReason != want {
			t.Errorf("%s → %q, want %q", finish, r.StopReason, want)
		}
	}
	// A call with MAX_TOKENS is still a length stop.
	r, err := gemini.DecodeResponse([]byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]},"finishReason":"MAX_TOKENS"}]}`))
	if err != nil || r.StopReason != llm.StopMaxTokens {
		t.Errorf("call + MAX_TOKENS → %v, %v", r, err)
	}
}

func TestPromptBlocked(t *testing.T) {
	r, err := gemini.DecodeResponse([]byte(`{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash","responseId":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.StopReason != llm.StopContentFilter || len(r.Parts) != 0 || r.Usage.InputTokens != 8 {
		t.Errorf("response = %+v", r)
	}
}

// A signature on an empty text part signs the part before it; with nothing
// open it becomes a signature-only reasoning part, which must survive.
func TestPitfall4_SignatureOnEmptyPart(t *testing.T) {
	r, err := gemini.DecodeResponse([]byte(`{"candidates":[{"content":{"parts":[` +
		`{"text":"thinking","thought":true},{"text":"","thoughtSignature":"SIG1"},` +
		`{"text":"","thoughtSignature":"SIG2"},{"text":"answer"}]},"finishReason":"STOP"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Part{
		{Type: llm.PartReasoning, Text: "thinking", Signature: "SIG1", Origin: "gemini"},
		{Type: llm.PartReasoning, Signature: "SIG2", Origin: "gemini"},
		{Type: llm.PartText, Text: "answer", Origin: "gemini"},
	}
	got, _ := json.Marshal(r.Parts)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("parts:\n got %s\nwant %s", got, wantJSON)
	}
}

func TestCallIDsGivenAreKept(t *testing.T) {
	r, err := gemini.DecodeResponse([]byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"id":"fc-1","name":"f","args":{"a":1}}},{"functionCall":{"name":"g"}}]},"finishReason":"STOP"}],"responseId":"resp/1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := r.Parts[0].ToolCall.ID, r.Parts[1].ToolCall.ID; a != "fc-1" || b != "call_resp1_1" {
		t.Errorf("ids = %q, %q", a, b)
	}
}

func TestDroppedParamsHeader(t *testing.T) {
	req := userText("gemini-2.5-flash", "hi", true)
	no := false
	req.ParallelToolCalls = &no
	req.User = "u1"
	req.Dialect = llm.DialectOpenAI
	req.Extra = map[string]json.RawMessage{"logit_bias": []byte(`{}`), "metadata": []byte(`{}`)}
	res := pt.Generate(t, cfg, ":streamGenerateContent", pt.Transcript(t, "gemini-stream-text.sse"), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Header.Get("X-Switchyard-Dropped-Params"); got != "parallel_tool_calls,user,logit_bias,metadata" {
		t.Errorf("dropped = %q", got)
	}
	if bytes.Contains(res.Sent.Body, []byte("logit_bias")) || bytes.Contains(res.Sent.Body, []byte("u1")) {
		t.Errorf("sent %s", res.Sent.Body)
	}
}

// Text, a thought and calls in one chunk: every part is read, in order
// (docs/protocols.md#trap-mixed-delta).
func TestPitfall3_TextAndCallsInOneChunk(t *testing.T) {
	body := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hmm\",\"thought\":true},{\"text\":\"Calling.\"}," +
		"{\"functionCall\":{\"name\":\"a\",\"args\":{\"x\":1}}},{\"text\":\"And\"},{\"functionCall\":{\"name\":\"b\"}}]}," +
		"\"finishReason\":\"STOP\"}],\"responseId\":\"r\"}\r\n\r\n"
	res := pt.Generate(t, cfg, ":streamGenerateContent", fakeupstream.Response{ContentType: "text/event-stream", Body: []byte(body)},
		userText("gemini-2.5-flash", "hi", true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var got []string
	for _, p := range res.Response.Parts {
		if p.ToolCall != nil {
			got = append(got, p.ToolCall.ID+":"+p.ToolCall.Name+p.ToolCall.Arguments)
		} else {
			got = append(got, string(p.Type)+":"+p.Text)
		}
	}
	want := "reasoning:hmm|text:Calling.|call_r_0:a{\"x\":1}|text:And|call_r_1:b{}"
	if strings.Join(got, "|") != want || res.Response.StopReason != llm.StopToolUse {
		t.Errorf("parts = %s (stop %s)\nwant    %s", strings.Join(got, "|"), res.Response.StopReason, want)
	}
}

// usageMetadata is cumulative and repeated: the last one wins, and a final
// chunk without one keeps the count seen before it
// (docs/protocols.md#trap-stream-usage).
func TestPitfall8_UsageLastSeenWins(t *testing.T) {
	body := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}],\"usageMetadata\":{\"promptTokenCount\":55,\"candidatesTokenCount\":1}}\r\n\r\n" +
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}]}}],\"usageMetadata\":{\"promptTokenCount\":257,\"candidatesTokenCount\":2}}\r\n\r\n" +
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n"
	res := pt.Generate(t, cfg, ":streamGenerateContent", fakeupstream.Response{ContentType: "text/event-stream", Body: []byte(body)},
		userText("gemini-2.5-flash", "hi", true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if u := res.Response.Usage; u.InputTokens != 257 || u.OutputTokens != 2 {
		t.Errorf("usage = %+v, want input 257, output 2", u)
	}
	if last := res.Events[len(res.Events)-1]; last.Type != llm.EventStop || last.Usage == nil || last.Usage.InputTokens != 257 {
		t.Errorf("stop event = %+v; usage belongs on it", last)
	}
}

func TestTimeout(t *testing.T) {
	c := cfg
	c.Timeout = 50 * time.Millisecond
	r := pt.Transcript(t, "gemini-stream-text.sse")
	r.FirstByteDelay = 2 * time.Second
	res := pt.Generate(t, c, ":streamGenerateContent", r, userText("gemini-2.0-flash-exp", "hi", true))
	if res.Err == nil || res.Err.Kind != llm.KindTimeout {
		t.Fatalf("err = %+v", res.Err)
	}
	// A stream that stalls after its first event times out too.
	r = pt.Transcript(t, "gemini-stream-text.sse")
	r.EventDelay = 2 * time.Second
	res = pt.Generate(t, c, ":streamGenerateContent", r, userText("gemini-2.0-flash-exp", "hi", true))
	if res.Err == nil || res.Err.Kind != llm.KindTimeout {
		t.Fatalf("stalled stream: err = %+v", res.Err)
	}
}
