package gateway_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// On shutdown a stream in flight runs to its end, and its record reaches
// the store before Serve returns.
func TestShutdownDrainsStreamsAndFlushesLog(t *testing.T) {
	fake := fakeupstream.New()
	defer fake.Close()
	slow := fakeupstream.TextStream(20, "w ", true)
	slow.EventDelay = 25 * time.Millisecond
	fake.Handle("/chat/completions", slow)

	dbPath := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	cfg := &config.Config{
		Storage:   dbPath,
		Providers: []config.Provider{{Name: "openai", Type: "openai", BaseURL: fake.URL() + "/v1"}},
	}
	cfg.SetDefaults()
	cfg.RequestLog.FlushInterval = time.Hour // only the shutdown flush can write it
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := gateway.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	secret, k, _ := keys.Generate("t", nil)
	if err := g.Store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, ln) }()

	client := openai.NewClient(option.WithBaseURL("http://"+ln.Addr().String()+"/v1/"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	s := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "openai/gpt-4o-mini", Messages: userMsg("hi"),
	})
	if !s.Next() {
		t.Fatal(s.Err())
	}
	cancel() // SIGTERM
	var acc openai.ChatCompletionAccumulator
	acc.AddChunk(s.Current())
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream in flight was cut by shutdown: %v", err)
	}
	if got := acc.Choices[0].Message.Content; len(got) != 40 {
		t.Errorf("content %q", got)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// Reopen the store: the record was flushed before exit.
	st, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs, err := st.Requests(context.Background(), store.RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Status != 200 || logs[0].Usage.OutputTokens != 20 {
		t.Fatalf("logs after shutdown: %+v", logs)
	}
	// New connections are refused once it has stopped.
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}
