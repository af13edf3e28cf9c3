package openaiwire

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

func TestParseChatRequest(t *testing.T) {
	r, err := ParseChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"metadata":{"a":"b"},"user":"u"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "m" || !r.Stream || !r.IncludeUsage || string(r.Metadata) != `{"a":"b"}` || r.User != "u" {
		t.Errorf("%+v", r)
	}
	bad := map[string]string{
		`{"messages":[{"role":"user"}]}`:            "model",
		`{"model":"","messages":[{"role":"user"}]}`: "model",
		`{"model":3,"messages":[{"role":"user"}]}`:  "model",
		`{"model":"m"}`:                                                        "messages",
		`{"model":"m","messages":{}}`:                                          "messages",
		`{"model":"m","messages":[ ]}`:                                         "messages",
		`{"model":"m","messages":[{}],"stream":1}`:                             "stream",
		`{"model":"m","messages":[{}],"stream_options":[]}`:                    "stream_options",
		`{"model":"m","messages":[{}],"metadata":"x"}`:                         "metadata",
		`{"model":"m","messages":[{}],"user":5}`:                               "user",
		`{"model":"m","messages":[{}],"stream_options":{"include_usage":"x"}}`: "stream_options",
	}
	for body, param := range bad {
		_, err := ParseChatRequest([]byte(body))
		e, ok := err.(*llm.Error)
		if !ok || e.Kind != llm.KindInvalidRequest || e.Param != param {
			t.Errorf("%s: err %v, want invalid %s", body, err, param)
		}
	}
}

func TestUsageCanonical(t *testing.T) {
	var u Usage
	json.Unmarshal([]byte(`{"prompt_tokens":6,"completion_tokens":212,"total_tokens":218,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":198},"prompt_cache_hit_tokens":4}`), &u)
	if got := u.Canonical(); got != (llm.Usage{InputTokens: 6, CachedInputTokens: 4, OutputTokens: 212, ReasoningTokens: 198}) {
		t.Errorf("%+v", got)
	}
}

func TestErrorBody(t *testing.T) {
	b := ErrorBody(&llm.Error{Kind: llm.KindNotFound, Message: "no", Param: "model"})
	if string(b) != `{"error":{"message":"no","type":"invalid_request_error","param":"model","code":"model_not_found"}}` {
		t.Errorf("%s", b)
	}
	b = ErrorBody(&llm.Error{Kind: llm.KindRateLimit, Message: "slow", Type: "requests"})
	if string(b) != `{"error":{"message":"slow","type":"requests","param":null,"code":"rate_limit_exceeded"}}` {
		t.Errorf("%s", b)
	}
}

// FuzzParseChatRequest: the request decoder never panics, and what it
// accepts has a model, messages, and re-encodes to valid JSON.
func FuzzParseChatRequest(f *testing.F) {
	f.Add([]byte(`{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}],"stream_options":{"include_usage":false}}`))
	f.Add([]byte(`{"model":"\u006d","messages":[1],"metadata":{"k":"v"},"user":"u"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseChatRequest(body)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if r.Model == "" || r.Body.Get("messages") == nil {
			t.Fatalf("accepted without model or messages: %q", body)
		}
		r.Body.SetString("model", "x")
		if !json.Valid(r.Body.Bytes()) {
			t.Fatalf("re-encoded body is invalid: %q", r.Body.Bytes())
		}
	})
}

func TestText(t *testing.T) {
	if got := MessageText([]byte(`{"choices":[{"message":{"content":"hi there"}}]}`)); got != "hi there" {
		t.Error(got)
	}
	stream := "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n: c\n\ndata: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"x\"}},{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n"
	if got := StreamText([]byte(stream)); got != "ab" {
		t.Error(got)
	}
}
