// Package sqlstore implements store.Store over database/sql. The SQLite and
// PostgreSQL drivers differ only in what a Dialect describes (DDL, how a time
// is bound, how a unique violation is recognised); every query lives here.
//
// Queries use $N placeholders, which both pgx and modernc.org/sqlite accept.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

// Dialect is what one database needs on top of the shared SQL.
type Dialect struct {
	// Name prefixes errors ("sqlite", "postgres").
	Name string
	// Migrations are applied in order; Migrations[i] is schema version i+1.
	// Each may hold several statements. They must stay additive (new tables,
	// columns, indexes) so that an older binary keeps working against a
	// newer schema during a rolling upgrade; versions this binary does not
	// know are therefore ignored, not rejected.
	Migrations []string
	// MigrationsTable creates schema_migrations(version, applied_at) if it
	// does not exist; applied_at uses the dialect's time type.
	MigrationsTable string
	// LockMigrations, when set, runs first in the migration transaction to
	// serialise concurrent migrators. SQLite leaves it empty: its migration
	// transaction begins IMMEDIATE, which already holds the write lock.
	LockMigrations string
	// Time converts a UTC, microsecond-truncated time to a bind argument.
	Time func(time.Time) any
	// UniqueViolation reports whether err is a unique-constraint violation
	// and, if so, names the violated column or constraint.
	UniqueViolation func(err error) (what string, ok bool)
	// Positional, when true, makes the bulk insert use "?" placeholders
	// instead of "$N": SQLite resolves "$N" by a linear search of the names
	// already seen, which is quadratic in a statement with 2000 of them.
	Positional bool
	// CleanText, when set, makes request-log text storable (PostgreSQL
	// rejects NUL bytes and invalid UTF-8 in text, and one bad vendor string
	// must not fail a whole batch).
	CleanText func(string) string
}

// DB is a store.Store over a *sql.DB.
type DB struct {
	db *sql.DB
	d  Dialect

	insertFull string // INSERT for a full chunk of request logs
}

var _ store.Store = (*DB)(nil)

// New migrates db to the dialect's latest schema and returns a store over
// it. New takes ownership of db: it is closed if New fails, and by Close.
func New(ctx context.Context, db *sql.DB, d Dialect) (*DB, error) {
	s := &DB{db: db, d: d}
	s.insertFull = s.insertRequestsSQL(insertChunk)
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: migrate: %w", d.Name, err)
	}
	return s, nil
}

// SQL returns the underlying handle, for tests and maintenance tools.
func (s *DB) SQL() *sql.DB { return s.db }

// migrate applies missing migrations in one transaction, so that a failure
// leaves the schema as it was and concurrent migrators (replicas starting
// together, the gateway and the CLI) see either none or all of it.
func (s *DB) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.d.LockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.d.LockMigrations); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.d.MigrationsTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, m := range s.d.Migrations {
		v := i + 1
		if applied[v] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			v, s.time(time.Now())); err != nil {
			return fmt.Errorf("record version %d: %w", v, err)
		}
	}
	return tx.Commit()
}

func (s *DB) time(t time.Time) any { return s.d.Time(t.UTC().Truncate(time.Microsecond)) }

func (s *DB) wrap(op string, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDuplicate) {
		return err
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
}

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.wrap("ping", s.db.PingContext(ctx)) }

// Close closes the database handle.
func (s *DB) Close() error { return s.db.Close() }

const keyColumns = `id, name, prefix, hash, models, created_at, revoked_at`

// CreateKey implements store.Store.
func (s *DB) CreateKey(ctx context.Context, k store.Key) error {
	switch {
	case k.ID == "":
		return fmt.Errorf("%s: create key: empty id", s.d.Name)
	case k.Name == "":
		return fmt.Errorf("%s: create key: empty name", s.d.Name)
	case k.Hash == "":
		return fmt.Errorf("%s: create key: empty hash", s.d.Name)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	models := k.Models
	if models == nil {
		models = []string{}
	}
	mj, err := json.Marshal(models)
	if err != nil {
		return s.wrap("create key", err)
	}
	var revoked any
	if k.RevokedAt != nil {
		revoked = s.time(*k.RevokedAt)
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO api_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Name, k.Prefix, k.Hash, string(mj), s.time(k.CreatedAt), revoked)
	if what, ok := s.d.UniqueViolation(err); ok {
		// The hash is not secret, but neither is it useful to a reader.
		switch {
		case strings.Contains(what, "name"):
			return fmt.Errorf("%w: a key named %q already exists", store.ErrDuplicate, k.Name)
		case strings.Contains(what, "hash"):
			return fmt.Errorf("%w: a key with the same secret already exists", store.ErrDuplicate)
		default:
			return fmt.Errorf("%w: a key with id %q already exists", store.ErrDuplicate, k.ID)
		}
	}
	return s.wrap("create key", err)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanKey(r rowScanner) (store.Key, error) {
	var (
		k       store.Key
		models  string
		created timeCol
		revoked nullTimeCol
	)
	if err := r.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &models, &created, &revoked); err != nil {
		return store.Key{}, err
	}
	if err := json.Unmarshal([]byte(models), &k.Models); err != nil {
		return store.Key{}, fmt.Errorf("key %s: models: %w", k.ID, err)
	}
	if len(k.Models) == 0 {
		k.Models = nil
	}
	k.CreatedAt = created.t
	k.RevokedAt = revoked.t
	return k, nil
}

// KeyByHash implements store.Store.
func (s *DB) KeyByHash(ctx context.Context, hash string) (store.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Key{}, store.ErrNotFound
	}
	return k, s.wrap("key by hash", err)
}

// ListKeys implements store.Store.
func (s *DB) ListKeys(ctx context.Context) ([]store.Key, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrap("list keys", err)
	}
	defer rows.Close()
	var keys []store.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, s.wrap("list keys", err)
		}
		keys = append(keys, k)
	}
	return keys, s.wrap("list keys", rows.Err())
}

// RevokeKey implements store.Store. One statement, so that "id wins over
// name" holds even against a concurrent CreateKey.
func (s *DB) RevokeKey(ctx context.Context, idOrName string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1)
		WHERE id = $2
		   OR (name = $2 AND NOT EXISTS (SELECT 1 FROM api_keys WHERE id = $2))`,
		s.time(time.Now()), idOrName)
	if err != nil {
		return s.wrap("revoke key", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap("revoke key", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

const requestColumns = `id, time, key_id, endpoint, requested_model, provider, model, stream, status,
	latency_us, ttft_us, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
	reasoning_tokens, error_class, error_message, reasoning, metadata, attempts, parent_id, response`

const numRequestColumns = 23

// insertChunk rows go in one INSERT: few round trips for PostgreSQL, and
// 2000 parameters, well under both databases' limits (SQLite: 32766).
const insertChunk = 100

func (s *DB) insertRequestsSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO request_logs (` + requestColumns + `) VALUES `)
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range numRequestColumns {
			if c > 0 {
				b.WriteByte(',')
			}
			if s.d.Positional {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
			n++
		}
		b.WriteByte(')')
	}
	// A retried batch may hold rows an unacknowledged commit already wrote.
	b.WriteString(` ON CONFLICT (id) DO NOTHING`)
	return b.String()
}

// InsertRequests implements store.Store.
func (s *DB) InsertRequests(ctx context.Context, logs []store.RequestLog) error {
	if len(logs) == 0 {
		return nil
	}
	for i := range logs {
		if logs[i].ID == "" {
			return fmt.Errorf("%s: insert requests: record %d has an empty id", s.d.Name, i)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("insert requests", err)
	}
	defer tx.Rollback()
	var full *sql.Stmt // prepared once per batch: parsing 2000 parameters is not free
	args := make([]any, 0, insertChunk*numRequestColumns)
	for len(logs) > 0 {
		chunk := logs[:min(len(logs), insertChunk)]
		logs = logs[len(chunk):]
		args = args[:0]
		for i := range chunk {
			args = s.appendRequestArgs(args, &chunk[i])
		}
		if len(chunk) < insertChunk {
			_, err = tx.ExecContext(ctx, s.insertRequestsSQL(len(chunk)), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, s.insertFull); err != nil {
					return s.wrap("insert requests", err)
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return s.wrap("insert requests", err)
		}
	}
	return s.wrap("insert requests", tx.Commit())
}

func (s *DB) appendRequestArgs(args []any, r *store.RequestLog) []any {
	text := func(v string) string {
		if s.d.CleanText != nil {
			return s.d.CleanText(v)
		}
		return v
	}
	return append(args,
		text(r.ID), s.time(r.Time), text(r.KeyID), text(r.Endpoint), text(r.RequestedModel),
		text(r.Provider), text(r.Model), r.Stream, int64(r.Status),
		r.Latency.Microseconds(), r.TTFT.Microseconds(),
		r.Usage.InputTokens, r.Usage.CachedInputTokens, r.Usage.CacheWriteTokens,
		r.Usage.OutputTokens, r.Usage.ReasoningTokens,
		text(r.ErrorClass), text(r.ErrorMessage), text(r.Reasoning), text(r.Metadata), text(r.Attempts),
		text(r.ParentID), text(r.Response),
	)
}

// Requests implements store.Store.
func (s *DB) Requests(ctx context.Context, f store.RequestFilter) ([]store.RequestLog, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	// seq is the insertion order: it breaks ties between equal times so
	// that "newest first" is deterministic.
	q := `SELECT ` + requestColumns + ` FROM request_logs ORDER BY time DESC, seq DESC LIMIT $1`
	args := []any{limit}
	if f.KeyID != "" {
		q = `SELECT ` + requestColumns + ` FROM request_logs WHERE key_id = $2 ORDER BY time DESC, seq DESC LIMIT $1`
		args = append(args, f.KeyID)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("requests", err)
	}
	defer rows.Close()
	var out []store.RequestLog
	for rows.Next() {
		var (
			r             store.RequestLog
			t             timeCol
			latency, ttft int64
			status        int64
		)
		if err := rows.Scan(&r.ID, &t, &r.KeyID, &r.Endpoint, &r.RequestedModel, &r.Provider,
			&r.Model, &r.Stream, &status, &latency, &ttft,
			&r.Usage.InputTokens, &r.Usage.CachedInputTokens, &r.Usage.CacheWriteTokens,
			&r.Usage.OutputTokens, &r.Usage.ReasoningTokens,
			&r.ErrorClass, &r.ErrorMessage, &r.Reasoning, &r.Metadata, &r.Attempts, &r.ParentID, &r.Response); err != nil {
			return nil, s.wrap("requests", err)
		}
		r.Time = t.t
		r.Status = int(status)
		r.Latency = time.Duration(latency) * time.Microsecond
		r.TTFT = time.Duration(ttft) * time.Microsecond
		out = append(out, r)
	}
	return out, s.wrap("requests", rows.Err())
}

// timeCol scans a time stored either as unix microseconds (SQLite) or as a
// native timestamp (PostgreSQL), so the scanning code is shared.
type timeCol struct{ t time.Time }

func (c *timeCol) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		c.t = time.UnixMicro(v).UTC()
	case time.Time:
		c.t = v.UTC()
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	return nil
}

type nullTimeCol struct{ t *time.Time }

func (c *nullTimeCol) Scan(src any) error {
	if src == nil {
		c.t = nil
		return nil
	}
	var tc timeCol
	if err := tc.Scan(src); err != nil {
		return err
	}
	c.t = &tc.t
	return nil
}
