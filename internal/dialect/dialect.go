// Package dialect defines what the gateway needs from a client wire format
// (OpenAI Chat Completions, Anthropic Messages, OpenAI Responses), and the
// registry through which each makes itself known. Each dialect lives in its
// own package under internal/dialect and registers itself in init, as a
// provider adapter does, so the server knows none of them by name: it
// serves every registered dialect's routes with one generate handler
// (docs/dialects.md).
package dialect

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// A Dialect is a client wire format.
type Dialect interface {
	// Name is the dialect's canonical name, which llm.Request.Dialect and
	// provider.Native use.
	Name() llm.Dialect
	// Routes are the endpoints the dialect serves.
	Routes() []Route
	// Error is an error answer in the dialect: its status and body.
	Error(e *llm.Error) (status int, body []byte)
	// ErrorEvent is the frame that ends a stream failing after its first
	// byte, when the stream has no Fail of its own (see Failer).
	ErrorEvent(e *llm.Error) []byte
	// Text is the answer's text in a whole reply body, and ChunkText the
	// text in one stream frame: the request log keeps it for shadow
	// comparisons when the answer was passed through without a canonical
	// decode.
	Text(body []byte) string
	ChunkText(frame []byte) string
}

// Failer is implemented by streams that end a failed stream themselves
// (the Responses encoder numbers its events, so its failure event must
// carry the next number).
type Failer interface {
	Fail(e *llm.Error) []byte
}

// A Route is one endpoint of a dialect. It is served under /v1 and at the
// root, since clients differ on whether /v1 is part of their base URL.
type Route struct {
	Method string
	// Pattern is a net/http pattern path without the /v1 prefix, such as
	// "/messages" or "/responses/{id}".
	Pattern string
	// Endpoint names the route in logs, metrics and the request log.
	Endpoint string
	// Decode, for a generation endpoint, reads a request for the
	// gateway's generate handler, which does the rest: limits, routing,
	// recording, streaming.
	Decode func(ctx context.Context, r *http.Request, body []byte, env Env) (*Request, *llm.Error)
	// Serve serves any other endpoint (Anthropic's count_tokens, a stored
	// response) with the gateway's services. A route has Decode or Serve.
	Serve func(w http.ResponseWriter, r *http.Request, env Env)
}

// Env is what the gateway offers a dialect while it serves a request: the
// authenticated key and the gateway's services, each already bound to this
// request (its record, its limits).
type Env interface {
	// Key is the client's virtual key.
	Key() store.Key
	// ReadBody reads the request body, within the gateway's bounds.
	ReadBody() ([]byte, *llm.Error)
	// Route resolves a model the key may use.
	Route(model string) (*router.Route, *llm.Error)
	// Unit is what a route's split is sticky to for this request.
	Unit(rt *router.Route, user string) string
	// Record is the request's log record, for Serve routes to fill in.
	Record() *store.RequestLog
	// Fail answers with e in the dialect and notes it in the record.
	Fail(e *llm.Error)
}

// Request is a client's generation request, decoded by its dialect.
type Request struct {
	Model  string
	Stream bool
	// User identifies the client's end user, if it said (routes may be
	// sticky to it).
	User string
	// Metadata is the client's metadata object, raw, for the request log.
	Metadata []byte
	// Size is the body's length, for estimates while Canonical has not
	// been decoded.
	Size int
	// Canonical returns the request in canonical form. It may decode on
	// first call (the fast path need never call it); it returns the same
	// value every time.
	Canonical func() (*llm.Request, error)
	// Native is the request as a provider that speaks the dialect takes
	// it (provider.Native); nil when it must take the canonical path.
	Native *provider.NativeRequest
	// Encoding encodes canonical answers in the dialect.
	Encoding Encoding
}

// Encoding is a dialect's encoder of canonical answers.
type Encoding struct {
	Body   func(*llm.Response) []byte
	Stream func(llm.Stream) provider.Stream
}

var (
	mu       sync.RWMutex
	dialects = map[llm.Dialect]Dialect{}
)

// Register makes a dialect available. It panics on a duplicate, like
// database/sql.Register, because that is a programming error.
func Register(d Dialect) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := dialects[d.Name()]; dup {
		panic(fmt.Sprintf("dialect: Register called twice for %q", d.Name()))
	}
	dialects[d.Name()] = d
}

// All returns the registered dialects, sorted by name.
func All() []Dialect {
	mu.RLock()
	defer mu.RUnlock()
	ds := make([]Dialect, 0, len(dialects))
	for _, d := range dialects {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name() < ds[j].Name() })
	return ds
}

// Get returns the dialect called name.
func Get(name llm.Dialect) (Dialect, bool) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := dialects[name]
	return d, ok
}

// MaxEchoBytes bounds a client's string quoted in an error message: a
// header or field may be as long as the client likes.
const MaxEchoBytes = 256

// Clip returns s if it has at most n bytes, else its first bytes up to a
// rune boundary followed by "…", n bytes at most in all.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	mark := ellipsis
	if n < len(ellipsis) {
		mark = ""
	}
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
