// Package store defines Switchyard's persistent state behind one small
// interface, with two real implementations: SQLite (embedded default, pure Go)
// and PostgreSQL (several replicas).
package store

import (
	"context"
	"errors"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrDuplicate is returned (wrapped, with the offending field named) when a
// record would break a uniqueness rule: key ids, names and hashes are unique.
var ErrDuplicate = errors.New("store: duplicate")

// Key is a virtual API key. Only the SHA-256 hash of the secret is stored.
type Key struct {
	ID        string     // stable identifier, safe to log ("key_…")
	Name      string     // human label
	Prefix    string     // first characters of the secret, for display ("sk-sy-AbCd")
	Hash      string     // hex SHA-256 of the full secret
	Models    []string   // allowed model patterns (path.Match syntax); empty means all
	CreatedAt time.Time  //
	RevokedAt *time.Time // nil while the key is active
}

// RequestLog is one request as recorded by the gateway.
type RequestLog struct {
	ID             string        `json:"id"`              // request id, also returned to the client
	Time           time.Time     `json:"time"`            // when the request arrived
	KeyID          string        `json:"key_id"`          // virtual key id; empty when unauthenticated
	Endpoint       string        `json:"endpoint"`        // "chat.completions", "embeddings", ...
	RequestedModel string        `json:"requested_model"` // model as the client named it
	Provider       string        `json:"provider"`        // provider name that served it
	Model          string        `json:"model"`           // upstream model name
	Stream         bool          `json:"stream"`          //
	Status         int           `json:"status"`          // HTTP status returned to the client
	Latency        time.Duration `json:"-"`               // arrival to last byte
	TTFT           time.Duration `json:"-"`               // arrival to first byte of a streamed body; 0 if none
	Usage          llm.Usage     `json:"usage"`           // normalised token counts
	ErrorClass     string        `json:"error_class"`     // "", "bad_request", "not_found", "upstream_4xx", "upstream_5xx", "upstream_timeout", "upstream_connection", "stream_cut", "client_gone", ...
	ErrorMessage   string        `json:"error_message"`   // short human-readable cause; never secrets
	Reasoning      string        `json:"reasoning"`       // reasoning text the vendor sent, when it sent any
	Metadata       string        `json:"metadata"`        // client-supplied metadata object as JSON, if any
	// Attempts is the router's record of every upstream attempt, as a JSON
	// array of {target, outcome, status, latency_ms, error}.
	Attempts string `json:"-"`
	// ParentID is, for a shadow request, the id of the request it copies.
	ParentID string `json:"parent_id,omitempty"`
	// Response is the answer's text, kept for requests that were shadowed
	// and for their shadows, so the two can be compared later.
	Response string `json:"response,omitempty"`
}

// RequestFilter selects request logs, newest first.
type RequestFilter struct {
	KeyID string // only this key's requests; empty means all
	Limit int    // 0 (or less) means 100
}

// Store is the persistent state of a Switchyard deployment.
//
// Times are stored with microsecond precision and returned in UTC; durations
// are stored as whole microseconds. Implementations are safe for concurrent
// use.
type Store interface {
	// CreateKey stores a new key. ID, Name and Hash are required; a zero
	// CreatedAt is set to the current time. A second key with the same ID,
	// Name or Hash fails with an error wrapping ErrDuplicate, so a name is
	// never reused, not even after its key was revoked.
	CreateKey(ctx context.Context, k Key) error
	// KeyByHash returns the key whose secret hashes to hash, or ErrNotFound.
	// Revoked keys are returned too, with RevokedAt set: rejecting them is
	// the caller's decision.
	KeyByHash(ctx context.Context, hash string) (Key, error)
	// ListKeys returns every key, revoked ones included, oldest first.
	ListKeys(ctx context.Context) ([]Key, error)
	// RevokeKey marks a key revoked by id or name; ErrNotFound if neither
	// matches. An id match wins over a name match. Revoking a revoked key
	// succeeds and keeps the original RevokedAt.
	RevokeKey(ctx context.Context, idOrName string) error

	// InsertRequests writes a batch of request logs in one transaction. Every
	// record needs an ID; a record whose ID is already stored is skipped, so
	// retrying a batch whose commit was not acknowledged is safe. The slice
	// is not retained.
	InsertRequests(ctx context.Context, logs []RequestLog) error
	// Requests returns request logs matching f, newest first (records with
	// the same Time in insertion order, last inserted first).
	Requests(ctx context.Context, f RequestFilter) ([]RequestLog, error)

	// CreateEvalRun stores a new evaluation run; an existing ID fails
	// with an error wrapping ErrDuplicate. A zero CreatedAt is set to now.
	CreateEvalRun(ctx context.Context, r EvalRun) error
	// SetEvalRunStatus sets a run's status, and its FinishedAt to at unless
	// the status is "running" (which clears it); ErrNotFound if no run has
	// the id.
	SetEvalRunStatus(ctx context.Context, id, status string, at time.Time) error
	// EvalRun returns the run with the id, or ErrNotFound.
	EvalRun(ctx context.Context, id string) (EvalRun, error)
	// EvalRuns returns up to limit runs (0 or less means 100), newest first.
	EvalRuns(ctx context.Context, limit int) ([]EvalRun, error)
	// PutEvalResults stores results in one transaction, each replacing the
	// run's result for the same model and case if there is one.
	PutEvalResults(ctx context.Context, rs []EvalResult) error
	// EvalResults returns a run's results ordered by case id, then model.
	EvalResults(ctx context.Context, runID string) ([]EvalResult, error)
	// CachedResponse returns the cached answer for key, or ErrNotFound.
	CachedResponse(ctx context.Context, key string) (CachedResponse, error)
	// PutCachedResponse stores an answer under its key, replacing any.
	PutCachedResponse(ctx context.Context, c CachedResponse) error

	Ping(ctx context.Context) error
	Close() error
}
