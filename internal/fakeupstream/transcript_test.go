package fakeupstream

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestTranscriptTableComplete(t *testing.T) {
	entries, err := fs.ReadDir(transcriptFS, "transcripts")
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]bool)
	for _, e := range entries {
		if e.Name() == "SOURCES.md" {
			continue
		}
		files[e.Name()] = true
		if _, ok := transcriptTable[e.Name()]; !ok {
			t.Errorf("embedded transcript %s has no entry in transcriptTable", e.Name())
		}
	}
	for name := range transcriptTable {
		if !files[name] {
			t.Errorf("transcriptTable entry %s has no embedded file", name)
		}
	}
	if len(TranscriptNames()) != len(transcriptTable) {
		t.Errorf("TranscriptNames: %d names, table has %d", len(TranscriptNames()), len(transcriptTable))
	}
}

// TestTranscriptTableMatchesSources checks the Go table against the files
// table of SOURCES.md: sizes, and status and content type where it gives
// them.
func TestTranscriptTableMatchesSources(t *testing.T) {
	src, err := transcriptFS.ReadFile("transcripts/SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	filesTable, _, _ := strings.Cut(string(src), "## Provenance")
	rows := 0
	for line := range strings.Lines(filesTable) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		rows++
		cols := strings.Split(line, " | ")
		name := strings.Trim(cols[0], "| `")
		size, _ := strconv.Atoi(cols[1])
		info, ok := transcriptTable[name]
		if !ok {
			t.Errorf("SOURCES.md lists %s, transcriptTable does not", name)
			continue
		}
		body, err := transcriptFS.ReadFile("transcripts/" + name)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(body) != size {
			t.Errorf("%s: %d bytes, SOURCES.md says %d", name, len(body), size)
		}
		status, contentType, _ := strings.Cut(cols[2], " · ")
		if code, err := strconv.Atoi(strings.Fields(status)[0]); err == nil && code != info.status {
			t.Errorf("%s: status %d, SOURCES.md says %d", name, info.status, code)
		}
		if strings.Contains(contentType, "/") && contentType != info.contentType {
			t.Errorf("%s: content type %q, SOURCES.md says %q", name, info.contentType, contentType)
		}
	}
	if rows != len(transcriptTable) {
		t.Errorf("SOURCES.md lists %d files, transcriptTable has %d", rows, len(transcriptTable))
	}
}

// wantTranscriptBody frames a transcript independently of frameJSONL.
func wantTranscriptBody(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := transcriptFS.ReadFile("transcripts/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(name, ".chunks.jsonl") {
		return raw
	}
	var b bytes.Buffer
	for _, line := range strings.Split(string(raw), "\n") {
		if line != "" {
			b.WriteString("data: " + line + "\n\n")
		}
	}
	for _, vendor := range []string{"deepseek-", "xai-", "mistral-"} {
		if strings.HasPrefix(name, vendor) {
			b.WriteString("data: [DONE]\n\n")
		}
	}
	return b.Bytes()
}

func TestTranscriptReplay(t *testing.T) {
	s := newTestServer(t)
	for _, name := range TranscriptNames() {
		t.Run(name, func(t *testing.T) {
			want := wantTranscriptBody(t, name)
			info := transcriptTable[name]
			s.Handle("/"+name, MustTranscript(name))

			resp, err := s.Client().Post(s.URL()+"/v1/"+name, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != info.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, info.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != info.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, info.contentType)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("body differs from the transcript: got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

func TestTranscriptHeaders(t *testing.T) {
	r := MustTranscript("anthropic-error-401-authentication.json")
	if got := r.Header.Get("X-Should-Retry"); got != "false" {
		t.Errorf("x-should-retry = %q, want false", got)
	}
	// Each call returns its own header map.
	r.Header.Set("X-Should-Retry", "true")
	if got := MustTranscript("anthropic-error-401-authentication.json").Header.Get("X-Should-Retry"); got != "false" {
		t.Errorf("header shared between calls: x-should-retry = %q", got)
	}
}

func TestTranscriptUnknown(t *testing.T) {
	if _, err := Transcript("no-such-file.sse"); err == nil {
		t.Error("Transcript of an unknown name: no error")
	}
	if _, err := Transcript("SOURCES.md"); err == nil {
		t.Error("Transcript(SOURCES.md): no error")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustTranscript of an unknown name did not panic")
		}
	}()
	MustTranscript("no-such-file.sse")
}

func TestJSONLFraming(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines int
		done  bool
	}{
		{"vertex-gemini-stream-partial-args.chunks.jsonl", 15, false},
		{"deepseek-reasoner-stream-tool-call.chunks.jsonl", 52, true},
		{"mistral-stream-tool-call.chunks.jsonl", 2, true},
		{"xai-chat-stream-tool-call.chunks.jsonl", 230, true},
	} {
		body := MustTranscript(tt.name).Body
		events := splitEvents(body)
		want := tt.lines
		if tt.done {
			want++
		}
		if len(events) != want {
			t.Errorf("%s: %d events, want %d", tt.name, len(events), want)
		}
		for _, ev := range events {
			if !bytes.HasPrefix(ev, []byte("data: ")) || !bytes.HasSuffix(ev, []byte("\n\n")) || bytes.Count(ev, []byte("\n")) != 2 {
				t.Errorf("%s: badly framed event %.60q", tt.name, ev)
			}
		}
		if got := bytes.HasSuffix(body, []byte("data: [DONE]\n\n")); got != tt.done {
			t.Errorf("%s: ends with [DONE] = %v, want %v", tt.name, got, tt.done)
		}
	}
}

func TestGeminiCRLFPreserved(t *testing.T) {
	s := newTestServer(t)
	for _, name := range []string{
		"gemini-stream-text.sse",
		"gemini-stream-thoughts-include-thoughts.sse",
		"gemini-stream-function-call-thought-signature.sse",
	} {
		s.Handle(":streamGenerateContent", MustTranscript(name))
		resp, err := s.Client().Post(s.URL()+"/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(body, []byte("\r\n")) != bytes.Count(body, []byte("\n")) {
			t.Errorf("%s: a line ends in a bare LF", name)
		}
		events := splitEvents(body)
		if len(events) != bytes.Count(body, []byte("\r\n\r\n")) {
			t.Errorf("%s: %d events, want %d", name, len(events), bytes.Count(body, []byte("\r\n\r\n")))
		}
		for _, ev := range events {
			if !bytes.HasSuffix(ev, []byte("}\r\n\r\n")) {
				t.Errorf("%s: event %.40q does not end in CRLF CRLF", name, ev)
			}
		}
		if bytes.Contains(body, []byte("[DONE]")) {
			t.Errorf("%s: Gemini stream has a [DONE] terminator", name)
		}
	}
}

func TestSplitEventsTranscripts(t *testing.T) {
	for _, name := range TranscriptNames() {
		r := MustTranscript(name)
		events := splitEvents(r.Body)
		if got := bytes.Join(events, nil); !bytes.Equal(got, r.Body) {
			t.Errorf("%s: events do not concatenate to the body", name)
		}
		if !isEventStream(r.ContentType) {
			continue
		}
		sep := []byte("\n\n")
		if bytes.Contains(r.Body, []byte("\r\n")) {
			sep = []byte("\r\n\r\n")
		}
		if want := bytes.Count(r.Body, sep); len(events) != want {
			t.Errorf("%s: %d events, want %d", name, len(events), want)
		}
	}
}

func TestSplitEvents(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"data: a\n\ndata: b\n\n", []string{"data: a\n\n", "data: b\n\n"}},
		{"data: a\r\n\r\ndata: b\r\n\r\n", []string{"data: a\r\n\r\n", "data: b\r\n\r\n"}},
		{"data: a\r\rdata: b\r\r", []string{"data: a\r\r", "data: b\r\r"}},
		{"event: x\ndata: a\ndata: b\n\n", []string{"event: x\ndata: a\ndata: b\n\n"}},
		{": keep-alive\n\ndata: a\n\n", []string{": keep-alive\n\n", "data: a\n\n"}},
		{"\n\ndata: a\n\n\n\ndata: b\n\n", []string{"\n\ndata: a\n\n\n\n", "data: b\n\n"}},
		{"data: a\n\ndata: partial", []string{"data: a\n\n", "data: partial"}},
		{"data: a\n\ndata: b\n", []string{"data: a\n\n", "data: b\n"}},
		{"data: a\r\n\ndata: b\n\r\n", []string{"data: a\r\n\n", "data: b\n\r\n"}},
		{`{"error": {}}`, []string{`{"error": {}}`}},
	} {
		var got []string
		for _, ev := range splitEvents([]byte(tt.in)) {
			got = append(got, string(ev))
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("splitEvents(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// newTestServer starts a Server closed at the end of the test.
func newTestServer(t testing.TB) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

// post sends a POST to path and returns the response and body, failing the
// test on a transport or read error.
func post(t testing.TB, s *Server, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := s.Client().Post(s.URL()+path, "application/json", strings.NewReader(`{"model":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
