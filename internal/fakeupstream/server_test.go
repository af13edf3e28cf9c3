package fakeupstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestQueuedThenDefault(t *testing.T) {
	s := newTestServer(t)
	s.Enqueue("/chat/completions", TextCompletion("one"), TextCompletion("two"))
	s.Handle("/chat/completions", TextCompletion("default"))
	s.Enqueue("/chat/completions", RateLimited("1"))

	for i, want := range []struct {
		status int
		body   []byte
	}{
		{200, TextCompletion("one").Body},
		{200, TextCompletion("two").Body},
		{429, RateLimited("1").Body},
		{200, TextCompletion("default").Body},
		{200, TextCompletion("default").Body},
	} {
		resp, body := post(t, s, "/v1/chat/completions")
		if resp.StatusCode != want.status || !bytes.Equal(body, want.body) {
			t.Errorf("request %d: got %d %s, want %d %s", i, resp.StatusCode, body, want.status, want.body)
		}
	}
}

func TestRouting(t *testing.T) {
	s := newTestServer(t)
	s.Handle("/completions", TextCompletion("legacy"))
	s.Handle("/chat/completions", TextCompletion("chat"))
	s.Enqueue("/embeddings", TextCompletion("once"))

	for _, tt := range []struct {
		path   string
		status int
		text   string
	}{
		{"/v1/chat/completions", 200, "chat"}, // the longest matching suffix wins
		{"/v1/completions", 200, "legacy"},
		{"/v1/embeddings", 200, "once"},
		{"/v1/embeddings", 404, ""}, // queue used up, no default
		{"/v1/models", 404, ""},
	} {
		resp, body := post(t, s, tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.status == 404 {
			var e struct {
				Error struct{ Type, Code, Message string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "unknown_url" || !strings.Contains(e.Error.Message, tt.path) {
				t.Errorf("%s: 404 body %s (%v) is not an OpenAI error naming the path", tt.path, body, err)
			}
			continue
		}
		if !bytes.Equal(body, TextCompletion(tt.text).Body) {
			t.Errorf("%s: got %s, want the %q reply", tt.path, body, tt.text)
		}
	}

	s.Reset()
	if resp, _ := post(t, s, "/v1/chat/completions"); resp.StatusCode != 404 {
		t.Errorf("after Reset: status %d, want 404", resp.StatusCode)
	}
}

func TestResponseHeaders(t *testing.T) {
	s := newTestServer(t)
	s.Handle("/plain", Response{Body: []byte("<html>not sniffed</html>")})
	s.Handle("/header", Response{
		Status: http.StatusAccepted,
		Header: http.Header{"Content-Type": {"text/plain"}, "X-Request-Id": {"req_1"}},
		Body:   []byte("ok"),
	})
	s.Handle("/override", Response{
		Header:      http.Header{"Content-Type": {"text/plain"}},
		ContentType: "application/json",
		Body:        []byte("{}"),
	})

	resp, _ := post(t, s, "/plain")
	if resp.StatusCode != 200 {
		t.Errorf("zero Status: got %d, want 200", resp.StatusCode)
	}
	if ct, ok := resp.Header["Content-Type"]; ok {
		t.Errorf("no content type set, yet got Content-Type %q", ct)
	}
	resp, _ = post(t, s, "/header")
	if resp.StatusCode != 202 || resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("X-Request-Id") != "req_1" {
		t.Errorf("got %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = post(t, s, "/override")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("ContentType did not override Header: %q", ct)
	}
}

func TestRecording(t *testing.T) {
	s := newTestServer(t)
	if got := s.LastRequest(); got.Method != "" || got.Header != nil {
		t.Errorf("LastRequest before any request = %+v, want zero", got)
	}
	s.Handle("/chat/completions", TextCompletion("hi"))

	req, _ := http.NewRequest("POST", s.URL()+"/openai/deployments/d/chat/completions?api-version=2024-10-21", strings.NewReader(`{"model":"gpt-4o"}`))
	req.Header.Set("Api-Key", "secret")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	post(t, s, "/v1/unknown")

	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/openai/deployments/d/chat/completions" || r.RawQuery != "api-version=2024-10-21" ||
		r.Header.Get("Api-Key") != "secret" || string(r.Body) != `{"model":"gpt-4o"}` {
		t.Errorf("recorded %+v", r)
	}
	if last := s.LastRequest(); last.Path != "/v1/unknown" {
		t.Errorf("LastRequest().Path = %q, want /v1/unknown (unmatched requests are recorded too)", last.Path)
	}

	s.SetRecording(false)
	if resp, body := post(t, s, "/v1/chat/completions"); resp.StatusCode != 200 || !bytes.Equal(body, TextCompletion("hi").Body) {
		t.Errorf("with recording off: got %d %s", resp.StatusCode, body)
	}
	if n := len(s.Requests()); n != 2 {
		t.Errorf("with recording off: %d requests recorded, want 2", n)
	}
	s.SetRecording(true)

	s.Reset()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("after Reset: %d requests recorded", n)
	}
}

func TestConstructors(t *testing.T) {
	type openAIError struct {
		Error struct {
			Message string
			Type    string
			Param   *string
			Code    *string
		}
	}
	decode := func(name string, body []byte) openAIError {
		t.Helper()
		var e openAIError
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("%s: %v in %s", name, err, body)
		}
		if e.Error.Message == "" || e.Error.Param != nil {
			t.Errorf("%s: not an OpenAI error body: %s", name, body)
		}
		return e
	}

	r := RateLimited("7")
	e := decode("RateLimited", r.Body)
	if r.Status != 429 || r.Header.Get("Retry-After") != "7" || e.Error.Type != "requests" ||
		e.Error.Code == nil || *e.Error.Code != "rate_limit_exceeded" {
		t.Errorf("RateLimited: %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := RateLimited(""); r.Header.Get("Retry-After") != "" {
		t.Errorf("RateLimited(\"\") sets retry-after %q", r.Header.Get("Retry-After"))
	}
	for _, status := range []int{500, 503} {
		r := ServerError(status)
		e := decode("ServerError", r.Body)
		if r.Status != status || e.Error.Type != "server_error" || e.Error.Code != nil {
			t.Errorf("ServerError(%d): %d %s", status, r.Status, r.Body)
		}
	}

	s := newTestServer(t)
	s.Handle("/bad", MalformedJSON())
	resp, body := post(t, s, "/bad")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Valid(body) || len(body) == 0 {
		t.Errorf("MalformedJSON: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	r = TextCompletion(`Paris <is> "the" capital`)
	var c struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal(r.Body, &c); err != nil {
		t.Fatalf("TextCompletion: %v", err)
	}
	if c.Object != "chat.completion" || len(c.Choices) != 1 || c.Choices[0].Message.Role != "assistant" ||
		c.Choices[0].Message.Content != `Paris <is> "the" capital` || c.Choices[0].FinishReason != "stop" ||
		c.Usage.CompletionTokens != 4 || c.Usage.TotalTokens != c.Usage.PromptTokens+4 {
		t.Errorf("TextCompletion: %s", r.Body)
	}
}

// streamChunk is the part of an OpenAI chat.completion.chunk the tests check.
type streamChunk struct {
	Object  string
	Choices []struct {
		Delta struct {
			Role    string
			Content *string
		}
		FinishReason *string `json:"finish_reason"`
	}
	Usage *struct {
		CompletionTokens int `json:"completion_tokens"`
	}
}

func TestTextStream(t *testing.T) {
	const piece = "tok \"<&>\"\n"
	for _, usage := range []bool{false, true} {
		r := TextStream(3, piece, usage)
		if r.ContentType != "text/event-stream; charset=utf-8" {
			t.Errorf("content type %q", r.ContentType)
		}
		events := splitEvents(r.Body)
		if n := 3 + 1 + 1; usage && len(events) != n+1 || !usage && len(events) != n {
			t.Fatalf("usage=%v: %d events", usage, len(events))
		}
		if string(events[len(events)-1]) != "data: [DONE]\n\n" {
			t.Errorf("usage=%v: last event %q", usage, events[len(events)-1])
		}
		var chunks []streamChunk
		for _, ev := range events[:len(events)-1] {
			payload, ok := bytes.CutPrefix(ev, []byte("data: "))
			if !ok || !bytes.HasSuffix(payload, []byte("\n\n")) || bytes.Count(payload, []byte("\n")) != 2 {
				t.Fatalf("badly framed event %q", ev)
			}
			var c streamChunk
			if err := json.Unmarshal(payload, &c); err != nil {
				t.Fatalf("%v in %s", err, payload)
			}
			if got := bytes.Contains(payload, []byte(`"usage":`)); got != usage {
				t.Errorf("usage=%v: chunk has a usage key: %v", usage, got)
			}
			chunks = append(chunks, c)
		}
		for i, c := range chunks[:3] {
			if c.Object != "chat.completion.chunk" || len(c.Choices) != 1 || c.Choices[0].Delta.Content == nil ||
				*c.Choices[0].Delta.Content != piece || (c.Choices[0].Delta.Role == "assistant") != (i == 0) ||
				c.Choices[0].FinishReason != nil {
				t.Errorf("content chunk %d: %+v", i, c)
			}
		}
		if fin := chunks[3]; len(fin.Choices) != 1 || fin.Choices[0].FinishReason == nil || *fin.Choices[0].FinishReason != "stop" ||
			fin.Choices[0].Delta.Content != nil {
			t.Errorf("finish chunk: %+v", fin)
		}
		if usage {
			if u := chunks[4]; len(u.Choices) != 0 || u.Usage == nil || u.Usage.CompletionTokens != 3 {
				t.Errorf("usage chunk: %s", events[4])
			}
			if !bytes.Contains(events[4], []byte(`"choices":[]`)) {
				t.Errorf("usage chunk lacks choices:[]: %s", events[4])
			}
		}
	}
	if events := splitEvents(TextStream(0, "x", false).Body); len(events) != 3 {
		t.Errorf("TextStream(0): %d events, want role, finish and [DONE]", len(events))
	}
}

func TestMalformedStream(t *testing.T) {
	r := TextStream(2, "x", false)
	r.Malformed = true
	s := newTestServer(t)
	s.Handle("/chat/completions", r)
	resp, body := post(t, s, "/v1/chat/completions")
	if !isEventStream(resp.Header.Get("Content-Type")) {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	payload, ok := bytes.CutPrefix(body, []byte("data: "))
	if !ok || json.Valid(bytes.TrimSpace(payload)) || bytes.Contains(body, []byte("[DONE]")) {
		t.Errorf("malformed stream body %q", body)
	}
}

func TestCutAfterEvents(t *testing.T) {
	stream := TextStream(5, "x", true)
	gemini := MustTranscript("gemini-stream-text.sse")
	for _, tt := range []struct {
		name   string
		r      Response
		cut    int
		events int // events expected before the cut
	}{
		{"two", stream, 2, 2},
		{"headers only", stream, -1, 0},
		{"past the end", stream, 100, len(splitEvents(stream.Body))},
		{"gemini CRLF", gemini, 1, 1},
	} {
		s := newTestServer(t)
		r := tt.r
		r.CutAfterEvents = tt.cut
		s.Handle("/x", r)
		resp, err := s.Client().Post(s.URL()+"/x", "application/json", nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: read error %v, want unexpected EOF", tt.name, err)
		}
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", tt.name, resp.StatusCode)
		}
		if want := bytes.Join(splitEvents(r.Body)[:tt.events], nil); !bytes.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, want)
		}
	}
}

func TestEventDelay(t *testing.T) {
	s := newTestServer(t)
	const delay = 5 * time.Millisecond
	r := TextStream(4, "x", false)
	r.EventDelay = delay
	s.Handle("/chat/completions", r)
	want := splitEvents(r.Body)

	start := time.Now()
	resp, err := s.Client().Post(s.URL()+"/v1/chat/completions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i, w := range want {
		ev, err := readEvent(br)
		if err != nil || !bytes.Equal(ev, w) {
			t.Fatalf("event %d: %q, %v; want %q", i, ev, err, w)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the last event: %v, want EOF", err)
	}
	// Timers never fire early, so this lower bound cannot flake.
	if elapsed, least := time.Since(start), time.Duration(len(want)-1)*delay; elapsed < least {
		t.Errorf("stream took %v, less than the %v of event delays", elapsed, least)
	}
}

func TestFirstByteDelayAddsToLatency(t *testing.T) {
	s := newTestServer(t)
	s.SetLatency(10 * time.Millisecond)
	s.Handle("/x", Response{FirstByteDelay: 10 * time.Millisecond, Body: []byte("ok")})
	start := time.Now()
	_, body := post(t, s, "/x")
	if elapsed := time.Since(start); elapsed < 20*time.Millisecond {
		t.Errorf("reply took %v, less than latency plus first-byte delay", elapsed)
	}
	if string(body) != "ok" {
		t.Errorf("body %q", body)
	}
}

// TestStallsEndWithClient checks that stalled replies stop as soon as the
// client goes away, with the server still open.
func TestStallsEndWithClient(t *testing.T) {
	s := newTestServer(t)
	stream := TextStream(3, "x", false)
	stream.EventDelay = time.Hour
	s.Handle("/stream", stream)
	s.Handle("/slow", Response{FirstByteDelay: time.Hour})
	base := runtime.NumGoroutine()

	// A stream stalled after its first event.
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/stream", nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	ev, err := readEvent(br)
	if want := splitEvents(stream.Body)[0]; err != nil || !bytes.Equal(ev, want) {
		t.Fatalf("first event %q, %v; want %q", ev, err, want)
	}
	cancel()
	if _, err := io.ReadAll(br); err == nil {
		t.Error("stalled stream completed after cancel")
	}
	resp.Body.Close()

	// A reply stalled before its headers.
	ctx, cancel = context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/slow", nil)
		resp, err := s.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, func() bool { return len(s.Requests()) == 2 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("stalled request: %v, want context canceled", err)
	}

	waitGoroutines(t, base)
}

func TestCloseWithStalledReplies(t *testing.T) {
	base := runtime.NumGoroutine()
	s := New()
	stream := TextStream(3, "x", false)
	stream.EventDelay = time.Hour
	s.Handle("/stream", stream)
	s.Handle("/slow", Response{FirstByteDelay: time.Hour})

	errc := make(chan error, 3)
	finish := func(resp *http.Response, err error) {
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				err = fmt.Errorf("complete %d reply", resp.StatusCode)
			}
		}
		errc <- err
	}
	client := s.Client()
	resp, err := client.Post(s.URL()+"/stream", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := readEvent(br); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := io.ReadAll(br)
		finish(resp, err)
	}()
	for range 2 {
		go func() { finish(client.Post(s.URL()+"/slow", "application/json", nil)) }()
	}
	waitFor(t, func() bool { return len(s.Requests()) == 3 })

	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // generous: Close should take milliseconds
		t.Fatal("Close blocked with stalled replies in flight")
	}
	for range 3 {
		if err := <-errc; err == nil {
			t.Error("a stalled reply completed cleanly")
		}
	}
	s.Close() // idempotent
	waitGoroutines(t, base)
}

func TestConcurrent(t *testing.T) {
	const (
		queued    = 50
		workers   = 32
		perWorker = 25
		total     = workers * perWorker
	)
	s := newTestServer(t)
	s.Handle("/chat/completions", TextStream(3, "x", true))
	for i := range queued {
		s.Enqueue("/chat/completions", Response{ContentType: "application/json", Body: fmt.Appendf(nil, `{"q":%d}`, i)})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()

	var (
		mu       sync.Mutex
		seen     = make(map[string]int)
		defaults int
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				resp, err := client.Post(s.URL()+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
				if err != nil {
					t.Error(err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if bytes.HasPrefix(body, []byte(`{"q":`)) {
					seen[string(body)]++
				} else if bytes.Equal(body, TextStream(3, "x", true).Body) {
					defaults++
				} else {
					t.Errorf("unexpected body %q", body)
				}
				mu.Unlock()
			}
		})
	}
	// Configure and inspect the server while it is under load.
	stop := make(chan struct{})
	var side sync.WaitGroup
	side.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.Handle("/embeddings", TextCompletion("e"))
			s.SetLatency(0)
			_ = s.Requests()
			_ = s.LastRequest()
		}
	})
	wg.Wait()
	close(stop)
	side.Wait()

	if len(seen) != queued {
		t.Errorf("%d distinct queued replies served, want %d", len(seen), queued)
	}
	for body, n := range seen {
		if n != 1 {
			t.Errorf("queued reply %s served %d times", body, n)
		}
	}
	if defaults != total-queued {
		t.Errorf("%d default replies, want %d", defaults, total-queued)
	}
	if n := len(s.Requests()); n != total {
		t.Errorf("recorded %d requests, want %d", n, total)
	}
}

func BenchmarkTextStream(b *testing.B) {
	s := newTestServer(b)
	s.SetRecording(false)
	s.Handle("/chat/completions", TextStream(20, "tok", true))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	defer client.CloseIdleConnections()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(s.URL()+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// readEvent reads one LF-framed event, up to and including its blank line.
func readEvent(br *bufio.Reader) ([]byte, error) {
	var ev []byte
	for {
		line, err := br.ReadBytes('\n')
		ev = append(ev, line...)
		if err != nil {
			return ev, err
		}
		if len(line) == 1 {
			return ev, nil
		}
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
	}
}

// waitGoroutines waits until no more goroutines run than base, failing the
// test with their stacks if some linger.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRespondAnswersByRequest(t *testing.T) {
	s := New()
	defer s.Close()
	s.Respond("/chat/completions", func(r Recorded) Response {
		return TextCompletion("echo " + string(r.Body))
	})
	s.Enqueue("/chat/completions", ServerError(503))
	post := func(body string) (int, string) {
		resp, err := http.Post(s.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post("x"); code != 503 {
		t.Errorf("queued reply not served first: %d", code)
	}
	for _, q := range []string{"one", "two"} {
		if code, body := post(q); code != 200 || !strings.Contains(body, `"echo `+q+`"`) {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	s.SetRecording(false) // the function still sees the body
	if _, body := post("three"); !strings.Contains(body, `"echo three"`) {
		t.Errorf("without recording: %s", body)
	}
}
