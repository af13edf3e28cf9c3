package openaicompat

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// maxReasoning bounds the reasoning text kept for the request log.
const maxReasoning = 256 << 10

var (
	doneData      = []byte("[DONE]")
	doneEvent     = []byte("data: [DONE]\n\n")
	reasoningKey  = []byte(`"reasoning":`)
	reasoningCKey = []byte(`"reasoning_content":`)
	contentStrKey = []byte(`"content":"`)
	usageKey      = []byte(`"usage":`)
	usageNull     = []byte(`"usage":null`)
	errorKey      = []byte(`"error":`)
)

// stream passes an upstream chat completions stream to the client.
type stream struct {
	a         *Adapter
	body      io.ReadCloser
	rd        *sse.Reader
	wantUsage bool // the client asked for the usage chunk
	done      bool
	usage     llm.Usage
	meter     llm.Meter
	reasoning strings.Builder
	think     map[int]*thinkSplitter
	vendor    func(map[string]any) bool
	last      []byte // id/model/created of the last chunk, for a flush chunk
}

func (a *Adapter) newStream(body io.ReadCloser, wantUsage bool) *stream {
	s := &stream{a: a, body: body, rd: sse.NewReader(body), wantUsage: wantUsage}
	if a.q.Chunk != nil && a.q.Chunk.New != nil {
		s.vendor = a.q.Chunk.New()
	}
	return s
}

func (s *stream) Usage() llm.Usage  { return s.usage }
func (s *stream) Meter() *llm.Meter { return &s.meter }
func (s *stream) Reasoning() string { return s.reasoning.String() }
func (s *stream) Close() error      { return s.body.Close() }

// Next implements provider.Stream.
func (s *stream) Next() ([]byte, error) {
	for {
		if s.done {
			return nil, io.EOF
		}
		ev, err := s.rd.Next()
		if err != nil {
			return nil, llm.ReadError(err)
		}
		if ev.Comment {
			// Keep-alives (DeepSeek's ": keep-alive") keep the client's
			// connection alive too; blank lines carry nothing.
			if len(bytes.TrimSpace(ev.Raw)) == 0 {
				continue
			}
			return ev.Raw, nil
		}
		data := ev.Data
		if data == nil {
			continue
		}
		if bytes.Equal(bytes.TrimSpace(data), doneData) {
			s.done = true
			done := ev.Raw
			if !bytes.Equal(data, doneData) {
				done = doneEvent // a padded or multi-line terminator, made plain
			}
			if flush := s.flushThink(); flush != nil {
				s.meterChunk(flush)
				return append(flush, done...), nil
			}
			return done, nil
		}
		out, err := s.chunk(data, ev.Raw)
		if err != nil {
			return nil, err
		}
		if out != nil {
			s.meterChunk(out)
			return out, nil
		}
	}
}

// chunk handles one data payload and returns the bytes to send, or nil to
// send nothing.
func (s *stream) chunk(data, raw []byte) ([]byte, error) {
	if bytes.Contains(data, errorKey) {
		if e := midStreamError(data); e != nil {
			return nil, e
		}
	}
	hasUsage := bytes.Contains(data, usageKey) && !bytes.Contains(data, usageNull)
	if hasUsage {
		var c struct {
			Choices []json.RawMessage `json:"choices"`
			Usage   *openaiwire.Usage `json:"usage"`
		}
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, upstream.Malformed("the upstream sent a malformed stream chunk")
		}
		if c.Usage != nil {
			s.usage = s.a.usage(c.Usage)
			// Usage is final in a chunk of its own (OpenAI) or in the
			// finishing chunk (some hosts); before that it is a running
			// count (vLLM's continuous usage stats).
			s.meter.SetUsage(s.usage, len(c.Choices) == 0 || s.meter.Finished() || hasFinish(data))
			if len(c.Choices) == 0 && !s.wantUsage {
				return nil, nil // the usage chunk the gateway asked for itself
			}
		}
	}
	rewrite := bytes.Contains(data, reasoningKey) ||
		(s.a.thinkTags && bytes.Contains(data, contentStrKey)) ||
		(s.a.q.Chunk != nil && s.a.q.Chunk.Match(data))
	if !rewrite {
		// Forwarding unparsed bytes is the point of the fast path, but a
		// client must never receive a chunk its SDK cannot decode.
		if !hasUsage && !json.Valid(data) {
			return nil, upstream.Malformed("the upstream sent a malformed stream chunk")
		}
		if bytes.Contains(data, reasoningCKey) {
			s.captureReasoning(data)
		}
		return raw, nil // the fast path: forward the vendor's bytes
	}
	var c map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, upstream.Malformed("the upstream sent a malformed stream chunk")
	}
	if s.vendor != nil && !s.vendor(c) {
		return nil, nil
	}
	for _, ch := range choices(c) {
		delta, _ := ch["delta"].(map[string]any)
		if delta == nil {
			continue
		}
		renameReasoning(delta)
		if s.a.thinkTags {
			if text, ok := delta["content"].(string); ok {
				sp := s.splitter(ch["index"])
				r, t := sp.feed(text)
				delta["content"] = t
				if r != "" {
					delta["reasoning_content"] = r
				}
			}
		}
		if r, ok := delta["reasoning_content"].(string); ok {
			s.addReasoning(r)
		}
	}
	if s.a.thinkTags {
		s.last = append(s.last[:0], data...)
	}
	return frame(c), nil
}

func (s *stream) splitter(index any) *thinkSplitter {
	i := 0
	if n, ok := index.(json.Number); ok {
		v, _ := n.Int64()
		i = int(v)
	}
	if s.think == nil {
		s.think = map[int]*thinkSplitter{}
	}
	sp := s.think[i]
	if sp == nil {
		sp = &thinkSplitter{}
		s.think[i] = sp
	}
	return sp
}

// flushThink emits text a think-tag splitter still holds at the end of the
// stream, as one more chunk.
func (s *stream) flushThink() []byte {
	var out []byte
	for i, sp := range s.think {
		r, t := sp.flush()
		if r == "" && t == "" {
			continue
		}
		var c map[string]any
		if json.Unmarshal(s.last, &c) != nil {
			continue
		}
		delta := map[string]any{}
		if r != "" {
			delta["reasoning_content"] = r
			s.addReasoning(r)
		}
		if t != "" {
			delta["content"] = t
		}
		c["choices"] = []any{map[string]any{"index": i, "delta": delta, "finish_reason": nil}}
		delete(c, "usage")
		out = append(out, frame(c)...)
	}
	return out
}

func (s *stream) captureReasoning(data []byte) {
	var c struct {
		Choices []struct {
			Delta struct {
				ReasoningContent string `json:"reasoning_content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal(data, &c) == nil {
		for _, ch := range c.Choices {
			s.addReasoning(ch.Delta.ReasoningContent)
		}
	}
}

func (s *stream) addReasoning(r string) {
	if room := maxReasoning - s.reasoning.Len(); room > 0 {
		s.reasoning.WriteString(r[:min(len(r), room)])
	}
}

// midStreamError recognises an error object sent after the 200.
func midStreamError(data []byte) *llm.Error {
	var c struct {
		Error *struct {
			Message string  `json:"message"`
			Type    *string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &c) != nil || c.Error == nil {
		return nil
	}
	e := &llm.Error{Kind: llm.KindUpstream, Class: "upstream_stream_error", Message: c.Error.Message}
	if e.Message == "" {
		e.Message = "the upstream reported an error in the stream"
	}
	if c.Error.Type != nil {
		e.Type = *c.Error.Type
	}
	return e
}

func choices(c map[string]any) []map[string]any {
	list, _ := c["choices"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, v := range list {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// renameReasoning moves a "reasoning" text field (vLLM's new name, Ollama)
// to "reasoning_content", the name OpenAI-dialect clients read.
func renameReasoning(m map[string]any) {
	if r, ok := m["reasoning"].(string); ok {
		if _, has := m["reasoning_content"]; !has || m["reasoning_content"] == nil {
			m["reasoning_content"] = r
		}
		delete(m, "reasoning")
	}
}

func frame(v any) []byte {
	var b bytes.Buffer
	b.WriteString("data: ")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a decoded value always encodes
	b.Truncate(b.Len() - 1)
	b.WriteString("\n\n")
	return b.Bytes()
}

// normaliseMessage rewrites a whole response the way chunk rewrites chunks
// and reads its usage and reasoning.
func (a *Adapter) normaliseMessage(raw []byte) ([]byte, llm.Usage, string, error) {
	// Only the top level is split (after validating the whole body), and
	// only usage decoded: a full decode of every answer cost a tenth of
	// the gateway's CPU in the load benchmark.
	obj, err := jsonobj.Parse(raw)
	if err != nil {
		return nil, llm.Usage{}, "", upstream.Malformed("the upstream returned an invalid JSON body")
	}
	var u llm.Usage
	if ru := obj.Get("usage"); len(ru) > 0 && ru[0] == '{' {
		var wu openaiwire.Usage
		if json.Unmarshal(ru, &wu) == nil {
			u = a.usage(&wu)
		}
	}
	rewrite := bytes.Contains(raw, reasoningKey) || a.thinkTags || (a.q.Chunk != nil && a.q.Chunk.Match(raw))
	if !rewrite {
		var r strings.Builder
		if bytes.Contains(raw, reasoningCKey) {
			var head struct {
				Choices []struct {
					Message struct {
						ReasoningContent string `json:"reasoning_content"`
					} `json:"message"`
				} `json:"choices"`
			}
			json.Unmarshal(obj.Get("choices"), &head.Choices)
			for _, ch := range head.Choices {
				r.WriteString(ch.Message.ReasoningContent)
			}
		}
		return raw, u, r.String(), nil
	}
	var c map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, u, "", upstream.Malformed("the upstream returned an invalid JSON body")
	}
	if a.q.Chunk != nil && a.q.Chunk.Message != nil {
		a.q.Chunk.Message(c)
	}
	var r strings.Builder
	for _, ch := range choices(c) {
		msg, _ := ch["message"].(map[string]any)
		if msg == nil {
			continue
		}
		renameReasoning(msg)
		if a.thinkTags {
			if text, ok := msg["content"].(string); ok {
				reasoning, content := splitThink(text)
				msg["content"] = content
				if reasoning != "" {
					msg["reasoning_content"] = reasoning
				}
			}
		}
		if s, ok := msg["reasoning_content"].(string); ok {
			r.WriteString(s)
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(c)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), u, r.String(), nil
}
