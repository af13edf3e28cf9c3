package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// The OpenAI Responses API, forwarded natively (docs/responses-upstream.md):
// a Responses-dialect request goes to {base}/responses with only its model
// replaced, and the vendor's answer comes back as the vendor sent it. The
// gateway reads from it only what it must record: usage, reasoning text,
// and whether the stream ended properly.

func (a *Adapter) forwardResponses(ctx context.Context, req *provider.NativeRequest, model string) (*provider.Reply, error) {
	// Copy the field list: the request may be sent to another target later.
	body := jsonobj.Object{Fields: append([]jsonobj.Field(nil), req.Body.Fields...)}
	body.SetString("model", model)
	// The reply is read as req.Stream says, so the body must ask for the
	// same.
	if stream, _ := body.Bool("stream"); stream != req.Stream {
		body.Set("stream", []byte(fmt.Sprint(req.Stream)))
	}
	resp, err := a.do(ctx, "/responses", model, body.Bytes(), req.Stream)
	if err != nil {
		return nil, err
	}
	reply := &provider.Reply{Header: passHeaders(resp.Header)}
	if req.Stream {
		reply.Stream = a.newResponsesStream(resp.Body)
		return reply, nil
	}
	defer resp.Body.Close()
	raw, err := upstream.ReadBody(resp.Body)
	if err != nil {
		return nil, err
	}
	obj, err := jsonobj.Parse(raw)
	if err != nil {
		return nil, upstream.Malformed("the upstream returned an invalid JSON body")
	}
	reply.Body = raw
	if u := obj.Get("usage"); len(u) > 0 && u[0] == '{' {
		reply.Usage = a.responsesUsage(u)
	}
	if bytes.Contains(raw, []byte(`"reasoning"`)) {
		reply.Reasoning = responsesReasoning(obj.Get("output"))
	}
	return reply, nil
}

// responsesUsage is the Responses API's usage object.
type responsesUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails *struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

// responsesUsage normalises a Responses usage object. Its counters mean
// what Chat Completions' do (input_tokens includes cached tokens,
// output_tokens includes reasoning tokens) under other names, so it is
// renamed into the chat shape and normalised by the same code as a chat
// answer's usage, the vendor's quirks included.
func (a *Adapter) responsesUsage(raw []byte) llm.Usage {
	var ru responsesUsage
	if json.Unmarshal(raw, &ru) != nil {
		return llm.Usage{}
	}
	u := openaiwire.Usage{PromptTokens: ru.InputTokens, CompletionTokens: ru.OutputTokens, TotalTokens: ru.TotalTokens}
	if d := ru.InputTokensDetails; d != nil {
		u.PromptTokensDetails = &struct {
			CachedTokens     int64 `json:"cached_tokens"`
			CacheWriteTokens int64 `json:"cache_write_tokens"`
		}{d.CachedTokens, d.CacheWriteTokens}
	}
	if d := ru.OutputTokensDetails; d != nil {
		u.CompletionTokensDetails = &struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		}{d.ReasoningTokens}
	}
	return a.usage(&u)
}

// responsesReasoning is the reasoning text of a response's output items:
// the summaries of its reasoning items, and their raw reasoning text when
// a vendor sends it, parts separated by blank lines, bounded.
func responsesReasoning(output []byte) string {
	var items []struct {
		Type    string `json:"type"`
		Summary []struct {
			Text string `json:"text"`
		} `json:"summary"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if json.Unmarshal(output, &items) != nil {
		return ""
	}
	var r reasoningText
	for _, it := range items {
		if it.Type != "reasoning" {
			continue
		}
		for _, s := range it.Summary {
			r.part()
			r.add(s.Text)
		}
		for _, c := range it.Content {
			if c.Type == "reasoning_text" {
				r.part()
				r.add(c.Text)
			}
		}
	}
	return r.String()
}

// reasoningText collects reasoning for the request log, bounded.
type reasoningText struct{ strings.Builder }

func (r *reasoningText) add(s string) {
	if room := maxReasoning - r.Len(); room > 0 {
		r.WriteString(s[:min(len(s), room)])
	}
}

// part starts a new part: a blank line after the text so far.
func (r *reasoningText) part() {
	if r.Len() > 0 {
		r.add("\n\n")
	}
}

// responsesStream passes a Responses API event stream to the client, one
// upstream event per Next, byte for byte. The API sends no [DONE]: the
// stream is over at its terminal event (response.completed or
// response.incomplete), and an end before one is a cut.
type responsesStream struct {
	a         *Adapter
	body      io.ReadCloser
	rd        *sse.Reader
	done      bool
	usage     llm.Usage
	meter     llm.Meter
	reasoning reasoningText
}

func (a *Adapter) newResponsesStream(body io.ReadCloser) *responsesStream {
	return &responsesStream{a: a, body: body, rd: sse.NewReader(body)}
}

func (s *responsesStream) Usage() llm.Usage  { return s.usage }
func (s *responsesStream) Meter() *llm.Meter { return &s.meter }
func (s *responsesStream) Reasoning() string { return s.reasoning.String() }
func (s *responsesStream) Close() error      { return s.body.Close() }

var deltaKey = []byte(`"delta":`)

// Next implements provider.Stream.
func (s *responsesStream) Next() ([]byte, error) {
	for {
		if s.done {
			return nil, io.EOF
		}
		ev, err := s.rd.Next()
		if err != nil {
			return nil, llm.ReadError(err)
		}
		if ev.Comment {
			if len(bytes.TrimSpace(ev.Raw)) == 0 {
				continue
			}
			return ev.Raw, nil // a keep-alive keeps the client's connection alive too
		}
		if ev.Data == nil {
			continue // an event without data carries nothing a client reads
		}
		if bytes.Equal(bytes.TrimSpace(ev.Data), doneData) {
			// Not the API's own terminator, but one compatible servers
			// add; only a terminal event completes the stream.
			return nil, llm.ReadError(io.ErrUnexpectedEOF)
		}
		// Forwarding the vendor's bytes is the point, but a client must
		// never receive an event its SDK cannot decode.
		if !json.Valid(ev.Data) {
			return nil, upstream.Malformed("the upstream sent a malformed stream event")
		}
		typ := ev.Name
		if typ == "" {
			typ = eventType(ev.Data)
		}
		if err := s.event(typ, ev.Data); err != nil {
			return nil, err
		}
		return ev.Raw, nil
	}
}

// event notes what the gateway records from one event and reports the
// vendor's failure as an error.
func (s *responsesStream) event(typ string, data []byte) error {
	switch typ {
	case "response.completed", "response.incomplete":
		s.terminal(data)
		s.done = true
	case "response.failed":
		// Usage first: a failed response may still have cost tokens.
		errObj := s.terminal(data)
		s.done = true
		return responsesError(errObj, "the upstream response failed")
	case "error":
		s.meter.Finish()
		s.done = true
		return responsesError(data, "")
	case "response.reasoning_summary_part.added":
		s.reasoning.part()
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		stringValues(data, deltaKey, func(v []byte) { s.reasoning.add(string(v)) })
	}
	if strings.HasSuffix(typ, ".delta") && !strings.Contains(typ, "audio") {
		// Generated text (answer, reasoning, tool arguments), for the
		// estimate of a stream that ends before its usage.
		stringValues(data, deltaKey, s.meter.OutputBytes)
	}
	return nil
}

// terminal reads the usage of a terminal event's response object and
// returns its error object, if any.
func (s *responsesStream) terminal(data []byte) (errObj []byte) {
	var p struct {
		Response struct {
			Usage json.RawMessage `json:"usage"`
			Error json.RawMessage `json:"error"`
		} `json:"response"`
	}
	json.Unmarshal(data, &p) // valid JSON; a field of another shape is only missing
	s.meter.Finish()
	if u := p.Response.Usage; len(u) > 0 && u[0] == '{' {
		s.usage = s.a.responsesUsage(u)
		s.meter.SetUsage(s.usage, true)
	}
	return p.Response.Error
}

// responsesError is the *llm.Error of an error event's payload or of a
// failed response's error object: both have code and message.
func responsesError(data []byte, fallback string) *llm.Error {
	var v struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
		Param   *string         `json:"param"`
	}
	json.Unmarshal(data, &v)
	e := &llm.Error{Kind: llm.KindUpstream, Class: "upstream_stream_error", Message: v.Message}
	var code string
	if json.Unmarshal(v.Code, &code) == nil {
		e.Code = code
	}
	if v.Param != nil {
		e.Param = *v.Param
	}
	if e.Message == "" {
		e.Message = fallback
	}
	if e.Message == "" {
		e.Message = "the upstream reported an error in the stream"
	}
	return e
}

// eventType reads the type of an event sent without an event: line.
func eventType(data []byte) string {
	var v struct {
		Type string `json:"type"`
	}
	json.Unmarshal(data, &v)
	return v.Type
}
