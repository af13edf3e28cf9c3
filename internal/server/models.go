package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// model is an entry of GET /v1/models, in OpenAI's shape.
type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// models lists what clients can name: every alias, and provider/model for
// every model a provider lists in the config. A key restricted to some
// models sees only those.
func (s *Server) models(c *call) []model {
	var out []model
	add := func(id, owner string) {
		if s.Allowed == nil || s.Allowed(c.key, id) {
			out = append(out, model{ID: id, Object: "model", OwnedBy: owner})
		}
	}
	for _, a := range s.CurrentRouter().Names() {
		add(a, "switchyard")
	}
	for _, p := range s.CurrentRouter().Providers() {
		for _, m := range p.Models() {
			add(p.Name()+"/"+m, p.Name())
		}
	}
	return out
}

// anthropicModel is a model in Anthropic's shape, for clients that send
// anthropic-version (the Anthropic SDKs' models.list and models.get).
type anthropicModel struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

func asAnthropic(m model) anthropicModel {
	return anthropicModel{Type: "model", ID: m.ID, DisplayName: m.ID, CreatedAt: time.Unix(m.Created, 0).UTC().Format(time.RFC3339)}
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request, c *call) {
	ms := append([]model{}, s.models(c)...)
	var body []byte
	if r.Header.Get("Anthropic-Version") != "" {
		page := struct {
			Data    []anthropicModel `json:"data"`
			HasMore bool             `json:"has_more"`
			FirstID *string          `json:"first_id"`
			LastID  *string          `json:"last_id"`
		}{Data: []anthropicModel{}}
		for _, m := range ms {
			page.Data = append(page.Data, asAnthropic(m))
		}
		if n := len(ms); n > 0 {
			page.FirstID, page.LastID = &ms[0].ID, &ms[n-1].ID
		}
		body, _ = json.Marshal(page)
	} else {
		body, _ = json.Marshal(struct {
			Object string  `json:"object"`
			Data   []model `json:"data"`
		}{"list", ms})
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("model")
	anthropic := r.Header.Get("Anthropic-Version") != ""
	for _, m := range s.models(c) {
		if m.ID == id {
			var body []byte
			if anthropic {
				body, _ = json.Marshal(asAnthropic(m))
			} else {
				body, _ = json.Marshal(m)
			}
			writeJSON(w, http.StatusOK, body)
			return
		}
	}
	d := llm.DialectOpenAI
	if anthropic {
		d = llm.DialectAnthropic
	}
	writeDialectError(w, d, &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found",
		Message: "The model `" + clip(id, maxEchoBytes) + "` does not exist or you do not have access to it."})
}
