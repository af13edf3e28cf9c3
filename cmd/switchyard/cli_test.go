package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command and subcommand answers --help on stdout, with status 0,
// and shows its own flags.
func TestHelpEverywhere(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(newRoot(io.Discard, io.Discard), nil)
	if len(paths) < 20 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		out, err := runCLI(t, append(p, "--help")...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("switchyard %s --help: %v\n%s", strings.Join(p, " "), err, out)
		}
	}
	out, _ := runCLI(t, "keys", "list", "--help")
	if strings.Contains(out, "--name") || strings.Contains(out, "--rpm") || !strings.Contains(out, "--server") {
		t.Errorf("keys list --help shows another command's flags, or not its own:\n%s", out)
	}
	out, _ = runCLI(t, "keys", "create", "--help")
	if !strings.Contains(out, "--name") || !strings.Contains(out, "--expires-in") {
		t.Errorf("keys create --help lacks its flags:\n%s", out)
	}
	// help as a command, and a group with no subcommand, show help too.
	for _, args := range [][]string{{"help", "eval", "run"}, {"keys"}, {}} {
		if out, err := runCLI(t, args...); err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("switchyard %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// The overview names every command's flags, those the old hand-written
// one left out among them.
func TestTopLevelHelp(t *testing.T) {
	out, err := runCLI(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"serve [--config FILE] [--demo] [--demo-public] [--listen ADDR]", "--no-progress", "eval show RUN [--cases]",
		"eval list [--limit N]", "config check [FILE] [--allow-missing-env]", "keys update ID|NAME", "completion"} {
		if !strings.Contains(out, want) {
			t.Errorf("top-level help lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionAndCompletion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if out, err := runCLI(t, args...); err != nil || out != "switchyard dev\n" {
			t.Errorf("%v: %q %v", args, out, err)
		}
	}
	for shell, want := range map[string]string{"bash": "complete -o default", "zsh": "#compdef switchyard", "fish": "complete -c switchyard"} {
		if out, err := runCLI(t, "completion", shell); err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: %v, lacks %q", shell, err, want)
		}
	}
}

// A command line that cannot run says what is wrong and where to read
// the usage; a misspelt command gets a suggestion.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"kyes", "list"}, []string{`unknown command "kyes" for "switchyard" (did you mean keys?)`, "Run 'switchyard --help' for usage"}},
		{[]string{"eval", "rnu"}, []string{`(did you mean run?)`, "Run 'switchyard eval --help'"}},
		{[]string{"keys", "create", "--nme", "x"}, []string{"unknown flag: --nme", "Run 'switchyard keys create --help'"}},
		{[]string{"keys", "create"}, []string{"--name NAME", "Run 'switchyard keys create --help'"}},
		{[]string{"keys", "get"}, []string{"needs one key: ID or NAME"}},
		{[]string{"eval", "run"}, []string{"eval run needs a suite, or --resume RUN"}},
		{[]string{"serve", "--demo-public"}, []string{"--demo-public only goes with --demo"}},
		{[]string{"serve", "--demo", "-c", "x.yaml"}, []string{"takes no config file"}},
		{[]string{"config", "check"}, []string{"needs a file"}},
	} {
		_, err := runCLI(t, tc.args...)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q lacks %q", tc.args, err, w)
			}
		}
	}
}

// The shipped example checks without any of its vendor variables set,
// and says which it took as empty.
func TestExampleConfigChecksWithoutSecrets(t *testing.T) {
	for _, v := range []string{"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "XAI_API_KEY", "DEEPSEEK_API_KEY", "MISTRAL_API_KEY", "TOGETHER_API_KEY"} {
		t.Setenv(v, "")
	}
	const example = "../../switchyard.example.yaml"
	if _, err := runCLI(t, "config", "check", example); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY is unset") {
		t.Fatalf("without --allow-missing-env: %v", err)
	}
	out, err := runCLI(t, "config", "check", "--allow-missing-env", example)
	if err != nil || !strings.Contains(out, ": ok (") || !strings.Contains(out, "not set, checked as empty: OPENAI_API_KEY, AZURE_OPENAI_API_KEY") {
		t.Errorf("--allow-missing-env: %v\n%s", err, out)
	}
}

// The audit log names who ran an admin command on the store: the same
// person on every call, not a key made up for each.
func TestAuditActorStable(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "s.yaml")
	os.WriteFile(cfg, []byte("storage: sqlite:"+filepath.Join(dir, "s.db")+"\n"), 0o600)
	for _, name := range []string{"a", "b"} {
		if out, err := runCLI(t, "keys", "create", "--name", name, "-c", cfg); err != nil {
			t.Fatal(out, err)
		}
	}
	out, err := runCLI(t, "audit", "-c", cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := cliUser()
	if !strings.HasPrefix(want, "cli:") || !strings.Contains(want, "@") {
		t.Fatalf("cliUser() = %q, want cli:USER@HOST", want)
	}
	if n := strings.Count(out, want+"  key.create"); n != 2 {
		t.Errorf("audit names %q on %d of 2 entries:\n%s", want, n, out)
	}
}
