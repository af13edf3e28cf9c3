package openaicompat_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/provider/openaicompat"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

// sentFields decodes the top-level fields of the body the vendor received.
func sentFields(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("sent body %s: %v", body, err)
	}
	return m
}

// The capability table on the fast path: an OpenAI client's request to a
// known model loses what the model refuses, and the client is told.
func TestCapabilitiesFastPath(t *testing.T) {
	openai := config.Provider{Type: "openai", BaseURL: "/v1"}
	for _, tt := range []struct {
		name, body         string
		cfg                config.Provider
		gone               []string
		want               map[string]string
		dropped, rewritten string
	}{{
		name:    "no reasoning_effort for gpt-4o-mini, output clamped",
		cfg:     openai,
		body:    `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high","max_completion_tokens":32000}`,
		gone:    []string{"reasoning_effort"},
		want:    map[string]string{"max_completion_tokens": "16384"},
		dropped: "reasoning_effort", rewritten: "max_completion_tokens",
	}, {
		name:    "o3 refuses sampling and max_tokens",
		cfg:     openai,
		body:    `{"model":"o3","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":null,"max_tokens":50,"reasoning_effort":"low"}`,
		gone:    []string{"temperature", "top_p", "max_tokens"},
		want:    map[string]string{"max_completion_tokens": "50", "reasoning_effort": `"low"`},
		dropped: "temperature", rewritten: "max_tokens=max_completion_tokens",
	}, {
		name:    "grok-4 reasons but takes no effort",
		cfg:     config.Provider{Type: "xai", BaseURL: "/v1"},
		body:    `{"model":"grok-4","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high","temperature":0.5}`,
		gone:    []string{"reasoning_effort"},
		want:    map[string]string{"temperature": "0.5"},
		dropped: "reasoning_effort",
	}, {
		name: "an unknown model is sent everything",
		cfg:  config.Provider{Type: "openai-compatible", BaseURL: "/v1"},
		body: `{"model":"llama3","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high","max_tokens":999999,"temperature":0.3}`,
		want: map[string]string{"reasoning_effort": `"high"`, "max_tokens": "999999", "temperature": "0.3"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			res := pt.Chat(t, tt.cfg, fakeupstream.TextCompletion("ok"), tt.body)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			sent := sentFields(t, res.Sent.Body)
			for _, k := range tt.gone {
				if _, ok := sent[k]; ok {
					t.Errorf("%s was sent: %s", k, res.Sent.Body)
				}
			}
			for k, v := range tt.want {
				if string(sent[k]) != v {
					t.Errorf("%s = %s, want %s", k, sent[k], v)
				}
			}
			if got := res.Header.Get("X-Switchyard-Dropped-Params"); got != tt.dropped {
				t.Errorf("dropped = %q, want %q", got, tt.dropped)
			}
			if got := res.Header.Get("X-Switchyard-Rewritten-Params"); got != tt.rewritten {
				t.Errorf("rewritten = %q, want %q", got, tt.rewritten)
			}
		})
	}
}

// The canonical path: Claude Code's request (adaptive thinking with an
// effort, max_tokens 32000) to openai/gpt-4o-mini reaches the vendor
// without reasoning_effort and with the bound the model accepts.
func TestCapabilitiesCanonicalPath(t *testing.T) {
	req, err := anthropicwire.DecodeRequest([]byte(`{"model":"openai/gpt-4o-mini","max_tokens":32000,
		"thinking":{"type":"adaptive"},"output_config":{"effort":"high"},
		"messages":[{"role":"user","content":"hi"}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := pt.Generate(t, config.Provider{Type: "openai", BaseURL: "/v1"}, "/chat/completions", fakeupstream.TextCompletion("ok"), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	sent := sentFields(t, res.Sent.Body)
	if _, ok := sent["reasoning_effort"]; ok {
		t.Errorf("reasoning_effort was sent: %s", res.Sent.Body)
	}
	if string(sent["max_completion_tokens"]) != "16384" {
		t.Errorf("max_completion_tokens = %s, want 16384", sent["max_completion_tokens"])
	}
	if got := res.Header.Get("X-Switchyard-Dropped-Params"); got != "reasoning_effort" {
		t.Errorf("dropped = %q", got)
	}
	if got := res.Header.Get("X-Switchyard-Rewritten-Params"); got != "max_completion_tokens" {
		t.Errorf("rewritten = %q", got)
	}
}

func FuzzApplyCapabilities(f *testing.F) {
	f.Add("gpt-4o-mini", `{"max_tokens":32000,"reasoning_effort":"high"}`)
	f.Add("o3", `{"max_tokens":"x","temperature":null,"top_p":1}`)
	f.Fuzz(func(t *testing.T, model, body string) {
		obj, err := jsonobj.Parse([]byte(body))
		if err != nil {
			return
		}
		var n openaicompat.Notes
		openaicompat.ApplyCapabilities(model, &obj, &n)
		if !json.Valid(obj.Bytes()) {
			t.Fatalf("invalid body %s", obj.Bytes())
		}
	})
}

// Claude Code marks tools defer_loading; an OpenAI-wire vendor has no such
// field, so the client is told it was dropped.
func TestAnthropicToolFieldsNamed(t *testing.T) {
	req, err := anthropicwire.DecodeRequest([]byte(`{"model":"gpt-4o","max_tokens":100,
		"tools":[{"name":"a","input_schema":{"type":"object"},"defer_loading":true},{"name":"b","input_schema":{"type":"object"}}],
		"messages":[{"role":"user","content":"hi"}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := pt.Generate(t, config.Provider{Type: "openai", BaseURL: "/v1"}, "/chat/completions", fakeupstream.TextCompletion("ok"), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Header.Get("X-Switchyard-Dropped-Params"); got != "tools[].defer_loading" {
		t.Errorf("dropped = %q", got)
	}
	if strings.Contains(string(res.Sent.Body), "defer_loading") {
		t.Errorf("sent %s", res.Sent.Body)
	}
}
