package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// target is one way of calling chat completions: straight at the fake
// upstream, or through the gateway.
type target struct {
	name   string
	url    string // the chat completions URL
	auth   string // the Authorization header
	plain  []byte // a non-streaming request body
	stream []byte // a streaming request body
	client *http.Client
	sent   atomic.Int64 // requests sent
}

func newTarget(name, baseURL, model, auth string) *target {
	const msgs = `"messages":[{"role":"user","content":"Write a short poem about a railway switchyard at night."}],"max_tokens":128`
	return &target{
		name:   name,
		url:    baseURL + "/v1/chat/completions",
		auth:   "Bearer " + auth,
		plain:  []byte(`{"model":"` + model + `",` + msgs + `}`),
		stream: []byte(`{"model":"` + model + `",` + msgs + `,"stream":true,"stream_options":{"include_usage":true}}`),
		client: &http.Client{Transport: newTransport()},
	}
}

// newTransport is the load generator's transport: HTTP/1.1 over loopback,
// enough idle connections per host that a closed loop never redials, no
// compression, no proxy.
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        0, // no global limit
		MaxIdleConnsPerHost: 8192,
		IdleConnTimeout:     2 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// nopBody is a rewindable request body that the transport may "close".
type nopBody struct{ bytes.Reader }

func (*nopBody) Close() error { return nil }

// caller sends one request at a time, reusing its request and buffers so
// that the load generator allocates little per request. A request may be
// reused once the previous response body has been closed.
type caller struct {
	t    *target
	req  *http.Request
	body []byte
	rd   nopBody
	buf  []byte
	errs *errCounts
}

func newCaller(ctx context.Context, t *target, stream bool, errs *errCounts, bufSize int) *caller {
	body := t.plain
	if stream {
		body = t.stream
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, nil)
	if err != nil {
		panic(err) // the URL is ours
	}
	req.Header = http.Header{
		"Content-Type":  {"application/json"},
		"Accept":        {"application/json"},
		"Authorization": {t.auth},
	}
	if stream {
		req.Header["Accept"] = []string{"text/event-stream"}
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return &caller{t: t, req: req, body: body, buf: make([]byte, bufSize), errs: errs}
}

func (c *caller) send() (*http.Response, error) {
	c.rd.Reset(c.body)
	c.req.Body = &c.rd
	c.t.sent.Add(1)
	return c.t.client.Do(c.req)
}

var choicesKey = []byte(`"choices"`)

// plain sends a non-streaming request and reads the whole reply. It reports
// whether the reply was a complete 200 chat completion, counting any
// failure in c.errs.
func (c *caller) plain() bool {
	resp, err := c.send()
	if err != nil {
		c.errs.add("transport error", err.Error())
		return false
	}
	n, err := readFull(resp.Body, c.buf)
	resp.Body.Close()
	got := c.buf[:min(n, len(c.buf))]
	switch {
	case err != nil:
		c.errs.add("body read error", err.Error())
		return false
	case resp.StatusCode != http.StatusOK:
		c.errs.add(fmt.Sprintf("status %d", resp.StatusCode), string(got))
		return false
	case !bytes.Contains(got, choicesKey):
		c.errs.add("200 without a chat completion", string(got))
		return false
	}
	return true
}

// readFull reads r to EOF into buf and returns the number of bytes read.
// What does not fit is read over the last 512 bytes of buf and lost.
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for {
		dst := buf[len(buf)-512:]
		if n < len(buf) {
			dst = buf[n:]
		}
		m, err := r.Read(dst)
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// streamResult describes one streamed reply.
type streamResult struct {
	TTFB   time.Duration // from the reference time to the first body byte
	Total  time.Duration // from the reference time to the end of the body
	Events int           // SSE events received ([DONE] included)
	Reads  int           // body reads that returned data
	Bytes  int64         // body bytes
}

var (
	doneTail = []byte("data: [DONE]\n\n")
	eventSep = []byte("\n\n")
)

// streamOpts are the optional hooks of caller.streamed.
type streamOpts struct {
	onFirst  func(got bool) // called once: true at the first body byte, false if the stream failed before it
	progress *atomic.Int64  // if set, kept at the number of events received
}

// streamed sends a streaming request and reads the event stream to its end.
// ref is the time TTFB and Total are measured from. It reports whether the
// stream was a 200 text/event-stream that ended with [DONE] and had
// wantEvents events (when wantEvents > 0), counting any failure.
func (c *caller) streamed(ref time.Time, wantEvents int, o streamOpts) (streamResult, bool) {
	var res streamResult
	first := func(got bool) {
		if o.onFirst != nil {
			o.onFirst(got)
			o.onFirst = nil
		}
	}
	defer first(false) // a stream that failed before its first byte still settles
	resp, err := c.send()
	if err != nil {
		c.errs.add("transport error", err.Error())
		return res, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		n, _ := readFull(resp.Body, c.buf)
		c.errs.add(fmt.Sprintf("status %d", resp.StatusCode), string(c.buf[:min(n, len(c.buf))]))
		return res, false
	}
	var tail [32]byte
	tl := 0
	prevNL := false
	for {
		n, err := resp.Body.Read(c.buf)
		if n > 0 {
			if res.Reads == 0 {
				res.TTFB = time.Since(ref)
				first(true)
			}
			res.Reads++
			res.Bytes += int64(n)
			b := c.buf[:n]
			res.Events += bytes.Count(b, eventSep)
			if prevNL && b[0] == '\n' {
				res.Events++
			}
			prevNL = b[n-1] == '\n'
			if o.progress != nil {
				o.progress.Store(int64(res.Events))
			}
			if n >= len(tail) {
				tl = copy(tail[:], b[n-len(tail):])
			} else {
				keep := min(tl, len(tail)-n)
				copy(tail[:], tail[tl-keep:tl])
				tl = keep + copy(tail[keep:], b)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			c.errs.add("stream read error", err.Error())
			return res, false
		}
	}
	res.Total = time.Since(ref)
	switch {
	case !bytes.HasSuffix(tail[:tl], doneTail):
		c.errs.add("stream did not end with [DONE]", string(tail[:tl]))
		return res, false
	case wantEvents > 0 && res.Events != wantEvents:
		c.errs.add("wrong number of stream events", fmt.Sprintf("got %d events, want %d", res.Events, wantEvents))
		return res, false
	}
	return res, true
}

// closedResult is a closed-loop run.
type closedResult struct {
	Name       string
	OK, Failed int
	Elapsed    time.Duration
	Latency    dist
	CPU        cpuUse
	Errors     *errCounts
}

func (r closedResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// closedRunner runs workers that each send non-streaming requests back to
// back. It may be run several times; measured runs accumulate.
type closedRunner struct {
	t       *target
	pids    [2]int // gateway and reference proxy, for CPU
	callers []*caller
	lat     [][]time.Duration
	res     closedResult
}

func newClosedRunner(ctx context.Context, t *target, workers int, pids [2]int) *closedRunner {
	r := &closedRunner{t: t, pids: pids, res: closedResult{Name: t.name, Errors: new(errCounts)}}
	r.callers = make([]*caller, workers)
	r.lat = make([][]time.Duration, workers)
	for i := range r.callers {
		r.callers[i] = newCaller(ctx, t, false, r.res.Errors, 16<<10)
		r.lat[i] = make([]time.Duration, 0, 1<<14)
	}
	return r
}

// run runs the workers for d; unless record is set, it only warms up, but
// failures are counted either way.
func (r *closedRunner) run(ctx context.Context, d time.Duration, record bool) {
	var okN, failedN atomic.Int64
	cpu := startCPU(r.pids[0], r.pids[1])
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i, c := range r.callers {
		wg.Go(func() {
			var o, f int64
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				if c.plain() {
					o++
					if record {
						r.lat[i] = append(r.lat[i], time.Since(t0))
					}
				} else {
					f++
				}
			}
			okN.Add(o)
			failedN.Add(f)
		})
	}
	wg.Wait()
	r.res.Failed += int(failedN.Load())
	if record {
		r.res.OK += int(okN.Load())
		r.res.Elapsed += time.Since(start)
		r.res.CPU = r.res.CPU.add(cpu.stop())
	}
}

func (r *closedRunner) result() closedResult {
	var all []time.Duration
	for _, l := range r.lat {
		all = append(all, l...)
	}
	res := r.res
	res.Latency = summarize(all)
	return res
}

// openLoop calls fn at rate per second for dur, each call in its own
// goroutine and on schedule whether or not earlier calls have finished. It
// passes each call its sequence number and scheduled time. At most
// maxInFlight calls run at once; a call that would exceed that is not made
// and counted in overflow, by sequence number modulo k. It returns once
// every call has finished.
func openLoop(ctx context.Context, rate float64, dur time.Duration, maxInFlight, k int, fn func(i int, sched time.Time)) (overflow []int) {
	overflow = make([]int, k)
	interval := time.Duration(float64(time.Second) / rate)
	n := int(dur.Seconds() * rate)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	runtime.LockOSThread() // for preciseSleep
	defer runtime.UnlockOSThread()
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		sched := start.Add(time.Duration(i) * interval)
		if d := time.Until(sched); d > 0 {
			preciseSleep(d)
		}
		select {
		case sem <- struct{}{}:
		default:
			overflow[i%k]++
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i, sched)
		})
	}
	wg.Wait()
	return overflow
}

// callerPool hands out callers for open-loop calls.
type callerPool struct {
	free chan *caller
	mk   func() *caller
}

func newCallerPool(size int, mk func() *caller) *callerPool {
	return &callerPool{free: make(chan *caller, size), mk: mk}
}

func (p *callerPool) get() *caller {
	select {
	case c := <-p.free:
		return c
	default:
		return p.mk()
	}
}

func (p *callerPool) put(c *caller) {
	select {
	case p.free <- c:
	default:
	}
}

// openResult is one path of an open-loop run.
type openResult struct {
	Name                       string
	Sent, Overflow, OK, Failed int
	Latency                    dist // scheduled send to complete response (non-stream) or to first byte (stream)
	Total                      dist // streams: scheduled send to end of stream
	Lag                        dist // scheduled send to the moment the load generator sent it
	Errors                     *errCounts
}

// openRunner is one path of an open-loop run: non-streaming requests
// measured from their scheduled send time to the end of the response, or
// streaming ones measured from their scheduled send time to the first body
// byte and to the end of the stream.
type openRunner struct {
	t          *target
	stream     bool
	wantEvents int
	pool       *callerPool
	res        openResult

	mu              sync.Mutex
	record          bool
	lat, total, lag []time.Duration
	failed          atomic.Int64
}

func newOpenRunner(ctx context.Context, t *target, stream bool, wantEvents int) *openRunner {
	r := &openRunner{t: t, stream: stream, wantEvents: wantEvents, res: openResult{Name: t.name, Errors: new(errCounts)}}
	r.pool = newCallerPool(4096, func() *caller { return newCaller(ctx, t, stream, r.res.Errors, 16<<10) })
	return r
}

func (r *openRunner) call(sched time.Time) {
	c := r.pool.get()
	lag := time.Since(sched)
	var lat, total time.Duration
	var ok bool
	if r.stream {
		var sr streamResult
		sr, ok = c.streamed(sched, r.wantEvents, streamOpts{})
		lat, total = sr.TTFB, sr.Total
	} else {
		ok = c.plain()
		lat = time.Since(sched)
	}
	r.pool.put(c)
	if !ok {
		r.failed.Add(1)
		return
	}
	r.mu.Lock()
	if r.record {
		r.lat = append(r.lat, lat)
		r.lag = append(r.lag, lag)
		if r.stream {
			r.total = append(r.total, total)
		}
	}
	r.mu.Unlock()
}

// openPaths runs one open loop over several paths at once: request i goes
// to path i mod len(runners), and each path gets rate requests per second,
// so that every path sees the same machine at the same moments. Unless
// record is set it only warms up, but failures are counted either way.
func openPaths(ctx context.Context, runners []*openRunner, rate float64, d time.Duration, maxInFlight int, record bool, pids [2]int) cpuUse {
	for _, r := range runners {
		r.mu.Lock()
		r.record = record
		r.mu.Unlock()
	}
	k := len(runners)
	cpu := startCPU(pids[0], pids[1])
	overflow := openLoop(ctx, rate*float64(k), d, maxInFlight*k, k, func(i int, sched time.Time) {
		runners[i%k].call(sched)
	})
	use := cpu.stop()
	if record {
		n := int(d.Seconds() * rate * float64(k))
		for i, r := range runners {
			sent := n / k
			if i < n%k {
				sent++
			}
			r.res.Sent += sent - overflow[i]
			r.res.Overflow += overflow[i]
		}
	}
	return use
}

func (r *openRunner) result() openResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.res
	res.OK = len(r.lat)
	res.Failed = int(r.failed.Load())
	res.Latency = summarize(r.lat)
	res.Total = summarize(r.total)
	res.Lag = summarize(r.lag)
	return res
}
