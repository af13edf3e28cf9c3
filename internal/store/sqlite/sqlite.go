// Package sqlite is the embedded store driver: one database file, pure Go
// (modernc.org/sqlite, no cgo). Importing it registers the "sqlite" scheme
// with store.Open.
//
// The gateway and a CLI process may use the same file at once: the database
// runs in WAL mode (readers never block the writer), every connection waits
// up to busy_timeout for a lock instead of failing, and transactions begin
// IMMEDIATE, so a transaction that would write takes the write lock up front
// rather than failing with SQLITE_BUSY when it upgrades from read to write.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/store/sqlstore"
)

func init() {
	store.Register("sqlite", func(ctx context.Context, dsn string) (store.Store, error) {
		return Open(ctx, dsn)
	})
}

// BusyTimeout is how long a connection waits for another connection's (or
// process's) lock before failing.
const BusyTimeout = 10 * time.Second

// Open opens (creating if needed) and migrates the database that dsn names:
// "sqlite:PATH", "sqlite://PATH", "file:PATH" (an SQLite URI), or a bare
// PATH. "sqlite::memory:" gives a private in-memory database. Query
// parameters of the modernc.org/sqlite driver may be appended after '?';
// they override the defaults set here.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	name, memory, err := driverDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if memory {
		// Each connection to ":memory:" is a separate database.
		db.SetMaxOpenConns(1)
	}
	// Connections are cheap but each holds a page cache; writers serialise
	// on the file lock anyway.
	db.SetMaxIdleConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	return sqlstore.New(ctx, db, dialect)
}

// driverDSN turns a Switchyard DSN into a modernc.org/sqlite one.
func driverDSN(dsn string) (name string, memory bool, err error) {
	rest, query, _ := strings.Cut(dsn, "?")
	lower := strings.ToLower(rest)
	var path string
	uri := false
	switch {
	case strings.HasPrefix(lower, "sqlite://"):
		path = rest[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		path = rest[len("sqlite:"):]
	case strings.HasPrefix(lower, "file:"):
		// Already an SQLite URI: pass it through so that SQLite's own URI
		// parameters (mode=ro, ...) keep working.
		path, uri = rest, true
	default:
		path = rest
	}
	if path == "" || path == "file:" {
		return "", false, errors.New("sqlite: DSN has no file path (want sqlite:PATH)")
	}
	memory = path == ":memory:" || strings.Contains(path, ":memory:") || strings.Contains(query, "mode=memory")
	params, err := url.ParseQuery(query)
	if err != nil {
		return "", false, fmt.Errorf("sqlite: bad DSN query: %w", err)
	}
	setDefault := func(k, v string) {
		if !params.Has(k) {
			params.Set(k, v)
		}
	}
	setDefault("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	setDefault("_foreign_keys", "1")
	if !memory {
		setDefault("_journal_mode", "WAL")
		// NORMAL is durable across application crashes in WAL mode; only
		// an OS crash can lose the last transactions, acceptable for logs.
		setDefault("_synchronous", "NORMAL")
	}
	setDefault("_txlock", "immediate")
	// Statement journals in memory, not in a temporary file per batch: the
	// load benchmark saw that file cost 4-7% of the gateway's CPU.
	if !strings.Contains(query, "temp_store") {
		params.Add("_pragma", "temp_store(2)")
	}
	if !uri && strings.Contains(path, "?") {
		return "", false, errors.New("sqlite: file path must not contain '?'")
	}
	return path + "?" + params.Encode(), memory, nil
}

var dialect = sqlstore.Dialect{
	Name:       "sqlite",
	Migrations: migrations,
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`,
	// Times are INTEGER unix microseconds: compact, sortable, and exactly
	// the precision PostgreSQL keeps, so both stores round-trip alike.
	Time:       func(t time.Time) any { return t.UnixMicro() },
	Day:        `strftime('%Y-%m-%d', time / 1000000, 'unixepoch')`,
	Positional: true,
	UniqueViolation: func(err error) (string, bool) {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return "", false
		}
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// "UNIQUE constraint failed: api_keys.name"
			msg := se.Error()
			if i := strings.LastIndex(msg, "failed: "); i >= 0 {
				msg = msg[i+len("failed: "):]
			}
			return msg, true
		}
		return "", false
	},
}

// migrations: migrations[i] is schema version i+1. Append only; never edit
// a released migration.
var migrations = []string{
	// 1: keys and request logs.
	`CREATE TABLE api_keys (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL UNIQUE,
		prefix     TEXT NOT NULL,
		hash       TEXT NOT NULL UNIQUE,
		models     TEXT NOT NULL DEFAULT '[]',
		created_at INTEGER NOT NULL,
		revoked_at INTEGER
	);
	CREATE INDEX api_keys_created_at ON api_keys (created_at, id);

	-- No foreign key to api_keys: logs outlive keys, and unauthenticated
	-- requests have an empty key_id.
	CREATE TABLE request_logs (
		seq                 INTEGER PRIMARY KEY,
		id                  TEXT NOT NULL UNIQUE,
		time                INTEGER NOT NULL,
		key_id              TEXT NOT NULL DEFAULT '',
		endpoint            TEXT NOT NULL DEFAULT '',
		requested_model     TEXT NOT NULL DEFAULT '',
		provider            TEXT NOT NULL DEFAULT '',
		model               TEXT NOT NULL DEFAULT '',
		stream              INTEGER NOT NULL DEFAULT 0,
		status              INTEGER NOT NULL DEFAULT 0,
		latency_us          INTEGER NOT NULL DEFAULT 0,
		ttft_us             INTEGER NOT NULL DEFAULT 0,
		input_tokens        INTEGER NOT NULL DEFAULT 0,
		cached_input_tokens INTEGER NOT NULL DEFAULT 0,
		cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
		output_tokens       INTEGER NOT NULL DEFAULT 0,
		reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
		error_class         TEXT NOT NULL DEFAULT '',
		error_message       TEXT NOT NULL DEFAULT '',
		reasoning           TEXT NOT NULL DEFAULT '',
		metadata            TEXT NOT NULL DEFAULT ''
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
		id          TEXT PRIMARY KEY,
		suite       TEXT NOT NULL DEFAULT '',
		config      TEXT NOT NULL DEFAULT '',
		status      TEXT NOT NULL DEFAULT '',
		cases       INTEGER NOT NULL DEFAULT 0,
		created_at  INTEGER NOT NULL,
		finished_at INTEGER
	);
	CREATE INDEX eval_runs_created_at ON eval_runs (created_at, id);
	CREATE TABLE eval_results (
		run_id              TEXT NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
		model               TEXT NOT NULL,
		case_id             TEXT NOT NULL,
		output              TEXT NOT NULL DEFAULT '',
		tool_calls          TEXT NOT NULL DEFAULT '',
		input_tokens        INTEGER NOT NULL DEFAULT 0,
		cached_input_tokens INTEGER NOT NULL DEFAULT 0,
		cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
		output_tokens       INTEGER NOT NULL DEFAULT 0,
		reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
		latency_us          INTEGER NOT NULL DEFAULT 0,
		cost_usd            REAL,
		judge_cost_usd      REAL,
		error               TEXT NOT NULL DEFAULT '',
		scores              TEXT NOT NULL DEFAULT '[]',
		cached              INTEGER NOT NULL DEFAULT 0,
		created_at          INTEGER NOT NULL,
		PRIMARY KEY (run_id, model, case_id)
	);
	CREATE TABLE eval_cache (
		key        TEXT PRIMARY KEY,
		target     TEXT NOT NULL DEFAULT '',
		body       TEXT NOT NULL DEFAULT '',
		usage      TEXT NOT NULL DEFAULT '{}',
		latency_us INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	)`,
	// 5: the platform: key scopes, limits and budgets; teams; per-request
	// cost (integer micro-dollars); the admin audit log; sealed provider
	// secrets.
	`ALTER TABLE api_keys ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE api_keys ADD COLUMN rpm INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE api_keys ADD COLUMN tpm INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE api_keys ADD COLUMN budget_micro_usd INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE api_keys ADD COLUMN budget_period TEXT NOT NULL DEFAULT '';
	ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
	ALTER TABLE api_keys ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
	CREATE TABLE teams (
		id               TEXT PRIMARY KEY,
		name             TEXT NOT NULL UNIQUE,
		rpm              INTEGER NOT NULL DEFAULT 0,
		tpm              INTEGER NOT NULL DEFAULT 0,
		budget_micro_usd INTEGER NOT NULL DEFAULT 0,
		budget_period    TEXT NOT NULL DEFAULT '',
		metadata         TEXT NOT NULL DEFAULT '{}',
		created_at       INTEGER NOT NULL
	);
	ALTER TABLE request_logs ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE request_logs ADD COLUMN cost_micro_usd INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX request_logs_team_time ON request_logs (team_id, time);
	CREATE TABLE audit_log (
		id     INTEGER PRIMARY KEY,
		time   INTEGER NOT NULL,
		actor  TEXT NOT NULL,
		action TEXT NOT NULL,
		target TEXT NOT NULL,
		detail TEXT NOT NULL
	);
	-- Provider API keys sealed with the master key (internal/secrets).
	CREATE TABLE provider_secrets (
		name       TEXT PRIMARY KEY,
		ciphertext BLOB NOT NULL,
		updated_at INTEGER NOT NULL
	);`,
	// 6: where each request's usage came from: the vendor, or an estimate
	// for a stream that ended before its usage event.
	`ALTER TABLE request_logs ADD COLUMN usage_source TEXT NOT NULL DEFAULT ''`,
	// 7: Responses API responses kept for previous_response_id and GET
	// /v1/responses/{id}. No foreign key from previous_id: deleting a
	// response must not delete (or be refused by) the turns after it.
	// The ancestor walk looks rows up by primary key and reads only
	// previous_id: the small columns come first, so SQLite never loads
	// the overflow pages of the large ones for it. responses_created_at
	// serves retention sweeps.
	`CREATE TABLE responses (
		id           TEXT NOT NULL PRIMARY KEY,
		key_id       TEXT NOT NULL DEFAULT '',
		previous_id  TEXT NOT NULL DEFAULT '',
		created_at   INTEGER NOT NULL,
		model        TEXT NOT NULL DEFAULT '',
		body         BLOB NOT NULL,
		input_items  BLOB NOT NULL,
		conversation BLOB NOT NULL,
		instructions BLOB NOT NULL
	);
	CREATE INDEX responses_created_at ON responses (created_at)`,
}
