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
	// Day is an SQL expression of request_logs.time as its UTC date,
	// 'YYYY-MM-DD', for usage reports grouped by day.
	Day string
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

const keyColumns = `id, name, prefix, hash, models, created_at, revoked_at,
	team_id, rpm, tpm, budget_micro_usd, budget_period, expires_at, metadata`

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
	meta, err := metadataJSON(k.Metadata)
	if err != nil {
		return s.wrap("create key", err)
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO api_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		k.ID, k.Name, k.Prefix, k.Hash, string(mj), s.time(k.CreatedAt), s.nullTime(k.RevokedAt),
		k.TeamID, k.Limits.RPM, k.Limits.TPM, k.Limits.Budget, k.Limits.BudgetPeriod, s.nullTime(k.ExpiresAt), meta)
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
		k                store.Key
		models, meta     string
		created          timeCol
		revoked, expires nullTimeCol
	)
	if err := r.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &models, &created, &revoked,
		&k.TeamID, &k.Limits.RPM, &k.Limits.TPM, &k.Limits.Budget, &k.Limits.BudgetPeriod, &expires, &meta); err != nil {
		return store.Key{}, err
	}
	if err := json.Unmarshal([]byte(models), &k.Models); err != nil {
		return store.Key{}, fmt.Errorf("key %s: models: %w", k.ID, err)
	}
	if len(k.Models) == 0 {
		k.Models = nil
	}
	var err error
	if k.Metadata, err = parseMetadata(meta); err != nil {
		return store.Key{}, fmt.Errorf("key %s: metadata: %w", k.ID, err)
	}
	k.CreatedAt = created.t
	k.RevokedAt = revoked.t
	k.ExpiresAt = expires.t
	return k, nil
}

func (s *DB) nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.time(*t)
}

// metadataJSON encodes labels; nil and empty both store as {}.
func metadataJSON(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// parseMetadata decodes labels; {} comes back as nil, like Models.
func parseMetadata(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// Key implements store.Store.
func (s *DB) Key(ctx context.Context, idOrName string) (store.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM api_keys WHERE id = $1
		 UNION ALL
		 SELECT `+keyColumns+` FROM api_keys WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)`, idOrName))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Key{}, store.ErrNotFound
	}
	return k, s.wrap("key", err)
}

// UpdateKey implements store.Store.
func (s *DB) UpdateKey(ctx context.Context, k store.Key) error {
	models := k.Models
	if models == nil {
		models = []string{}
	}
	mj, err := json.Marshal(models)
	if err != nil {
		return s.wrap("update key", err)
	}
	meta, err := metadataJSON(k.Metadata)
	if err != nil {
		return s.wrap("update key", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE api_keys SET models = $2, team_id = $3, rpm = $4, tpm = $5,
		budget_micro_usd = $6, budget_period = $7, expires_at = $8, metadata = $9 WHERE id = $1`,
		k.ID, string(mj), k.TeamID, k.Limits.RPM, k.Limits.TPM, k.Limits.Budget, k.Limits.BudgetPeriod,
		s.nullTime(k.ExpiresAt), meta)
	return s.affected("update key", res, err)
}

// affected turns "no row changed" into ErrNotFound.
func (s *DB) affected(op string, res sql.Result, err error) error {
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

const teamColumns = `id, name, rpm, tpm, budget_micro_usd, budget_period, metadata, created_at`

// CreateTeam implements store.Store.
func (s *DB) CreateTeam(ctx context.Context, t store.Team) error {
	if t.ID == "" || t.Name == "" {
		return fmt.Errorf("%s: create team: empty id or name", s.d.Name)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	meta, err := metadataJSON(t.Metadata)
	if err != nil {
		return s.wrap("create team", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO teams (`+teamColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.Name, t.Limits.RPM, t.Limits.TPM, t.Limits.Budget, t.Limits.BudgetPeriod, meta, s.time(t.CreatedAt))
	if what, ok := s.d.UniqueViolation(err); ok {
		if strings.Contains(what, "name") {
			return fmt.Errorf("%w: a team named %q already exists", store.ErrDuplicate, t.Name)
		}
		return fmt.Errorf("%w: a team with id %q already exists", store.ErrDuplicate, t.ID)
	}
	return s.wrap("create team", err)
}

func scanTeam(r rowScanner) (store.Team, error) {
	var (
		t       store.Team
		meta    string
		created timeCol
	)
	if err := r.Scan(&t.ID, &t.Name, &t.Limits.RPM, &t.Limits.TPM, &t.Limits.Budget, &t.Limits.BudgetPeriod, &meta, &created); err != nil {
		return store.Team{}, err
	}
	var err error
	if t.Metadata, err = parseMetadata(meta); err != nil {
		return store.Team{}, fmt.Errorf("team %s: metadata: %w", t.ID, err)
	}
	t.CreatedAt = created.t
	return t, nil
}

// Team implements store.Store.
func (s *DB) Team(ctx context.Context, idOrName string) (store.Team, error) {
	t, err := scanTeam(s.db.QueryRowContext(ctx,
		`SELECT `+teamColumns+` FROM teams WHERE id = $1
		 UNION ALL
		 SELECT `+teamColumns+` FROM teams WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM teams WHERE id = $1)`, idOrName))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Team{}, store.ErrNotFound
	}
	return t, s.wrap("team", err)
}

// ListTeams implements store.Store.
func (s *DB) ListTeams(ctx context.Context, p store.Page) ([]store.Team, error) {
	q, args := pageQuery(teamColumns, "teams", p)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("list teams", err)
	}
	defer rows.Close()
	var out []store.Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, s.wrap("list teams", err)
		}
		out = append(out, t)
	}
	return out, s.wrap("list teams", rows.Err())
}

// UpdateTeam implements store.Store.
func (s *DB) UpdateTeam(ctx context.Context, t store.Team) error {
	meta, err := metadataJSON(t.Metadata)
	if err != nil {
		return s.wrap("update team", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE teams SET rpm = $2, tpm = $3, budget_micro_usd = $4,
		budget_period = $5, metadata = $6 WHERE id = $1`,
		t.ID, t.Limits.RPM, t.Limits.TPM, t.Limits.Budget, t.Limits.BudgetPeriod, meta)
	return s.affected("update team", res, err)
}

// usageDims maps a usage dimension to its column. Only these names reach
// the SQL text.
var usageDims = map[string]string{
	"key": "key_id", "team": "team_id", "model": "model", "provider": "provider",
}

// Usage implements store.Store.
func (s *DB) Usage(ctx context.Context, f store.UsageFilter) ([]store.UsageRow, error) {
	var cols []string
	for _, g := range f.GroupBy {
		c, ok := usageDims[g]
		if g == "day" {
			c, ok = s.d.Day, true
		}
		if !ok {
			return nil, fmt.Errorf("%s: usage: unknown dimension %q (known: key, team, model, provider, day)", s.d.Name, g)
		}
		cols = append(cols, c)
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !f.From.IsZero() {
		where = append(where, "time >= "+arg(s.time(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "time < "+arg(s.time(f.To)))
	}
	if f.KeyID != "" {
		where = append(where, "key_id = "+arg(f.KeyID))
	}
	if f.TeamID != "" {
		where = append(where, "team_id = "+arg(f.TeamID))
	}
	// Shadow requests are the gateway's own traffic, not the key's.
	where = append(where, "parent_id = ''")
	if len(f.After) > 0 {
		if len(f.After) != len(cols) {
			return nil, fmt.Errorf("%s: usage: %d values after, for %d dimensions", s.d.Name, len(f.After), len(cols))
		}
		// The groups after the last one are those of the rows after it in
		// the order of the grouped columns: a row-value comparison, which
		// both databases have.
		var vals []string
		for _, v := range f.After {
			vals = append(vals, arg(v))
		}
		where = append(where, "("+strings.Join(cols, ", ")+") > ("+strings.Join(vals, ", ")+")")
	}
	q := `SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
		COALESCE(SUM(cached_input_tokens), 0), COALESCE(SUM(cost_micro_usd), 0)`
	for _, c := range cols {
		q += ", " + c
	}
	q += " FROM request_logs WHERE " + strings.Join(where, " AND ")
	if len(cols) > 0 {
		q += " GROUP BY " + strings.Join(cols, ", ") + " ORDER BY " + strings.Join(cols, ", ")
		if f.Limit > 0 {
			q += " LIMIT " + arg(f.Limit)
		}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("usage", err)
	}
	defer rows.Close()
	var out []store.UsageRow
	for rows.Next() {
		var r store.UsageRow
		dims := make([]string, len(cols))
		dest := []any{&r.Requests, &r.InputTokens, &r.OutputTokens, &r.CachedTokens, &r.Cost}
		for i := range dims {
			dest = append(dest, &dims[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.wrap("usage", err)
		}
		for i, g := range f.GroupBy {
			switch g {
			case "key":
				r.Key = dims[i]
			case "team":
				r.Team = dims[i]
			case "model":
				r.Model = dims[i]
			case "provider":
				r.Provider = dims[i]
			case "day":
				r.Day = dims[i]
			}
		}
		if len(cols) == 0 && r.Requests == 0 {
			continue
		}
		out = append(out, r)
	}
	return out, s.wrap("usage", rows.Err())
}

// Spend implements store.Store.
func (s *DB) Spend(ctx context.Context, id string, team bool, since time.Time) (int64, error) {
	col := "key_id"
	if team {
		col = "team_id"
	}
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(cost_micro_usd), 0) FROM request_logs
		WHERE `+col+` = $1 AND time >= $2 AND parent_id = ''`, id, s.time(since)).Scan(&n)
	return n, s.wrap("spend", err)
}

// PutSecret implements store.Store.
func (s *DB) PutSecret(ctx context.Context, name string, sealed []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO provider_secrets (name, ciphertext, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
		name, sealed, s.time(time.Now()))
	return s.wrap("put secret", err)
}

// Secrets implements store.Store.
func (s *DB) Secrets(ctx context.Context) ([]store.Secret, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, ciphertext, updated_at FROM provider_secrets ORDER BY name`)
	if err != nil {
		return nil, s.wrap("secrets", err)
	}
	defer rows.Close()
	var out []store.Secret
	for rows.Next() {
		var (
			sec store.Secret
			t   timeCol
		)
		if err := rows.Scan(&sec.Name, &sec.Sealed, &t); err != nil {
			return nil, s.wrap("secrets", err)
		}
		sec.UpdatedAt = t.t
		out = append(out, sec)
	}
	return out, s.wrap("secrets", rows.Err())
}

// DeleteSecret implements store.Store.
func (s *DB) DeleteSecret(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM provider_secrets WHERE name = $1`, name)
	return s.affected("delete secret", res, err)
}

// AppendAudit implements store.Store.
func (s *DB) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	text := func(v string) string {
		if s.d.CleanText != nil {
			return s.d.CleanText(v)
		}
		return v
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_log (time, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)`,
		s.time(e.Time), text(e.Actor), text(e.Action), text(e.Target), text(e.Detail))
	return s.wrap("append audit", err)
}

// Audit implements store.Store.
func (s *DB) Audit(ctx context.Context, p store.Page) ([]store.AuditEntry, error) {
	q, args := `SELECT id, time, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1`, []any{p.Size()}
	if p.After != "" {
		after, err := strconv.ParseInt(p.After, 10, 64)
		if err != nil {
			return nil, nil // names no entry
		}
		q = `SELECT id, time, actor, action, target, detail FROM audit_log WHERE id < $2 ORDER BY id DESC LIMIT $1`
		args = append(args, after)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("audit", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var (
			e store.AuditEntry
			t timeCol
		)
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, s.wrap("audit", err)
		}
		e.Time = t.t
		out = append(out, e)
	}
	return out, s.wrap("audit", rows.Err())
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
func (s *DB) ListKeys(ctx context.Context, p store.Page) ([]store.Key, error) {
	q, args := pageQuery(keyColumns, "api_keys", p)
	rows, err := s.db.QueryContext(ctx, q, args...)
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

// keyset is the condition of a page of table in (col, tie) order, from
// the row whose id is the parameter id: op is ">" for an ascending order,
// "<" for a descending one. A row-value comparison, which both databases
// answer with a range scan of their (col, tie) index (an OR of the two
// columns' conditions makes SQLite scan from the end of the index).
func keyset(table, col, tie, op, id string) string {
	return "(" + col + ", " + tie + ") " + op + " (SELECT " + col + ", " + tie + " FROM " + table + " WHERE id = " + id + ")"
}

// pageQuery is a page of table, oldest first by (created_at, id).
func pageQuery(columns, table string, p store.Page) (string, []any) {
	if p.After == "" {
		return `SELECT ` + columns + ` FROM ` + table + ` ORDER BY created_at, id LIMIT $1`, []any{p.Size()}
	}
	return `SELECT ` + columns + ` FROM ` + table + ` WHERE ` + keyset(table, "created_at", "id", ">", "$2") +
		` ORDER BY created_at, id LIMIT $1`, []any{p.Size(), p.After}
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
	reasoning_tokens, error_class, error_message, reasoning, metadata, attempts, parent_id, response,
	team_id, cost_micro_usd, usage_source`

const numRequestColumns = 26

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
		text(r.TeamID), r.Cost, text(r.UsageSource),
	)
}

// Requests implements store.Store.
func (s *DB) Requests(ctx context.Context, f store.RequestFilter) ([]store.RequestLog, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	// seq is the insertion order: it breaks ties between equal times so
	// that "newest first" is deterministic, and with time it is the key
	// of a page. The query is built for the filter given rather than with
	// "$2 = '' OR ..." terms, which keep a planner from using an index.
	var where []string
	args := []any{limit}
	if f.KeyID != "" {
		args = append(args, f.KeyID)
		where = append(where, "key_id = $"+strconv.Itoa(len(args)))
	}
	if f.After != "" {
		args = append(args, f.After)
		where = append(where, keyset("request_logs", "time", "seq", "<", "$"+strconv.Itoa(len(args))))
	}
	q := `SELECT ` + requestColumns + ` FROM request_logs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY time DESC, seq DESC LIMIT $1`, args...)
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
			&r.ErrorClass, &r.ErrorMessage, &r.Reasoning, &r.Metadata, &r.Attempts, &r.ParentID, &r.Response,
			&r.TeamID, &r.Cost, &r.UsageSource); err != nil {
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
