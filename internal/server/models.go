package server

import (
	"encoding/json"
	"net/http"

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

func (s *Server) listModels(w http.ResponseWriter, r *http.Request, c *call) {
	body, _ := json.Marshal(struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{"list", append([]model{}, s.models(c)...)})
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("model")
	for _, m := range s.models(c) {
		if m.ID == id {
			body, _ := json.Marshal(m)
			writeJSON(w, http.StatusOK, body)
			return
		}
	}
	writeError(w, &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found",
		Message: "The model `" + id + "` does not exist or you do not have access to it."})
}
