package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/store/sqlite"
	"github.com/switchyard-ai/switchyard/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.Open(t.Context(), "sqlite::memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		"file:" + filepath.Join(dir, "c.db"),
		filepath.Join(dir, "d.db"),
		"sqlite:" + filepath.Join(dir, "e.sqlite") + "?_busy_timeout=100",
	} {
		s, err := store.Open(t.Context(), dsn)
		if err != nil {
			t.Errorf("Open(%q): %v", dsn, err)
			continue
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping(%q): %v", dsn, err)
		}
		s.Close()
	}
	for _, dsn := range []string{"sqlite:", "sqlite://"} {
		if s, err := store.Open(t.Context(), dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want error", dsn)
		}
	}
}

func TestPragmas(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "10000",
		"synchronous":  "1",
		"temp_store":   "2",
	} {
		var got string
		if err := s.SQL().QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

// TestMigrationsIdempotent opens the same file repeatedly: versions are
// recorded once and data survives.
func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	for i := range 3 {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i == 0 {
			if err := s.CreateKey(t.Context(), store.Key{ID: "key_1", Name: "a", Hash: "h"}); err != nil {
				t.Fatal(err)
			}
		}
		var n, max int
		if err := s.SQL().QueryRowContext(t.Context(),
			`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		if n != max || n < 1 {
			t.Errorf("open %d: schema_migrations has %d rows, max version %d", i, n, max)
		}
		if _, err := s.KeyByHash(t.Context(), "h"); err != nil {
			t.Errorf("open %d: key lost: %v", i, err)
		}
		s.Close()
	}
}

// TestTwoProcesses stands in for the gateway and a CLI: two independent
// handles on one file, opening (and migrating) at once, then writing
// concurrently. busy_timeout and IMMEDIATE transactions must absorb the
// lock contention.
func TestTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	const handles = 4
	stores := make([]store.Store, handles)
	var wg sync.WaitGroup
	errs := make([]error, handles)
	for i := range handles {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(t.Context(), "sqlite:"+path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open %d: %v", i, err)
		}
		defer stores[i].Close()
	}

	const per = 50
	for i, s := range stores {
		wg.Go(func() {
			for j := range per {
				r := store.RequestLog{ID: fmt.Sprintf("req_%d_%d", i, j), Time: time.Now(), KeyID: "k"}
				if err := s.InsertRequests(context.Background(), []store.RequestLog{r}); err != nil {
					errs[i] = err
					return
				}
				if j%10 == 0 {
					if _, err := s.Requests(context.Background(), store.RequestFilter{Limit: 5}); err != nil {
						errs[i] = err
						return
					}
				}
			}
			name := fmt.Sprintf("key_%d", i)
			k := store.Key{ID: name, Name: name, Hash: name}
			errs[i] = s.CreateKey(context.Background(), k)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	got, err := stores[0].Requests(t.Context(), store.RequestFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != handles*per {
		t.Errorf("Requests = %d, want %d", len(got), handles*per)
	}
	keys, err := stores[1].ListKeys(t.Context(), store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != handles {
		t.Errorf("ListKeys = %d, want %d", len(keys), handles)
	}
}
