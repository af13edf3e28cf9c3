// Package fakeupstream is a fake LLM vendor HTTP server for the gateway's
// tests and load benchmark.
//
// It replays real recorded vendor responses byte for byte (see [Transcript])
// or synthesized ones (see [TextStream], [TextCompletion]), and injects the
// faults real upstreams produce: slow first bytes, slow streams, streams cut
// mid-way, malformed bodies, rate limits and server errors.
//
// The OpenAI Responses API (POST /v1/responses) is served from its recorded
// streams: [Responses] answers streamed or whole as each request asks,
// [ResponsesTranscript] gives either shape, and [ResponsesStreamError] and
// [ResponsesFailed] end a recorded stream with the vendor's own failure
// events. Every request's body is recorded ([Server.Requests]), so a test
// can check what the vendor was sent.
//
// The files under transcripts/ are unmodified copies of
// specs/transcripts/ from the shared project specs, including SOURCES.md,
// which records where each body was captured and how it must be replayed.
// The status and content type of each file are encoded in transcriptTable
// in transcript.go; a test keeps the two in step.
package fakeupstream
