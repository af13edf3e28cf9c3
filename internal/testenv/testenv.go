// Package testenv gives integration tests the real PostgreSQL and Redis
// that CI (and make test, through scripts/services.sh) starts. A test
// skips only when told to (SWITCHYARD_TEST_POSTGRES=off,
// SWITCHYARD_TEST_REDIS=off); an unreachable server fails it, so that a
// green run means the servers were really used.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/redis/go-redis/v9"
)

// DefaultPostgres and DefaultRedis are the servers tests use unless
// SWITCHYARD_TEST_POSTGRES / SWITCHYARD_TEST_REDIS name others.
const (
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedis    = "redis://127.0.0.1:6379/0"
)

func random() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Postgres returns the test server's DSN, skipping t only when
// SWITCHYARD_TEST_POSTGRES=off.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SWITCHYARD_TEST_POSTGRES")
	switch dsn {
	case "off":
		t.Skip("SWITCHYARD_TEST_POSTGRES=off")
	case "":
		dsn = DefaultPostgres
	}
	if u, err := url.Parse(dsn); err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		t.Fatalf("SWITCHYARD_TEST_POSTGRES must be a postgres:// URL (or \"off\")")
	}
	return dsn
}

// PostgresSchema creates a fresh schema for t, drops it when t ends, and
// returns a DSN whose search_path points at it.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	dsn := Postgres(t)
	u, _ := url.Parse(dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := "sy_test_" + random()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		t.Fatalf("cannot reach PostgreSQL at %s (start it with scripts/services.sh, or set SWITCHYARD_TEST_POSTGRES=off): %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Redis returns the test Redis URL, a key prefix unique to t, and a client;
// the prefix's keys are deleted when t ends.
func Redis(t testing.TB) (rawURL, prefix string, client *redis.Client) {
	t.Helper()
	rawURL = os.Getenv("SWITCHYARD_TEST_REDIS")
	switch rawURL {
	case "off":
		t.Skip("SWITCHYARD_TEST_REDIS=off")
	case "":
		rawURL = DefaultRedis
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatalf("SWITCHYARD_TEST_REDIS must be a redis:// URL (or \"off\"): %v", err)
	}
	client = redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		t.Fatalf("cannot reach Redis at %s (start it with scripts/services.sh, or set SWITCHYARD_TEST_REDIS=off): %v", opt.Addr, err)
	}
	prefix = "sytest:" + random() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		client.Close()
	})
	return rawURL, prefix, client
}
