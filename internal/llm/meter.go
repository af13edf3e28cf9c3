package llm

// maxMetered bounds the generated text a Meter keeps to count its tokens;
// past it only the bytes are counted.
const maxMetered = 1 << 20

// Meter follows a streamed answer on its way to the client, so that a
// stream that ends before the vendor reports its final usage (the client
// left, the vendor cut it, it stalled) can still be charged: with what the
// vendor did report (Anthropic and Gemini give the input count in their
// first event) and an estimate from the text generated so far. Streams
// that know it expose theirs with a Meter() *Meter method.
//
// A Meter is used by one goroutine, the one reading the stream.
type Meter struct {
	usage    Usage
	final    bool
	finished bool
	text     []byte
	bytes    int64
}

// Observe notes a canonical event.
func (m *Meter) Observe(ev Event) {
	switch ev.Type {
	case EventStart:
		if ev.Usage != nil {
			m.usage = *ev.Usage
		}
	case EventPartStart:
		if p := ev.Part; p != nil {
			m.Output(p.Text)
			if p.ToolCall != nil {
				m.Output(p.ToolCall.Name)
				m.Output(p.ToolCall.Arguments)
			}
		}
	case EventDelta:
		m.Output(ev.Text)
		m.Output(ev.Arguments)
	case EventStop:
		m.finished = true
		if ev.Usage != nil {
			m.SetUsage(*ev.Usage, true)
		}
	}
}

// Output notes generated text: answer, reasoning or tool call arguments.
func (m *Meter) Output(s string) {
	m.bytes += int64(len(s))
	if room := maxMetered - len(m.text); room > 0 {
		m.text = append(m.text, s[:min(len(s), room)]...)
	}
}

// OutputBytes is Output for bytes; it does not keep b.
func (m *Meter) OutputBytes(b []byte) {
	m.bytes += int64(len(b))
	if room := maxMetered - len(m.text); room > 0 {
		m.text = append(m.text, b[:min(len(b), room)]...)
	}
}

// Finish notes that the answer's finish event (a stop reason) was seen:
// its content is complete, and the usage may follow.
func (m *Meter) Finish() { m.finished = true }

// SetUsage notes usage the vendor reported; final says it is the final
// count, not a running one. A final usage of zero tokens is no report.
func (m *Meter) SetUsage(u Usage, final bool) {
	if final && u.InputTokens == 0 && u.OutputTokens == 0 {
		return
	}
	m.usage, m.final = u, m.final || final
}

// Finished reports whether the finish event was seen.
func (m *Meter) Finished() bool { return m.finished }

// Final reports whether the vendor's final usage was seen.
func (m *Meter) Final() bool { return m.final }

// Usage is the vendor's usage as last reported: final, running, or only
// the input counts of a first event.
func (m *Meter) Usage() Usage { return m.usage }

// Text returns the generated text (at most its first MiB) and the byte
// count of all of it.
func (m *Meter) Text() (text string, bytes int64) { return string(m.text), m.bytes }
