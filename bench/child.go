package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/http/pprof"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/keys"
)

// Environment of the gateway child process.
const (
	roleEnv     = "SWITCHYARD_BENCH_ROLE"     // "gateway" or "proxy" in a child
	upstreamEnv = "SWITCHYARD_BENCH_UPSTREAM" // base URL of the fake upstream
	pprofEnv    = "SWITCHYARD_BENCH_PPROF"    // "1": serve net/http/pprof on a loopback port
)

// hello is the child's first stdout line.
type hello struct {
	Addr  string `json:"addr"`
	Key   string `json:"key"`
	PID   int    `json:"pid"`
	PProf string `json:"pprof,omitempty"`
}

// goodbye is the child's last stdout line, after the gateway has shut down.
type goodbye struct {
	Written uint64 `json:"reqlog_written"`
	Dropped uint64 `json:"reqlog_dropped"`
	Failed  uint64 `json:"reqlog_failed"`
	Queued  int    `json:"reqlog_queued"`
	Err     string `json:"err,omitempty"`
}

// runChild is the child process: role "gateway" is a gateway in front of
// the fake upstream, role "proxy" a bare reverse proxy for reference. Either
// serves on a loopback port until its stdin closes or it gets SIGTERM or
// SIGINT.
func runChild(role string) int {
	upstream := os.Getenv(upstreamEnv)
	if upstream == "" {
		fmt.Fprintln(os.Stderr, "bench child:", upstreamEnv, "is not set")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// The parent holds our stdin open; EOF means it is done or dead.
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	var err error
	switch role {
	case "gateway":
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		err = serveGateway(ctx, upstream, logger)
	case "proxy":
		err = serveProxy(ctx, upstream)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", role, err)
		return 1
	}
	return 0
}

// serveProxy is the reference point: net/http/httputil's reverse proxy with
// the gateway's upstream transport, and nothing else but reading the request
// body before forwarding it, as the gateway must to parse it. (Streaming it
// instead races with the reply: a Go HTTP/1 server refuses reads of the
// request body once the response has begun, which breaks the upstream
// connection now and then.)
func serveProxy(ctx context.Context, upstream string) error {
	u, err := url.Parse(upstream)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = gateway.NewTransport(0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(hello{Addr: ln.Addr().String(), PID: os.Getpid()}); err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	})
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	if err := hs.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return out.Encode(goodbye{})
}

func serveGateway(ctx context.Context, upstream string, logger *slog.Logger) error {

	dir, err := os.MkdirTemp("", "switchyard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cfg := &config.Config{
		Listen:  "127.0.0.1:0",
		Storage: "sqlite:" + filepath.Join(dir, "bench.db"),
		Providers: []config.Provider{{
			Name: "openai", Type: "openai", BaseURL: upstream + "/v1", APIKey: "sk-fake",
			Models: []string{"gpt-4o-mini"},
		}},
	}
	cfg.SetDefaults()
	cfg.Log.Level = "error"
	cfg.ShutdownTimeout = 5 * time.Second

	g, err := gateway.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	secret, k, err := keys.Generate("bench", nil)
	if err != nil {
		g.Close(context.Background())
		return err
	}
	if err := g.Store.CreateKey(ctx, k); err != nil {
		g.Close(context.Background())
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		g.Close(context.Background())
		return err
	}
	h := hello{Addr: ln.Addr().String(), Key: secret, PID: os.Getpid()}
	if os.Getenv(pprofEnv) == "1" {
		pln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			g.Close(context.Background())
			return err
		}
		defer pln.Close()
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/bench/memstats", func(w http.ResponseWriter, r *http.Request) {
			if r.FormValue("gc") == "1" {
				runtime.GC()
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"HeapAlloc": ms.HeapAlloc, "HeapInuse": ms.HeapInuse, "HeapIdle": ms.HeapIdle, "HeapReleased": ms.HeapReleased,
				"StackInuse": ms.StackInuse, "MSpanInuse": ms.MSpanInuse, "GCSys": ms.GCSys,
				"OtherSys": ms.OtherSys, "Sys": ms.Sys, "NumGoroutine": runtime.NumGoroutine(), "NumGC": ms.NumGC,
			})
		})
		go http.Serve(pln, mux)
		h.PProf = pln.Addr().String()
	}
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(h); err != nil {
		g.Close(context.Background())
		return err
	}

	serveErr := g.Serve(ctx, ln)
	st := g.Log.Stats()
	bye := goodbye{Written: st.Written, Dropped: st.Dropped, Failed: st.Failed, Queued: st.Queued}
	if serveErr != nil {
		bye.Err = serveErr.Error()
	}
	out.Encode(bye)
	return nil
}

// child is the running gateway process, seen from the parent.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	hello  hello
	bye    *goodbye
	done   chan struct{} // closed when the process has exited
}

// startChild re-executes this binary as a child with the given role
// ("gateway" or "proxy") in front of the fake upstream at upstream.
func startChild(role, upstream string, withPProf bool) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"="+role, upstreamEnv+"="+upstream)
	if withPProf {
		cmd.Env = append(cmd.Env, pprofEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	setDeathSignal(cmd) // the child dies with us even if we are killed
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout), done: make(chan struct{})}
	abort := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}

	type line struct {
		b   []byte
		err error
	}
	lc := make(chan line, 1)
	go func() {
		b, err := c.stdout.ReadBytes('\n')
		lc <- line{b, err}
	}()
	select {
	case l := <-lc:
		if l.err != nil {
			abort()
			return nil, fmt.Errorf("%s child did not start: %w", role, l.err)
		}
		if err := json.Unmarshal(l.b, &c.hello); err != nil {
			abort()
			return nil, fmt.Errorf("%s child: bad hello %q: %w", role, l.b, err)
		}
	case <-time.After(60 * time.Second):
		abort()
		return nil, fmt.Errorf("%s child did not start within 60s", role)
	}
	go func() {
		// The goodbye line, then EOF; Wait only after stdout is drained.
		if b, err := c.stdout.ReadBytes('\n'); err == nil {
			var bye goodbye
			if json.Unmarshal(b, &bye) == nil {
				c.bye = &bye
			}
		}
		io.Copy(io.Discard, c.stdout)
		cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// stop asks the child to shut down by closing its stdin, and kills it if it
// has not exited within timeout. It is safe to call more than once.
func (c *child) stop(timeout time.Duration) {
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.kill()
	}
}

// kill ends the child at once and waits for it.
func (c *child) kill() {
	c.cmd.Process.Kill()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
}
