package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/switchyard-ai/switchyard/internal/dialect"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// Bounds on what a client sends that the gateway keeps (request log, log
// lines) or repeats (error messages, response headers). Without them a
// client chooses how much memory, disk and log the gateway spends on it:
// fifty requests with 900 KB model names once made /metrics 911 MB and the
// request log 91 MB. docs/security.md lists every cap.
const (
	// maxModelBytes bounds a model name; a longer one is a 400. Real ones
	// are under 100 bytes, "provider/" and a Hugging Face path included.
	maxModelBytes = 256
	// maxEchoBytes bounds a client's string quoted in an error message.
	maxEchoBytes = dialect.MaxEchoBytes
	// maxNameBytes bounds the names of keys and teams, which are metric
	// label values.
	maxNameBytes = 256
	// maxMessageBytes bounds an error message sent, stored or logged:
	// the gateway's own are short, a vendor's are kept up to this.
	maxMessageBytes = 2 << 10
	// maxMetadataBytes bounds the metadata kept in a request record;
	// OpenAI's own limits (16 pairs, 64-byte keys, 512-byte values) stay
	// well under it.
	maxMetadataBytes = 16 << 10
)

// clip is dialect.Clip: the server and the dialects cut strings alike.
var clip = dialect.Clip

// checkModel refuses a model name over maxModelBytes, before it goes
// anywhere: router, metrics, headers, logs.
func checkModel(model string) *llm.Error {
	if len(model) <= maxModelBytes {
		return nil
	}
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: "model", Code: "model_too_long", Class: "bad_request",
		Message: fmt.Sprintf("The model name is %d bytes long; the gateway accepts at most %d.", len(model), maxModelBytes)}
}

// capRecord bounds the client's strings in a request record before it is
// stored, logged and counted. Metadata cut in the middle would no longer
// be JSON, so metadata over the cap is replaced by a note of its size.
func capRecord(rec *store.RequestLog) {
	rec.RequestedModel = clip(rec.RequestedModel, maxModelBytes)
	rec.Model = clip(rec.Model, maxModelBytes)
	rec.ErrorMessage = clip(rec.ErrorMessage, maxMessageBytes)
	if len(rec.Metadata) > maxMetadataBytes {
		rec.Metadata = `{"switchyard_dropped_bytes":` + strconv.Itoa(len(rec.Metadata)) + `}`
	}
}

// unknownURL is the 404 for a path nothing serves, echoing a bounded part
// of what was asked for (a path or method may be as long as the headers).
func unknownURL(what string, r *http.Request) *llm.Error {
	return &llm.Error{Kind: llm.KindNotFound, Code: "unknown_url",
		Message: "Unknown " + what + ": " + clip(r.Method, 32) + " " + clip(r.URL.Path, maxEchoBytes)}
}
