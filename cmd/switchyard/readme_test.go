package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/testenv"
)

// readmeSection is the README's quick start: "## The two commands" up
// to the next section.
func readmeSection(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, s, ok := strings.Cut(string(b), "## The two commands\n")
	if !ok {
		t.Fatal(`README.md has no "## The two commands" section`)
	}
	s, _, _ = strings.Cut(s, "\n## ")
	return s
}

// fenced returns the fenced code blocks of md in language lang.
func fenced(md, lang string) []string {
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(md, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// TestReadmeQuickStart builds the binary, starts it as the README's first
// command says (serve --demo), on a free port, and runs the README's
// curl commands, its Go SDK snippet and, with the variables its export
// line sets, the Anthropic SDK, as they are written in README.md: each must
// get a 200. So the quick start cannot drift from what the binary does.
func TestReadmeQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	readme := readmeSection(t)
	sh := fenced(readme, "sh")
	if len(sh) == 0 {
		t.Fatal("no sh blocks in the quick start")
	}
	// The first command of the first block starts the gateway.
	first := strings.Fields(strings.SplitN(sh[0], "#", 2)[0])
	if len(first) < 3 || first[0] != "go" || first[1] != "run" || first[2] != "./cmd/switchyard" {
		t.Fatalf("the quick start's first command is not go run ./cmd/switchyard: %q", first)
	}
	serveArgs := first[3:]

	dir := t.TempDir()
	bin := filepath.Join(dir, "switchyard")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append(serveArgs, "--listen", addr)...)
	// The demo store goes to the user cache directory: the test's own.
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "SWITCHYARD_ADMIN_KEY=", "SWITCHYARD_CONFIG=")
	var logs testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("gateway output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i == 600 {
			t.Fatal("the gateway did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := logs.String(); !strings.Contains(out, "DEMO MODE") || !strings.Contains(out, "sk-sy-demo") {
		t.Errorf("the banner does not say DEMO MODE and the key:\n%s", out)
	}
	local := func(s string) string { return strings.ReplaceAll(s, "127.0.0.1:8080", addr) }

	t.Run("curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("curl is not installed")
			}
			t.Skip("curl is not installed")
		}
		n := 0
		for _, block := range sh {
			if !strings.Contains(block, "curl ") {
				continue
			}
			// Each curl, as written, also prints its status on a line
			// of its own, and its body goes nowhere.
			script := local(strings.ReplaceAll(block, "\\\n", " "))
			var lines []string
			for _, line := range strings.Split(script, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "curl ") {
					line = strings.Replace(line, "curl ", `curl -sS -o /dev/null -w 'status %{http_code}\n' `, 1)
					n++
				}
				lines = append(lines, line)
			}
			out, err := exec.Command("bash", "-euc", strings.Join(lines, "\n")).CombinedOutput()
			if err != nil || strings.Count(string(out), "status 200") != strings.Count(script, "curl ") {
				t.Errorf("README block\n%s\nanswered %v:\n%s", block, err, out)
			}
		}
		if n < 3 {
			t.Errorf("only %d curl commands in the quick start", n)
		}
	})

	t.Run("Go SDK snippet", func(t *testing.T) {
		var snippet string
		for _, b := range fenced(readme, "go") {
			if strings.Contains(b, "openai.NewClient(") {
				snippet = b
			}
		}
		m := regexp.MustCompile(`option\.WithBaseURL\("([^"]+)"\), option\.WithAPIKey\("([^"]+)"\)`).FindStringSubmatch(snippet)
		if m == nil {
			t.Fatalf("no openai.NewClient(option.WithBaseURL(...), option.WithAPIKey(...)) in the quick start:\n%s", snippet)
		}
		client := openai.NewClient(option.WithBaseURL(local(m[1])), option.WithAPIKey(m[2]))
		resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "openai/gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}})
		if err != nil || resp.Choices[0].Message.Content == "" {
			t.Fatalf("%v", err)
		}
		page, err := client.Models.List(context.Background())
		if err != nil || len(page.Data) == 0 {
			t.Errorf("models: %v", err)
		}
	})

	t.Run("Anthropic SDK from the export line", func(t *testing.T) {
		m := regexp.MustCompile(`export (ANTHROPIC_BASE_URL=\S+) (ANTHROPIC_API_KEY=\S+)`).FindStringSubmatch(readme)
		if m == nil {
			t.Fatal("no export ANTHROPIC_BASE_URL=... ANTHROPIC_API_KEY=... in the quick start")
		}
		for _, kv := range m[1:] {
			k, v, _ := strings.Cut(local(kv), "=")
			t.Setenv(k, v)
		}
		client := anthropic.NewClient() // reads ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY, as coding agents do
		msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "deepseek/deepseek-chat", MaxTokens: 256,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}})
		if err != nil || len(msg.Content) == 0 {
			t.Fatalf("%v", err)
		}
	})
}

// The README's make lines say what the Makefile does.
func TestReadmeMakeBench(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`make bench` \\(`([^`]+)`").FindSubmatch(readme)
	r := regexp.MustCompile(`(?m)^bench:\n\t(.+)$`).FindSubmatch(makefile)
	if m == nil || r == nil || !bytes.Equal(m[1], r[1]) {
		t.Errorf("README says make bench runs %q, the Makefile %q", m, r)
	}
	for _, target := range []string{"build", "install", "test"} {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^%s:`, target)).Match(makefile) {
			t.Errorf("the README's make %s has no target", target)
		}
	}
}
