package store

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

func TestScheme(t *testing.T) {
	for dsn, want := range map[string]string{
		"sqlite:switchyard.db":                "sqlite",
		"sqlite:///var/lib/sy.db":             "sqlite",
		"SQLite:x":                            "sqlite",
		"file:sy.db?mode=ro":                  "sqlite",
		"sy.db":                               "sqlite",
		"/var/lib/switchyard/sy.db":           "sqlite",
		"./data/sy.db?_busy_timeout=1":        "sqlite",
		`C:\data\sy.db`:                       "sqlite",
		"postgres://u:p@h/db":                 "postgres",
		"postgresql://h/db?sslmode=disable":   "postgres",
		"POSTGRES://h/db":                     "postgres",
		"mysql://u:p@h/db":                    "mysql",
		"switchyard":                          "",
		"":                                    "",
		"/var/lib/sy.sqlite3":                 "",
		"host=localhost user=postgres dbname": "",
	} {
		if got := Scheme(dsn); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", dsn, got, want)
		}
	}
}

type fakeStore struct{ Store }

var runs atomic.Int64

func TestOpen(t *testing.T) {
	var gotDSN string
	// Registrations are global: a fresh scheme per run keeps -count=N working.
	scheme := fmt.Sprintf("fake%d", runs.Add(1))
	Register(scheme, func(ctx context.Context, dsn string) (Store, error) {
		gotDSN = dsn
		return fakeStore{}, nil
	})
	dsn := scheme + "://x"
	if _, err := Open(t.Context(), dsn); err != nil || gotDSN != dsn {
		t.Errorf("Open(%s) = %v, driver got %q", dsn, err, gotDSN)
	}

	for _, dsn := range []string{"nonsense", "mysql://u:hunter2@h/db"} {
		_, err := Open(t.Context(), dsn)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		msg := err.Error()
		if !strings.Contains(msg, "sqlite:PATH") || !strings.Contains(msg, "postgres://") {
			t.Errorf("Open(%q) error does not list accepted forms: %v", dsn, err)
		}
		if strings.Contains(msg, "hunter2") {
			t.Errorf("Open(%q) error leaks the DSN: %v", dsn, err)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	scheme := fmt.Sprintf("twice%d", runs.Add(1))
	Register(scheme, func(context.Context, string) (Store, error) { return nil, nil })
	defer func() {
		if recover() == nil {
			t.Error("second Register did not panic")
		}
	}()
	Register(scheme, func(context.Context, string) (Store, error) { return nil, nil })
}
