// Command bench is Switchyard's load benchmark. In one run it measures the
// same chat completion calls made straight to a fake upstream and made
// through the gateway, and prints a Markdown report:
//
//  1. throughput of a closed loop of concurrent workers;
//  2. latency added at a fixed open-loop request rate;
//  3. time to first byte of streams;
//  4. the gateway's memory with thousands of streams open;
//  5. a very long stream passing chunk by chunk in flat memory.
//
// The fake upstream and the load generator run in this process; the gateway
// runs in a child process (this binary, re-executed with
// SWITCHYARD_BENCH_ROLE=gateway) so that its memory and CPU can be measured
// alone. Usage:
//
//	go run ./bench [-o BENCHMARKS.md] [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// options are the command-line flags.
type options struct {
	out       string
	scenarios string
	pprofDir  string

	warmup    time.Duration
	rounds    int
	workers   int
	duration  time.Duration
	reference bool

	rate            float64
	rateDuration    time.Duration
	upstreamLatency time.Duration
	maxInFlight     int

	streamRate       float64
	streamDuration   time.Duration
	streamChunks     int
	streamEventDelay time.Duration

	streams    int
	streamHold time.Duration
	rampRate   float64

	longChunks     int
	longPiece      int
	longEventDelay time.Duration

	quietWait time.Duration
}

// quietCores is how much CPU other processes may use for the machine to
// count as quiet.
const quietCores = 0.1

func parseFlags() *options {
	o := new(options)
	flag.StringVar(&o.out, "o", "", "also write the Markdown report to `file`")
	flag.StringVar(&o.scenarios, "scenarios", "1,2,3,4,5", "comma-separated `list` of scenarios to run")
	flag.StringVar(&o.pprofDir, "pprof-dir", "", "serve pprof in the gateway child and save its CPU profiles (scenarios 1 and 2) and heap profile (scenario 4) to `dir`")

	flag.DurationVar(&o.warmup, "warmup", time.Second, "scenarios 1-3: warmup of each path, results discarded")
	flag.IntVar(&o.rounds, "rounds", 5, "scenario 1: split each path's measured duration into this many rounds, alternating between paths")
	flag.IntVar(&o.workers, "workers", 64, "scenario 1: concurrent closed-loop workers")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "scenario 1: measured duration per path")
	flag.BoolVar(&o.reference, "reference", true, "scenarios 1-3: also measure a bare httputil.ReverseProxy child as a reference path")

	flag.Float64Var(&o.rate, "rate", 500, "scenario 2: open-loop requests per second")
	flag.DurationVar(&o.rateDuration, "rate-duration", 10*time.Second, "scenario 2: measured duration per path")
	flag.DurationVar(&o.upstreamLatency, "upstream-latency", 50*time.Millisecond, "scenario 2: fake upstream response time")
	flag.IntVar(&o.maxInFlight, "max-inflight", 2000, "scenarios 2 and 3: most open-loop requests in flight per path; more are counted as overflow")

	flag.Float64Var(&o.streamRate, "stream-rate", 100, "scenario 3: open-loop streams per second")
	flag.DurationVar(&o.streamDuration, "stream-duration", 10*time.Second, "scenario 3: measured duration per path")
	flag.IntVar(&o.streamChunks, "stream-chunks", 20, "scenario 3: content chunks per stream")
	flag.DurationVar(&o.streamEventDelay, "stream-event-delay", 2*time.Millisecond, "scenario 3: upstream delay between stream events")

	flag.IntVar(&o.streams, "streams", 2000, "scenario 4: concurrent streams through the gateway")
	flag.DurationVar(&o.streamHold, "stream-hold", 10*time.Second, "scenario 4: how long each upstream stream lasts")
	flag.Float64Var(&o.rampRate, "ramp", 2000, "scenario 4: streams opened per second")

	flag.IntVar(&o.longChunks, "long-chunks", 10000, "scenario 5: content chunks in the long stream")
	flag.IntVar(&o.longPiece, "long-piece", 1000, "scenario 5: bytes of content per chunk")
	flag.DurationVar(&o.longEventDelay, "long-event-delay", time.Millisecond, "scenario 5: upstream delay between stream events")
	flag.DurationVar(&o.quietWait, "quiet-wait", 0, "wait up to this long for other processes to leave the CPUs idle before starting")
	flag.Parse()
	return o
}

func (o *options) runs(n int) bool {
	for f := range strings.SplitSeq(o.scenarios, ",") {
		if strings.TrimSpace(f) == fmt.Sprint(n) {
			return true
		}
	}
	return false
}

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runChild(role))
	}
	o := parseFlags()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o *options) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	rep := &report{opts: o, machine: describeMachine(), date: time.Now(), command: commandLine(), code: codeVersion()}

	// Others' work on the machine distorts every figure: say how much there
	// was, and wait for it to pass if asked to.
	deadline := time.Now().Add(o.quietWait)
	for {
		rep.loadAvg = loadAvg()
		m := startCPU(0, 0)
		time.Sleep(time.Second)
		rep.before = m.stop()
		other := rep.before.Other().Seconds() / rep.before.Wall.Seconds()
		if other <= quietCores || !time.Now().Before(deadline) || ctx.Err() != nil {
			if other > quietCores {
				progress("warning: other processes are using %.2f cores; the figures will suffer", other)
			}
			break
		}
		progress("other processes are using %.2f cores; waiting for a quiet machine", other)
		time.Sleep(4 * time.Second)
	}

	fake := fakeupstream.New()
	defer fake.Close()
	fake.SetRecording(false)

	progress("starting the gateway child")
	ch, err := startChild("gateway", fake.URL(), o.pprofDir != "")
	if err != nil {
		return err
	}
	// Whatever happens, including a panic on this goroutine, the child goes.
	// A crash elsewhere kills it through the parent-death signal, and its
	// stdin closing makes it exit too.
	defer ch.stop(10 * time.Second)
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		// An interrupted run that does not wind up quickly must not leave
		// the child behind.
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		select {
		case <-finished:
		case <-time.After(15 * time.Second):
			ch.kill()
			os.Exit(1)
		}
	}()
	pid := ch.hello.PID
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}

	direct := newTarget("direct", fake.URL(), "gpt-4o-mini", "sk-fake")
	gw := newTarget("gateway", "http://"+ch.hello.Addr, "openai/gpt-4o-mini", ch.hello.Key)

	// One request of each kind on each path: if these fail, nothing else
	// means anything.
	fake.Handle("/chat/completions", fakeupstream.TextCompletion(completionText))
	for _, t := range []*target{direct, gw} {
		errs := new(errCounts)
		if !newCaller(ctx, t, false, errs, 16<<10).plain() {
			return fmt.Errorf("sanity check, %s, non-streaming: %s", t.name, errs)
		}
	}
	fake.Handle("/chat/completions", fakeupstream.TextStream(3, "hi", true))
	for _, t := range []*target{direct, gw} {
		errs := new(errCounts)
		if _, ok := newCaller(ctx, t, true, errs, 16<<10).streamed(time.Now(), 6, streamOpts{}); !ok {
			return fmt.Errorf("sanity check, %s, streaming: %s", t.name, errs)
		}
	}

	time.Sleep(time.Second)
	if rep.idle, err = readMem(pid); err != nil {
		return err
	}
	progress("gateway idle RSS %s", mb(rep.idle.RSS))

	// The long stream goes first, while the child's heap is small and
	// settled, so that what it measures is the stream alone.
	if o.runs(5) && ctx.Err() == nil {
		progress("scenario 5: one %d-chunk stream through the gateway", o.longChunks)
		r := longStream(ctx, o, fake, gw, pid)
		rep.long = &r
	}
	// The reference proxy serves scenarios 1 to 3.
	paths := []*target{direct, gw}
	pids := [2]int{pid, 0}
	if o.reference && (o.runs(1) || o.runs(2) || o.runs(3)) {
		px, err := startChild("proxy", fake.URL(), false)
		if err != nil {
			return err
		}
		defer px.stop(10 * time.Second)
		paths = append(paths, newTarget("reference proxy", "http://"+px.hello.Addr, "gpt-4o-mini", "sk-fake"))
		pids[1] = px.hello.PID
		fake.Handle("/chat/completions", fakeupstream.TextCompletion(completionText))
		errs := new(errCounts)
		if !newCaller(ctx, paths[2], false, errs, 16<<10).plain() {
			return fmt.Errorf("sanity check, reference proxy: %s", errs)
		}
		rep.reference = true
	}

	fake.Handle("/chat/completions", fakeupstream.TextCompletion(completionText))
	if o.runs(1) && ctx.Err() == nil {
		progress("scenario 1: throughput, %d workers, %s per path", o.workers, o.duration)
		var runners []*closedRunner
		for _, t := range paths {
			runners = append(runners, newClosedRunner(ctx, t, o.workers, pids))
		}
		var wait func()
		if o.pprofDir != "" {
			secs := int((time.Duration(len(runners)) * (o.warmup + o.duration)).Seconds())
			wait = fetchProfile(ch.hello.PProf, fmt.Sprintf("profile?seconds=%d", secs), filepath.Join(o.pprofDir, "gateway-cpu-throughput.pprof"))
		}
		rounds(ctx, o, o.duration, len(runners), func(i int, d time.Duration, record bool) {
			runners[i].run(ctx, d, record)
		})
		if wait != nil {
			wait()
		}
		for _, r := range runners {
			res := r.result()
			progress("  %s: %.0f req/s, %d failed", res.Name, res.rate(), res.Failed)
			rep.throughput = append(rep.throughput, res)
		}
		rep.afterThroughput, _ = readMem(pid)
	}
	if o.runs(2) && ctx.Err() == nil {
		fake.SetLatency(o.upstreamLatency)
		progress("scenario 2: open loop, %.0f req/s per path, upstream %s", o.rate, o.upstreamLatency)
		var runners []*openRunner
		for _, t := range paths {
			runners = append(runners, newOpenRunner(ctx, t, false, 0))
		}
		var wait func()
		if o.pprofDir != "" {
			secs := int((o.warmup + o.rateDuration).Seconds())
			wait = fetchProfile(ch.hello.PProf, fmt.Sprintf("profile?seconds=%d", secs), filepath.Join(o.pprofDir, "gateway-cpu-openloop.pprof"))
		}
		openPaths(ctx, runners, o.rate, o.warmup, o.maxInFlight, false, pids)
		rep.latencyCPU = openPaths(ctx, runners, o.rate, o.rateDuration, o.maxInFlight, true, pids)
		if wait != nil {
			wait()
		}
		for _, r := range runners {
			res := r.result()
			progress("  %s: p50 %s p99 %s, %d failed, %d overflow", res.Name, ms(res.Latency.P50), ms(res.Latency.P99), res.Failed, res.Overflow)
			rep.latency = append(rep.latency, res)
		}
		fake.SetLatency(0)
	}
	if o.runs(3) && ctx.Err() == nil {
		ts := fakeupstream.TextStream(o.streamChunks, " switch", true)
		ts.EventDelay = o.streamEventDelay
		fake.Handle("/chat/completions", ts)
		progress("scenario 3: stream TTFB, %.0f streams/s per path", o.streamRate)
		var runners []*openRunner
		for _, t := range paths {
			runners = append(runners, newOpenRunner(ctx, t, true, o.streamChunks+3))
		}
		openPaths(ctx, runners, o.streamRate, o.warmup, o.maxInFlight, false, pids)
		rep.ttfbCPU = openPaths(ctx, runners, o.streamRate, o.streamDuration, o.maxInFlight, true, pids)
		for _, r := range runners {
			res := r.result()
			progress("  %s: TTFB p50 %s p99 %s, %d failed, %d overflow", res.Name, us(res.Latency.P50), us(res.Latency.P99), res.Failed, res.Overflow)
			rep.ttfb = append(rep.ttfb, res)
		}
	}
	if o.runs(4) && ctx.Err() == nil {
		progress("scenario 4: %d concurrent streams through the gateway", o.streams)
		r := manyStreams(ctx, o, fake, gw, ch)
		rep.many = &r
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}

	// The child's request log counters come with its goodbye.
	ch.stop(15 * time.Second)
	rep.reqlog = ch.bye
	rep.gatewayRequests = gw.sent.Load()

	out := rep.markdown()
	os.Stdout.WriteString(out)
	if o.out != "" {
		// Analysis written by hand below a "## Findings" heading survives a
		// rerun; only the measured part above it is replaced.
		if old, err := os.ReadFile(o.out); err == nil {
			if i := strings.Index(string(old), "\n## Findings"); i >= 0 {
				out = strings.TrimRight(out, "\n") + "\n" + string(old[i:])
			}
		}
		if err := os.WriteFile(o.out, []byte(out), 0o644); err != nil {
			return err
		}
		progress("report written to %s", o.out)
	}
	return nil
}

const completionText = "Rails asleep in amber light, a thousand wagons wait their turn; " +
	"the switchman's lamp swings left, then right, and somewhere distant engines churn."

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// commandLine is the command that reproduces this run.
func commandLine() string {
	var b strings.Builder
	b.WriteString("go run ./bench")
	for _, a := range os.Args[1:] {
		b.WriteByte(' ')
		if strings.ContainsAny(a, " \t'\"$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		b.WriteString(a)
	}
	return b.String()
}

// rounds warms up each of n paths, then measures them in o.rounds rounds
// of dur/o.rounds each, alternating between paths, so that a change in the
// machine's load during the run affects every path alike. (A closed loop
// cannot mix paths at once: they would share the machine and each other's
// bottleneck.)
func rounds(ctx context.Context, o *options, dur time.Duration, n int, run func(i int, d time.Duration, record bool)) {
	for i := range n {
		if o.warmup > 0 && ctx.Err() == nil {
			run(i, o.warmup, false)
		}
	}
	k := max(o.rounds, 1)
	for range k {
		for i := range n {
			if ctx.Err() == nil {
				run(i, dur/time.Duration(k), true)
			}
		}
	}
}

// fetchProfile starts fetching a pprof profile from the child and returns
// a function that waits for it to be saved.
func fetchProfile(addr, path, file string) func() {
	var wg sync.WaitGroup
	wg.Go(func() {
		resp, err := http.Get("http://" + addr + "/debug/pprof/" + path)
		if err != nil {
			progress("pprof %s: %v", path, err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			progress("pprof: %v", err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			progress("pprof %s: %v", path, err)
		}
	})
	return wg.Wait
}

// longResult is scenario 5.
type longResult struct {
	Chunks, WantEvents int
	Result             streamResult
	OK                 bool
	Nominal            time.Duration // the upstream's own pacing, chunks × event delay
	Start, Mid, End    rssSample
	Min, Max           int64
	Samples            int
	CPU                cpuUse
	Errors             *errCounts
}

// longStream sends one very long stream through the gateway while sampling
// the child's memory.
func longStream(ctx context.Context, o *options, fake *fakeupstream.Server, gw *target, pid int) (res longResult) {
	ts := fakeupstream.TextStream(o.longChunks, strings.Repeat("x", max(o.longPiece, 1)), true)
	ts.EventDelay = o.longEventDelay
	fake.Handle("/chat/completions", ts)
	want := o.longChunks + 3
	res = longResult{Chunks: o.longChunks, WantEvents: want, Errors: new(errCounts), Nominal: time.Duration(want-1) * o.longEventDelay}
	var got atomic.Int64
	cpu := startCPU(pid, 0)
	defer func() { res.CPU = cpu.stop() }()
	s := sampleRSS(pid, 50*time.Millisecond, got.Load)
	c := newCaller(ctx, gw, true, res.Errors, 64<<10)
	res.Result, res.OK = c.streamed(time.Now(), want, streamOpts{progress: &got})
	samples := s.stop()

	// Only the samples taken while chunks were flowing.
	var during []rssSample
	for _, smp := range samples {
		if smp.Extra > 0 && smp.Extra < int64(res.Result.Events) {
			during = append(during, smp)
		}
	}
	if len(during) == 0 {
		return res
	}
	res.Samples = len(during)
	res.Start, res.End = during[0], during[len(during)-1]
	res.Mid = during[0]
	half := int64(res.Result.Events / 2)
	res.Min, res.Max = during[0].Mem.RSS, during[0].Mem.RSS
	for _, smp := range during {
		if abs(smp.Extra-half) < abs(res.Mid.Extra-half) {
			res.Mid = smp
		}
		res.Min = min(res.Min, smp.Mem.RSS)
		res.Max = max(res.Max, smp.Mem.RSS)
	}
	return res
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// manyResult is scenario 4.
type manyResult struct {
	Streams, WantEvents int
	Hold                time.Duration
	OpenedIn            time.Duration // from the first request to the last first byte
	AllFirst            bool          // every stream got its first chunk
	FirstBytes          int
	OpenAtSample        int64 // fewest streams in flight while sampling
	Peak                memStatus
	PeakAll             int64 // highest RSS seen in the whole scenario
	HWM                 int64 // VmHWM at the end: the child's lifetime peak
	OK, Failed          int
	TTFB                dist
	CPU                 cpuUse
	Errors              *errCounts
}

// manyStreams opens o.streams slow streams through the gateway, waits until
// each has its first chunk, and samples the child's memory while all are
// open.
func manyStreams(ctx context.Context, o *options, fake *fakeupstream.Server, gw *target, ch *child) manyResult {
	const chunks = 8
	want := chunks + 3
	ts := fakeupstream.TextStream(chunks, " switch", true)
	ts.EventDelay = o.streamHold / time.Duration(want-1)
	fake.Handle("/chat/completions", ts)
	n := o.streams
	res := manyResult{Streams: n, WantEvents: want, Hold: o.streamHold, Errors: new(errCounts)}
	pid := ch.hello.PID

	cpu := startCPU(pid, 0)
	bg := sampleRSS(pid, 250*time.Millisecond, nil)
	var settled, firsts, inFlight, okN atomic.Int64
	allSettled := make(chan struct{})
	var mu sync.Mutex
	ttfb := make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	start := time.Now()
	var lastFirst atomic.Int64
	interval := time.Duration(float64(time.Second) / o.rampRate)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		inFlight.Add(1)
		wg.Go(func() {
			defer inFlight.Add(-1)
			c := newCaller(ctx, gw, true, res.Errors, 4<<10)
			r, ok := c.streamed(time.Now(), want, streamOpts{onFirst: func(got bool) {
				if got {
					firsts.Add(1)
					lastFirst.Store(int64(time.Since(start)))
				}
				if settled.Add(1) == int64(n) {
					close(allSettled)
				}
			}})
			if ok {
				okN.Add(1)
				mu.Lock()
				ttfb = append(ttfb, r.TTFB)
				mu.Unlock()
			}
		})
	}
	select {
	case <-allSettled:
	case <-time.After(o.streamHold + time.Duration(float64(n)/o.rampRate*float64(time.Second)) + 30*time.Second):
	case <-ctx.Done():
	}
	res.FirstBytes = int(firsts.Load())
	res.AllFirst = res.FirstBytes == n
	res.OpenedIn = time.Duration(lastFirst.Load())
	res.OpenAtSample = inFlight.Load()
	for range 10 {
		if m, err := readMem(pid); err == nil && m.RSS > res.Peak.RSS {
			res.Peak = m
		}
		res.OpenAtSample = min(res.OpenAtSample, inFlight.Load())
		time.Sleep(100 * time.Millisecond)
	}
	if o.pprofDir != "" {
		fetchProfile(ch.hello.PProf, "heap", filepath.Join(o.pprofDir, "gateway-heap-streams.pprof"))()
		fetchProfile(ch.hello.PProf, "goroutine?debug=1", filepath.Join(o.pprofDir, "gateway-goroutines-streams.txt"))()
		fetchProfile(ch.hello.PProf, "../bench/memstats", filepath.Join(o.pprofDir, "gateway-memstats-streams.json"))()
		fetchProfile(ch.hello.PProf, "../bench/memstats?gc=1", filepath.Join(o.pprofDir, "gateway-memstats-streams-after-gc.json"))()
		fetchProfile(ch.hello.PProf, "heap", filepath.Join(o.pprofDir, "gateway-heap-streams-after-gc.pprof"))()
	}
	wg.Wait()
	for _, smp := range bg.stop() {
		res.PeakAll = max(res.PeakAll, smp.Mem.RSS)
	}
	if m, err := readMem(pid); err == nil {
		res.HWM = m.HWM
	}
	res.CPU = cpu.stop()
	res.OK = int(okN.Load())
	res.Failed = n - res.OK
	res.TTFB = summarize(ttfb)
	return res
}
