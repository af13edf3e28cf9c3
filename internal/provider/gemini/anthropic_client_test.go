package gemini_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

// messagesIngress serves POST /v1/messages the way the gateway does for a
// Gemini model: the Anthropic request decoded, sent through p, and the
// answer encoded in the Anthropic dialect.
func messagesIngress(t *testing.T, p provider.Provider) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := anthropicwire.DecodeRequest(body, r.Header)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		g, err := p.Generate(r.Context(), req, req.Model)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if !req.Stream {
			resp, err := llm.Collect(g.Events)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(anthropicwire.EncodeResponse(resp))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		enc := anthropicwire.NewStreamEncoder(g.Events)
		defer enc.Close()
		for {
			b, err := enc.Next()
			if err != nil {
				return
			}
			w.Write(b)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Gemini 3 refuses a replayed functionCall without its thoughtSignature,
// and an Anthropic tool_use block has no field for it. Through the
// gateway's envelope (a thinking block before the tool_use), the official
// Anthropic SDK carries the signature into its next request, and Gemini
// is sent it back on the call, byte for byte.
func TestThoughtSignatureThroughAnthropicClient(t *testing.T) {
	for _, tt := range []struct {
		name, transcript, suffix string
		stream                   bool
	}{
		{"stream", "gemini-stream-function-call-thought-signature.sse", ":streamGenerateContent", true},
		{"whole", "gemini-generate-content-function-call.json", ":generateContent", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeupstream.New()
			t.Cleanup(fake.Close)
			fake.Enqueue(tt.suffix, pt.Transcript(t, tt.transcript))
			fake.Handle(":generateContent", pt.Transcript(t, "gemini-generate-content-function-call.json"))
			c := cfg
			c.Name, c.BaseURL = "gemini", fake.URL()
			p, err := provider.New(c, provider.Options{Client: fake.Client()})
			if err != nil {
				t.Fatal(err)
			}
			client := anthropic.NewClient(aoption.WithBaseURL(messagesIngress(t, p).URL), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
			params := anthropic.MessageNewParams{Model: "gemini-3-pro-preview", MaxTokens: 1024,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Which country?"))},
				Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_country",
					InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{}}}}}}

			var msg anthropic.Message
			if tt.stream {
				s := client.Messages.NewStreaming(context.Background(), params)
				for s.Next() {
					if err := msg.Accumulate(s.Current()); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
			} else {
				m, err := client.Messages.New(context.Background(), params)
				if err != nil {
					t.Fatal(err)
				}
				msg = *m
			}
			want := firstSignature(t, pt.Body(t, tt.transcript))

			// The client answers every call and sends the turn back.
			var results []anthropic.ContentBlockParamUnion
			for _, b := range msg.Content {
				if b.Type == "tool_use" {
					results = append(results, anthropic.NewToolResultBlock(b.ID, "France", false))
				}
			}
			if len(results) == 0 {
				t.Fatalf("no tool_use in %+v", msg.Content)
			}
			params.Messages = append(params.Messages, msg.ToParam(), anthropic.NewUserMessage(results...))
			if _, err := client.Messages.New(context.Background(), params); err != nil {
				t.Fatal(err)
			}

			reqs := fake.Requests()
			var sent struct {
				Contents []struct {
					Role  string `json:"role"`
					Parts []struct {
						FunctionCall     json.RawMessage `json:"functionCall"`
						ThoughtSignature string          `json:"thoughtSignature"`
					} `json:"parts"`
				} `json:"contents"`
			}
			if err := json.Unmarshal(reqs[len(reqs)-1].Body, &sent); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range sent.Contents {
				for _, part := range c.Parts {
					if part.FunctionCall != nil {
						got = append(got, part.ThoughtSignature)
					}
				}
			}
			if len(got) == 0 || got[0] != want {
				t.Errorf("replayed calls' signatures %.40q, want the first to be %.40q", got, want)
			}
			for _, s := range got[1:] {
				if s != "" {
					t.Errorf("an unsigned call was replayed with signature %.40q", s)
				}
			}
		})
	}
}

// firstSignature is the thoughtSignature of the first functionCall in a
// Gemini transcript (a JSON body, or SSE whose data lines are bodies).
func firstSignature(t *testing.T, transcript []byte) string {
	t.Helper()
	type body struct {
		Candidates []struct {
			Content struct {
				Parts []struct {
					FunctionCall     json.RawMessage `json:"functionCall"`
					ThoughtSignature string          `json:"thoughtSignature"`
				} `json:"parts"`
			} `json:"content"`
		} `json:"candidates"`
	}
	var docs [][]byte
	if transcript[0] == '{' {
		docs = [][]byte{transcript}
	} else {
		for _, line := range splitLines(transcript) {
			if d, ok := cutPrefix(line, "data: "); ok {
				docs = append(docs, d)
			}
		}
	}
	for _, d := range docs {
		var b body
		if json.Unmarshal(d, &b) != nil {
			continue
		}
		for _, c := range b.Candidates {
			for _, p := range c.Content.Parts {
				if p.FunctionCall != nil {
					return p.ThoughtSignature
				}
			}
		}
	}
	t.Fatal("no functionCall in the transcript")
	return ""
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		out = append(out, b[:i])
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}

func cutPrefix(b []byte, p string) ([]byte, bool) {
	if len(b) >= len(p) && string(b[:len(p)]) == p {
		return b[len(p):], true
	}
	return nil, false
}
