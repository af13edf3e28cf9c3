package fakeupstream

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Server is a fake vendor API listening on a loopback address. Replies
// are chosen by path suffix: one-shot replies queued with [Server.Enqueue]
// are served first, in order, then the default set with [Server.Handle].
// A request that matches nothing gets an OpenAI-shaped 404.
//
// All methods are safe for concurrent use, including while requests are
// in flight.
type Server struct {
	ts        *httptest.Server
	done      chan struct{} // closed by Close to abort replies in flight
	closeOnce sync.Once

	latency atomic.Int64 // time.Duration added before every reply
	noRec   atomic.Bool  // skip recording requests
	funcs   atomic.Bool  // some route replies through a function of the request

	mu       sync.Mutex
	routes   map[string]*route // by path suffix
	recorded []Recorded
}

type route struct {
	queue      []Response
	def        Response
	hasDefault bool
	fn         func(Recorded) Response
}

// Recorded is a request the server received.
type Recorded struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// New starts a Server on a loopback address. It records requests and adds
// no latency until told otherwise. Call Close when done.
func New() *Server {
	s := &Server{
		done:   make(chan struct{}),
		routes: make(map[string]*route),
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// Aborted streams and vanished clients are the point of this server;
	// net/http's complaints about them are noise.
	s.ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.ts.Start()
	return s
}

// URL returns the server's base URL, such as "http://127.0.0.1:12345",
// with no trailing slash.
func (s *Server) URL() string { return s.ts.URL }

// Client returns an HTTP client for the server whose idle connections Close
// releases.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Close stops the server. It aborts replies in flight, including stalled
// ones, by closing every client connection, and returns once all handlers
// have finished.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ts.Listener.Close() // no new connections while the rest shut down
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// SetLatency sets a delay applied before every reply, as a fixed upstream
// response time. A Response's FirstByteDelay adds to it.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetRecording turns request recording on (the default) or off. Turning it
// off keeps the hot path cheap under load; bodies are still read in full,
// as a real upstream would.
func (s *Server) SetRecording(on bool) { s.noRec.Store(!on) }

// Handle sets the default reply for requests whose path ends with
// pathSuffix, such as "/chat/completions" or ":streamGenerateContent".
// When several suffixes match, the longest one with a reply wins.
func (s *Server) Handle(pathSuffix string, r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.route(pathSuffix)
	rt.def, rt.hasDefault, rt.fn = r, true, nil
}

// Respond sets a function that computes the default reply for requests
// whose path ends with pathSuffix from the request itself, for tests whose
// answers depend on what was asked rather than on arrival order (requests
// sent concurrently). It replaces a reply set with Handle; queued replies
// still come first. f may be called concurrently.
func (s *Server) Respond(pathSuffix string, f func(Recorded) Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.route(pathSuffix)
	rt.fn, rt.hasDefault = f, true
	s.funcs.Store(true)
}

// Enqueue queues one-shot replies for requests whose path ends with
// pathSuffix. They are used in order, each once, before the default reply.
func (s *Server) Enqueue(pathSuffix string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.route(pathSuffix)
	rt.queue = append(rt.queue, rs...)
}

// route returns the route for suffix, creating it. s.mu must be held.
func (s *Server) route(suffix string) *route {
	rt := s.routes[suffix]
	if rt == nil {
		rt = new(route)
		s.routes[suffix] = rt
	}
	return rt
}

// next picks the reply for path, consuming a queued one if any. A route
// set with Respond returns its function instead, to be called without the
// lock held.
func (s *Server) next(path string) (Response, func(Recorded) Response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *route
	bestLen := -1
	for suffix, rt := range s.routes {
		if len(suffix) > bestLen && strings.HasSuffix(path, suffix) && (len(rt.queue) > 0 || rt.hasDefault) {
			best, bestLen = rt, len(suffix)
		}
	}
	switch {
	case best == nil:
		return Response{}, nil, false
	case len(best.queue) > 0:
		r := best.queue[0]
		best.queue[0] = Response{} // drop the reference for the GC
		best.queue = best.queue[1:]
		return r, nil, true
	case best.fn != nil:
		return Response{}, best.fn, true
	default:
		return best.def, nil, true
	}
}

// Requests returns the recorded requests in arrival order.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recorded)
}

// LastRequest returns the most recent recorded request, or the zero
// Recorded if there is none.
func (s *Server) LastRequest() Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recorded) == 0 {
		return Recorded{}
	}
	return s.recorded[len(s.recorded)-1]
}

// Reset forgets recorded requests, queued replies and default replies.
// Latency and the recording setting are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = make(map[string]*route)
	s.recorded = nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, req *http.Request) {
	// Read the whole request first, as a real upstream parses it before
	// answering; recording it before any delay lets tests see stalled
	// requests.
	rec := Recorded{
		Method:   req.Method,
		Path:     req.URL.Path,
		RawQuery: req.URL.RawQuery,
	}
	if s.noRec.Load() && !s.funcs.Load() {
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
	} else {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		rec.Header, rec.Body = req.Header.Clone(), body
		if !s.noRec.Load() {
			s.mu.Lock()
			s.recorded = append(s.recorded, rec)
			s.mu.Unlock()
		}
	}

	r, fn, ok := s.next(rec.Path)
	switch {
	case !ok:
		r = notFound(req)
	case fn != nil:
		r = fn(rec)
	}
	s.reply(req.Context(), w, &r)
}

// reply writes r, injecting its faults. It gives up as soon as the client
// goes away or the server closes.
func (s *Server) reply(ctx context.Context, w http.ResponseWriter, r *Response) {
	if !s.sleep(ctx, time.Duration(s.latency.Load())+r.FirstByteDelay) {
		abort(w)
		return
	}

	h := w.Header()
	for k, v := range r.Header {
		h[k] = slices.Clone(v) // net/http may append to them
	}
	if r.ContentType != "" {
		h.Set("Content-Type", r.ContentType)
	} else if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // a nil value stops net/http sniffing one
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	body := r.body()

	if r.EventDelay <= 0 && r.CutAfterEvents == 0 {
		w.WriteHeader(status)
		w.Write(body)
		return
	}

	// Event by event: flush the headers, then each event, so the client
	// sees every delay and the exact point of a cut.
	rc := http.NewResponseController(w)
	w.WriteHeader(status)
	if rc.Flush() != nil {
		return
	}
	for i, ev := range splitEvents(body) {
		if r.CutAfterEvents != 0 && i >= r.CutAfterEvents {
			break
		}
		if i > 0 && !s.sleep(ctx, r.EventDelay) {
			abort(w)
			return
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
	if r.CutAfterEvents != 0 {
		abort(w)
	}
}

// sleep waits for d and reports whether the reply should go on, which it
// should not once the client has gone or the server is closing.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-ctx.Done():
			return false
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// abort drops the connection without finishing the response, so the client
// sees a truncated reply (or none) rather than a complete one. Everything
// already written has been flushed by the caller.
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, or a recorder): net/http aborts the
		// response when a handler panics with this value.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
