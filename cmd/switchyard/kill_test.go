package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/store"
	_ "github.com/switchyard-ai/switchyard/internal/store/postgres"
	"github.com/switchyard-ai/switchyard/internal/testenv"
)

// Three `switchyard serve` processes share PostgreSQL and Redis; one is
// killed with SIGKILL in the middle of load. The other two keep serving,
// and what is lost is the killed replica's request records not yet
// flushed: at most those answered within its last flush interval (1 s).
func TestKillReplicaUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	dsn := testenv.PostgresSchema(t)
	redisURL, prefix, _ := testenv.Redis(t)
	fake := fakeupstream.New()
	defer fake.Close()
	fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	fake.SetLatency(5 * time.Millisecond)
	fake.SetRecording(false)

	dir := t.TempDir()
	bin := filepath.Join(dir, "switchyard")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const flush = time.Second
	cfg := fmt.Sprintf(`storage: %q
redis: %q
redis_prefix: %q
admin_key: the-admin-key
request_log: {flush_interval: %s}
providers:
  - {name: openai, type: openai, base_url: %q, api_key: sk-test}
`, dsn, redisURL, prefix, flush, fake.URL()+"/v1")
	cfgPath := filepath.Join(dir, "s.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)

	var urls []string
	var procs []*exec.Cmd
	for i := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve", "-c", cfgPath, "--listen", addr)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("replica %d log:\n%s", i, logs.String())
			}
		})
		procs = append(procs, cmd)
		urls = append(urls, "http://"+addr)
	}
	for _, u := range urls {
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(u + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready", u)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var created struct{ ID, Key string }
	req, _ := http.NewRequest("POST", urls[0]+"/admin/keys", strings.NewReader(`{"name":"load"}`))
	req.Header.Set("Authorization", "Bearer the-admin-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()

	// Load: 6 workers, round-robin over the replicas, for 3 s; replica 2
	// is killed after 1.5 s. A request the dead replica cannot take is
	// counted as refused, and the worker moves on.
	type answer struct {
		id      string
		replica int
		sent    time.Time // when the request was sent
		at      time.Time // when its answer was read
	}
	var (
		mu       sync.Mutex
		answers  []answer
		failed   = map[int]int{}
		killedAt time.Time
	)
	client := &http.Client{Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				r := i % 3
				req, _ := http.NewRequestWithContext(ctx, "POST", urls[r]+"/v1/chat/completions",
					strings.NewReader(`{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
				req.Header.Set("Authorization", "Bearer "+created.Key)
				sent := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						failed[r]++
						mu.Unlock()
					}
					continue
				}
				resp.Body.Close()
				mu.Lock()
				if resp.StatusCode == 200 {
					answers = append(answers, answer{resp.Header.Get("X-Request-Id"), r, sent, time.Now()})
				} else {
					failed[r]++
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	procs[2].Process.Signal(syscall.SIGKILL)
	procs[2].Wait()
	// Once the process is reaped it can answer nothing more: a request
	// sent after this cannot have been served by it. (An answer already on
	// its way may still be read after this moment.)
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	wg.Wait()
	// The survivors stop gracefully, flushing their logs.
	for _, p := range procs[:2] {
		p.Process.Signal(syscall.SIGTERM)
		p.Wait()
	}

	st, err := storeOpen(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Requests(context.Background(), store.RequestFilter{KeyID: created.ID, Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, r := range recs {
		stored[r.ID] = true
	}
	served := map[int]int{}
	servedAfterKill := map[int]int{}
	lost := map[int]int{}
	var oldestLost time.Duration
	for _, a := range answers {
		served[a.replica]++
		if a.sent.After(killedAt) {
			servedAfterKill[a.replica]++
		}
		if !stored[a.id] {
			lost[a.replica]++
			oldestLost = max(oldestLost, killedAt.Sub(a.at))
		}
	}
	t.Logf("answered 200 by replica: %v; after the kill: %v; failed (connection refused etc.) by replica: %v", served, servedAfterKill, failed)
	t.Logf("records lost: %v of %d answered, the oldest answered %v before the kill (flush interval %v)", lost, len(answers), oldestLost.Round(time.Millisecond), flush)
	if lost[0] != 0 || lost[1] != 0 {
		t.Errorf("the surviving replicas lost records: %v", lost)
	}
	if oldestLost > flush+500*time.Millisecond {
		t.Errorf("a record answered %v before the kill was lost: more than the flush interval", oldestLost)
	}
	if servedAfterKill[0] == 0 || servedAfterKill[1] == 0 || servedAfterKill[2] != 0 {
		t.Errorf("after the kill: %v; want the survivors serving and nothing from the dead", servedAfterKill)
	}
}

func storeOpen(dsn string) (store.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return store.Open(ctx, dsn)
}
