package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/testenv"
)

func configText(fakeURL, alias string) string {
	return fmt.Sprintf("providers:\n  - name: openai\n    type: openai\n    base_url: %s/v1\nmodels:\n  - name: %s\n    target: openai/gpt-4o-mini\n", fakeURL, alias)
}

func TestReload(t *testing.T) {
	fake := fakeupstream.New()
	defer fake.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "switchyard.yaml")
	storage := "storage: sqlite:" + filepath.Join(dir, "s.db") + "\n"
	write := func(text string) {
		// A later mtime even on coarse clocks, and a new size or content.
		if err := os.WriteFile(path+".tmp", []byte(storage+text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	write(configText(fake.URL(), "old-alias"))
	opts := config.Options{ProviderTypes: provider.Types()}
	cfg, err := config.Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := gateway.New(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(context.Background())
	srv := httptest.NewServer(g.Handler)
	defer srv.Close()
	secret, k, _ := keys.Generate("t", nil)
	g.Store.CreateKey(ctx, k)
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	hup := make(chan os.Signal, 1)
	go g.WatchConfig(ctx, path, opts, 20*time.Millisecond, hup)

	ask := func(model string) error {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, Messages: userMsg("hi")})
		return err
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5s; log:\n%s", what, logs.String())
			}
		}
	}
	fake.Handle("/chat/completions", fakeupstream.TextCompletion("hi"))
	if err := ask("old-alias"); err != nil {
		t.Fatal(err)
	}

	// A stream in flight when the config changes finishes on the old one.
	slow := fakeupstream.TextStream(10, "w ", true)
	slow.EventDelay = 30 * time.Millisecond
	fake.Enqueue("/chat/completions", slow)
	s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "old-alias", Messages: userMsg("hi")})
	if !s.Next() {
		t.Fatal(s.Err())
	}

	// A good file is applied when it changes.
	write(configText(fake.URL(), "new-alias"))
	eventually("new alias served", func() bool { return ask("new-alias") == nil })
	var apiErr *openai.Error
	if err := ask("old-alias"); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("removed alias: %v", err)
	}
	n := 1
	for s.Next() {
		n++
	}
	if s.Err() != nil || n < 10 {
		t.Errorf("the stream in flight was disturbed by the reload: %d chunks, %v", n, s.Err())
	}

	// A bad file is rejected with a log line; the running config stays.
	write("providers:\n  - name: openai\n    type: opnai\n")
	eventually("rejection logged", func() bool { return strings.Contains(logs.String(), "config reload rejected") })
	if !strings.Contains(logs.String(), "providers[0].type") {
		t.Errorf("the rejection does not name the field: %s", logs.String())
	}
	if err := ask("new-alias"); err != nil {
		t.Errorf("after a rejected reload: %v", err)
	}

	// SIGHUP reloads even when the file looks unchanged.
	write(configText(fake.URL(), "hup-alias"))
	eventually("file change applied", func() bool { return ask("hup-alias") == nil })
	before := strings.Count(logs.String(), "config reloaded")
	hup <- os.Interrupt // any signal value: the channel is what SIGHUP feeds
	eventually("SIGHUP reload", func() bool { return strings.Count(logs.String(), "config reloaded") > before })
}
