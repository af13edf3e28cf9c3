package fakeupstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The OpenAI Responses API (POST /v1/responses) streams named events
// ("event: response.output_text.delta" with a data payload of the same
// type) and no "data: [DONE]"; the stream ends with response.completed,
// response.incomplete or response.failed, or with a bare "error" event.
// Its non-streamed reply is the response object that response.completed
// carries. The helpers here derive both from the recorded
// openai-responses-stream-*.sse transcripts, so a test can serve either
// shape of the same answer; the usual faults (Status, CutAfterEvents,
// EventDelay, Malformed, ...) apply to them as to any Response.

// ResponsesTranscript returns the reply that a recorded Responses API
// stream (an "openai-responses-stream-*.sse" transcript) gives to POST
// /v1/responses. With stream set it is the transcript itself, byte for
// byte; otherwise it is the non-streamed reply: the response object of the
// transcript's response.completed event, byte for byte as recorded, as
// application/json.
func ResponsesTranscript(name string, stream bool) (Response, error) {
	r, err := Transcript(name)
	if err != nil || stream {
		return r, err
	}
	final, err := completedResponse(r.Body)
	if err != nil {
		return Response{}, fmt.Errorf("fakeupstream: %s: %w", name, err)
	}
	return Response{ContentType: ctJSON, Body: final}, nil
}

// MustResponsesTranscript is like [ResponsesTranscript] but panics on an
// unknown name or a transcript that is not a completed Responses stream.
func MustResponsesTranscript(name string, stream bool) Response {
	r, err := ResponsesTranscript(name, stream)
	if err != nil {
		panic(err)
	}
	return r
}

// Responses returns a reply function for [Server.Respond] that answers
// like the named Responses transcript, streamed or not as each request's
// "stream" field asks, the way the vendor does. A body that is not a JSON
// object gets OpenAI's 400.
//
//	s.Respond("/responses", fakeupstream.Responses("openai-responses-stream-function-call.sse"))
func Responses(name string) func(Recorded) Response {
	streamed := MustResponsesTranscript(name, true)
	whole := MustResponsesTranscript(name, false)
	return func(req Recorded) Response {
		var body struct {
			Stream bool `json:"stream"`
		}
		if err := json.Unmarshal(req.Body, &body); err != nil {
			return OpenAIError(400, "invalid_request_error", "", "We could not parse the JSON body of your request.")
		}
		if body.Stream {
			return streamed
		}
		return whole
	}
}

// ResponsesStreamError returns the named Responses transcript cut after
// its first events events and ended with the bare "error" event the API
// sends when a stream fails mid-way:
//
//	event: error
//	data: {"type":"error","sequence_number":N,"code":...,"message":...,"param":null}
//
// The connection then closes normally: the error event is the stream's
// last word.
func ResponsesStreamError(name string, events int, code, message string) (Response, error) {
	r, err := Transcript(name)
	if err != nil {
		return Response{}, err
	}
	evs := splitEvents(r.Body)
	events = min(max(events, 0), len(evs))
	payload := marshal(struct {
		Type           string  `json:"type"`
		SequenceNumber int     `json:"sequence_number"`
		Code           string  `json:"code"`
		Message        string  `json:"message"`
		Param          *string `json:"param"`
	}{"error", events, code, message, nil}, "")
	r.Body = appendEvent(bytes.Join(evs[:events], nil), "error", payload)
	return r, nil
}

// ResponsesFailed returns the named Responses transcript cut after its
// first events events and ended with response.failed: the response object
// of its response.created event with status "failed" and error {code,
// message}, as the API ends a response that failed after it began.
func ResponsesFailed(name string, events int, code, message string) (Response, error) {
	r, err := Transcript(name)
	if err != nil {
		return Response{}, err
	}
	evs := splitEvents(r.Body)
	events = min(max(events, 0), len(evs))
	var created map[string]json.RawMessage
	for _, ev := range evs {
		if typ, data := eventData(ev); typ == "response.created" {
			var p struct {
				Response map[string]json.RawMessage `json:"response"`
			}
			if err := json.Unmarshal(data, &p); err != nil {
				return Response{}, fmt.Errorf("fakeupstream: %s: response.created: %w", name, err)
			}
			created = p.Response
			break
		}
	}
	if created == nil {
		return Response{}, fmt.Errorf("fakeupstream: %s has no response.created event", name)
	}
	created["status"] = json.RawMessage(`"failed"`)
	created["error"] = marshal(map[string]string{"code": code, "message": message}, "")
	payload := marshal(map[string]any{
		"type":            "response.failed",
		"sequence_number": events,
		"response":        created,
	}, "")
	r.Body = appendEvent(bytes.Join(evs[:events], nil), "response.failed", payload)
	return r, nil
}

// appendEvent appends one named SSE event to a stream.
func appendEvent(b []byte, name string, data []byte) []byte {
	b = append(b, "event: "+name+"\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// completedResponse returns the response object of the response.completed
// event of a Responses stream, as its bytes appear in the stream.
func completedResponse(stream []byte) ([]byte, error) {
	for _, ev := range splitEvents(stream) {
		typ, data := eventData(ev)
		if typ != "response.completed" {
			continue
		}
		var p struct {
			Response json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("response.completed: %w", err)
		}
		if len(p.Response) == 0 || p.Response[0] != '{' {
			return nil, fmt.Errorf("response.completed carries no response object")
		}
		return p.Response, nil
	}
	return nil, fmt.Errorf("no response.completed event: not a completed Responses stream")
}

// eventData returns an SSE event's type (its "event:" field, or else the
// data's "type") and its data, the data lines joined with "\n".
func eventData(ev []byte) (typ string, data []byte) {
	var lines []string
	for line := range strings.Lines(string(ev)) {
		line = strings.TrimRight(line, "\r\n")
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "data":
			lines = append(lines, value)
		}
	}
	data = []byte(strings.Join(lines, "\n"))
	if typ == "" {
		var p struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &p) == nil {
			typ = p.Type
		}
	}
	return typ, data
}
