package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// TestChaos sends a bounded load through a route whose targets misbehave
// in the ways real vendors do — one down, one rate limited with
// retry-after, one slow, one cutting its streams before the first event —
// with a healthy fallback, and checks that every request was served, that
// retries, fallbacks, hedges and passing over unhealthy targets did the
// serving, and that no goroutine leaked. Run it with -v to see the figures (BENCHMARKS.md).
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos load test")
	}
	const (
		requests    = 2000
		concurrency = 50
	)
	before := runtime.NumGoroutine() // before any server of the test starts
	down := fakeupstream.New()
	downURL := down.URL()
	down.Close() // connection refused from now on

	limited := fakeupstream.New()
	defer limited.Close()
	limited.Handle("/chat/completions", fakeupstream.RateLimited("30"))

	slowStream := fakeupstream.TextStream(5, "w ", true)
	slowStream.FirstByteDelay = 400 * time.Millisecond
	slowJSON := fakeupstream.TextCompletion("slow answer")
	slowJSON.FirstByteDelay = 400 * time.Millisecond
	slow := newStreamOrJSON(t, slowStream, slowJSON)

	cut := fakeupstream.TextStream(5, "w ", true)
	cut.CutAfterEvents = -1 // headers, then the connection drops
	cutter := newStreamOrJSON(t, cut, fakeupstream.MalformedJSON())

	healthy := newStreamOrJSON(t, fakeupstream.TextStream(5, "w ", true), fakeupstream.TextCompletion("w w w w w"))

	retries := 1
	cfg := &config.Config{
		Storage: "sqlite:" + filepath.Join(t.TempDir(), "chaos.db"),
		Providers: []config.Provider{
			{Name: "down", Type: "openai", BaseURL: downURL + "/v1"},
			{Name: "limited", Type: "openai", BaseURL: limited.URL() + "/v1"},
			{Name: "slow", Type: "openai", BaseURL: slow.URL + "/v1"},
			{Name: "cutter", Type: "openai", BaseURL: cutter.URL + "/v1"},
			{Name: "healthy", Type: "openai", BaseURL: healthy.URL + "/v1"},
		},
		Models: []config.Model{{
			Name: "chaos",
			Targets: []config.Target{
				{Model: "down/m", Weight: 1}, {Model: "limited/m", Weight: 1}, {Model: "cutter/m", Weight: 1},
			},
			Fallbacks: []string{"healthy/m"},
			Sticky:    "header:X-Unit",
			Retries:   &retries,
		}, {
			Name:      "chaos-slow",
			Target:    "slow/m",
			Fallbacks: []string{"healthy/m"},
			Hedge:     &config.Hedge{Delay: 50 * time.Millisecond},
		}},
		// A retry-after beyond the deadline is not waited for: the
		// rate-limited target hands over to the fallback at once. The
		// deadline is generous because the suite runs packages side by
		// side on two cores, under the race detector: a request that
		// waits for the CPU must not run out of time for its fallback.
		Router: config.Router{Deadline: 10 * time.Second, Breaker: config.Breaker{Window: 10 * time.Second, MinRequests: 20, FailureRate: 0.5, OpenFor: time.Minute}},
	}
	cfg.SetDefaults()
	cfg.RequestLog.FlushInterval = 50 * time.Millisecond
	ctx := context.Background()
	g, err := gateway.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler)
	secret, k, _ := keys.Generate("chaos", nil)
	if err := g.Store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}

	type outcome struct {
		status  int
		latency time.Duration
		body    []byte
		stream  bool
	}
	results := make([]outcome, requests)
	var wg sync.WaitGroup
	work := make(chan int)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				stream := i%2 == 0
				model := "chaos"
				if i%4 == 3 {
					model = "chaos-slow"
				}
				body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}],"stream":%v}`, model, stream)
				req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+secret)
				req.Header.Set("X-Unit", fmt.Sprint("unit-", i))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				results[i] = outcome{resp.StatusCode, time.Since(t0), b, stream}
			}
		}()
	}
	start := time.Now()
	for i := range requests {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)

	// Every request could be served (the fallback is healthy), so every
	// one must have been, completely.
	var latencies []time.Duration
	served, failed := 0, 0
	for i, o := range results {
		complete := o.status == 200 && (!o.stream && bytes.Contains(o.body, []byte(`"content"`)) || o.stream && bytes.HasSuffix(o.body, []byte("data: [DONE]\n\n")))
		if !complete {
			failed++
			if failed <= 5 {
				t.Errorf("request %d: status %d body %.300s", i, o.status, o.body)
			}
			continue
		}
		served++
		latencies = append(latencies, o.latency)
	}

	srv.Close()
	client.CloseIdleConnections()
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range closers {
		c()
	}
	limited.Close()
	// Everything the test started is closed: what is left over leaked.
	// Losing hedges finish in the background: give them time.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); after > before+2 && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	if after > before+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}

	// What the router did, from the request log.
	st, err := openStore(cfg.Storage)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs, err := st.Requests(ctx, store.RequestFilter{Limit: requests + 100})
	if err != nil {
		t.Fatal(err)
	}
	var retried, fellBack, hedged, skippedOpen, attempts int
	for _, l := range logs {
		var as []struct {
			Target, Outcome string
			Hedge           bool
		}
		json.Unmarshal([]byte(l.Attempts), &as)
		attempts += len(as)
		seen := map[string]int{}
		for _, a := range as {
			seen[a.Target]++
			if a.Hedge {
				hedged++
			}
			if a.Outcome == "circuit_open" || a.Outcome == "cooling_down" {
				skippedOpen++
			}
		}
		for _, n := range seen {
			if n > 1 {
				retried++
				break
			}
		}
		if l.Provider == "healthy" && !slices.ContainsFunc(as, func(a struct {
			Target, Outcome string
			Hedge           bool
		}) bool {
			return a.Hedge
		}) {
			fellBack++
		}
	}
	if len(logs) != requests {
		t.Errorf("%d request logs, want %d", len(logs), requests)
	}
	slices.Sort(latencies)
	q := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))].Round(time.Microsecond)
	}
	t.Logf("chaos: %d requests, %d concurrent, %.1fs (%.0f req/s)", requests, concurrency, elapsed.Seconds(), float64(requests)/elapsed.Seconds())
	t.Logf("| served | failed | upstream attempts | requests retried | fell back | hedged | targets passed over (open or cooling) | p50 | p99 | goroutines before/after |")
	t.Logf("| %d | %d | %d | %d | %d | %d | %d | %v | %v | %d / %d |", served, failed, attempts, retried, fellBack, hedged, skippedOpen, q(0.5), q(0.99), before, after)
	if hedged == 0 || fellBack == 0 || skippedOpen == 0 {
		t.Errorf("the policy did not act: hedged %d, fell back %d, skipped open %d", hedged, fellBack, skippedOpen)
	}
}

// closers shut the upstreams newStreamOrJSON started.
var closers []func()

// newStreamOrJSON serves stream to streaming requests and json to others.
func newStreamOrJSON(t *testing.T, stream, json fakeupstream.Response) *httptest.Server {
	t.Helper()
	sf, jf := fakeupstream.New(), fakeupstream.New()
	sf.SetRecording(false)
	jf.SetRecording(false)
	sf.Handle("/chat/completions", stream)
	jf.Handle("/chat/completions", json)
	proxyTo := func(f *fakeupstream.Server, w http.ResponseWriter, r *http.Request, body []byte) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, f.URL()+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := f.Client().Do(req)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			w.Write(buf[:n])
			w.(http.Flusher).Flush()
			if err != nil {
				if err != io.EOF {
					panic(http.ErrAbortHandler) // pass a cut on as a cut
				}
				return
			}
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`"stream":true`)) {
			proxyTo(sf, w, r, body)
		} else {
			proxyTo(jf, w, r, body)
		}
	}))
	closers = append(closers, func() { srv.Close(); sf.Close(); jf.Close() })
	t.Cleanup(func() { srv.Close(); sf.Close(); jf.Close() })
	return srv
}

func openStore(dsn string) (store.Store, error) { return store.Open(context.Background(), dsn) }
