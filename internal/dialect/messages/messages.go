// Package messages is the Anthropic Messages ingress dialect
// (POST /v1/messages and /v1/messages/count_tokens). Requests to Anthropic
// are passed through byte for byte, with only the model edited; any other
// vendor gets them through the canonical model (package anthropicwire
// translates both ways).
package messages

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/dialect"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

func init() { dialect.Register(Dialect{}) }

// Dialect is Anthropic Messages.
type Dialect struct{}

func (Dialect) Name() llm.Dialect { return llm.DialectAnthropic }

func (Dialect) Routes() []dialect.Route {
	return []dialect.Route{
		{Method: http.MethodPost, Pattern: "/messages", Endpoint: "messages", Decode: decode},
		{Method: http.MethodPost, Pattern: "/messages/count_tokens", Endpoint: "messages.count_tokens", Serve: countTokens},
	}
}

// Error is Anthropic's {"type":"error",...} with Anthropic's statuses.
func (Dialect) Error(e *llm.Error) (int, []byte) {
	status := anthropicwire.ErrorStatus(e)
	if anthropicwire.ErrorType(e) == "overloaded_error" {
		// The body says overloaded_error for "no vendor reachable" too;
		// Anthropic sends that type only with its 529, which its SDKs
		// retry, so the status must agree.
		status = anthropicwire.StatusOverloaded
	}
	return status, anthropicwire.ErrorBody(e)
}

func (Dialect) ErrorEvent(e *llm.Error) []byte { return anthropicwire.ErrorEvent(e) }

// Text is the text blocks of a whole message.
func (Dialect) Text(body []byte) string {
	var m struct {
		Content []struct {
			Type, Text string
		}
	}
	json.Unmarshal(body, &m)
	var b []byte
	for _, c := range m.Content {
		if c.Type == "text" {
			b = append(b, c.Text...)
		}
	}
	return string(b)
}

// ChunkText is the text of a content_block_delta frame's text_delta.
func (Dialect) ChunkText(frame []byte) string {
	if !bytes.Contains(frame, []byte(`"text_delta"`)) {
		return ""
	}
	_, data, _ := bytes.Cut(frame, []byte("data:"))
	var e struct {
		Delta struct{ Type, Text string }
	}
	if json.Unmarshal(bytes.TrimSpace(data), &e) != nil || e.Delta.Type != "text_delta" {
		return ""
	}
	return e.Delta.Text
}

// versions are the Anthropic API versions the ingress accepts: 2023-06-01
// (the v1 SDKs, most tools) and 2026-10-21 (the v2 SDKs). Anthropic's own
// API rejects versions it does not know, so the gateway does too rather
// than guess what a future version means.
var versions = map[string]bool{"2023-06-01": true, "2026-10-21": true}

// Encoding encodes canonical answers as Anthropic Messages.
var Encoding = dialect.Encoding{
	Body:   anthropicwire.EncodeResponse,
	Stream: func(s llm.Stream) provider.Stream { return anthropicwire.NewStreamEncoder(s) },
}

func decode(_ context.Context, r *http.Request, body []byte, _ dialect.Env) (*dialect.Request, *llm.Error) {
	req, e := decodeBody(r, body)
	if e != nil {
		return nil, e
	}
	d := &dialect.Request{
		Model: req.Model, Stream: req.Stream, User: req.User,
		Canonical: func() (*llm.Request, error) { return req, nil },
		Encoding:  Encoding,
	}
	// Anthropic itself refuses {"role":"system"} turns: the canonical path
	// takes them into the system prompt (docs/dialects.md), so a request
	// with any is not passed through.
	if !slices.ContainsFunc(req.Messages, func(m llm.Message) bool { return m.Role == llm.RoleSystem }) {
		// The body is valid (it decoded), so it parses.
		obj, _ := jsonobj.Parse(body)
		h := http.Header{}
		for _, k := range []string{"Anthropic-Version", anthropicwire.HeaderBeta} {
			if v := r.Header.Values(k); len(v) > 0 {
				h[k] = v
			}
		}
		d.Native = &provider.NativeRequest{Dialect: llm.DialectAnthropic, Body: obj, Stream: req.Stream, Header: h}
	}
	return d, nil
}

func checkVersion(r *http.Request) *llm.Error {
	if v := r.Header.Get("Anthropic-Version"); v != "" && !versions[v] {
		return &llm.Error{Kind: llm.KindInvalidRequest, Class: "bad_request", Param: "anthropic-version",
			Message: "anthropic-version: unsupported version " + strconv.Quote(dialect.Clip(v, dialect.MaxEchoBytes)) + "; use 2023-06-01 or 2026-10-21"}
	}
	return nil
}

func decodeBody(r *http.Request, body []byte) (*llm.Request, *llm.Error) {
	if e := checkVersion(r); e != nil {
		return nil, e
	}
	req, err := anthropicwire.DecodeRequest(body, r.Header)
	if err != nil {
		return nil, llm.AsError(err)
	}
	return req, nil
}

// tokenCounter is implemented by adapters whose vendor counts tokens
// exactly (Anthropic's count_tokens).
type tokenCounter interface {
	CountTokens(ctx context.Context, req *llm.Request, model string) (int64, error)
}

// countTokens serves POST /v1/messages/count_tokens. The vendor counts when
// it can; otherwise the answer is an estimate (limits.InputTokens: exact
// for OpenAI models, the vendor's published bytes per token for others),
// said so in X-Switchyard-Token-Count.
func countTokens(w http.ResponseWriter, r *http.Request, env dialect.Env) {
	rec := env.Record()
	body, e := env.ReadBody()
	if e != nil {
		env.Fail(e)
		return
	}
	// count_tokens requests carry no max_tokens; one is supplied so that
	// the Messages decoder applies.
	if obj, err := jsonobj.Parse(body); err == nil && obj.Get("max_tokens") == nil {
		obj.Set("max_tokens", []byte("1"))
		body = obj.Bytes()
	}
	req, e := decodeBody(r, body)
	if e != nil {
		env.Fail(e)
		return
	}
	req.Stream = false
	rec.RequestedModel = req.Model
	rt, e := env.Route(req.Model)
	if e != nil {
		env.Fail(e)
		return
	}
	t := rt.Pick(env.Unit(rt, req.User))
	rec.Provider, rec.Model = t.Provider.Name(), t.Model
	var n int64
	how := "exact"
	if tc, ok := t.Provider.(tokenCounter); ok {
		var err error
		if n, err = tc.CountTokens(r.Context(), req, t.Model); err != nil {
			env.Fail(llm.AsError(err))
			return
		}
	} else {
		n, how = limits.InputTokens(t.Provider.Type(), t.Model, req), "estimated"
	}
	w.Header().Set("X-Switchyard-Token-Count", how)
	out, _ := json.Marshal(map[string]int64{"input_tokens": n})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	rec.Status = http.StatusOK
}
