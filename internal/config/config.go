// Package config loads and validates Switchyard's YAML configuration.
package config

import (
	"os"
	"time"

	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/pricing"
)

// Defaults for the fields a config leaves out.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultStorage         = "sqlite:switchyard.db"
	DefaultMaxBodyBytes    = 32 << 20
	DefaultShutdownTimeout = 30 * time.Second
	DefaultLogFormat       = "text"
	DefaultLogLevel        = "info"
	DefaultQueueSize       = 10000
	DefaultBatchSize       = 500
	DefaultFlushInterval   = time.Second
	DefaultProviderTimeout = 10 * time.Minute
	DefaultMaxRetryWait    = 2 * time.Second
	DefaultCooldown        = 5 * time.Second
	DefaultMaxCooldown     = time.Minute
	DefaultHalfOpenShare   = 0.1

	// The HTTP server's bounds (docs/security.md says why these values).
	DefaultMaxConnections    = 10000
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultBodyMinRate       = 32 << 10
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultOutputTokens      = limits.DefaultOutputTokens
	DefaultReservationTTL    = limits.DefaultReservationTTL
)

// AdminKeyEnv names the variable that supplies the admin key when the config
// has none, so the key need not sit in a file at all.
const AdminKeyEnv = "SWITCHYARD_ADMIN_KEY"

// Config is the whole configuration of one Switchyard process.
type Config struct {
	// Listen is the address the HTTP server binds (default 127.0.0.1:8080).
	Listen string `yaml:"listen"`
	// Storage is the database: "sqlite:PATH" (default "sqlite:switchyard.db"),
	// a bare file path (SQLite), or a "postgres://" URL.
	Storage string `yaml:"storage"`
	// AdminKey guards /admin. Falls back to $SWITCHYARD_ADMIN_KEY.
	AdminKey string `yaml:"admin_key"`
	// MaxBodyBytes bounds a request body (default 32 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM (default 30s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// HTTP bounds what slow or greedy clients can hold of the server.
	HTTP       HTTP       `yaml:"http"`
	Log        Log        `yaml:"log"`
	RequestLog RequestLog `yaml:"request_log"`
	Providers  []Provider `yaml:"providers"`
	Models     []Model    `yaml:"models"`
	Router     Router     `yaml:"router"`
	Tracing    Tracing    `yaml:"tracing"`
	// Redis, a "redis://" or "rediss://" URL, shares rate limits, budget
	// counters and key revocations between replicas. Empty: counters are
	// kept in process (one node).
	Redis string `yaml:"redis"`
	// RedisPrefix starts every Redis key and channel (default
	// "switchyard:"), so that deployments can share a Redis.
	RedisPrefix string `yaml:"redis_prefix"`
	// Pricing adds to or overrides the embedded price list.
	Pricing []pricing.Entry `yaml:"pricing"`
	// Limits tunes how TPM limits and budgets reserve a request's worst
	// case while it runs (docs/limits.md).
	Limits Limits `yaml:"limits"`

	// fromEnv names, for FromEnv's configs, the variables each field path
	// was read from, so that Validate does not show their values.
	fromEnv map[string][]string
}

// HTTP bounds the connections and the time a client may hold of the HTTP
// server, whether or not it has a key (docs/security.md).
type HTTP struct {
	// MaxConnections bounds the open client connections (default 10000);
	// at the bound, new connections wait to be accepted until one closes.
	MaxConnections int `yaml:"max_connections"`
	// ReadHeaderTimeout bounds the time to send a request's headers
	// (default 10s); a slower client's connection is closed.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// BodyTimeout and BodyMinRate bound the time to send a request body:
	// BodyTimeout (default 30s) plus a second for every BodyMinRate bytes
	// received (default 32768, 32 KiB/s). A slower body gets a 408.
	BodyTimeout time.Duration `yaml:"body_timeout"`
	BodyMinRate int64         `yaml:"body_min_rate"`
	// IdleTimeout closes a keep-alive connection idle this long (default
	// 120s).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's headers (default 65536); larger
	// ones get a 431.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
}

// Limits tunes the reservations of TPM limits and budgets: a request
// holds its input estimate plus its max_tokens, priced at the dearest of
// its route's targets, from admission until it ends.
type Limits struct {
	// OutputTokens is reserved for a request that sets no max_tokens
	// (default 4096). Too small lets concurrent requests overshoot a
	// budget by the difference; too large refuses requests near the end
	// of a budget while others run.
	OutputTokens int64 `yaml:"output_tokens"`
	// ModelOutputTokens overrides OutputTokens by model: a route name, or
	// a provider/model. Of a request's route and targets, the largest
	// entry applies.
	ModelOutputTokens map[string]int64 `yaml:"model_output_tokens"`
	// ReservationTTL is how long a reservation lives when its replica
	// dies before settling it (default 15m). Keep it above the longest
	// request (provider timeout, default 10m), or a long stream's
	// reservation lapses while it runs.
	ReservationTTL time.Duration `yaml:"reservation_ttl"`
}

// OutputReservation is the output tokens reserved for a request without
// max_tokens that may be served under names (its route, then each
// target's provider/model).
func (l Limits) OutputReservation(names []string) int64 {
	var n int64
	for _, name := range names {
		n = max(n, l.ModelOutputTokens[name])
	}
	if n == 0 {
		n = l.OutputTokens
	}
	if n <= 0 { // a Config built without SetDefaults
		n = DefaultOutputTokens
	}
	return n
}

// Log configures the process's own log lines.
type Log struct {
	Format string `yaml:"format"` // "text" (default) or "json"
	Level  string `yaml:"level"`  // "debug", "info" (default), "warn", "error"
}

// Tracing configures OpenTelemetry tracing, exported over OTLP/HTTP. It is
// off unless Endpoint is set.
type Tracing struct {
	// Endpoint is the OTLP/HTTP collector, such as http://otel-collector:4318;
	// traces go to its /v1/traces. Empty turns tracing off.
	Endpoint string `yaml:"otlp_endpoint"`
	// SampleRatio is the share of new traces recorded, in (0, 1] (default
	// 1). Requests that arrive with a sampled trace are always recorded.
	SampleRatio float64 `yaml:"sample_ratio"`
	// ServiceName is the service.name of the spans (default "switchyard").
	ServiceName string `yaml:"service_name"`
}

// RequestLog configures the asynchronous writer of request records.
type RequestLog struct {
	QueueSize     int           `yaml:"queue_size"`     // default 10000; records past it are dropped and counted
	BatchSize     int           `yaml:"batch_size"`     // default 500
	FlushInterval time.Duration `yaml:"flush_interval"` // default 1s
}

// Provider is one upstream vendor account.
type Provider struct {
	// Name addresses the provider in "name/model" (e.g. "openai").
	Name string `yaml:"name"`
	// Type selects the adapter: openai, azure-openai, anthropic, gemini,
	// xai, deepseek, mistral, openai-compatible.
	Type string `yaml:"type"`
	// BaseURL overrides the type's default base URL (required for
	// azure-openai and openai-compatible).
	BaseURL string `yaml:"base_url"`
	APIKey  string `yaml:"api_key"`
	// APIVersion is Azure's api-version for deployment URLs (when empty,
	// Azure uses the /openai/v1 surface with the model in the body), the
	// anthropic-version sent to Anthropic (default 2023-06-01), or the
	// Gemini API version in the URL (default v1beta).
	APIVersion string `yaml:"api_version"`
	// Models lists the models this provider serves: they appear in /v1/models
	// and may be addressed by bare name.
	Models []string `yaml:"models"`
	// ListModels, when Models is empty, lists in /v1/models the models the
	// vendor itself lists (asked in the background and cached), or else the
	// models of the type the price list knows. Providers configured from
	// the environment have it set.
	ListModels bool `yaml:"list_models"`
	// Reasoning says where a self-hosted model puts its reasoning:
	// "" (auto: reasoning_content or reasoning fields) or "think-tags".
	Reasoning string `yaml:"reasoning"`
	// Headers are added to every upstream request.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds a whole upstream call (default 10m).
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds establishing a connection (default 10s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`

	// Line is the line of this provider's entry in the file (0 when from env).
	Line int `yaml:"-"`
}

// Model is a public model name (alias) that resolves to a provider's model.
type Model struct {
	Name string `yaml:"name"`
	// Target is a single "provider/model": shorthand for one target.
	Target string `yaml:"target"`
	// Targets split traffic by weight. Each unit (see Sticky) always lands
	// on the same target while the weights stay the same; list the
	// incumbent first, so that raising a challenger's weight moves units
	// only from the incumbent to the challenger.
	Targets []Target `yaml:"targets"`
	// Fallbacks are tried in order, each as "provider/model", when the
	// chosen target fails before the first byte reached the client.
	Fallbacks []string `yaml:"fallbacks"`
	// Sticky names the unit of the split: "key" (default: the virtual
	// key), "user" (the request's user field, else the key) or
	// "header:NAME" (a request header, else the key).
	Sticky string `yaml:"sticky"`
	// Retries is how many times one target is retried on a retryable
	// failure before the next is tried (default 1; 0 disables).
	Retries *int `yaml:"retries"`
	// Hedge, when set, starts the first fallback too if the chosen target
	// has not produced its first token within a delay, and keeps whichever
	// answers first.
	Hedge *Hedge `yaml:"hedge"`
	// Timeouts bound each attempt.
	Timeouts Timeouts `yaml:"timeouts"`
	// Shadows also receive a sampled share of the requests, in the
	// background: their answers are stored beside the primary's (for the
	// replacement lab to judge) and never reach the client.
	Shadows []Shadow `yaml:"shadows"`
	// Reasoning decides what clients see of the model's reasoning: "pass"
	// (default: OpenAI-dialect clients get reasoning_content, Anthropic
	// ones thinking blocks) or "strip" (clients get none). The request log
	// keeps the reasoning text either way.
	Reasoning string `yaml:"reasoning"`

	Line int `yaml:"-"`
}

// Shadow is a target that receives a copy of a share of a model's requests.
type Shadow struct {
	Model  string  `yaml:"model"`  // "provider/model"
	Sample float64 `yaml:"sample"` // share of requests copied, 0 < sample ≤ 1
}

// Hedge sets the delay before a hedged request: a fixed Delay, or the
// given Percentile (0 < p < 1) of the target's recent times to first
// token, with Delay as the floor (and the delay used until enough
// latencies are known).
type Hedge struct {
	Delay      time.Duration `yaml:"delay"`
	Percentile float64       `yaml:"percentile"`
}

// Timeouts bound one upstream attempt. Zero means no bound beyond the
// provider's own timeout.
type Timeouts struct {
	// FirstToken bounds the wait for the first event of a stream (or the
	// whole answer of a non-streamed request); running out is a retryable
	// failure.
	FirstToken time.Duration `yaml:"first_token"`
	// Idle bounds the gap between two events of a stream.
	Idle time.Duration `yaml:"idle"`
	// Total bounds one attempt from its start to its last byte.
	Total time.Duration `yaml:"total"`
}

// Target is one weighted target of a model's split.
type Target struct {
	Model string `yaml:"model"` // "provider/model"
	// Weight is the target's relative share. A weight of 0 sends it
	// nothing (the start of a ramp); when no target has a weight, the
	// split is even.
	Weight float64 `yaml:"weight"`
}

// Router holds the routing policy shared by every model.
type Router struct {
	// RetryBackoff is the base of the exponential backoff between retries
	// (default 200ms); the delay is drawn at random up to base×2^attempt,
	// capped by MaxBackoff (default 5s), and never shorter than the
	// upstream's retry-after.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	MaxBackoff   time.Duration `yaml:"max_backoff"`
	// Deadline bounds a request's attempts, retries and backoff included,
	// before its first byte (default 2m).
	Deadline time.Duration `yaml:"deadline"`
	// MaxRetryWait bounds one wait before a retry (default 2s). When the
	// vendor's retry-after asks for longer, the request moves on to its
	// next target at once, or, with none left, the vendor's answer goes
	// to the client with its retry-after, for the client's SDK to decide.
	MaxRetryWait time.Duration `yaml:"max_retry_wait"`
	// Cooldown is how long a target that answered 429 (or 503 with
	// retry-after, or an exhausted quota) is passed over for its route's
	// other targets when the vendor named no time (default 5s);
	// MaxCooldown bounds the time a vendor names (default 1m).
	Cooldown    time.Duration `yaml:"cooldown"`
	MaxCooldown time.Duration `yaml:"max_cooldown"`
	// Breaker configures the circuit breaker each target has.
	Breaker Breaker `yaml:"breaker"`
	// ShadowConcurrency bounds the shadow requests in flight (default 16);
	// a shadow that finds no room is skipped and counted, never queued, so
	// shadows cannot slow the primary traffic.
	ShadowConcurrency int `yaml:"shadow_concurrency"`
	// ShadowTimeout bounds one shadow request (default 2m).
	ShadowTimeout time.Duration `yaml:"shadow_timeout"`
}

// Breaker opens a target's circuit when, within Window (default 30s), at
// least MinRequests (default 10) attempts were made and FailureRate
// (default 0.5) of them failed. An open target is passed over for OpenFor
// (default 30s) while its route has a healthy target, never refused when
// it has none; then HalfOpenShare (default 0.1) of its requests are
// probes: the first to answer closes the circuit, a failure opens it
// again. See docs/routing.md.
type Breaker struct {
	Window        time.Duration `yaml:"window"`
	MinRequests   int           `yaml:"min_requests"`
	FailureRate   float64       `yaml:"failure_rate"`
	OpenFor       time.Duration `yaml:"open_for"`
	HalfOpenShare float64       `yaml:"half_open_share"`
}

// SetDefaults fills every field left at its zero value and takes AdminKey
// from $SWITCHYARD_ADMIN_KEY when it is empty. Parse, Load and FromEnv have
// already called it; calling it again changes nothing.
func (c *Config) SetDefaults() { c.setDefaults(os.Getenv) }

func (c *Config) setDefaults(getenv func(string) string) {
	setZero(&c.Listen, DefaultListen)
	setZero(&c.Storage, DefaultStorage)
	setZero(&c.AdminKey, getenv(AdminKeyEnv))
	setZero(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setZero(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setZero(&c.HTTP.MaxConnections, DefaultMaxConnections)
	setZero(&c.HTTP.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setZero(&c.HTTP.BodyTimeout, DefaultBodyTimeout)
	setZero(&c.HTTP.BodyMinRate, DefaultBodyMinRate)
	setZero(&c.HTTP.IdleTimeout, DefaultIdleTimeout)
	setZero(&c.HTTP.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setZero(&c.Log.Format, DefaultLogFormat)
	setZero(&c.Log.Level, DefaultLogLevel)
	setZero(&c.RequestLog.QueueSize, DefaultQueueSize)
	setZero(&c.RequestLog.BatchSize, DefaultBatchSize)
	setZero(&c.RequestLog.FlushInterval, DefaultFlushInterval)
	setZero(&c.Router.RetryBackoff, 200*time.Millisecond)
	setZero(&c.Router.MaxBackoff, 5*time.Second)
	setZero(&c.Router.Deadline, 2*time.Minute)
	setZero(&c.Router.MaxRetryWait, DefaultMaxRetryWait)
	setZero(&c.Router.Cooldown, DefaultCooldown)
	setZero(&c.Router.MaxCooldown, DefaultMaxCooldown)
	setZero(&c.Router.ShadowConcurrency, 16)
	setZero(&c.Router.ShadowTimeout, 2*time.Minute)
	setZero(&c.Router.Breaker.Window, 30*time.Second)
	setZero(&c.Router.Breaker.MinRequests, 10)
	setZero(&c.Router.Breaker.FailureRate, 0.5)
	setZero(&c.Router.Breaker.OpenFor, 30*time.Second)
	setZero(&c.Router.Breaker.HalfOpenShare, DefaultHalfOpenShare)
	setZero(&c.Tracing.SampleRatio, 1)
	setZero(&c.Tracing.ServiceName, "switchyard")
	setZero(&c.RedisPrefix, "switchyard:")
	setZero(&c.Limits.OutputTokens, DefaultOutputTokens)
	setZero(&c.Limits.ReservationTTL, DefaultReservationTTL)
	for i := range c.Providers {
		setZero(&c.Providers[i].Timeout, DefaultProviderTimeout)
		setZero(&c.Providers[i].ConnectTimeout, 10*time.Second)
	}
}

func setZero[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
