// Package upstream holds what every provider adapter needs to talk HTTP to
// its vendor: classifying transport failures and error statuses into
// *llm.Error, reading retry-after, bounded reads of whole bodies, and tying
// a request's cancellation to its response body. Each vendor's own error
// body and quirks stay in its adapter.
package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// MaxBody bounds a non-streamed upstream body.
const MaxBody = 64 << 20

// Call is one POST of a JSON body to a vendor.
type Call struct {
	Client   *http.Client
	Provider string        // the provider's name, for errors
	Timeout  time.Duration // bounds the whole call, body included; 0 for none
	URL      string
	Body     []byte
	Stream   bool              // ask for an event stream
	Header   map[string]string // the provider's configured headers
	// Auth sets the vendor's credentials and its own headers, after the
	// configured ones.
	Auth func(h http.Header)
	// Error translates the vendor's error answer (status ≥ 300, the first
	// MiB of its body).
	Error func(resp *http.Response, body []byte) *llm.Error
}

// traceContext is explicit: the global propagator is whatever a library
// set.
var traceContext = propagation.TraceContext{}

// Post sends c and turns every failure into an *llm.Error. The returned
// body cancels the call's context when closed, so a stream's timeout and
// connection go with it. The W3C trace context is sent, so that the
// vendor's spans join the request's trace.
func Post(ctx context.Context, c Call) (*http.Response, error) {
	cancel := context.CancelFunc(func() {})
	if c.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(c.Body))
	if err != nil {
		cancel()
		return nil, &llm.Error{Kind: llm.KindServer, Class: "config", Message: fmt.Sprintf("provider %q: bad upstream URL", c.Provider)}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	if c.Stream {
		h.Set("Accept", "text/event-stream")
	} else {
		h.Set("Accept", "application/json")
	}
	for k, v := range c.Header {
		h.Set(k, v)
	}
	if c.Auth != nil {
		c.Auth(h)
	}
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
	resp, err := c.Client.Do(req)
	if err != nil {
		// Classified before cancel, which would make every failure look
		// like the client's going away.
		e := TransportError(ctx, c.Provider, err)
		cancel()
		return nil, e
	}
	if resp.StatusCode >= 300 {
		defer cancel()
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, c.Error(resp, raw)
	}
	resp.Body = &CancelOnClose{ReadCloser: resp.Body, Cancel: cancel}
	return resp, nil
}

// maxGet bounds the answer to GetJSON (OpenAI's model list is about 100 KB).
const maxGet = 8 << 20

// GetJSON sends a GET to c.URL with c's configured headers and
// credentials, and decodes the JSON answer into out. It is for the few
// small reads adapters make besides generating, such as model lists;
// c.Body, c.Stream and c.Error are not used, and failures are plain errors,
// for logs.
func GetJSON(ctx context.Context, c Call, out any) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	if c.Auth != nil {
		c.Auth(req.Header)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGet))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %v", req.URL.Redacted(), err)
	}
	return nil
}

// TransportError classifies a failure to get a response at all from the
// provider called name.
func TransportError(ctx context.Context, name string, err error) *llm.Error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return &llm.Error{Kind: llm.KindServer, Status: 499, Class: "client_gone", Message: "the client closed the request"}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return timeout(name)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return timeout(name)
	}
	msg := fmt.Sprintf("could not reach provider %q", name)
	if why := unreachable(err); why != "" {
		msg += ": " + why
	}
	return &llm.Error{Kind: llm.KindUpstream, Class: "upstream_connection", Message: msg}
}

// unreachable names the cause of a failed connection in words that hold
// no address, so that it can be shown to a client: what an operator must
// know to tell a vendor that is down from a wrong URL or a proxy in the
// way. It is empty when the cause is none of these.
func unreachable(err error) string {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dns):
		return "host name not resolved"
	case errors.As(err, &cert):
		return "TLS certificate not trusted"
	case errors.As(err, &rec):
		return "TLS handshake failed"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	}
	return ""
}

func timeout(name string) *llm.Error {
	return &llm.Error{Kind: llm.KindTimeout, Class: "upstream_timeout", Message: fmt.Sprintf("provider %q did not answer in time", name)}
}

// ClassAuth is the error class of a vendor's refusal of the gateway's
// credentials (HTTP 401 or 403).
const ClassAuth = "upstream_auth"

// Classify sets e's Kind and Class from the HTTP status with which the
// provider called name refused a request, keeping e.Status (the vendor's)
// where the client should see it. e.Message should already hold the
// vendor's message, or be empty.
func Classify(e *llm.Error, name string, status int) {
	if e.Message == "" {
		e.Message = fmt.Sprintf("provider %q answered HTTP %d", name, status)
	}
	e.Status = status
	switch s := status; {
	case s == 401 || s == 403:
		// The gateway's own credentials for the vendor were refused, or
		// lack a permission: that is the operator's problem, not the
		// client's key. The router falls back and reports it
		// (docs/routing.md).
		e.Kind, e.Status, e.Type = llm.KindUpstream, http.StatusBadGateway, ""
		e.Message = fmt.Sprintf("provider %q rejected the gateway's credentials: %s", name, e.Message)
		e.Class = ClassAuth
		return
	case s == 400 || s == 409 || s == 422:
		e.Kind = llm.KindInvalidRequest
	case s == 413:
		e.Kind = llm.KindRequestTooLarge
	case s == 402:
		e.Kind = llm.KindPermission
	case s == 404:
		e.Kind = llm.KindNotFound
	case s == 429:
		e.Kind = llm.KindRateLimit
	case s == 503 || s == 529:
		e.Kind = llm.KindOverloaded
	case s == 504:
		e.Kind = llm.KindTimeout
	case s >= 500:
		e.Kind = llm.KindUpstream
	default:
		e.Kind, e.Status = llm.KindUpstream, http.StatusBadGateway
	}
	if status >= 500 {
		e.Class = "upstream_5xx"
	} else {
		e.Class = "upstream_4xx"
	}
}

// RetryAfter returns the retry-after to pass on, in whole seconds, from
// retry-after or retry-after-ms (docs/protocols.md#trap-retry-after).
func RetryAfter(h http.Header) string {
	if v := h.Get("Retry-After"); v != "" {
		return v
	}
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		var n float64
		if _, err := fmt.Sscanf(ms, "%g", &n); err == nil && n >= 0 {
			return fmt.Sprint(int64(n+999) / 1000)
		}
	}
	return ""
}

// ReadBody reads a whole response body of at most MaxBody bytes.
func ReadBody(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstream, Class: "upstream_connection", Message: "the upstream connection failed while reading the response"}
	}
	if len(raw) > MaxBody {
		return nil, Malformed("the upstream response exceeds the gateway's size limit")
	}
	return raw, nil
}

// Malformed is the error for an answer that cannot be understood.
func Malformed(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Class: "upstream_malformed", Message: msg}
}

// CancelOnClose is a response body that cancels its request's context when
// closed, so that a stream's timer and connection go with it.
type CancelOnClose struct {
	io.ReadCloser
	Cancel context.CancelFunc
}

func (c *CancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.Cancel()
	return err
}
