package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/store/postgres"
	"github.com/switchyard-ai/switchyard/internal/store/storetest"
)

const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	reachOnce sync.Once
	reachErr  error
)

// baseDSN returns the test server's DSN. It skips the test only when
// SWITCHYARD_TEST_POSTGRES=off: an unreachable server fails the test, so that
// a green run means PostgreSQL was really tested.
func baseDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("SWITCHYARD_TEST_POSTGRES")
	switch dsn {
	case "off":
		t.Skip("SWITCHYARD_TEST_POSTGRES=off")
	case "":
		dsn = defaultDSN
	}
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		t.Fatalf("SWITCHYARD_TEST_POSTGRES must be a postgres:// URL (or \"off\")")
	}
	reachOnce.Do(func() {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			reachErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		reachErr = db.PingContext(ctx)
	})
	if reachErr != nil {
		t.Fatalf("cannot reach PostgreSQL at %s: %v\n"+
			"Start it with:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
			"or point SWITCHYARD_TEST_POSTGRES at another server, or set it to \"off\" to skip these tests.",
			u.Redacted(), reachErr)
	}
	return dsn
}

// schemaDSN creates a fresh schema for t, drops it when t ends, and returns
// a DSN whose search_path points at it.
func schemaDSN(t *testing.T) string {
	t.Helper()
	base := baseDSN(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "sy_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	baseDSN(t) // fail (or skip) once here rather than in every subtest
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), schemaDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func migrationCount(t *testing.T, db *sql.DB) (n, max int) {
	t.Helper()
	if err := db.QueryRowContext(t.Context(),
		`SELECT count(*), coalesce(max(version), 0) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	return n, max
}

// TestConcurrentOpen starts several "replicas" on one empty schema at once:
// the advisory lock must let exactly one migrate and the others see its
// result.
func TestConcurrentOpen(t *testing.T) {
	dsn := schemaDSN(t)
	const replicas = 6
	var wg sync.WaitGroup
	stores := make([]store.Store, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = store.Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Open: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	n, max := migrationCount(t, stores[0].(interface{ SQL() *sql.DB }).SQL())
	if n != max || n < 1 {
		t.Errorf("schema_migrations: %d rows, max version %d", n, max)
	}
	// Every replica sees a working schema.
	for i, s := range stores {
		if _, err := s.ListKeys(t.Context()); err != nil {
			t.Errorf("replica %d: ListKeys: %v", i, err)
		}
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := schemaDSN(t)
	for i := range 3 {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i == 0 {
			if err := s.CreateKey(t.Context(), store.Key{ID: "key_1", Name: "a", Hash: "h"}); err != nil {
				t.Fatal(err)
			}
		}
		n, max := migrationCount(t, s.SQL())
		if n != max || n < 1 {
			t.Errorf("open %d: schema_migrations has %d rows, max version %d", i, n, max)
		}
		if _, err := s.KeyByHash(t.Context(), "h"); err != nil {
			t.Errorf("open %d: key lost: %v", i, err)
		}
		s.Close()
	}
}

func TestOpenForms(t *testing.T) {
	dsn := schemaDSN(t)
	for _, d := range []string{dsn, "postgresql" + strings.TrimPrefix(dsn, "postgres")} {
		s, err := store.Open(t.Context(), d)
		if err != nil {
			t.Errorf("Open(%q): %v", d, err)
			continue
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
		s.Close()
	}
}

// TestErrorsHidePassword: connection errors end up in logs.
func TestErrorsHidePassword(t *testing.T) {
	baseDSN(t)
	for _, dsn := range []string{
		"postgres://u:hunter2secret@127.0.0.1:1/x?connect_timeout=2",
		"postgres://u:hunter2secret@127.0.0.1:5432/x?sslmode=bogus",
	} {
		_, err := store.Open(t.Context(), dsn)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver used above
