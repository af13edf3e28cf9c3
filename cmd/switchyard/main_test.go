package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("providers:\n  - name: openai\n    type: openai\n    api_key: sk-x\nmodels:\n  - name: chat\n    target: openai/gpt-4o\n"), 0o600)
	out, err := runCLI(t, "config", "check", "-c", good)
	if err != nil || !strings.Contains(out, "ok (1 providers, 1 models)") {
		t.Errorf("good config: %q, %v", out, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("providers:\n  - name: openai\n    type: opnai\n"), 0o600)
	_, err = runCLI(t, "config", "check", "-c", bad)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:3") || !strings.Contains(err.Error(), "providers[0].type") {
		t.Errorf("bad config error %v does not name line 3 and the field", err)
	}
}

func TestExampleConfigChecks(t *testing.T) {
	for _, v := range []string{"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "XAI_API_KEY", "DEEPSEEK_API_KEY", "MISTRAL_API_KEY", "SWITCHYARD_ADMIN_KEY", "TOGETHER_API_KEY", "VLLM_API_KEY"} {
		t.Setenv(v, "test-"+v)
	}
	if out, err := runCLI(t, "config", "check", "-c", "../../switchyard.example.yaml"); err != nil {
		t.Errorf("example config: %s %v", out, err)
	}
}

func TestKeysLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "s.yaml")
	os.WriteFile(cfg, []byte("storage: sqlite:"+filepath.Join(dir, "s.db")+"\n"), 0o600)
	out, err := runCLI(t, "keys", "create", "--name", "ci", "--models", "openai/*, chat-default", "-c", cfg)
	if err != nil || !strings.Contains(out, "sk-sy-") {
		t.Fatalf("create: %q %v", out, err)
	}
	secret := strings.Fields(strings.Split(out, "\n")[1])[0]
	out, err = runCLI(t, "keys", "list", "-c", cfg)
	if err != nil || !strings.Contains(out, "ci") || !strings.Contains(out, "openai/*,chat-default") || strings.Contains(out, secret) {
		t.Errorf("list: %q %v", out, err)
	}
	if _, err := runCLI(t, "keys", "create", "--name", "ci", "-c", cfg); err == nil {
		t.Error("duplicate name accepted")
	}
	if out, err := runCLI(t, "keys", "revoke", "ci", "-c", cfg); err != nil {
		t.Errorf("revoke: %q %v", out, err)
	}
	out, _ = runCLI(t, "keys", "list", "-c", cfg)
	if !strings.Contains(out, "revoked") {
		t.Errorf("list after revoke: %q", out)
	}
}

func TestRedactDSN(t *testing.T) {
	if got := redactDSN("postgres://app:s3cret@db:5432/sy"); got != "postgres://app:****@db:5432/sy" {
		t.Error(got)
	}
}
