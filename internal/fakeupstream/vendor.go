package fakeupstream

import (
	"net/http"
	"strings"
)

// Replies in the shapes of vendors other than OpenAI: their model lists
// and error bodies, as their APIs document them
// (docs/protocols.md#anthropic-errors and #gemini-errors), for the demo
// vendors and the adapters' tests.

// OpenAIModels returns a GET /v1/models reply in OpenAI's shape, which
// xAI, DeepSeek, Mistral and most OpenAI-compatible servers share.
func OpenAIModels(ownedBy string, ids ...string) Response {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, id := range ids {
		list.Data = append(list.Data, model{ID: id, Object: "model", Created: fakeCreated, OwnedBy: ownedBy})
	}
	return Response{ContentType: ctJSON, Body: marshal(list, "  ")}
}

// AnthropicModels returns a GET /v1/models reply in Anthropic's shape,
// one page holding every model.
func AnthropicModels(ids ...string) Response {
	type model struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	page := struct {
		Data    []model `json:"data"`
		HasMore bool    `json:"has_more"`
		FirstID *string `json:"first_id"`
		LastID  *string `json:"last_id"`
	}{Data: []model{}}
	for _, id := range ids {
		page.Data = append(page.Data, model{Type: "model", ID: id, DisplayName: id, CreatedAt: "2025-01-01T00:00:00Z"})
	}
	if len(ids) > 0 {
		page.FirstID, page.LastID = &ids[0], &ids[len(ids)-1]
	}
	return Response{ContentType: ctJSON, Body: marshal(page, "")}
}

// GeminiModels returns a GET /v1beta/models reply in the Gemini API's
// shape: names are "models/ID", and each model says which methods it
// supports (embedding models only embedContent).
func GeminiModels(ids ...string) Response {
	type model struct {
		Name                       string   `json:"name"`
		DisplayName                string   `json:"displayName"`
		SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
	}
	list := struct {
		Models []model `json:"models"`
	}{Models: []model{}}
	for _, id := range ids {
		methods := []string{"generateContent", "countTokens"}
		if strings.Contains(id, "embedding") {
			methods = []string{"embedContent"}
		}
		list.Models = append(list.Models, model{Name: "models/" + id, DisplayName: id, SupportedGenerationMethods: methods})
	}
	return Response{ContentType: ctJSONGoogle, Body: marshal(list, "  ")}
}

// AnthropicError returns an error reply in Anthropic's shape:
// {"type":"error","error":{"type":...,"message":...}}. A 429 or 529 says
// how long to wait in retry-after, as Anthropic does.
func AnthropicError(status int, errType, message string) Response {
	body := marshal(map[string]any{
		"type":  "error",
		"error": map[string]string{"type": errType, "message": message},
	}, "")
	r := Response{Status: status, ContentType: ctJSON, Body: body}
	if status == http.StatusTooManyRequests || status == 529 {
		r.Header = http.Header{"Retry-After": {"1"}}
	}
	return r
}

// GeminiError returns an error reply in Google's shape:
// {"error":{"code":...,"message":...,"status":...}}.
func GeminiError(status int, grpcStatus, message string) Response {
	body := marshal(map[string]any{
		"error": map[string]any{"code": status, "message": message, "status": grpcStatus},
	}, "  ")
	return Response{Status: status, ContentType: ctJSONGoogle, Body: body}
}
