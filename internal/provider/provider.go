// Package provider defines what the gateway needs from an upstream vendor
// adapter, and the registry through which each adapter makes itself known.
// Adapters live in their own packages (one vendor each) and register a
// Factory for their config type in init, so this package knows none of them.
package provider

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
)

// Provider is one configured vendor account.
//
// Errors returned by its methods are *llm.Error and describe failures before
// any response byte was produced: a refused connection, a timeout, or the
// vendor's own 4xx/5xx answer (translated, with its status and retry-after).
type Provider interface {
	Name() string
	Type() string
	// Models are the models the configuration lists for this provider.
	Models() []string
	// Generate sends a canonical chat request for model. Every adapter
	// implements it; it is how any client dialect reaches any vendor.
	Generate(ctx context.Context, req *llm.Request, model string) (*Generation, error)
	// Embeddings sends an OpenAI-dialect embeddings request for model.
	Embeddings(ctx context.Context, body jsonobj.Object, model string) (*Reply, error)
}

// Native is implemented by adapters whose vendor speaks a client dialect's
// wire format itself. A request in that dialect is then forwarded with
// only its top-level fields edited, and the answer's bytes go back as the
// vendor sent them, without a canonical decode and re-encode: the
// gateway's fast path (docs/dialects.md).
type Native interface {
	// Speaks reports whether the adapter forwards requests of dialect d.
	Speaks(d llm.Dialect) bool
	// Forward sends req, in its own dialect, for model. The reply's body
	// or stream is in that dialect too.
	Forward(ctx context.Context, req *NativeRequest, model string) (*Reply, error)
}

// NativeRequest is a client request in its own dialect, for Native.Forward.
type NativeRequest struct {
	Dialect llm.Dialect
	// Body is the client's JSON body, as edited by the dialect. Forward
	// must not change it, since another target may be sent it next; it
	// edits a copy.
	Body jsonobj.Object
	// Stream is whether the client asked for a stream.
	Stream bool
	// IncludeUsage is whether an OpenAI Chat client asked for the usage
	// chunk (stream_options.include_usage).
	IncludeUsage bool
	// Header holds client headers meant for a vendor of the client's own
	// dialect (anthropic-beta, anthropic-version), canonicalised names.
	Header http.Header
}

// Generation is a vendor's successful answer to Generate, as canonical
// events (a non-streamed upstream answer is replayed as events).
type Generation struct {
	// Header holds response headers worth passing to the client, such as
	// x-switchyard-dropped-params naming request fields the adapter could
	// not translate for its vendor.
	Header http.Header
	Events llm.Stream
}

// Reply is a vendor's successful answer, in the client's dialect: passed
// through by a Native adapter, or encoded from canonical events.
type Reply struct {
	// Header holds response headers worth passing to the client.
	Header http.Header
	// Body is the whole response, when not streamed.
	Body []byte
	// Stream is set instead of Body for streamed responses.
	Stream Stream
	// Usage and Reasoning are known once Body is set or Stream has ended.
	Usage     llm.Usage
	Reasoning string
	// Text is the answer's text, when Body is set and the reply was built
	// from canonical parts (so no dialect needs to be parsed to find it).
	Text string
}

// Stream is a streamed answer, already framed as server-sent events in the
// client's dialect.
type Stream interface {
	// Next returns the next bytes to write to the client. It returns io.EOF
	// after the stream's terminator, and an *llm.Error when the stream fails
	// (cut, malformed, or an error event from the vendor).
	Next() ([]byte, error)
	// Usage is the normalised usage seen so far.
	Usage() llm.Usage
	// Reasoning is the reasoning text seen so far (bounded).
	Reasoning() string
	// Close releases the upstream connection.
	Close() error
}

// Options are shared by every adapter.
type Options struct {
	// Client sends upstream requests; adapters must not replace its transport.
	Client *http.Client
	Logger *slog.Logger
}

// Factory builds an adapter from its configuration.
type Factory func(cfg config.Provider, opts Options) (Provider, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a provider type available. It panics on a duplicate, like
// database/sql.Register, because that is a programming error.
func Register(typ string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[typ]; dup {
		panic("provider: Register called twice for type " + typ)
	}
	factories[typ] = f
}

// Types lists the registered provider types, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	ts := make([]string, 0, len(factories))
	for t := range factories {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// New builds the adapter for cfg.
func New(cfg config.Provider, opts Options) (Provider, error) {
	mu.RLock()
	f, ok := factories[cfg.Type]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("provider %q: unknown type %q (known: %v)", cfg.Name, cfg.Type, Types())
	}
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return f(cfg, opts)
}

// Set is the configured providers, addressable by name.
type Set struct {
	byName map[string]Provider
	order  []Provider
}

// NewSet builds every provider of cfgs, each with the options opts gives
// it.
func NewSet(cfgs []config.Provider, opts func(config.Provider) Options) (*Set, error) {
	s := &Set{byName: map[string]Provider{}}
	for _, c := range cfgs {
		p, err := New(c, opts(c))
		if err != nil {
			return nil, err
		}
		s.byName[c.Name] = p
		s.order = append(s.order, p)
	}
	return s, nil
}

// Get returns the provider called name.
func (s *Set) Get(name string) (Provider, bool) {
	p, ok := s.byName[name]
	return p, ok
}

// All returns the providers in configuration order.
func (s *Set) All() []Provider { return slices.Clone(s.order) }
