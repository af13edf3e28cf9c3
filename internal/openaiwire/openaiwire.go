// Package openaiwire holds what every speaker of the OpenAI Chat Completions
// wire format shares: the request's top-level fields, usage, and the error
// object. Both the OpenAI-dialect ingress and the OpenAI-family provider
// adapters use it.
package openaiwire

import (
	"encoding/json"
	"fmt"

	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
)

// ChatRequest is a chat completions request. Only the fields the gateway acts
// on are decoded; everything else stays as raw bytes in Body and is forwarded
// unchanged.
type ChatRequest struct {
	Body   jsonobj.Object
	Model  string
	Stream bool
	// IncludeUsage reports whether the client asked for the usage chunk
	// (stream_options.include_usage).
	IncludeUsage bool
	// Metadata is the client's metadata object, raw, if any.
	Metadata []byte
	// User is the client's end-user id, if any.
	User string
}

// ParseChatRequest decodes and validates a chat completions request body.
// Errors are *llm.Error of kind invalid_request naming the faulty param.
func ParseChatRequest(body []byte) (*ChatRequest, error) {
	obj, err := jsonobj.Parse(body)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "We could not parse the JSON body of your request: " + err.Error(), Class: "bad_request"}
	}
	r := &ChatRequest{Body: obj}
	model, ok := obj.String("model")
	if !ok || model == "" {
		return nil, invalid("model", "you must provide a model parameter")
	}
	r.Model = model
	msgs := obj.Get("messages")
	if len(msgs) == 0 || msgs[0] != '[' {
		return nil, invalid("messages", "messages must be a non-empty array")
	}
	if string(msgs) == "[]" || isEmptyArray(msgs) {
		return nil, invalid("messages", "messages must be a non-empty array")
	}
	if r.Stream, err = obj.Bool("stream"); err != nil {
		return nil, invalid("stream", err.Error())
	}
	if so := obj.Get("stream_options"); so != nil && string(so) != "null" {
		var opts struct {
			IncludeUsage *bool `json:"include_usage"`
		}
		if err := json.Unmarshal(so, &opts); err != nil {
			return nil, invalid("stream_options", "stream_options must be an object")
		}
		r.IncludeUsage = opts.IncludeUsage != nil && *opts.IncludeUsage
	}
	if md := obj.Get("metadata"); md != nil && string(md) != "null" {
		if md[0] != '{' {
			return nil, invalid("metadata", "metadata must be an object")
		}
		r.Metadata = md
	}
	if u := obj.Get("user"); u != nil && string(u) != "null" {
		if r.User, ok = obj.String("user"); !ok {
			return nil, invalid("user", "user must be a string")
		}
	}
	return r, nil
}

func isEmptyArray(b []byte) bool {
	var a []json.RawMessage
	return json.Unmarshal(b, &a) == nil && len(a) == 0
}

func invalid(param, msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: msg, Class: "bad_request"}
}

// ParseEmbeddingsRequest decodes an embeddings request's model.
func ParseEmbeddingsRequest(body []byte) (obj jsonobj.Object, model string, err error) {
	obj, err = jsonobj.Parse(body)
	if err != nil {
		return obj, "", &llm.Error{Kind: llm.KindInvalidRequest, Message: "We could not parse the JSON body of your request: " + err.Error(), Class: "bad_request"}
	}
	model, ok := obj.String("model")
	if !ok || model == "" {
		return obj, "", invalid("model", "you must provide a model parameter")
	}
	if obj.Get("input") == nil {
		return obj, "", invalid("input", "you must provide an input parameter")
	}
	return obj, model, nil
}

// Usage is the usage object of the OpenAI family, with the extra counters
// some vendors add.
type Usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	// PromptCacheHitTokens is DeepSeek's name for cached input.
	PromptCacheHitTokens int64 `json:"prompt_cache_hit_tokens"`
	// CachedTokens is where Together-style hosts put cached input.
	CachedTokens int64 `json:"cached_tokens"`
}

// Canonical returns the usage under OpenAI's semantics: prompt_tokens
// includes cached tokens and completion_tokens includes reasoning tokens.
// Vendors that differ (xAI) adjust the result in their own adapter.
func (u *Usage) Canonical() llm.Usage {
	c := llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		c.CachedInputTokens = d.CachedTokens
		c.CacheWriteTokens = d.CacheWriteTokens
	}
	if c.CachedInputTokens == 0 {
		c.CachedInputTokens = max(u.PromptCacheHitTokens, u.CachedTokens)
	}
	if d := u.CompletionTokensDetails; d != nil {
		c.ReasoningTokens = d.ReasoningTokens
	}
	return c
}

// ErrorBody renders err as an OpenAI error object.
func ErrorBody(err *llm.Error) []byte {
	typ, code := "invalid_request_error", err.Code
	switch err.Kind {
	case llm.KindAuthentication:
		if code == "" {
			code = "invalid_api_key"
		}
	case llm.KindPermission:
		typ = "permission_error"
	case llm.KindNotFound:
		if code == "" {
			code = "model_not_found"
		}
	case llm.KindRequestTooLarge:
		if code == "" {
			code = "request_too_large"
		}
	case llm.KindRateLimit:
		typ = "rate_limit_error"
		if code == "" {
			code = "rate_limit_exceeded"
		}
	case llm.KindTimeout:
		typ = "timeout"
	case llm.KindServer, llm.KindUpstream, llm.KindOverloaded, llm.KindUnavailable:
		typ = "server_error"
	}
	if err.Type != "" {
		typ = err.Type
	}
	type body struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	b := body{Message: err.Message, Type: typ}
	if err.Param != "" {
		b.Param = &err.Param
	}
	if code != "" {
		b.Code = &code
	}
	out, _ := json.Marshal(struct {
		Error body `json:"error"`
	}{b})
	return out
}

// ErrorChunk renders err as the data of a mid-stream error event, the shape
// OpenAI-compatible servers use after a 200 has gone out.
func ErrorChunk(err *llm.Error) []byte {
	return fmt.Appendf(nil, "data: %s\n\n", ErrorBody(err))
}
