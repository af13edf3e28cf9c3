package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/testenv"
)

// cluster is three gateway replicas in this process sharing one
// PostgreSQL schema and one Redis key prefix, in front of one fake vendor.
type cluster struct {
	fake     *fakeupstream.Server
	gws      []*gateway.Gateway
	urls     []string
	prefix   string
	redisURL string
}

func newCluster(t *testing.T, n int, mutate ...func(*config.Config)) *cluster {
	t.Helper()
	dsn := testenv.PostgresSchema(t)
	redisURL, prefix, _ := testenv.Redis(t)
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	c := &cluster{fake: fake, prefix: prefix, redisURL: redisURL}
	for range n {
		cfg := &config.Config{
			Storage:     dsn,
			Redis:       redisURL,
			RedisPrefix: prefix,
			Providers:   []config.Provider{{Name: "openai", Type: "openai", BaseURL: fake.URL() + "/v1", APIKey: "sk-openai-secret"}},
			AdminKey:    "admin-secret",
			Pricing:     testPrices,
		}
		cfg.SetDefaults()
		cfg.RequestLog.FlushInterval = 20 * time.Millisecond
		for _, m := range mutate {
			m(cfg)
		}
		gw, err := gateway.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gw.Handler)
		t.Cleanup(func() {
			srv.Close()
			gw.Close(context.Background())
		})
		c.gws = append(c.gws, gw)
		c.urls = append(c.urls, srv.URL)
	}
	return c
}

// load sends total requests with key, spread round-robin over the
// replicas, workers at a time, and counts the answers by status.
func (c *cluster) load(t *testing.T, key string, total, workers int) map[int]int {
	var mu sync.Mutex
	counts := map[int]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				resp, _ := chat(t, c.urls[i%int64(len(c.urls))], key)
				mu.Lock()
				counts[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return counts
}

// The RPM limit holds exactly across three replicas: of 90 concurrent
// requests with a limit of 20 per minute, 20 are admitted.
func TestReplicasShareRPM(t *testing.T) {
	c := newCluster(t, 3)
	const rpm = 20
	k := createKey(t, c.urls[0], map[string]any{"name": "shared", "rpm": rpm})
	counts := c.load(t, k.Key, 90, 12)
	t.Logf("RPM %d, 90 requests over 3 replicas, 12 at a time: %v", rpm, counts)
	if counts[200] != rpm || counts[429] != 90-rpm {
		t.Errorf("admitted %d, refused %d; want exactly %d admitted (tolerance 0)", counts[200], counts[429], rpm)
	}
	resp, err := http.Get(c.urls[0] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ready (redis ok)\n" {
		t.Errorf("/readyz = %q", body)
	}
}

// The budget holds across three replicas within the cost of the requests
// in flight when it is crossed, and the budget counter equals the sum of
// the recorded per-request costs exactly.
func TestReplicasShareBudget(t *testing.T) {
	for _, tc := range []struct {
		name    string
		latency time.Duration // of the vendor: how long a request is in flight
		workers int
	}{
		{"fast vendor, 6 at a time", 0, 6},
		{"30 ms vendor, 12 at a time", 30 * time.Millisecond, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3)
			c.fake.SetLatency(tc.latency)
			testSharedBudget(t, c, tc.workers)
		})
	}
}

func testSharedBudget(t *testing.T, c *cluster, workers int) {
	const budget = 10 * costPerCall // ten requests
	k := createKey(t, c.urls[1], map[string]any{"name": "budgeted", "budget_usd": pricing.FormatUSD(budget), "budget_period": "month"})
	counts := c.load(t, k.Key, 60, workers)
	t.Logf("budget of 10 requests' cost, 60 requests over 3 replicas, %d at a time: %v", workers, counts)
	// Each request reserves its worst case (max_tokens 50 at the output
	// price: 50,800 µ$), more than the whole budget, so one is admitted
	// only while none is in flight (the rule that lets a budget be used
	// up) and the spend never passes the budget. (This test used to allow
	// workers-1 requests beyond it: those in flight when it was crossed.)
	if counts[200] < 1 || counts[200] > 10 || counts[200]+counts[429] != 60 {
		t.Errorf("admitted %d; want between 1 and 10", counts[200])
	}
	// Exact accounting: the shared counter, the request log and the
	// admitted count agree to the micro-dollar.
	var logged int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		logged, err = c.gws[2].Store.Spend(context.Background(), k.ID, false, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if logged == int64(counts[200])*costPerCall || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	key, _ := c.gws[0].Store.Key(context.Background(), k.ID)
	counted, err := c.gws[0].Limits.Spent(context.Background(), time.Now(), limits.Subject{ID: "key:" + k.ID, Limits: key.Limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("admitted %d × %d µ$ = %d µ$; request log sum %d µ$; Redis budget counter %d µ$",
		counts[200], costPerCall, counts[200]*costPerCall, logged, counted)
	if logged != int64(counts[200])*costPerCall || counted != logged {
		t.Errorf("request log %d µ$, counter %d µ$, admitted × cost %d µ$: must be equal", logged, counted, counts[200]*costPerCall)
	}
	var got createdKey
	adminDo(t, c.urls[2], "GET", "/admin/keys/"+k.ID, nil, &got)
	if got.SpentUSD == "" || got.SpentUSD[0] != '0' {
		t.Errorf("spent_usd %q", got.SpentUSD)
	}
}

// A key revoked through one replica stops working on the others at once
// (Redis pub/sub purges their caches), well within the 1 s cache TTL.
func TestReplicasRevocation(t *testing.T) {
	c := newCluster(t, 3)
	k := createKey(t, c.urls[0], map[string]any{"name": "doomed"})
	for _, u := range c.urls {
		if resp, _ := chat(t, u, k.Key); resp.StatusCode != 200 { // now cached on every replica
			t.Fatalf("%s: %d", u, resp.StatusCode)
		}
	}
	start := time.Now()
	if code := adminDo(t, c.urls[0], "DELETE", "/admin/keys/"+k.ID, nil, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	var worst time.Duration
	for _, u := range c.urls[1:] {
		for {
			resp, _ := chat(t, u, k.Key)
			if resp.StatusCode == 401 {
				break
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("%s still serves the revoked key after 2 s", u)
			}
			time.Sleep(2 * time.Millisecond)
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("revoked key refused by every replica %v after the revocation", worst)
	if worst > time.Second {
		t.Errorf("revocation took %v to reach every replica, want under 1 s", worst)
	}
	// Limit changes travel the same way.
	k2 := createKey(t, c.urls[0], map[string]any{"name": "later"})
	chat(t, c.urls[1], k2.Key)
	adminDo(t, c.urls[0], "PATCH", "/admin/keys/"+k2.ID, map[string]any{"rpm": 1}, nil)
	time.Sleep(100 * time.Millisecond)
	chat(t, c.urls[1], k2.Key)
	if resp, _ := chat(t, c.urls[2], k2.Key); resp.StatusCode != 429 {
		t.Errorf("a new RPM limit set on replica 0 is not applied on the others: %d", resp.StatusCode)
	}
}

// Losing Redis degrades limits to per replica without failing requests;
// readiness says so without failing.
func TestReplicaWithoutRedis(t *testing.T) {
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	var logs testenv.SyncBuffer
	cfg := &config.Config{
		Storage:   "sqlite::memory:",
		Redis:     "redis://127.0.0.1:1/0", // nothing listens there
		Providers: []config.Provider{{Name: "openai", Type: "openai", BaseURL: fake.URL() + "/v1", APIKey: "sk-openai-secret"}},
		AdminKey:  "admin-secret",
	}
	cfg.SetDefaults()
	gw, err := gateway.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler)
	t.Cleanup(func() {
		srv.Close()
		gw.Close(context.Background())
	})
	k := createKey(t, srv.URL, map[string]any{"name": "k", "rpm": 2})
	codes := []int{}
	for range 3 {
		resp, _ := chat(t, srv.URL, k.Key)
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("per-replica limits without Redis: %v", codes)
	}
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 200)
	n, _ := resp.Body.Read(body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body[:n]), "degraded") {
		t.Errorf("/readyz: %d %q", resp.StatusCode, body[:n])
	}
	m, _ := http.Get(srv.URL + "/metrics")
	mb := make([]byte, 1<<20)
	mn, _ := ioReadFull(m, mb)
	if !strings.Contains(string(mb[:mn]), "switchyard_redis_up 0") {
		t.Error("switchyard_redis_up is not 0")
	}
	if !strings.Contains(logs.String(), "redis is unreachable") {
		t.Errorf("no log line about Redis: %s", logs.String())
	}
	_ = store.ErrNotFound
}

// A provider secret given to one replica through the admin API is stored
// sealed and used at once by every replica.
func TestReplicasProviderSecret(t *testing.T) {
	t.Setenv("SWITCHYARD_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=") // 32 bytes, base64
	c := newCluster(t, 3, func(cfg *config.Config) { cfg.Providers[0].APIKey = "" })
	k := createKey(t, c.urls[0], map[string]any{"name": "k"})
	const vendorKey = "sk-vendor-0d9c8b7a6f5e4d3c2b1a"
	if code := adminDo(t, c.urls[0], "PUT", "/admin/providers/openai/secret", map[string]string{"api_key": vendorKey}, nil); code != 200 {
		t.Fatalf("PUT secret: %d", code)
	}
	time.Sleep(100 * time.Millisecond) // the broadcast
	for i, u := range c.urls {
		if resp, b := chat(t, u, k.Key); resp.StatusCode != 200 {
			t.Fatalf("replica %d: %d %s", i, resp.StatusCode, b)
		}
		if got := c.fake.LastRequest().Header.Get("Authorization"); got != "Bearer "+vendorKey {
			t.Errorf("replica %d sent Authorization %q", i, got)
		}
	}
	stored, err := c.gws[0].Store.Secrets(context.Background())
	if err != nil || len(stored) != 1 || strings.Contains(string(stored[0].Sealed), vendorKey[10:]) {
		t.Errorf("stored %+v, %v: want one sealed secret", stored, err)
	}
	var list struct {
		Data []struct {
			Name         string `json:"name"`
			StoredSecret bool   `json:"stored_secret"`
		}
	}
	adminDo(t, c.urls[2], "GET", "/admin/providers", nil, &list)
	if len(list.Data) != 1 || !list.Data[0].StoredSecret {
		t.Errorf("providers: %+v", list)
	}
	// Deleting it leaves the provider without a key, everywhere.
	adminDo(t, c.urls[1], "DELETE", "/admin/providers/openai/secret", nil, nil)
	time.Sleep(100 * time.Millisecond)
	chat(t, c.urls[2], k.Key)
	if got := c.fake.LastRequest().Header.Get("Authorization"); got != "" {
		t.Errorf("after delete, replica 2 sent Authorization %q", got)
	}
}

// startRedis runs a private redis-server on a free port until t ends (or
// the returned stop is called) and returns its URL.
func startRedis(t *testing.T, port int) (stop func()) {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server (the Redis server binary; install redis-server, or set SWITCHYARD_TEST_REDIS=off): %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return stop
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
	}
}

// Two replicas lose their Redis in the middle of serving: they keep
// serving with per-replica limits, say so, and share limits and key
// changes again when Redis returns (empty, as a restarted Redis is).
func TestReplicasRedisOutage(t *testing.T) {
	if os.Getenv("SWITCHYARD_TEST_REDIS") == "off" {
		t.Skip("SWITCHYARD_TEST_REDIS=off")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	stop := startRedis(t, port)
	url := "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"
	c := newCluster(t, 2, func(cfg *config.Config) { cfg.Redis = url })
	k := createKey(t, c.urls[0], map[string]any{"name": "k", "rpm": 4})
	ready := func(i int) string {
		resp, err := http.Get(c.urls[i] + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	waitFor := func(what string, cond func() bool) time.Duration {
		start := time.Now()
		for !cond() {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: not after 10 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(start)
	}
	// Shared: 4 in total over both replicas.
	if got := c.load(t, k.Key, 8, 2); got[200] != 4 {
		t.Fatalf("with Redis: %v", got)
	}

	stop()
	down := waitFor("degraded", func() bool { return strings.Contains(ready(0), "degraded") && strings.Contains(ready(1), "degraded") })
	// Per replica now: each admits up to 4 on its own (its local window
	// is fresh), and nothing fails for want of Redis.
	k2 := createKey(t, c.urls[0], map[string]any{"name": "k2", "rpm": 4})
	got := c.load(t, k2.Key, 12, 2)
	t.Logf("Redis gone: degraded after %v; RPM 4 over 2 replicas admitted %v", down.Round(time.Millisecond), got)
	if got[200] != 8 || got[429] != 4 {
		t.Errorf("without Redis: %v; want 4 per replica", got)
	}

	startRedis(t, port)
	up := waitFor("recovered", func() bool { return ready(0) == "200 ready (redis ok)\n" && ready(1) == "200 ready (redis ok)\n" })
	// Shared again, and key changes travel again (the subscription came
	// back by itself).
	k3 := createKey(t, c.urls[0], map[string]any{"name": "k3", "rpm": 3})
	if got := c.load(t, k3.Key, 9, 2); got[200] != 3 {
		t.Errorf("after Redis returned: %v; want 3 admitted in total", got)
	}
	k4 := createKey(t, c.urls[0], map[string]any{"name": "k4"})
	chat(t, c.urls[1], k4.Key) // cached on replica 1
	time.Sleep(200 * time.Millisecond)
	adminDo(t, c.urls[0], "DELETE", "/admin/keys/"+k4.ID, nil, nil)
	start := time.Now()
	waitFor("revocation after recovery", func() bool { resp, _ := chat(t, c.urls[1], k4.Key); return resp.StatusCode == 401 })
	t.Logf("Redis back: shared again after %v; a revocation reached the other replica in %v", up.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if time.Since(start) > time.Second {
		t.Errorf("revocation took %v after recovery", time.Since(start))
	}
}
