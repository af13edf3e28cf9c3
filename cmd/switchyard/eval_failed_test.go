package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// `switchyard eval run` against vendors that are down: the report says it
// could not decide and why (the connection was refused), and the command
// fails with the gate status, so that CI does not take it for a verdict.
func TestEvalRunDeadUpstream(t *testing.T) {
	dead := fakeupstream.New()
	url := dead.URL()
	dead.Close()
	dir := t.TempDir()
	var cases strings.Builder
	for i := range 20 {
		fmt.Fprintf(&cases, `{"id": "c%02d", "prompt": "Say %d.", "reference": "%d"}`+"\n", i, i, i)
	}
	files := map[string]string{
		"cases.jsonl": cases.String(),
		"suite.yaml": `name: dead
dataset: cases.jsonl
incumbent: down/a
challengers: [{model: down/b}]
scorers: [{type: exact}]
retries: 0
`,
		"switchyard.yaml": fmt.Sprintf(`storage: sqlite:%s
providers:
  - {name: down, type: openai-compatible, base_url: %s/v1, api_key: none}
router:
  retry_backoff: 1ms
`, filepath.Join(dir, "eval.db"), url),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCLI(t, "eval", "run", filepath.Join(dir, "suite.yaml"), "-c", filepath.Join(dir, "switchyard.yaml"), "--no-progress")
	var gate *gateError
	if !errors.As(err, &gate) || !strings.Contains(err.Error(), "down/a failed 20 of 20 calls") {
		t.Errorf("err = %v, want the error-guardrail gate (exit 3)", err)
	}
	for _, want := range []string{"down/b: NOT ENOUGH DATA", `First error of down/a: upstream_error: could not reach provider "down": connection refused`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "down/b: KEEP") || strings.Contains(out, "circuit breaker") {
		t.Errorf("output:\n%s", out)
	}
}
