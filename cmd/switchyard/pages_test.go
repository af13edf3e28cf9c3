package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/keys"
)

// keys list shows every key, however many pages the admin API gives them
// in (teams list reads its pages the same way).
func TestListsFollowPages(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "s.yaml")
	os.WriteFile(cfgPath, []byte("storage: sqlite:"+filepath.Join(dir, "s.db")+"\nadmin_key: the-admin-key\n"), 0o600)
	cfg, err := config.Load(cfgPath, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gw, err := gateway.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler)
	defer func() { srv.Close(); gw.Close(ctx) }()
	const n = 1050 // more than the largest page, 1000
	for i := range n {
		_, k, _ := keys.Generate(fmt.Sprintf("svc-%04d", i), nil)
		if err := gw.Store.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCLI(t, "keys", "list", "--server", srv.URL, "--admin-key", "the-admin-key")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out, "svc-"); got != n || !strings.Contains(out, "svc-0000") || !strings.Contains(out, fmt.Sprintf("svc-%04d", n-1)) {
		t.Errorf("keys list shows %d of %d keys", got, n)
	}
}
