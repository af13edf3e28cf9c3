package gemini

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// A GenerateContentResponse, as much of it as the gateway reads. In a
// stream every chunk is one, holding only the parts new since the last.
type (
	wireResponse struct {
		Candidates     []candidate     `json:"candidates"`
		UsageMetadata  *usageMetadata  `json:"usageMetadata"`
		ModelVersion   string          `json:"modelVersion"`
		ResponseID     string          `json:"responseId"`
		PromptFeedback *promptFeedback `json:"promptFeedback"`
		Error          *apiError       `json:"error"`
	}
	candidate struct {
		Content struct {
			Parts []wirePart `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
	}
	wirePart struct {
		Text             *string   `json:"text"`
		Thought          bool      `json:"thought"`
		ThoughtSignature string    `json:"thoughtSignature"`
		FunctionCall     *wireCall `json:"functionCall"`
	}
	wireCall struct {
		ID           string          `json:"id"`
		Name         string          `json:"name"`
		Args         json.RawMessage `json:"args"`
		PartialArgs  []partialArg    `json:"partialArgs"`
		WillContinue bool            `json:"willContinue"`
	}
	// partialArg is one fragment of a call's arguments as Vertex streams
	// them: a value for the member at JSONPath, strings possibly in
	// several fragments.
	partialArg struct {
		JSONPath     string          `json:"jsonPath"`
		StringValue  *string         `json:"stringValue"`
		NumberValue  json.RawMessage `json:"numberValue"`
		BoolValue    *bool           `json:"boolValue"`
		NullValue    json.RawMessage `json:"nullValue"`
		WillContinue bool            `json:"willContinue"`
	}
	usageMetadata struct {
		PromptTokenCount        int64 `json:"promptTokenCount"`
		CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
		ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
		CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
		ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount"`
	}
	promptFeedback struct {
		BlockReason string `json:"blockReason"`
	}
)

// canonical converts Gemini's counters (docs/protocols.md#gemini-usage): the
// prompt count
// already includes cached tokens, and candidatesTokenCount excludes the
// thoughts, which canonical output includes.
func (u *usageMetadata) canonical() llm.Usage {
	return llm.Usage{
		InputTokens:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CachedInputTokens: u.CachedContentTokenCount,
		OutputTokens:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		ReasoningTokens:   u.ThoughtsTokenCount,
	}
}

// stopReason maps a finishReason (docs/protocols.md#gemini-finish-reasons).
// Gemini says STOP for tool calls too, and on Gemini 3 in a later chunk
// than the call, so the decoder remembers whether any call came
// (docs/protocols.md#trap-gemini-stop).
func stopReason(finish string, sawCall bool) llm.StopReason {
	switch finish {
	case "STOP":
		if sawCall {
			return llm.StopToolUse
		}
		return llm.StopEndTurn
	case "MAX_TOKENS":
		return llm.StopMaxTokens
	case "SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return llm.StopContentFilter
	}
	// MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
	// OTHER, FINISH_REASON_UNSPECIFIED and reasons added later.
	return llm.StopError
}

// maxPartialArgs bounds the argument bytes assembled for one streamed call.
const maxPartialArgs = 8 << 20

// decoder turns Gemini responses into canonical events. Text and thought
// chunks extend the open part; each function call becomes a whole
// tool_call part (PartStart, one Delta with the arguments, PartStop), so
// that encoders never see a call without its arguments
// (docs/protocols.md#trap-tool-arguments).
type decoder struct {
	events []llm.Event // produced, not yet returned

	started    bool
	id         string
	next       int          // index of the next part
	open       llm.PartType // type of the open part, or ""
	openSigned bool         // the open part has its signature
	calls      int          // tool calls so far, for generated ids
	sawCall    bool
	finish     string
	blocked    string
	usage      llm.Usage
	pending    *pendingCall // a call Vertex is still streaming
	randID     string
}

// feed decodes one response or stream chunk.
func (d *decoder) feed(data []byte) error {
	var c wireResponse
	if err := json.Unmarshal(data, &c); err != nil {
		return upstream.Malformed("the upstream sent a malformed response chunk")
	}
	if c.Error != nil {
		e := classify("gemini", c.Error.Code, c.Error)
		e.Class = "upstream_stream_error"
		if e.Message == "" {
			e.Message = "the upstream reported an error in the stream"
		}
		return e
	}
	if c.UsageMetadata != nil {
		// Cumulative: the last one wins (docs/protocols.md#trap-stream-usage).
		d.usage = c.UsageMetadata.canonical()
	}
	if !d.started {
		d.started = true
		d.id = c.ResponseID
		start := llm.Event{Type: llm.EventStart, ID: c.ResponseID, Model: c.ModelVersion}
		if c.UsageMetadata != nil {
			// The input counts as first reported, for dialects that
			// announce them up front; the Stop event has the final ones.
			start.Usage = &llm.Usage{InputTokens: d.usage.InputTokens, CachedInputTokens: d.usage.CachedInputTokens}
		}
		d.emit(start)
	}
	if c.PromptFeedback != nil && c.PromptFeedback.BlockReason != "" {
		d.blocked = c.PromptFeedback.BlockReason
	}
	if len(c.Candidates) == 0 {
		return nil
	}
	cand := &c.Candidates[0]
	for i := range cand.Content.Parts {
		if err := d.part(&cand.Content.Parts[i]); err != nil {
			return err
		}
	}
	if cand.FinishReason != "" {
		d.finish = cand.FinishReason
	}
	return nil
}

func (d *decoder) part(p *wirePart) error {
	if p.FunctionCall != nil {
		return d.call(p.FunctionCall, p.ThoughtSignature)
	}
	if p.Text == nil && p.ThoughtSignature == "" {
		return nil // a part kind the canonical model has no place for
	}
	d.flushPending()
	text := ""
	if p.Text != nil {
		text = *p.Text
	}
	sig := p.ThoughtSignature
	if text == "" {
		if sig == "" {
			return nil // Gemini 3's empty closing part
		}
		// A signature on an empty part signs what came before it; with
		// nothing unsigned open it is a signature-only reasoning part,
		// kept so that it can be replayed (docs/protocols.md#trap-signatures).
		if d.open == "" || d.openSigned {
			d.startPart(llm.PartReasoning)
		}
		d.emit(llm.Event{Type: llm.EventDelta, Index: d.next - 1, Signature: sig})
		d.openSigned = true
		return nil
	}
	typ := llm.PartText
	if p.Thought {
		typ = llm.PartReasoning
	}
	if d.open != typ || (sig != "" && d.openSigned) {
		d.startPart(typ)
	}
	d.emit(llm.Event{Type: llm.EventDelta, Index: d.next - 1, Text: text, Signature: sig})
	if sig != "" {
		d.openSigned = true
	}
	return nil
}

func (d *decoder) startPart(typ llm.PartType) {
	d.closePart()
	d.emit(llm.Event{Type: llm.EventPartStart, Index: d.next, Part: &llm.Part{Type: typ, Origin: Type}})
	d.next++
	d.open, d.openSigned = typ, false
}

func (d *decoder) closePart() {
	if d.open != "" {
		d.emit(llm.Event{Type: llm.EventPartStop, Index: d.next - 1})
		d.open, d.openSigned = "", false
	}
}

// call handles a functionCall part: whole, as the Developer API sends
// them, or one piece of a call Vertex streams as
// {name, willContinue}, {partialArgs, willContinue}…, {}.
func (d *decoder) call(fc *wireCall, sig string) error {
	d.closePart()
	if pc := d.pending; pc != nil {
		if fc.Name == "" {
			if pc.sig == "" {
				pc.sig = sig
			}
			if err := pc.apply(fc.PartialArgs); err != nil {
				return err
			}
			if !fc.WillContinue {
				d.flushPending()
			}
			return nil
		}
		// A new call: the streamed one ended without its terminator.
		d.flushPending()
	}
	if fc.Name == "" {
		return nil // a stray piece of a call that never started
	}
	if fc.WillContinue || len(fc.PartialArgs) > 0 {
		pc := &pendingCall{id: fc.ID, name: fc.Name, sig: sig, args: fc.Args}
		if err := pc.apply(fc.PartialArgs); err != nil {
			return err
		}
		d.pending = pc
		if !fc.WillContinue {
			d.flushPending()
		}
		return nil
	}
	d.emitCall(fc.ID, fc.Name, objectText(fc.Args), sig)
	return nil
}

func (d *decoder) flushPending() {
	pc := d.pending
	if pc == nil {
		return
	}
	d.pending = nil
	args := objectText(pc.args)
	if pc.tree != nil {
		args = pc.tree.json()
	}
	d.emitCall(pc.id, pc.name, args, pc.sig)
}

func (d *decoder) emitCall(id, name, args, sig string) {
	if id == "" {
		id = d.newID()
	}
	d.calls++
	d.sawCall = true
	i := d.next
	d.next++
	d.emit(llm.Event{Type: llm.EventPartStart, Index: i, Part: &llm.Part{
		Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: id, Name: name, Origin: Type},
	}})
	d.emit(llm.Event{Type: llm.EventDelta, Index: i, Arguments: args, Signature: sig})
	d.emit(llm.Event{Type: llm.EventPartStop, Index: i})
}

// newID makes a call id from the response id (unique per response, so the
// ids stay unique across a conversation) and the call's position.
func (d *decoder) newID() string {
	base := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return -1
	}, d.id)
	if base == "" {
		if d.randID == "" {
			var b [8]byte
			rand.Read(b[:])
			d.randID = hex.EncodeToString(b[:])
		}
		base = d.randID
	}
	return "call_" + base + "_" + strconv.Itoa(d.calls)
}

// end finishes the response when the body ended. A response without a
// finish reason was cut short.
func (d *decoder) end() error {
	if d.finish == "" && d.blocked == "" {
		return &llm.Error{Kind: llm.KindUpstream, Class: "stream_cut", Message: "the upstream response ended before its finish reason"}
	}
	d.flushPending()
	d.closePart()
	reason := llm.StopContentFilter // a blocked prompt has no candidates
	if d.finish != "" {
		reason = stopReason(d.finish, d.sawCall)
	}
	u := d.usage
	d.emit(llm.Event{Type: llm.EventStop, StopReason: reason, Usage: &u})
	return nil
}

func (d *decoder) emit(ev llm.Event) { d.events = append(d.events, ev) }

// objectText returns a call's args as compact JSON object text, "{}" when
// absent.
func objectText(raw json.RawMessage) string {
	if !isObject(raw) {
		return "{}"
	}
	return string(compact(raw))
}

// DecodeResponse decodes a whole generateContent response.
func DecodeResponse(raw []byte) (*llm.Response, error) {
	var d decoder
	if err := d.feed(raw); err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, upstream.Malformed("the upstream response has no finish reason")
	}
	var acc llm.Accumulator
	for _, ev := range d.events {
		if err := acc.Add(ev); err != nil {
			return nil, upstream.Malformed("the upstream response could not be decoded")
		}
	}
	return &acc.Response, nil
}

// NewStream decodes a streamGenerateContent?alt=sse body: data-only events
// (framed with CRLF by Google) and no terminator, so the stream ends with
// the body and is complete only if a finish reason came. Closing the
// stream closes body.
func NewStream(body io.ReadCloser) llm.Stream { return newStream(body) }

func newStream(body io.ReadCloser) *stream {
	return &stream{body: body, rd: sse.NewReader(body)}
}

type stream struct {
	body io.ReadCloser
	rd   *sse.Reader
	d    decoder
	err  error // returned once the queued events are out; io.EOF when done
}

func (s *stream) Close() error { return s.body.Close() }

// Next implements llm.Stream.
func (s *stream) Next() (llm.Event, error) {
	for {
		if len(s.d.events) > 0 {
			ev := s.d.events[0]
			s.d.events[0] = llm.Event{}
			s.d.events = s.d.events[1:]
			return ev, nil
		}
		if s.err != nil {
			return llm.Event{}, s.err
		}
		ev, err := s.rd.Next()
		if err != nil {
			// A connection that drops after the finish chunk lost nothing.
			if err == io.EOF || s.d.finish != "" {
				s.err = io.EOF
				if err := s.d.end(); err != nil {
					s.err = err
				}
			} else {
				s.err = llm.ReadError(err)
			}
			continue
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 || string(data) == "[DONE]" {
			continue // comments, keep-alives, a proxy's terminator
		}
		if err := s.d.feed(data); err != nil {
			s.err = err
		}
	}
}
