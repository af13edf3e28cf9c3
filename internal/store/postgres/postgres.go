// Package postgres is the store driver for deployments with several gateway
// replicas. Importing it registers the "postgres" scheme with store.Open
// (for postgres:// and postgresql:// URLs).
//
// It uses database/sql through pgx/v5/stdlib rather than pgxpool: all SQL is
// then shared with the SQLite driver in package sqlstore, and the store's
// load (cached key lookups, one batched insert per flush) gains nothing from
// pgx's native interface. pgx still does the wire protocol, and DSN
// parameters pgx understands (search_path, pool-free options such as
// default_query_exec_mode=exec for PgBouncer) work as usual.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/store/sqlstore"
)

func init() {
	store.Register("postgres", func(ctx context.Context, dsn string) (store.Store, error) {
		return Open(ctx, dsn)
	})
}

// Open connects to the database dsn names (a postgres:// or postgresql://
// URL) and migrates it. The tables live in the first schema of the
// connection's search_path, which a DSN can set ("?search_path=switchyard").
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return sqlstore.New(ctx, db, dialect)
}

var dialect = sqlstore.Dialect{
	Name:       "postgres",
	Migrations: migrations,
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL
	)`,
	// Replicas starting together would otherwise race on CREATE TABLE. The
	// transaction-scoped lock is released by the migration's commit or
	// rollback, so a crashed migrator cannot leave it held. Keying it by
	// schema lets deployments (and tests) in different schemas of one
	// database migrate independently; a hash collision only serialises.
	LockMigrations: `SELECT pg_advisory_xact_lock(1937204588, hashtext(coalesce(current_schema(), '')))`,
	Time:           func(t time.Time) any { return t },
	Day:            `to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
	UniqueViolation: func(err error) (string, bool) {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
			return pe.ConstraintName, true
		}
		return "", false
	},
	CleanText: cleanText,
}

// cleanText makes s storable in a TEXT column, which rejects NUL bytes and
// invalid UTF-8. Vendor output (reasoning, error messages) is not trusted to
// be either.
func cleanText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= 0x80 {
			return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
		}
	}
	return s
}

// migrations: migrations[i] is schema version i+1. Append only; never edit
// a released migration. Constraint names matter: UniqueViolation's callers
// look for "name" and "hash" in them.
var migrations = []string{
	// 1: keys and request logs.
	`CREATE TABLE api_keys (
		id         TEXT NOT NULL,
		name       TEXT NOT NULL,
		prefix     TEXT NOT NULL,
		hash       TEXT NOT NULL,
		models     TEXT NOT NULL DEFAULT '[]',
		created_at TIMESTAMPTZ NOT NULL,
		revoked_at TIMESTAMPTZ,
		CONSTRAINT api_keys_pkey PRIMARY KEY (id),
		CONSTRAINT api_keys_name_key UNIQUE (name),
		CONSTRAINT api_keys_hash_key UNIQUE (hash)
	);
	CREATE INDEX api_keys_created_at ON api_keys (created_at, id);

	-- No foreign key to api_keys: logs outlive keys, and unauthenticated
	-- requests have an empty key_id.
	CREATE TABLE request_logs (
		seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		id                  TEXT NOT NULL,
		time                TIMESTAMPTZ NOT NULL,
		key_id              TEXT NOT NULL DEFAULT '',
		endpoint            TEXT NOT NULL DEFAULT '',
		requested_model     TEXT NOT NULL DEFAULT '',
		provider            TEXT NOT NULL DEFAULT '',
		model               TEXT NOT NULL DEFAULT '',
		stream              BOOLEAN NOT NULL DEFAULT FALSE,
		status              INTEGER NOT NULL DEFAULT 0,
		latency_us          BIGINT NOT NULL DEFAULT 0,
		ttft_us             BIGINT NOT NULL DEFAULT 0,
		input_tokens        BIGINT NOT NULL DEFAULT 0,
		cached_input_tokens BIGINT NOT NULL DEFAULT 0,
		cache_write_tokens  BIGINT NOT NULL DEFAULT 0,
		output_tokens       BIGINT NOT NULL DEFAULT 0,
		reasoning_tokens    BIGINT NOT NULL DEFAULT 0,
		error_class         TEXT NOT NULL DEFAULT '',
		error_message       TEXT NOT NULL DEFAULT '',
		reasoning           TEXT NOT NULL DEFAULT '',
		metadata            TEXT NOT NULL DEFAULT '',
		CONSTRAINT request_logs_id_key UNIQUE (id)
	);
	CREATE INDEX request_logs_time ON request_logs (time, seq);
	CREATE INDEX request_logs_key_time ON request_logs (key_id, time, seq);`,
	// 2: the router's attempts (JSON) on each request.
	`ALTER TABLE request_logs ADD COLUMN attempts TEXT NOT NULL DEFAULT ''`,
	// 3: shadow requests point at their primary; answers kept for judging.
	`ALTER TABLE request_logs ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE request_logs ADD COLUMN response TEXT NOT NULL DEFAULT ''`,
	// 4: the replacement lab: offline evaluation runs, their per-case results, and the
	// response cache that makes reruns free.
	`CREATE TABLE eval_runs (
		id          TEXT NOT NULL,
		suite       TEXT NOT NULL DEFAULT '',
		config      TEXT NOT NULL DEFAULT '',
		status      TEXT NOT NULL DEFAULT '',
		cases       INTEGER NOT NULL DEFAULT 0,
		created_at  TIMESTAMPTZ NOT NULL,
		finished_at TIMESTAMPTZ,
		CONSTRAINT eval_runs_pkey PRIMARY KEY (id)
	);
	CREATE INDEX eval_runs_created_at ON eval_runs (created_at, id);
	CREATE TABLE eval_results (
		run_id              TEXT NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
		model               TEXT NOT NULL,
		case_id             TEXT NOT NULL,
		output              TEXT NOT NULL DEFAULT '',
		tool_calls          TEXT NOT NULL DEFAULT '',
		input_tokens        BIGINT NOT NULL DEFAULT 0,
		cached_input_tokens BIGINT NOT NULL DEFAULT 0,
		cache_write_tokens  BIGINT NOT NULL DEFAULT 0,
		output_tokens       BIGINT NOT NULL DEFAULT 0,
		reasoning_tokens    BIGINT NOT NULL DEFAULT 0,
		latency_us          BIGINT NOT NULL DEFAULT 0,
		cost_usd            DOUBLE PRECISION,
		judge_cost_usd      DOUBLE PRECISION,
		error               TEXT NOT NULL DEFAULT '',
		scores              TEXT NOT NULL DEFAULT '[]',
		cached              BOOLEAN NOT NULL DEFAULT FALSE,
		created_at          TIMESTAMPTZ NOT NULL,
		PRIMARY KEY (run_id, model, case_id)
	);
	CREATE TABLE eval_cache (
		key        TEXT PRIMARY KEY,
		target     TEXT NOT NULL DEFAULT '',
		body       TEXT NOT NULL DEFAULT '',
		usage      TEXT NOT NULL DEFAULT '{}',
		latency_us BIGINT NOT NULL DEFAULT 0,
		created_at TIMESTAMPTZ NOT NULL
	)`,
	// 5: the platform: key scopes, limits and budgets; teams; per-request
	// cost (integer micro-dollars); the admin audit log; sealed provider
	// secrets.
	`ALTER TABLE api_keys ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE api_keys ADD COLUMN rpm BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE api_keys ADD COLUMN tpm BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE api_keys ADD COLUMN budget_micro_usd BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE api_keys ADD COLUMN budget_period TEXT NOT NULL DEFAULT '';
	ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMPTZ;
	ALTER TABLE api_keys ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
	CREATE TABLE teams (
		id               TEXT NOT NULL,
		name             TEXT NOT NULL,
		rpm              BIGINT NOT NULL DEFAULT 0,
		tpm              BIGINT NOT NULL DEFAULT 0,
		budget_micro_usd BIGINT NOT NULL DEFAULT 0,
		budget_period    TEXT NOT NULL DEFAULT '',
		metadata         TEXT NOT NULL DEFAULT '{}',
		created_at       TIMESTAMPTZ NOT NULL,
		CONSTRAINT teams_pkey PRIMARY KEY (id),
		CONSTRAINT teams_name_key UNIQUE (name)
	);
	ALTER TABLE request_logs ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE request_logs ADD COLUMN cost_micro_usd BIGINT NOT NULL DEFAULT 0;
	CREATE INDEX request_logs_team_time ON request_logs (team_id, time);
	CREATE TABLE audit_log (
		id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		time   TIMESTAMPTZ NOT NULL,
		actor  TEXT NOT NULL,
		action TEXT NOT NULL,
		target TEXT NOT NULL,
		detail TEXT NOT NULL
	);
	-- Provider API keys sealed with the master key (internal/secrets).
	CREATE TABLE provider_secrets (
		name       TEXT PRIMARY KEY,
		ciphertext BYTEA NOT NULL,
		updated_at TIMESTAMPTZ NOT NULL
	);`,
	// 6: where each request's usage came from: the vendor, or an estimate
	// for a stream that ended before its usage event.
	`ALTER TABLE request_logs ADD COLUMN usage_source TEXT NOT NULL DEFAULT ''`,
	// 7: Responses API responses kept for previous_response_id and GET
	// /v1/responses/{id}. No foreign key from previous_id: deleting a
	// response must not delete (or be refused by) the turns after it.
	// The primary key includes previous_id, so the ancestor walk is an
	// index-only scan that never reads the large columns;
	// responses_created_at serves retention sweeps.
	`CREATE TABLE responses (
		id           TEXT NOT NULL,
		key_id       TEXT NOT NULL DEFAULT '',
		previous_id  TEXT NOT NULL DEFAULT '',
		created_at   TIMESTAMPTZ NOT NULL,
		model        TEXT NOT NULL DEFAULT '',
		body         BYTEA NOT NULL,
		input_items  BYTEA NOT NULL,
		conversation BYTEA NOT NULL,
		instructions BYTEA NOT NULL,
		CONSTRAINT responses_pkey PRIMARY KEY (id) INCLUDE (previous_id)
	);
	CREATE INDEX responses_created_at ON responses (created_at)`,
}
