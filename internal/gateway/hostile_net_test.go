package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/testenv"
)

// Hostile clients: slow bodies, slow headers, too many connections and
// bogus model names (issue 11 §4 and §7). Each test reports its figures
// with t.Log; go test -v -run TestHostile ./internal/gateway/ shows them.

// served is a gateway behind its own http.Server (Serve, with the
// configured connection bound and timeouts), not httptest's.
type served struct {
	fake   *fakeupstream.Server
	gw     *gateway.Gateway
	addr   string
	key    string
	logs   *testenv.SyncBuffer
	client openai.Client
}

func serve(t *testing.T, mutate ...func(*config.Config)) *served {
	t.Helper()
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	fake.Handle("/chat/completions", fakeupstream.TextCompletion("hi"))
	cfg := &config.Config{
		Storage:   "sqlite:" + filepath.Join(t.TempDir(), "switchyard.db"),
		Providers: []config.Provider{{Name: "openai", Type: "openai", BaseURL: fake.URL() + "/v1", APIKey: "sk-x", Models: []string{"gpt-4o-mini"}}},
		Models:    []config.Model{{Name: "chat-default", Target: "openai/gpt-4o-mini"}},
		AdminKey:  "admin-secret",
	}
	cfg.SetDefaults()
	cfg.RequestLog.FlushInterval = 10 * time.Millisecond
	for _, m := range mutate {
		m(cfg)
	}
	logs := &testenv.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	gw, err := gateway.New(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	secret, k, _ := keys.Generate("real-client", nil)
	if err := gw.Store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- gw.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	addr := ln.Addr().String()
	// A client of its own: other tests' idle connections do not count.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	return &served{fake: fake, gw: gw, addr: addr, key: secret, logs: logs,
		client: openai.NewClient(option.WithBaseURL("http://"+addr+"/v1/"), option.WithAPIKey(secret), option.WithMaxRetries(0), option.WithHTTPClient(hc))}
}

// chat makes one real request through the official SDK.
func (s *served) chat(t *testing.T) {
	t.Helper()
	if err := s.tryChat(); err != nil {
		t.Fatalf("a real client was not served: %v", err)
	}
}

func (s *served) tryChat() error {
	c, err := s.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "chat-default", Messages: userMsg("hi")})
	if err == nil && c.Choices[0].Message.Content != "hi" {
		err = fmt.Errorf("answer %q", c.Choices[0].Message.Content)
	}
	return err
}

// settle polls the goroutine count until it is at most want, for at most
// 60 s (a bound on a hang, not a timed assertion), and returns it.
func settle(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines remain, want at most %d", n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// attackers are raw connections that keep sending a request slowly. They
// are written from one goroutine and read by none, so that the
// goroutines the process has are the server's.
type attackers struct {
	conns []net.Conn
	stop  chan struct{}
	done  chan struct{}
}

// attack opens n connections, sends head on each, then, unless trickle is
// empty, every 100 ms trickle on each until stopped or the server hangs
// up.
func attack(t *testing.T, addr string, n int, head, trickle string) *attackers {
	t.Helper()
	a := &attackers{stop: make(chan struct{}), done: make(chan struct{})}
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		a.conns = append(a.conns, c)
	}
	go func() {
		defer close(a.done)
		open := append([]net.Conn(nil), a.conns...)
		for len(open) > 0 && trickle != "" {
			select {
			case <-a.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			kept := open[:0]
			for _, c := range open {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := io.WriteString(c, trickle); err == nil {
					kept = append(kept, c)
				}
			}
			open = kept
		}
	}()
	t.Cleanup(a.close)
	return a
}

func (a *attackers) close() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	<-a.done
	for _, c := range a.conns {
		c.Close()
	}
}

// answers reads, from each connection, the status the server answered
// with before it closed the connection: "" if it sent none.
func (a *attackers) answers() map[string]int {
	out := map[string]int{}
	for _, c := range a.conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			out[""]++
			continue
		}
		out[resp.Status+" close="+fmt.Sprint(resp.Close)]++
		resp.Body.Close()
	}
	return out
}

// hostileCount is the number of attacking connections: 2,000 as in the
// issue, fewer with -short.
func hostileCount() int {
	if testing.Short() {
		return 200
	}
	return 2000
}

// Connections with no key that trickle a body of less than 256 KiB (the
// size net/http drains after a handler to reuse a connection) hold
// nothing: each is refused on its headers, its connection closed, and the
// server serves real clients throughout. Before, 2,000 of them held 2,012
// goroutines for as long as they liked.
func TestHostileSlowBodies(t *testing.T) {
	s := serve(t)
	s.chat(t) // warm: the client's connection and the gateway's to the vendor
	before := runtime.NumGoroutine()
	n := hostileCount()
	head := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{\"model\":"
	a := attack(t, s.addr, n, head, " ")
	during := runtime.NumGoroutine()
	for range 20 {
		s.chat(t) // served while the attackers are connected and trickling
	}
	after := settle(t, before+20)
	got := a.answers()
	t.Logf("%d slow-body connections with no key: answers %v; goroutines before %d, when all were open %d, after %d", n, got, before, during, after)
	if got["401 Unauthorized close=true"] != n {
		t.Errorf("answers %v, want %d × 401 with Connection: close", got, n)
	}
	s.chat(t)
}

// A client with a key whose body is too slow gets a 408 in its dialect
// and the connection is closed; its goroutine is released.
func TestHostileSlowBodyWithKey(t *testing.T) {
	s := serve(t, func(c *config.Config) { c.HTTP.BodyTimeout, c.HTTP.BodyMinRate = 300*time.Millisecond, 1<<20 })
	s.chat(t)
	before := runtime.NumGoroutine()
	for _, tc := range []struct{ path, shape string }{
		{"/v1/chat/completions", `"code":"request_timeout"`},
		{"/v1/messages", `"type":"error"`},
	} {
		head := "POST " + tc.path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.key +
			"\r\nAnthropic-Version: 2023-06-01\r\nContent-Length: 100000\r\n\r\n{\"model\":"
		a := attack(t, s.addr, 20, head, " ")
		for _, c := range a.conns {
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: no answer: %v", tc.path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestTimeout || !resp.Close || !strings.Contains(string(b), tc.shape) {
				t.Fatalf("%s: %s close=%v %s", tc.path, resp.Status, resp.Close, b)
			}
		}
		a.close()
	}
	settle(t, before+20)
}

// The body deadline follows the bytes: a body sent steadily at four times
// the minimum rate is read to its end even though it takes longer than
// body_timeout, and a stream that outlasts body_timeout is not cut.
func TestBodyDeadlineFollowsTheBytes(t *testing.T) {
	s := serve(t, func(c *config.Config) { c.HTTP.BodyTimeout, c.HTTP.BodyMinRate = time.Second, 1000 })
	body := `{"model":"chat-default","messages":[{"role":"user","content":"hi"}]` + strings.Repeat(" ", 8000) + "}"
	pr, pw := io.Pipe()
	go func() {
		// 4,000 bytes a second, for about 2 s.
		for b := []byte(body); len(b) > 0; b = b[min(len(b), 100):] {
			if _, err := pw.Write(b[:min(len(b), 100)]); err != nil {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+s.addr+"/v1/chat/completions", pr)
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("a steady body was cut: %s %s", resp.Status, b)
	}

	slow := fakeupstream.TextStream(12, "w ", true)
	slow.EventDelay = 200 * time.Millisecond // 2.4 s in all
	s.fake.Handle("/chat/completions", slow)
	st := s.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "chat-default", Messages: userMsg("hi")})
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		acc.AddChunk(st.Current())
	}
	if err := st.Err(); err != nil || acc.Choices[0].Message.Content != strings.Repeat("w ", 12) {
		t.Fatalf("a stream longer than body_timeout was cut: %v %q", err, acc.Choices[0].Message.Content)
	}
}

// Connections that never finish their headers are closed after
// read_header_timeout, and real clients are served meanwhile.
func TestHostileSlowHeaders(t *testing.T) {
	s := serve(t, func(c *config.Config) { c.HTTP.ReadHeaderTimeout = time.Second })
	s.chat(t)
	before := runtime.NumGoroutine()
	n := hostileCount()
	a := attack(t, s.addr, n, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", "a")
	during := runtime.NumGoroutine()
	for range 20 {
		s.chat(t)
	}
	after := settle(t, before+20)
	got := a.answers()
	t.Logf("%d slow-header connections: answers %v; goroutines before %d, when all were open %d, after %d", n, got, before, during, after)
	// net/http answers a header timeout by closing the connection, or with
	// a 408 when it can.
	if got[""]+got["408 Request Timeout close=true"] != n {
		t.Errorf("answers %v", got)
	}
}

// At max_connections, new connections wait to be accepted; the bound is
// logged (once per interval, not once per connection) and counted, and a
// real client is served once the idle connections time out.
func TestHostileConnectionLimit(t *testing.T) {
	const limit = 50
	s := serve(t, func(c *config.Config) {
		c.HTTP.MaxConnections = limit
		c.HTTP.ReadHeaderTimeout = time.Second
	})
	a := attack(t, s.addr, limit+25, "", "") // connect, send nothing
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() { errs <- s.tryChat() }) // waits in the accept queue, then is served
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a real client was not served: %v", err)
		}
	}
	a.close()
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "switchyard_connections_max 50\n") || strings.Contains(string(b), "switchyard_connection_limit_reached_total 0\n") ||
		!strings.Contains(string(b), "switchyard_connection_limit_reached_total") {
		t.Errorf("metrics:\n%s", grepLines(string(b), "switchyard_connection"))
	}
	if n := strings.Count(s.logs.String(), "connection limit reached"); n < 1 || n > 3 {
		t.Errorf("%d log lines about the connection limit", n)
	}
	t.Logf("%s", grepLines(string(b), "switchyard_connection"))
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// modelNames returns the number of bogus model names to try: 10,000 as in
// the issue, fewer with -short.
func modelNames() int {
	if testing.Short() {
		return 1500
	}
	return 10000
}

// metricsText scrapes /metrics and returns the gateway's own series (not
// the Go runtime's), their count and the whole size in bytes.
func metricsText(t *testing.T, base string) (own []string, size int) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "gen_ai_") || strings.HasPrefix(l, "switchyard_") {
			own = append(own, l)
		}
	}
	return own, len(b)
}

// Model names a client makes up do not become metric series: /metrics
// stays the same size however many there are. A third of the names are
// unknown (404), a third are served by a configured provider (200) and a
// third are refused by it (upstream 404). Before, fifty 900 KB names made
// /metrics 911 MB.
func TestHostileModelNames(t *testing.T) {
	e := newEnv(t)
	e.fake.SetRecording(false)
	notFound := jsonResponse(404, `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`)
	ok := fakeupstream.TextCompletion("hi")
	e.fake.Respond("/chat/completions", func(r fakeupstream.Recorded) fakeupstream.Response {
		if strings.Contains(string(r.Body), "-gone-") {
			return notFound
		}
		return ok
	})
	send := func(from, to int) {
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					model := []string{"bogus-%d", "openai/bogus-%d", "openai/bogus-gone-%d"}[i%3]
					body := fmt.Sprintf(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`, i)
					req, _ := http.NewRequest("POST", e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+e.key)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if want := []int{404, 200, 404}[i%3]; resp.StatusCode != want {
						t.Errorf("%s: %d, want %d", fmt.Sprintf(model, i), resp.StatusCode, want)
					}
				}
			})
		}
		for i := from; i < to; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	send(0, 300)
	first, firstSize := metricsText(t, e.srv.URL)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	n := modelNames()
	send(300, n)
	last, lastSize := metricsText(t, e.srv.URL)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	t.Logf("/metrics after 300 bogus model names: %d bytes, %d gateway series; after %d: %d bytes, %d series; heap in use %d → %d KiB",
		firstSize, len(first), n, lastSize, len(last), m0.HeapInuse>>10, m1.HeapInuse>>10)
	if len(last) != len(first) {
		t.Errorf("%d gateway series after %d bogus names, %d after 300", len(last), n, len(first))
	}
	if lastSize > firstSize*11/10 {
		t.Errorf("/metrics grew from %d to %d bytes", firstSize, lastSize)
	}
	for _, l := range last {
		if strings.Contains(l, "bogus") {
			t.Fatalf("a client's model name is a label: %s", l)
		}
	}
}

// Nothing a client sends is kept or repeated unbounded: a model name over
// 256 bytes is a 400 in the client's dialect, and the request log, the log
// line and every answer carry at most a bounded part of any string.
func TestClientStringsBounded(t *testing.T) {
	s := serve(t)
	huge := strings.Repeat("m", 100<<10)
	post := func(path, body string, header map[string]string) (int, http.Header, string) {
		h := map[string]string{"Authorization": "Bearer " + s.key, "Anthropic-Version": "2023-06-01"}
		for k, v := range header {
			h[k] = v
		}
		st, rh, b := send(t, "POST", "http://"+s.addr+path, h, body)
		return st, rh, string(b)
	}
	chatBody := func(model, extra string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]` + extra + `}`
	}
	for _, tc := range []struct {
		name, path, body string
		header           map[string]string
		status           int
		shape            string
	}{
		{"long model, OpenAI", "/v1/chat/completions", chatBody("openai/"+huge, ""), nil, 400, `"code":"model_too_long"`},
		{"long model, Anthropic", "/v1/messages", `{"model":"` + huge + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, `"type":"invalid_request_error"`},
		{"long model, embeddings", "/v1/embeddings", `{"model":"` + huge + `","input":"hi"}`, nil, 400, `"code":"model_too_long"`},
		{"long anthropic-version", "/v1/messages", `{}`, map[string]string{"Anthropic-Version": huge[:50<<10]}, 400, "unsupported version"},
		{"long path", "/v1/" + huge[:50<<10], `{}`, nil, 404, `"code":"unknown_url"`},
		{"long metadata", "/v1/chat/completions", chatBody("chat-default", `,"metadata":{"k":"`+huge+`"}`), nil, 200, `"hi"`},
	} {
		st, h, b := post(tc.path, tc.body, tc.header)
		if st != tc.status || !strings.Contains(b, tc.shape) || len(b) > 2<<10 {
			t.Errorf("%s: %d %.300s (%d bytes)", tc.name, st, b, len(b))
		}
		for k, v := range h {
			if len(strings.Join(v, "")) > 300 {
				t.Errorf("%s: header %s is %d bytes", tc.name, k, len(strings.Join(v, "")))
			}
		}
	}
	// A name at the bound is served and named in x-switchyard-model.
	at := strings.Repeat("m", 256-len("openai/"))
	if st, h, b := post("/v1/chat/completions", chatBody("openai/"+at, ""), nil); st != 200 || h.Get("X-Switchyard-Model") != at {
		t.Errorf("a 256-byte model name: %d %.200s", st, b)
	}

	ls := waitLogs(t, s.gw, 6) // the unknown URL is not an API request
	for _, l := range ls {
		if n := len(l.RequestedModel) + len(l.Model) + len(l.ErrorMessage) + len(l.Metadata); n > 3<<10 {
			t.Errorf("request log record %s keeps %d bytes of the client's strings: model %.80s…", l.ID, n, l.RequestedModel)
		}
	}
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if len(line) > 4<<10 {
			t.Errorf("a log line of %d bytes: %.200s…", len(line), line)
		}
	}
}

// waitLogs waits until the request log holds at least n records and
// returns them.
func waitLogs(t *testing.T, gw *gateway.Gateway, n int) []store.RequestLog {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ls, err := gw.Store.Requests(context.Background(), store.RequestFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) >= n {
			return ls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d request logs, want %d", len(ls), n)
		}
	}
}
