// Package sse reads Server-Sent Events streams as the WHATWG spec frames them,
// keeping each event's exact bytes so a proxy can forward what it does not
// need to change without re-encoding it.
//
// It is hand-rolled rather than taken from a library because the gateway
// needs both views of an event at once — the parsed fields and the raw bytes —
// and because every vendor frames streams slightly differently (Gemini uses
// CRLF, DeepSeek sends comment keep-alives, Anthropic pads its JSON).
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxEventSize bounds one event, so that a misbehaving upstream cannot make
// the gateway buffer without limit.
const MaxEventSize = 8 << 20

// ErrEventTooLarge is returned when an event exceeds MaxEventSize.
var ErrEventTooLarge = errors.New("sse: event exceeds maximum size")

// Event is one dispatched event.
type Event struct {
	// Name is the value of the last "event:" field, or "".
	Name string
	// Data is the "data:" lines joined with "\n".
	Data []byte
	// Comment reports that the event had no fields, only comment lines
	// (such as DeepSeek's ": keep-alive").
	Comment bool
	// Raw is the event exactly as read, including its terminating blank line.
	Raw []byte
}

// Reader reads events from a stream. Slices in a returned Event are valid
// only until the next call to Next.
type Reader struct {
	br      *bufio.Reader
	raw     []byte
	data    []byte
	name    []byte
	hasData bool
}

// NewReader returns a Reader reading from r.
//
// The buffer is small because a gateway holds one per open stream (2,000
// streams × 16 KiB was an eighth of the process's memory in the load
// benchmark); longer lines are still read whole, a buffer at a time.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 4<<10)}
}

// Next returns the next event. It returns io.EOF when the stream ends cleanly
// between events, and io.ErrUnexpectedEOF when it ends inside an event (a
// stream cut in the middle). Events without data lines or names (comments,
// stray blank lines) are returned with Comment set, so a proxy can forward
// keep-alives.
func (r *Reader) Next() (Event, error) {
	r.raw = r.raw[:0]
	r.data = r.data[:0]
	r.name = r.name[:0]
	r.hasData = false
	fields := false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && len(r.raw) > 0 {
				if !fields {
					// Trailing comments without a blank line: nothing lost.
					return Event{Comment: true, Raw: r.raw}, nil
				}
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if !fields {
				return Event{Comment: true, Raw: r.raw}, nil
			}
			ev := Event{Name: string(r.name), Raw: r.raw}
			if r.hasData {
				ev.Data = r.data
				if ev.Data == nil {
					ev.Data = []byte{}
				}
			}
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if r.hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			r.hasData = true
			fields = true
		case "event":
			r.name = append(r.name[:0], value...)
			fields = true
		case "id", "retry":
			fields = true
		default:
			// Unknown fields are ignored, per the spec.
			fields = true
		}
	}
}

// readLine returns the next line without its terminator (LF, CRLF or CR) and
// appends the line with its terminator to r.raw.
func (r *Reader) readLine() ([]byte, error) {
	start := len(r.raw)
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && len(r.raw) > start {
				// A final line with no terminator.
				return r.raw[start:], nil
			}
			return nil, err
		}
		switch b {
		case '\n':
			r.raw = append(r.raw, b)
			return r.raw[start : len(r.raw)-1], nil
		case '\r':
			r.raw = append(r.raw, b)
			end := len(r.raw) - 1
			// Take the LF of a CRLF with its CR, so that Raw holds whole
			// events. This peek waits for one more byte only on streams
			// framed with a lone CR, which no vendor sends.
			if next, err := r.br.Peek(1); err == nil && next[0] == '\n' {
				r.br.Discard(1)
				r.raw = append(r.raw, '\n')
			}
			return r.raw[start:end], nil
		}
		r.raw = append(r.raw, b)
		if len(r.raw) > MaxEventSize {
			return nil, ErrEventTooLarge
		}
		// Copy the rest of the line in bulk when the buffer holds it.
		if buf, _ := r.br.Peek(r.br.Buffered()); len(buf) > 0 {
			if i := bytes.IndexAny(buf, "\r\n"); i > 0 {
				r.raw = append(r.raw, buf[:i]...)
				r.br.Discard(i)
			} else if i < 0 {
				r.raw = append(r.raw, buf...)
				r.br.Discard(len(buf))
			}
		}
	}
}
