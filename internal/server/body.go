package server

import (
	"io"
	"net/http"
	"time"
)

// Request bodies are read against a deadline that grows with what has
// arrived: BodyTimeout, plus a second for every BodyMinRate bytes, the
// rule of Apache's mod_reqtimeout. A client that trickles its body, with
// or without a key, cannot hold a connection and its goroutine for longer,
// and one that sends at a reasonable rate is never cut, however large its
// body. docs/security.md describes the whole defence.

// refusedBodyGrace is how long a request refused before its body was read
// (no key, a bad key, a limit) may still send that body. net/http reads
// up to 256 KiB of an unread body after the handler, to reuse the
// connection; a client that has sent its body is drained at once, so
// that it reads its 401 rather than a reset, and one that trickles is cut
// off after this.
const refusedBodyGrace = time.Second

// pacedBody is a request body whose connection read deadline follows the
// bytes received.
type pacedBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	timeout  time.Duration
	rate     int64 // bytes per second
	received int64
	done     bool // read to its end or failed: the deadline is settled
}

// paceBody gives r's body, if it has one, a read deadline of timeout,
// extended by a second for every rate bytes that arrive.
func paceBody(w http.ResponseWriter, r *http.Request, timeout time.Duration, rate int64) *pacedBody {
	if r.Body == nil || r.Body == http.NoBody || timeout <= 0 {
		return nil
	}
	p := &pacedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(), timeout: timeout, rate: max(rate, 1)}
	if p.rc.SetReadDeadline(p.start.Add(timeout)) != nil {
		return nil // not a connection with deadlines (a test's recorder)
	}
	r.Body = p
	return p
}

func (p *pacedBody) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.received += int64(n)
	switch {
	case err == io.EOF:
		// net/http now reads the connection in the background to notice
		// the client leaving; a deadline left set would end that read and
		// cancel the request in the middle of a long stream. net/http lifts
		// it itself when it starts that read; this does not rely on it.
		p.rc.SetReadDeadline(time.Time{})
		p.done = true
	case err != nil:
		p.done = true // the deadline, if it passed, stays passed: nothing more is read
	case n > 0:
		p.rc.SetReadDeadline(p.start.Add(p.timeout + time.Duration(p.received)*time.Second/time.Duration(p.rate)))
	}
	return n, err
}

// refuseBody prepares the answer to a request refused before its body was
// read: the connection closes after it (nothing more is read from a
// client that was refused), and what the client still sends is read for
// refusedBodyGrace at most.
func refuseBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	if b, ok := r.Body.(*pacedBody); ok && b.done {
		return
	}
	w.Header().Set("Connection", "close")
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(refusedBodyGrace))
}

// guard is the edge of every request, whatever answers it (the API, the
// admin API, health checks, metrics, a 404). It gives the response an
// x-request-id, the id the request log and the log line carry for API
// requests: always the gateway's own, never one a client sent, which would
// be one more unbounded string echoed and stored. It sets the body's
// deadline and, when the handler left the body unread, gives what net/http
// still reads of it refusedBodyGrace.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", newID("req_"))
		p := paceBody(w, r, s.BodyTimeout, s.BodyMinRate)
		next.ServeHTTP(w, r)
		if p != nil && !p.done {
			p.rc.SetReadDeadline(time.Now().Add(refusedBodyGrace))
		}
	})
}
