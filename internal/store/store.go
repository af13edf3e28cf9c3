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

	// TeamID is the team the key belongs to ("" for none); the team's
	// limits and budget apply on top of the key's own.
	TeamID string
	Limits Limits
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt *time.Time
	// Metadata is free-form labels (app, owner, ...).
	Metadata map[string]string
}

// Limits are the rate limits and spend budget of a key or a team. Zero
// means unlimited.
type Limits struct {
	RPM int64 `json:"rpm"` // requests per minute (sliding window)
	TPM int64 `json:"tpm"` // tokens (input + output) per minute
	// Budget is the spend allowed per BudgetPeriod, in micro-dollars
	// (1 USD = 1,000,000): integers, so sums never drift.
	Budget       int64  `json:"budget_micro_usd"`
	BudgetPeriod string `json:"budget_period"` // "day", "month" (UTC) or "total"; "" means "month"
}

// Team groups keys under shared limits and a shared budget.
type Team struct {
	ID        string
	Name      string
	Limits    Limits
	Metadata  map[string]string
	CreatedAt time.Time
}

// AuditEntry is one admin action.
type AuditEntry struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`  // who: "admin:<fingerprint>" or "cli:<user>"; never a secret
	Action string    `json:"action"` // "key.create", "key.update", "key.revoke", "team.create", ...
	Target string    `json:"target"` // the id acted on
	Detail string    `json:"detail"` // JSON of the change; never a secret
}

// Secret is a provider secret as stored: sealed (internal/secrets), never
// in clear.
type Secret struct {
	Name      string
	Sealed    []byte
	UpdatedAt time.Time
}

// UsageFilter selects and groups request logs for usage reports.
type UsageFilter struct {
	From, To time.Time // [From, To); zero means unbounded
	// GroupBy lists dimensions: "key", "team", "model", "provider", "day"
	// (UTC). Empty means one total row.
	GroupBy []string
	KeyID   string // only this key; "" for all
	TeamID  string // only this team; "" for all
	// Limit, when positive, returns at most that many groups.
	Limit int
	// After continues the report after the group with these values of
	// the GroupBy dimensions, in their order: the last row of the
	// previous page.
	After []string
}

// UsageRow is one group of a usage report. Only the dimensions grouped by
// are set.
type UsageRow struct {
	Key          string `json:"key,omitempty"`
	Team         string `json:"team,omitempty"`
	Model        string `json:"model,omitempty"`
	Provider     string `json:"provider,omitempty"`
	Day          string `json:"day,omitempty"`
	Requests     int64  `json:"requests"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	CachedTokens int64  `json:"cached_input_tokens"`
	Cost         int64  `json:"cost_micro_usd"`
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
	// UsageSource says where Usage came from: UsageVendor or
	// UsageEstimated; empty for a request that used nothing.
	UsageSource  string `json:"usage_source"`
	ErrorClass   string `json:"error_class"`   // "", "bad_request", "not_found", "upstream_4xx", "upstream_5xx", "upstream_timeout", "upstream_connection", "stream_cut", "client_gone", ...
	ErrorMessage string `json:"error_message"` // short human-readable cause; never secrets
	Reasoning    string `json:"reasoning"`     // reasoning text the vendor sent, when it sent any
	Metadata     string `json:"metadata"`      // client-supplied metadata object as JSON, if any
	// Attempts is the router's record of every upstream attempt, as a JSON
	// array of {target, outcome, status, latency_ms, error}.
	Attempts string `json:"-"`
	// ParentID is, for a shadow request, the id of the request it copies.
	ParentID string `json:"parent_id,omitempty"`
	// Response is the answer's text, kept for requests that were shadowed
	// and for their shadows, so the two can be compared later.
	Response string `json:"response,omitempty"`
	// TeamID is the key's team when the request was made.
	TeamID string `json:"team_id,omitempty"`
	// Cost is what the request cost, in micro-dollars, from its usage and
	// the pricing table; 0 when the model has no price.
	Cost int64 `json:"cost_micro_usd"`
}

// Values of RequestLog.UsageSource.
const (
	// UsageVendor is usage the vendor reported.
	UsageVendor = "vendor"
	// UsageEstimated is usage the gateway estimated because the vendor
	// reported none: a stream that was cut, stalled or abandoned before
	// its usage event (docs/limits.md).
	UsageEstimated = "estimated"
)

// RequestFilter selects request logs, newest first.
type RequestFilter struct {
	KeyID string // only this key's requests; empty means all
	Limit int    // 0 (or less) means 100
	// After continues the list after the record with this id: the last
	// of the previous page. Empty starts with the newest.
	After string
}

// Page selects one page of a list in the list's order: at most Limit
// items (0 or less means 100) after the item whose id is After (the last
// of the previous page; empty starts at the beginning). Lists page by
// keyset, on the columns of their order, so that what is added while a
// client pages through neither repeats nor hides an item. An After that
// names no item gives an empty page.
type Page struct {
	Limit int
	After string
}

// Size is the number of items the page asks for.
func (p Page) Size() int {
	if p.Limit <= 0 {
		return 100
	}
	return p.Limit
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
	// ListKeys returns a page of the keys, revoked ones included, oldest
	// first.
	ListKeys(ctx context.Context, p Page) ([]Key, error)
	// RevokeKey marks a key revoked by id or name; ErrNotFound if neither
	// matches. An id match wins over a name match. Revoking a revoked key
	// succeeds and keeps the original RevokedAt.
	RevokeKey(ctx context.Context, idOrName string) error
	// Key returns the key with this id, or else this name; ErrNotFound if
	// neither matches.
	Key(ctx context.Context, idOrName string) (Key, error)
	// UpdateKey replaces the mutable fields of the key k.ID names: Models,
	// TeamID, Limits, ExpiresAt, Metadata. ErrNotFound if there is none.
	UpdateKey(ctx context.Context, k Key) error

	// CreateTeam stores a new team; ID and Name are required and unique
	// (ErrDuplicate).
	CreateTeam(ctx context.Context, t Team) error
	// Team returns the team with this id, or else this name.
	Team(ctx context.Context, idOrName string) (Team, error)
	// ListTeams returns a page of the teams, oldest first.
	ListTeams(ctx context.Context, p Page) ([]Team, error)
	// UpdateTeam replaces the Limits and Metadata of the team t.ID names.
	UpdateTeam(ctx context.Context, t Team) error

	// Usage totals request logs by the filter's dimensions, ordered by
	// them (a page of them, with Limit and After).
	Usage(ctx context.Context, f UsageFilter) ([]UsageRow, error)
	// Spend is the sum of the costs of a key's (or, with team set, a
	// team's) requests at or after since, in micro-dollars.
	Spend(ctx context.Context, id string, team bool, since time.Time) (int64, error)

	// AppendAudit records an admin action; a zero Time is set to now.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// Audit returns a page of the admin actions, newest first; After is
	// an entry's ID in decimal.
	Audit(ctx context.Context, p Page) ([]AuditEntry, error)

	// InsertRequests writes a batch of request logs in one transaction. Every
	// record needs an ID; a record whose ID is already stored is skipped, so
	// retrying a batch whose commit was not acknowledged is safe. The slice
	// is not retained.
	InsertRequests(ctx context.Context, logs []RequestLog) error
	// Requests returns request logs matching f, newest first (records with
	// the same Time in insertion order, last inserted first), from the one
	// after f.After.
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
	// PutSecret stores a sealed provider secret under name, replacing any.
	PutSecret(ctx context.Context, name string, sealed []byte) error
	// Secrets returns every stored secret, by name.
	Secrets(ctx context.Context) ([]Secret, error)
	// DeleteSecret removes a secret; ErrNotFound if there is none.
	DeleteSecret(ctx context.Context, name string) error

	// PutResponse stores a Responses API response. ID is required; a
	// zero CreatedAt is set to now; an ID already stored fails with an
	// error wrapping ErrDuplicate. PreviousID is not checked: the response
	// it names may be deleted later anyway (see ResponseChain).
	PutResponse(ctx context.Context, r StoredResponse) error
	// Response returns the stored response with this id, or ErrNotFound.
	Response(ctx context.Context, id string) (StoredResponse, error)
	// DeleteResponse removes a stored response; ErrNotFound if there is
	// none. Responses that name it as their previous one are kept, and
	// their chains are broken from then on.
	DeleteResponse(ctx context.Context, id string) error
	// ResponseChain returns the response with this id and its ancestors
	// through PreviousID, oldest first: the conversation a request naming
	// id as previous_response_id continues. limit (which must be
	// positive) is the most responses returned; a longer chain fails with
	// an error wrapping ErrChainTooLong (as does a cycle). ErrNotFound
	// (wrapped, naming the id) if the response or an ancestor is missing
	// (the walk looks one step past limit): a conversation with a hole
	// cannot be replayed.
	ResponseChain(ctx context.Context, id string, limit int) ([]StoredResponse, error)
	// DeleteResponsesBefore removes the responses created before t and
	// returns how many it removed: a retention policy's sweep.
	DeleteResponsesBefore(ctx context.Context, t time.Time) (int64, error)

	Ping(ctx context.Context) error
	Close() error
}
