package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/gateway"
)

// The platform commands, on the store directly and through a running
// server, give the same results.
func TestPlatformCommands(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "s.yaml")
	os.WriteFile(cfgPath, []byte("storage: sqlite:"+filepath.Join(dir, "s.db")+"\nadmin_key: the-admin-key\n"), 0o600)
	cfg, err := config.Load(cfgPath, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler)
	defer func() { srv.Close(); gw.Close(context.Background()) }()
	remote := []string{"--server", srv.URL, "--admin-key", "the-admin-key"}
	local := []string{"-c", cfgPath}

	must := func(want string, args ...string) string {
		t.Helper()
		out, err := runCLI(t, args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("switchyard %s: %q, %v; want %q in it", strings.Join(args, " "), out, err, want)
		}
		return out
	}
	must("created team search", append([]string{"teams", "create", "--name", "search", "--rpm", "100", "--budget", "50", "--period", "day"}, remote...)...)
	must("$50.000000/day", append([]string{"teams", "list"}, local...)...)
	must("created key svc", append([]string{"keys", "create", "--name", "svc", "--team", "search", "--tpm", "5000",
		"--budget", "2.5", "--expires-in", "720h", "--meta", "app=checkout"}, local...)...)
	out := must(`"budget_usd": "2.500000"`, append([]string{"keys", "get", "svc"}, remote...)...)
	if !strings.Contains(out, `"app": "checkout"`) || !strings.Contains(out, `"spent_usd": "0.000000"`) || !strings.Contains(out, "expires_at") {
		t.Errorf("keys get: %s", out)
	}
	must(`"rpm": 7`, append([]string{"keys", "update", "svc", "--rpm", "7", "--team", ""}, remote...)...)
	out = must("svc", append([]string{"keys", "list"}, local...)...)
	if !strings.Contains(out, "5000") || !strings.Contains(out, "$2.500000/month") {
		t.Errorf("keys list: %s", out)
	}
	must("requests,input_tokens,output_tokens,cached_input_tokens,cost_usd", append([]string{"usage", "--group-by", "key"}, local...)...)
	must(`"total"`, append([]string{"usage", "--format", "json"}, remote...)...)
	out = must("key.update", append([]string{"audit"}, local...)...)
	if !strings.Contains(out, "team.create") || !strings.Contains(out, "key.create") || !strings.Contains(out, "(cli") {
		t.Errorf("audit: %s", out)
	}
	if _, err := runCLI(t, append([]string{"keys", "update", "svc", "--budget", "x"}, remote...)...); err == nil || !strings.Contains(err.Error(), "budget_usd") {
		t.Errorf("bad budget: %v", err)
	}
	if _, err := runCLI(t, "keys", "list", "--server", srv.URL, "--admin-key", "wrong"); err == nil || !strings.Contains(err.Error(), "admin key") {
		t.Errorf("wrong admin key: %v", err)
	}
}
