package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// Shadows receive a copy of the request in the background; both answers
// are stored, the shadow's pointing at its primary.
func TestShadowTraffic(t *testing.T) {
	for _, stream := range []bool{false, true} {
		e := newEnv(t, func(c *config.Config) {
			c.Models = append(c.Models, config.Model{Name: "shadowed", Target: "openai/gpt-4o-mini",
				Shadows: []config.Shadow{{Model: "xai/grok-3", Sample: 1}}})
		})
		if stream {
			e.fake.Handle("/chat/completions", fakeupstream.TextStream(3, "ab ", true))
		} else {
			e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("forty two"))
		}
		params := openai.ChatCompletionNewParams{Model: "shadowed", Messages: userMsg("hi")}
		var content string
		if stream {
			s := e.client.Chat.Completions.NewStreaming(context.Background(), params)
			acc := accumulate(t, s)
			content = acc.Choices[0].Message.Content
		} else {
			resp, err := e.client.Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			content = resp.Choices[0].Message.Content
		}
		var logs []store.RequestLog
		for deadline := time.Now().Add(5 * time.Second); len(logs) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			logs, _ = e.gw.Store.Requests(context.Background(), store.RequestFilter{})
		}
		if len(logs) != 2 {
			t.Fatalf("stream=%v: %d logs, want primary and shadow", stream, len(logs))
		}
		byProvider := map[string]store.RequestLog{}
		for _, l := range logs {
			byProvider[l.Provider] = l
		}
		primary, shadow := byProvider["openai"], byProvider["xai"]
		if primary.ID == "" || shadow.ParentID != primary.ID || primary.ParentID != "" {
			t.Fatalf("stream=%v: primary %+v shadow %+v", stream, primary, shadow)
		}
		if primary.Response != content || shadow.Response != content || shadow.Status != 200 || shadow.Usage.OutputTokens == 0 {
			t.Errorf("stream=%v: client got %q; stored primary %q, shadow %q (%+v)", stream, content, primary.Response, shadow.Response, shadow)
		}
		// Both are priced from the embedded list: gpt-4o-mini at $0.15
		// and $0.60 per million tokens, grok-3 at $3 and $15; 10 input
		// tokens and one output token per word (2, or 3 streamed).
		out := shadow.Usage.OutputTokens
		if wantP, wantS := (10*150_000+out*600_000+500_000)/1_000_000, (10*3_000_000+out*15_000_000+500_000)/1_000_000; primary.Cost != wantP || shadow.Cost != wantS {
			t.Errorf("stream=%v: costs primary %d shadow %d µ$, want %d and %d", stream, primary.Cost, shadow.Cost, wantP, wantS)
		}
	}
}

// A shadow that fails does not touch the client's answer.
func TestShadowFailureInvisible(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "gone", Type: "openai", BaseURL: "http://127.0.0.1:1/v1", Timeout: time.Second})
		c.Models = append(c.Models, config.Model{Name: "shadowed", Target: "openai/gpt-4o-mini",
			Shadows: []config.Shadow{{Model: "gone/x", Sample: 1}}})
	})
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("fine"))
	resp, err := e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "shadowed", Messages: userMsg("hi")})
	if err != nil || resp.Choices[0].Message.Content != "fine" {
		t.Fatalf("%v %v", resp, err)
	}
}

func TestRoutesAdminAndHeaders(t *testing.T) {
	retries := 0
	e := newEnv(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "gone", Type: "openai", BaseURL: "http://127.0.0.1:1/v1"})
		c.Models = append(c.Models, config.Model{Name: "split",
			Targets:   []config.Target{{Model: "gone/a", Weight: 1}},
			Fallbacks: []string{"openai/gpt-4o-mini"}, Retries: &retries})
	})
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("ok"))
	var hdr http.Header
	client := openai.NewClient(option.WithBaseURL(e.srv.URL+"/v1/"), option.WithAPIKey(e.key), option.WithMaxRetries(0))
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "split", Messages: userMsg("hi")},
		option.WithResponseInto(new(*http.Response)), option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			resp, err := next(r)
			if resp != nil {
				hdr = resp.Header
			}
			return resp, err
		}))
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Get("X-Switchyard-Attempts") != "2" || hdr.Get("X-Switchyard-Provider") != "openai" || hdr.Get("X-Switchyard-Model") != "gpt-4o-mini" {
		t.Errorf("headers %v", hdr)
	}
	var attempts []struct {
		Target, Outcome string
		Status          int
		OutputTokens    int64 `json:"output_tokens"`
	}
	if err := json.Unmarshal([]byte(e.logs()[0].Attempts), &attempts); err != nil || len(attempts) != 2 ||
		attempts[0].Target != "gone/a" || attempts[0].Outcome != "upstream_connection" || attempts[0].Status != 502 ||
		attempts[1].Outcome != "ok" || attempts[1].OutputTokens == 0 {
		t.Errorf("attempts %+v (%v)", attempts, err)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin/routes", nil)
	req.Header.Set("Authorization", "Bearer admin-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []struct {
			Name    string
			Targets []struct {
				Target         string
				Weight         float64
				Fallback       bool
				Breaker        string
				RecentRequests int     `json:"recent_requests"`
				ErrorRate      float64 `json:"recent_error_rate"`
			}
		}
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var found bool
	for _, r := range out.Data {
		if r.Name != "split" {
			continue
		}
		found = true
		if len(r.Targets) != 2 || r.Targets[0].Target != "gone/a" || r.Targets[0].ErrorRate != 1 || r.Targets[0].Breaker != "closed" ||
			!r.Targets[1].Fallback || r.Targets[1].RecentRequests != 1 {
			t.Errorf("route %+v", r)
		}
	}
	if !found {
		t.Errorf("no route split in %s", b)
	}
}
