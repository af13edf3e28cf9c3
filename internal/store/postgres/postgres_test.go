package postgres_test

import (
	"database/sql"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/store/postgres"
	"github.com/switchyard-ai/switchyard/internal/store/storetest"
	"github.com/switchyard-ai/switchyard/internal/testenv"
)

func TestConformance(t *testing.T) {
	testenv.PostgresSchema(t) // fail (or skip) once here rather than in every subtest
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), testenv.PostgresSchema(t))
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
	dsn := testenv.PostgresSchema(t)
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
		if _, err := s.ListKeys(t.Context(), store.Page{}); err != nil {
			t.Errorf("replica %d: ListKeys: %v", i, err)
		}
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := testenv.PostgresSchema(t)
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
	dsn := testenv.PostgresSchema(t)
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
	testenv.Postgres(t)
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
