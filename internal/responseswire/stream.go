package responseswire

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// maxReasoning bounds the reasoning text a StreamEncoder keeps for the
// request log.
const maxReasoning = 1 << 20

// StreamEncoder encodes a canonical stream as a Responses event stream,
// one event per call to Next (docs/responses.md has the order).
type StreamEncoder struct {
	src llm.Stream
	b   *builder
	err error
}

// NewStreamEncoder returns an encoder reading src.
func NewStreamEncoder(src llm.Stream, m Meta) *StreamEncoder {
	return &StreamEncoder{src: src, b: newBuilder(m, true)}
}

// Next returns the next event, framed as "event: T\ndata: {...}\n\n" with
// T the data's type. It returns io.EOF after the terminal event
// (response.completed or response.incomplete), and the canonical stream's
// error when that fails, for the caller to write with Fail; a canonical
// stream that ends without its stop event fails with class "stream_cut".
func (e *StreamEncoder) Next() ([]byte, error) {
	for len(e.b.queue) == 0 {
		if e.b.done {
			return nil, io.EOF
		}
		if e.err != nil {
			return nil, e.err
		}
		ev, err := e.src.Next()
		switch {
		case err == io.EOF:
			e.err = &llm.Error{Kind: llm.KindUpstream, Class: "stream_cut", Message: "the upstream stream ended before its stop event"}
		case err != nil:
			e.err = err
		default:
			e.b.add(ev)
		}
	}
	f := e.b.queue[0]
	e.b.queue = e.b.queue[1:]
	return f, nil
}

// Fail returns the frames to write when the stream fails after it began:
// an error event, then response.failed with the error and the items so
// far (those left open marked incomplete). Next returns io.EOF after it.
// It returns nil once the stream has ended.
func (e *StreamEncoder) Fail(err *llm.Error) []byte {
	return e.b.fail(err)
}

// Usage is the usage reported so far.
func (e *StreamEncoder) Usage() llm.Usage { return e.b.usage }

// Reasoning is the reasoning text seen so far, up to 1 MiB.
func (e *StreamEncoder) Reasoning() string { return e.b.reasoning.String() }

// Meter follows the events encoded so far, for charging a stream that
// ends early.
func (e *StreamEncoder) Meter() *llm.Meter { return &e.b.meter }

// Close closes the canonical stream.
func (e *StreamEncoder) Close() error { return e.src.Close() }

// Response is the terminal response object, the same JSON as the
// response.completed (or .incomplete, or .failed) event carries; nil
// before the stream ends.
func (e *StreamEncoder) Response() []byte { return e.b.final }

// Final is the canonical answer the stream carried, signatures included;
// nil unless the stream reached its stop event.
func (e *StreamEncoder) Final() *llm.Response {
	if !e.b.acc.Stopped() {
		return nil
	}
	r := e.b.acc.Response
	if r.Parts == nil {
		r.Parts = []llm.Part{}
	}
	return &r
}

// builder turns canonical events into output items and, when frames is
// set, into the stream's events. EncodeResponse runs one without frames,
// so a whole response and its stream are made by the same code.
type builder struct {
	m      Meta
	frames bool
	queue  [][]byte
	seq    int

	obj     responseObject
	started bool
	done    bool
	final   []byte
	items   []item
	msg     int // index of the open message item, or -1

	// the open canonical part
	open     bool
	skip     bool // a part with no output form (an image)
	kind     llm.PartType
	part     int // its canonical index
	cur      int // its item's index
	content  int // its content index in the message item
	text     strings.Builder
	summary  bool // its summary part was opened
	sig      string
	redacted string
	origin   string
	// a function call's state: its item is added at its first delta, once
	// a Gemini signature, which goes in a reasoning item before it, is
	// known.
	call      llm.ToolCall
	added     bool
	sigSent   bool
	hasArgs   bool
	arguments strings.Builder

	usage     llm.Usage
	reasoning strings.Builder
	acc       llm.Accumulator
	meter     llm.Meter
}

func newBuilder(m Meta, frames bool) *builder {
	return &builder{m: m, frames: frames, msg: -1}
}

// run builds from a whole response.
func (b *builder) run(r *llm.Response) {
	s := r.Events()
	for {
		ev, err := s.Next()
		if err != nil {
			break
		}
		b.add(ev)
	}
}

func (b *builder) add(ev llm.Event) {
	if b.done {
		return
	}
	_ = b.acc.Add(ev) // a misordered event is encoded as best it can be
	b.meter.Observe(ev)
	if ev.Type == llm.EventStart {
		if !b.started {
			b.start(ev)
		}
		return
	}
	if !b.started {
		b.start(llm.Event{})
	}
	switch ev.Type {
	case llm.EventPartStart:
		b.stopPart()
		if ev.Part != nil {
			b.startPart(ev.Index, *ev.Part)
		}
	case llm.EventDelta:
		if b.open && ev.Index == b.part {
			b.delta(ev.Text, ev.Arguments, ev.Signature)
		}
	case llm.EventPartStop:
		if b.open && ev.Index == b.part {
			b.stopPart()
		}
	case llm.EventStop:
		b.stop(ev)
	}
}

func (b *builder) start(ev llm.Event) {
	b.started = true
	b.obj = echo(b.m.Req)
	b.obj.ID = responseID(b.m, ev.ID)
	b.obj.CreatedAt = b.m.CreatedAt
	b.obj.Model = b.m.Model
	if b.obj.Model == "" {
		b.obj.Model = ev.Model
	}
	if ev.Usage != nil {
		b.usage = *ev.Usage
	}
	b.obj.Status = "in_progress"
	b.obj.Output = []item{}
	b.emit(responseEvent{Type: "response.created", SequenceNumber: b.seq, Response: b.obj})
	b.emit(responseEvent{Type: "response.in_progress", SequenceNumber: b.seq, Response: b.obj})
}

func (b *builder) startPart(index int, p llm.Part) {
	b.open, b.skip, b.kind, b.part = true, false, p.Type, index
	b.text.Reset()
	b.arguments.Reset()
	b.summary, b.added, b.sigSent, b.hasArgs = false, false, false, false
	b.sig, b.redacted, b.origin = p.Signature, p.Redacted, p.Origin
	switch p.Type {
	case llm.PartText:
		if b.msg < 0 {
			b.msg = len(b.items)
			b.items = append(b.items, item{Type: "message", ID: itemID("msg_", b.obj.ID, b.msg), Status: "in_progress"})
			b.emit(itemEvent{Type: "response.output_item.added", SequenceNumber: b.seq, OutputIndex: b.msg, Item: b.items[b.msg]})
		}
		m := &b.items[b.msg]
		b.cur, b.content = b.msg, len(m.Content)
		m.Content = append(m.Content, newText(""))
		b.emit(contentPartEvent{Type: "response.content_part.added", SequenceNumber: b.seq, ItemID: m.ID, OutputIndex: b.msg, ContentIndex: b.content, Part: newText("")})
	case llm.PartReasoning:
		b.closeMessage("completed")
		b.cur = len(b.items)
		b.items = append(b.items, item{Type: "reasoning", ID: itemID("rs_", b.obj.ID, b.cur)})
		b.emit(itemEvent{Type: "response.output_item.added", SequenceNumber: b.seq, OutputIndex: b.cur, Item: b.items[b.cur]})
	case llm.PartToolCall:
		b.closeMessage("completed")
		if p.ToolCall == nil {
			b.skip = true
			return
		}
		b.call = *p.ToolCall
		b.sig, b.origin = b.call.Signature, b.call.Origin
		if b.call.Arguments != "" {
			b.delta("", b.call.Arguments, "")
		}
		return
	default:
		// Images and tool results do not occur in answers.
		b.skip = true
		return
	}
	if p.Text != "" {
		b.delta(p.Text, "", "")
	}
}

func (b *builder) delta(text, args, sig string) {
	if b.skip {
		return
	}
	switch b.kind {
	case llm.PartText:
		b.sig += sig
		if text == "" {
			return
		}
		b.text.WriteString(text)
		b.emit(textDeltaEvent{Type: "response.output_text.delta", SequenceNumber: b.seq, ItemID: b.items[b.cur].ID, OutputIndex: b.cur, ContentIndex: b.content, Delta: text, Logprobs: []struct{}{}})
	case llm.PartReasoning:
		b.sig += sig
		if text == "" {
			return
		}
		if room := maxReasoning - b.reasoning.Len(); room > 0 {
			b.reasoning.WriteString(text[:min(len(text), room)])
		}
		id := b.items[b.cur].ID
		if !b.summary {
			b.summary = true
			b.emit(summaryPartEvent{Type: "response.reasoning_summary_part.added", SequenceNumber: b.seq, ItemID: id, OutputIndex: b.cur, Part: summaryText{Type: "summary_text"}})
		}
		b.text.WriteString(text)
		b.emit(summaryDeltaEvent{Type: "response.reasoning_summary_text.delta", SequenceNumber: b.seq, ItemID: id, OutputIndex: b.cur, Delta: text})
	case llm.PartToolCall:
		b.sig += sig
		if !b.added {
			b.addCall()
		}
		if args == "" {
			return
		}
		b.hasArgs = true
		b.arguments.WriteString(args)
		b.emit(argsDeltaEvent{Type: "response.function_call_arguments.delta", SequenceNumber: b.seq, ItemID: b.items[b.cur].ID, OutputIndex: b.cur, Delta: args})
	}
}

// addCall adds the open function call's item, after the reasoning item
// that carries its signature, if it has one by now.
func (b *builder) addCall() {
	b.added = true
	if b.sig != "" {
		b.sigItem(envelope{Origin: b.origin, Signature: b.sig, CallID: b.callID()})
		b.sigSent = true
	}
	b.cur = len(b.items)
	b.items = append(b.items, item{Type: "function_call", ID: itemID("fc_", b.obj.ID, b.cur), Status: "in_progress", CallID: b.callID(), Name: b.call.Name})
	b.emit(itemEvent{Type: "response.output_item.added", SequenceNumber: b.seq, OutputIndex: b.cur, Item: b.items[b.cur]})
}

// callID is the open call's id; a call without one (some vendors make
// none) is named after its place, since the client must answer it by id.
func (b *builder) callID() string {
	if b.call.ID == "" {
		b.call.ID = itemID("call_", b.obj.ID, len(b.items))
	}
	return b.call.ID
}

// sigItem adds a reasoning item that carries only opaque state.
func (b *builder) sigItem(env envelope) {
	i := len(b.items)
	b.items = append(b.items, item{Type: "reasoning", ID: itemID("rs_", b.obj.ID, i), Encrypted: env.seal()})
	b.emit(itemEvent{Type: "response.output_item.added", SequenceNumber: b.seq, OutputIndex: i, Item: b.items[i]})
	b.emit(itemEvent{Type: "response.output_item.done", SequenceNumber: b.seq, OutputIndex: i, Item: b.items[i]})
}

// encrypted is the encrypted_content for the open reasoning part's state:
// OpenAI's own blob as it came, any other vendor's in the envelope.
func (b *builder) encrypted() string {
	switch {
	case b.sig == "" && b.redacted == "":
		return ""
	case b.origin == OriginOpenAI && b.redacted == "":
		return b.sig
	}
	return envelope{Origin: b.origin, Signature: b.sig, Redacted: b.redacted}.seal()
}

func (b *builder) stopPart() {
	if !b.open {
		return
	}
	b.open = false
	if b.skip {
		return
	}
	switch b.kind {
	case llm.PartText:
		m := &b.items[b.cur]
		t := b.text.String()
		m.Content[b.content].Text = t
		b.emit(textDoneEvent{Type: "response.output_text.done", SequenceNumber: b.seq, ItemID: m.ID, OutputIndex: b.cur, ContentIndex: b.content, Text: t, Logprobs: []struct{}{}})
		b.emit(contentPartEvent{Type: "response.content_part.done", SequenceNumber: b.seq, ItemID: m.ID, OutputIndex: b.cur, ContentIndex: b.content, Part: m.Content[b.content]})
		if b.sig != "" {
			// A signed text part (Gemini) ends its message; the signature
			// follows in a reasoning item that names it as the text's.
			b.closeMessage("completed")
			b.sigItem(envelope{Origin: b.origin, Signature: b.sig, Text: true})
		}
	case llm.PartReasoning:
		it := &b.items[b.cur]
		if b.summary {
			t := b.text.String()
			it.Summary = []summaryText{{Type: "summary_text", Text: t}}
			b.emit(summaryDoneEvent{Type: "response.reasoning_summary_text.done", SequenceNumber: b.seq, ItemID: it.ID, OutputIndex: b.cur, Text: t})
			b.emit(summaryPartEvent{Type: "response.reasoning_summary_part.done", SequenceNumber: b.seq, ItemID: it.ID, OutputIndex: b.cur, Part: it.Summary[0]})
		}
		it.Encrypted = b.encrypted()
		b.emit(itemEvent{Type: "response.output_item.done", SequenceNumber: b.seq, OutputIndex: b.cur, Item: *it})
	case llm.PartToolCall:
		if !b.added {
			b.addCall()
		}
		if !b.hasArgs {
			// A call without arguments still has an object, and clients that
			// add up the deltas should find it too.
			b.delta("", "{}", "")
		}
		it := &b.items[b.cur]
		it.Arguments, it.Status = b.arguments.String(), "completed"
		b.emit(argsDoneEvent{Type: "response.function_call_arguments.done", SequenceNumber: b.seq, ItemID: it.ID, OutputIndex: b.cur, Arguments: it.Arguments})
		b.emit(itemEvent{Type: "response.output_item.done", SequenceNumber: b.seq, OutputIndex: b.cur, Item: *it})
		if b.sig != "" && !b.sigSent {
			// The signature came after the arguments had begun: it follows
			// the call, which it names by call_id all the same.
			b.sigItem(envelope{Origin: b.origin, Signature: b.sig, CallID: b.call.ID})
		}
	}
}

func (b *builder) closeMessage(status string) {
	if b.msg < 0 {
		return
	}
	m := &b.items[b.msg]
	m.Status = status
	b.emit(itemEvent{Type: "response.output_item.done", SequenceNumber: b.seq, OutputIndex: b.msg, Item: *m})
	b.msg = -1
}

func (b *builder) stop(ev llm.Event) {
	b.stopPart()
	if ev.Usage != nil {
		b.usage = *ev.Usage
	}
	st, details := status(ev.StopReason)
	// A message still open at the stop is the one a limit cut short.
	if st == "incomplete" {
		b.closeMessage("incomplete")
	}
	b.closeMessage("completed")
	o := b.obj
	o.Status, o.IncompleteDetails, o.Output, o.Usage = st, details, b.items, usageOf(b.usage)
	b.end(responseEvent{Type: "response." + st, SequenceNumber: b.seq, Response: o})
}

// end writes the terminal event, whose response is the final object.
func (b *builder) end(ev responseEvent) {
	if b.items == nil {
		ev.Response.Output = []item{}
	}
	b.final, _ = json.Marshal(ev.Response)
	b.emit(ev)
	b.done = true
}

func (b *builder) fail(e *llm.Error) []byte {
	if b.done {
		return nil
	}
	if !b.started {
		b.start(llm.Event{})
	}
	// What was open stays as far as it got, marked incomplete.
	if b.open && !b.skip {
		switch {
		case b.kind == llm.PartText:
			b.items[b.cur].Content[b.content].Text = b.text.String()
		case b.kind == llm.PartReasoning && b.summary:
			b.items[b.cur].Summary = []summaryText{{Type: "summary_text", Text: b.text.String()}}
		case b.kind == llm.PartToolCall && b.added:
			b.items[b.cur].Arguments, b.items[b.cur].Status = b.arguments.String(), "incomplete"
		}
		b.open = false
	}
	if b.msg >= 0 {
		b.items[b.msg].Status = "incomplete"
		b.msg = -1
	}
	var param *string
	if e.Param != "" {
		param = &e.Param
	}
	code := e.Code
	if code == "" {
		code = failureCode(e)
	}
	b.emit(errorEvent{Type: "error", SequenceNumber: b.seq, Code: code, Message: e.Message, Param: param})
	o := b.obj
	o.Status, o.Output, o.Error = "failed", b.items, &responseError{Code: failureCode(e), Message: e.Message}
	o.Usage = usageOf(b.usage)
	b.end(responseEvent{Type: "response.failed", SequenceNumber: b.seq, Response: o})
	var out []byte
	for _, f := range b.queue {
		out = append(out, f...)
	}
	b.queue = nil
	return out
}

// emit queues an event whose SequenceNumber is b.seq, and counts it.
func (b *builder) emit(ev interface{ name() string }) {
	b.seq++
	if !b.frames {
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		// Only fixed types with string, number and raw JSON fields that
		// came from decoded JSON are encoded.
		panic("responseswire: " + err.Error())
	}
	name := ev.name()
	f := make([]byte, 0, len(name)+len(data)+16)
	f = append(f, "event: "...)
	f = append(f, name...)
	f = append(f, "\ndata: "...)
	f = append(f, data...)
	b.queue = append(b.queue, append(f, "\n\n"...))
}

type responseEvent struct {
	Type           string         `json:"type"`
	SequenceNumber int            `json:"sequence_number"`
	Response       responseObject `json:"response"`
}

type itemEvent struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
	OutputIndex    int    `json:"output_index"`
	Item           item   `json:"item"`
}

type contentPartEvent struct {
	Type           string  `json:"type"`
	SequenceNumber int     `json:"sequence_number"`
	ItemID         string  `json:"item_id"`
	OutputIndex    int     `json:"output_index"`
	ContentIndex   int     `json:"content_index"`
	Part           outText `json:"part"`
}

type textDeltaEvent struct {
	Type           string     `json:"type"`
	SequenceNumber int        `json:"sequence_number"`
	ItemID         string     `json:"item_id"`
	OutputIndex    int        `json:"output_index"`
	ContentIndex   int        `json:"content_index"`
	Delta          string     `json:"delta"`
	Logprobs       []struct{} `json:"logprobs"`
}

type textDoneEvent struct {
	Type           string     `json:"type"`
	SequenceNumber int        `json:"sequence_number"`
	ItemID         string     `json:"item_id"`
	OutputIndex    int        `json:"output_index"`
	ContentIndex   int        `json:"content_index"`
	Text           string     `json:"text"`
	Logprobs       []struct{} `json:"logprobs"`
}

type argsDeltaEvent struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
	ItemID         string `json:"item_id"`
	OutputIndex    int    `json:"output_index"`
	Delta          string `json:"delta"`
}

type argsDoneEvent struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
	ItemID         string `json:"item_id"`
	OutputIndex    int    `json:"output_index"`
	Arguments      string `json:"arguments"`
}

// Only one summary part is written per reasoning item, so summary_index
// is always 0.
type summaryPartEvent struct {
	Type           string      `json:"type"`
	SequenceNumber int         `json:"sequence_number"`
	ItemID         string      `json:"item_id"`
	OutputIndex    int         `json:"output_index"`
	SummaryIndex   int         `json:"summary_index"`
	Part           summaryText `json:"part"`
}

type summaryDeltaEvent struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
	ItemID         string `json:"item_id"`
	OutputIndex    int    `json:"output_index"`
	SummaryIndex   int    `json:"summary_index"`
	Delta          string `json:"delta"`
}

type summaryDoneEvent struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
	ItemID         string `json:"item_id"`
	OutputIndex    int    `json:"output_index"`
	SummaryIndex   int    `json:"summary_index"`
	Text           string `json:"text"`
}

type errorEvent struct {
	Type           string  `json:"type"`
	SequenceNumber int     `json:"sequence_number"`
	Code           string  `json:"code"`
	Message        string  `json:"message"`
	Param          *string `json:"param"`
}

func (e responseEvent) name() string     { return e.Type }
func (e itemEvent) name() string         { return e.Type }
func (e contentPartEvent) name() string  { return e.Type }
func (e textDeltaEvent) name() string    { return e.Type }
func (e textDoneEvent) name() string     { return e.Type }
func (e argsDeltaEvent) name() string    { return e.Type }
func (e argsDoneEvent) name() string     { return e.Type }
func (e summaryPartEvent) name() string  { return e.Type }
func (e summaryDeltaEvent) name() string { return e.Type }
func (e summaryDoneEvent) name() string  { return e.Type }
func (e errorEvent) name() string        { return e.Type }
